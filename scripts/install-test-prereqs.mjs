#!/usr/bin/env node
// Installs what the test suites need from Debian's packages when missing:
// chromium and firefox-esr (browser e2e), coturn (TURN tests), redis-server
// (several nodes on Redis), and iproute2 and nftables (network namespaces:
// Firefox's tests run in them, and the repair e2e cuts their links). Never
// downloads a browser.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const needed = [
	{ bin: '/usr/bin/chromium', pkg: 'chromium' },
	{ bin: '/usr/bin/firefox-esr', pkg: 'firefox-esr' },
	{ bin: '/usr/bin/turnserver', pkg: 'coturn' },
	{ bin: '/usr/bin/redis-server', pkg: 'redis-server' },
	{ bin: '/usr/sbin/ip', pkg: 'iproute2' },
	{ bin: '/usr/sbin/nft', pkg: 'nftables' },
];
/** The browsers' Debian package versions, printed: the README's "Browsers tested" table names the ones the tests passed with. */
function browserVersions() {
	const res = spawnSync('dpkg-query', ['-W', '-f', '${Package} ${Version}, ', 'chromium', 'firefox-esr'], { encoding: 'utf8' });
	return res.status === 0 ? res.stdout.replace(/, $/, '') : 'unknown (dpkg-query failed)';
}

const missing = needed.filter((n) => !existsSync(n.bin));
if (missing.length === 0) {
	console.log(`[test-prereqs] present: ${needed.map((n) => n.bin).join(', ')}; browsers: ${browserVersions()}`);
	process.exit(0);
}
const pkgs = missing.map((n) => n.pkg);
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const sudo = isRoot ? [] : ['sudo', '-n'];
if (!isRoot && spawnSync('sudo', ['-n', 'true']).status !== 0) {
	console.error(`[test-prereqs] missing ${pkgs.join(', ')}; install them as root: apt-get install -y ${pkgs.join(' ')}`);
	process.exit(1);
}

function apt(args) {
	const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
	const res = spawnSync(cmd, rest, {
		stdio: 'inherit',
		env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
	});
	if (res.status !== 0) {
		console.error(`[test-prereqs] apt-get ${args.join(' ')} failed (exit ${res.status})`);
		process.exit(1);
	}
}

console.log(`[test-prereqs] installing from Debian: ${pkgs.join(', ')}`);
apt(['update', '-qq']);
apt(['install', '-y', '-qq', ...pkgs]);
for (const n of missing) {
	if (!existsSync(n.bin)) {
		console.error(`[test-prereqs] ${n.pkg} installed but ${n.bin} is missing`);
		process.exit(1);
	}
}
console.log(`[test-prereqs] browsers: ${browserVersions()}`);

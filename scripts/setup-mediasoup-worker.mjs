#!/usr/bin/env node
// Builds (or restores from cache) the mediasoup worker binary.
//
// mediasoup's own postinstall is denied in package.json `allowScripts`: it
// prefers a `python2` that does not run on our machines and cannot build the
// vendored deps without two patches. This script is the reproducible
// replacement:
//   1. MEDIASOUP_WORKER_BIN set -> nothing to build (prebuilt worker).
//   2. cached worker for (mediasoup version, patch hash) -> copy it in place.
//   3. otherwise check the toolchain, apply scripts/mediasoup-patches/*.patch
//      idempotently, run `make -C worker` with PYTHON=python3, and cache.
//
// Environment:
//   MEDIASOUP_WORKER_BIN       use this prebuilt worker, skip everything
//   STREAMING_ENGINE_CACHE_DIR cache root (default $XDG_CACHE_HOME or ~/.cache,
//                              then /streaming-engine)
//   MEDIASOUP_WORKER_REBUILD=1 ignore the cache and build again

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
	chmodSync,
	copyFileSync,
	existsSync,
	mkdirSync,
	readFileSync,
	readdirSync,
	renameSync,
	statSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const patchDir = join(projectRoot, 'scripts', 'mediasoup-patches');

function log(msg) {
	process.stdout.write(`[mediasoup-worker] ${msg}\n`);
}

function fail(msg) {
	process.stderr.write(`[mediasoup-worker] ERROR: ${msg}\n`);
	process.exit(1);
}

function run(cmd, args, opts = {}) {
	const res = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
	if (res.error) {
		fail(`could not run ${cmd}: ${res.error.message}`);
	}
	return res.status ?? 1;
}

function quiet(cmd, args, opts = {}) {
	return spawnSync(cmd, args, { stdio: 'pipe', encoding: 'utf8', ...opts });
}

if (process.env.MEDIASOUP_WORKER_BIN) {
	const bin = process.env.MEDIASOUP_WORKER_BIN;
	if (!existsSync(bin)) {
		fail(`MEDIASOUP_WORKER_BIN=${bin} does not exist`);
	}
	log(`using prebuilt worker from MEDIASOUP_WORKER_BIN=${bin}; nothing to build`);
	process.exit(0);
}

const require = createRequire(join(projectRoot, 'package.json'));
let mediasoupDir;
try {
	mediasoupDir = dirname(require.resolve('mediasoup/package.json'));
} catch {
	fail('mediasoup is not installed in node_modules; run `npm install` first');
}
const version = JSON.parse(readFileSync(join(mediasoupDir, 'package.json'), 'utf8')).version;
const patches = readdirSync(patchDir)
	.filter((f) => f.endsWith('.patch'))
	.sort();
const patchHash = createHash('sha256');
for (const p of patches) {
	patchHash.update(p);
	patchHash.update(readFileSync(join(patchDir, p)));
}
const key = `${version}-${process.platform}-${process.arch}-${patchHash.digest('hex').slice(0, 16)}`;

const cacheRoot =
	process.env.STREAMING_ENGINE_CACHE_DIR ??
	join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'streaming-engine');
const cachedBin = join(cacheRoot, 'mediasoup-worker', key, 'mediasoup-worker');
const targetBin = join(mediasoupDir, 'worker', 'out', 'Release', 'mediasoup-worker');

function isExecutableFile(p) {
	try {
		return statSync(p).isFile() && (statSync(p).mode & 0o111) !== 0;
	} catch {
		return false;
	}
}

if (isExecutableFile(cachedBin) && process.env.MEDIASOUP_WORKER_REBUILD !== '1') {
	mkdirSync(dirname(targetBin), { recursive: true });
	copyFileSync(cachedBin, targetBin);
	chmodSync(targetBin, 0o755);
	log(`restored mediasoup ${version} worker from cache ${cachedBin}`);
	process.exit(0);
}

// --- Toolchain check: name the missing piece rather than fail deep in make.
const missing = [];
for (const [tool, args, pkg] of [
	['python3', ['--version'], 'python3'],
	['make', ['--version'], 'make'],
	['g++', ['--version'], 'g++'],
	['patch', ['--version'], 'patch'],
]) {
	const res = quiet(tool, args);
	if (res.error || res.status !== 0) {
		missing.push(`${tool} (Debian package: ${pkg})`);
	}
}
if (missing.length > 0) {
	fail(
		`cannot build the mediasoup ${version} worker: missing ${missing.join(', ')}.\n` +
			'Install them (apt-get install -y python3 make g++ patch) or point ' +
			'MEDIASOUP_WORKER_BIN at a prebuilt worker.',
	);
}

// --- Patches, idempotent: already applied -> skip, applies cleanly -> apply, else fail.
for (const p of patches) {
	const file = join(patchDir, p);
	const reverse = quiet('patch', ['-p1', '-R', '--dry-run', '-s', '-f', '-i', file], { cwd: mediasoupDir });
	if (reverse.status === 0) {
		log(`patch ${p}: already applied`);
		continue;
	}
	const forward = quiet('patch', ['-p1', '--dry-run', '-s', '-f', '-i', file], { cwd: mediasoupDir });
	if (forward.status !== 0) {
		fail(`patch ${p} does not apply to mediasoup ${version}:\n${forward.stdout}${forward.stderr}`);
	}
	if (run('patch', ['-p1', '-s', '-f', '-i', file], { cwd: mediasoupDir }) !== 0) {
		fail(`patch ${p} failed`);
	}
	log(`patch ${p}: applied`);
}

log(`building mediasoup ${version} worker (about 7 minutes on 2 cores; cached afterwards in ${dirname(cachedBin)})`);
const started = Date.now();
const status = run('make', ['-C', 'worker'], {
	cwd: mediasoupDir,
	env: { ...process.env, PYTHON: 'python3', MEDIASOUP_WORKER_BIN: '' },
});
if (status !== 0 || !isExecutableFile(targetBin)) {
	fail(`make -C worker failed (exit ${status}); see the compiler output above`);
}
log(`built in ${Math.round((Date.now() - started) / 1000)} s`);

// Write to a temp name, then rename: a concurrent install never sees half a file.
mkdirSync(dirname(cachedBin), { recursive: true });
const tmp = `${cachedBin}.${process.pid}.tmp`;
copyFileSync(targetBin, tmp);
chmodSync(tmp, 0o755);
renameSync(tmp, cachedBin);
log(`cached at ${cachedBin}`);

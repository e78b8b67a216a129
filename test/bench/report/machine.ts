import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_PATH } from '../../support/browser.js';

/** What the numbers were measured on: printed at the top of docs/benchmarks.md. */
export interface Machine {
	cpu: string;
	cores: number;
	ramGiB: number;
	os: string;
	node: string;
	chromium: string;
	mediasoup: string;
	commit: string;
	date: string;
}

function run(command: string, args: string[], cwd?: string): string | undefined {
	try {
		return execFileSync(command, args, { encoding: 'utf8', timeout: 10_000, cwd, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
	} catch {
		return undefined;
	}
}

function osName(): string {
	try {
		const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
		return `${pretty ?? 'Linux'}, kernel ${release()}`;
	} catch {
		return `kernel ${release()}`;
	}
}

/** The machine, the toolchain and the commit, read now. */
export function describeMachine(root: string): Machine {
	const commit = run('git', ['rev-parse', '--short', 'HEAD'], root) ?? 'unknown';
	const dirty = run('git', ['status', '--porcelain', '--untracked-files=no'], root);
	let mediasoup = 'unknown';
	try {
		mediasoup = (JSON.parse(readFileSync(join(root, 'node_modules/mediasoup/package.json'), 'utf8')) as { version: string }).version;
	} catch {
		// Left as unknown: the report still says what it could read.
	}
	return {
		cpu: cpus()[0]?.model.trim() ?? 'unknown',
		cores: cpus().length,
		ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
		os: osName(),
		node: process.version,
		chromium: run(CHROMIUM_PATH, ['--version'])?.split('\n')[0] ?? 'unknown',
		mediasoup,
		commit: dirty ? `${commit} (with uncommitted changes)` : commit,
		date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
	};
}

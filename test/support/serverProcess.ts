import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const serverEntry = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));

export interface RunningServer {
	readonly port: number;
	readonly url: string;
	readonly process: ChildProcess;
	/** Every log line the server printed so far, parsed. */
	readonly logs: Array<Record<string, unknown>>;
	/** SIGTERM, wait for exit (SIGKILL after `graceMs`); resolves with the exit code. */
	stop(graceMs?: number): Promise<number | null>;
}

export interface StartServerOptions {
	/**
	 * A command the server runs under, e.g. `['ip', 'netns', 'exec', 'ns1']`:
	 * spawned as `<wrapper...> node dist/server/main.js`. The wrapper must exec
	 * the server (keep its PID), as `ip netns exec` does, so stop() signals the server itself.
	 */
	wrapper?: readonly string[];
	/** The host in `url` (default `localhost`): the address the server listens on when that is not loopback. */
	urlHost?: string;
}

/**
 * The server's environment: this process's, then the tests' defaults, then
 * `env`, where `undefined` removes a variable (the server's own default then
 * applies). Everything stays on loopback unless `env` says otherwise: HOST
 * and MEDIASOUP_LISTEN_IP are 127.0.0.1 (the server's default listen
 * address, `auto`, would add the machine's own addresses).
 */
function serverEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
	const merged: Record<string, string | undefined> = {
		...process.env,
		PORT: '0',
		HOST: '127.0.0.1',
		LOG_LEVEL: 'info',
		MEDIASOUP_NUM_WORKERS: '1',
		MEDIASOUP_LISTEN_IP: '127.0.0.1',
		...env,
	};
	for (const [name, value] of Object.entries(merged)) if (value === undefined) delete merged[name];
	return merged;
}

/**
 * Starts the built server (`npm run build` first) on a free port and waits
 * for its "listening" log line. The caller owns it and must stop() it.
 * `env` is applied over the tests' defaults (see serverEnv: loopback only);
 * a variable given as `undefined` is removed.
 */
export async function startServer(env: Record<string, string | undefined> = {}, timeoutMs = 30_000, options: StartServerOptions = {}): Promise<RunningServer> {
	if (!existsSync(serverEntry)) {
		throw new Error(`${serverEntry} missing: run "npm run build" before the integration and e2e suites`);
	}
	const [command, ...prefix] = [...(options.wrapper ?? []), process.execPath];
	const child = spawn(command as string, [...prefix, serverEntry], {
		cwd: projectRoot,
		env: serverEnv(env),
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	const logs: Array<Record<string, unknown>> = [];
	let stderr = '';
	child.stderr?.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

	const port = await new Promise<number>((resolve, reject) => {
		const timer = setTimeout(() => {
			// Never leave it running: nobody else holds a handle to it.
			child.kill('SIGKILL');
			reject(new Error(`server did not listen within ${timeoutMs} ms\n${stderr}`));
		}, timeoutMs);
		const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
		lines.on('line', (line) => {
			let entry: Record<string, unknown>;
			try {
				entry = JSON.parse(line) as Record<string, unknown>;
			} catch {
				return;
			}
			logs.push(entry);
			if (entry.msg === 'listening' && typeof entry.port === 'number') {
				clearTimeout(timer);
				resolve(entry.port);
			}
		});
		void exited.then((code) => {
			clearTimeout(timer);
			reject(new Error(`server exited with ${code} before listening\n${stderr}`));
		});
	});

	let stopping: Promise<number | null> | undefined;
	return {
		port,
		url: `http://${options.urlHost ?? 'localhost'}:${port}`,
		process: child,
		logs,
		stop(graceMs = 10_000) {
			stopping ??= (async () => {
				if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
				child.kill('SIGTERM');
				const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
				const code = await exited;
				clearTimeout(timer);
				return code;
			})();
			return stopping;
		},
	};
}

/** PIDs of a process's direct children, from /proc (Linux). */
export function childPids(pid: number): number[] {
	try {
		return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
			.trim()
			.split(/\s+/)
			.filter(Boolean)
			.map(Number);
	} catch {
		return [];
	}
}

export function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

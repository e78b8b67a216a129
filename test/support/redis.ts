import { spawn, type ChildProcess } from 'node:child_process';
import { freeTcpPort } from './ports.js';

export interface RunningRedis {
	port: number;
	url: string;
	/** Stops it (SIGKILL with `hard`), waiting for the process to exit. */
	stop(options?: { hard?: boolean }): Promise<void>;
	/** Starts it again on the same port (after stop()), empty: no persistence. */
	restart(): Promise<void>;
}


/** Runs redis-server (Debian's package) on `port`, loopback only, nothing saved; resolves once it accepts connections. */
function launch(port: number): Promise<ChildProcess> {
	const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	return new Promise((resolve, reject) => {
		let output = '';
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			reject(new Error(`redis-server did not start within 10 s:\n${output}`));
		}, 10_000);
		const onData = (chunk: Buffer) => {
			output += chunk.toString();
			if (output.includes('Ready to accept connections')) {
				clearTimeout(timer);
				resolve(child);
			}
		};
		child.stdout?.on('data', onData);
		child.stderr?.on('data', onData);
		child.once('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`));
		});
		child.once('error', (error) => {
			clearTimeout(timer);
			reject(error);
		});
	});
}

/** A real redis-server on a free loopback port, for the cluster tests. */
export async function startRedis(): Promise<RunningRedis> {
	const port = await freeTcpPort();
	let child: ChildProcess | undefined = await launch(port);
	return {
		port,
		url: `redis://127.0.0.1:${port}`,
		async stop(options = {}) {
			const running = child;
			child = undefined;
			if (!running || running.exitCode !== null) return;
			const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
			running.kill(options.hard ? 'SIGKILL' : 'SIGTERM');
			await exited;
		},
		async restart() {
			if (child) throw new Error('redis-server is running');
			child = await launch(port);
		},
	};
}

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TurnConfigSchema } from '../../core/config/index.js';
import { renderTurnserverConf } from '../../turn/renderTurnserverConf.js';

export interface RunningCoturn {
	port: number;
	url: string;
	secret: string;
	/** coturn's own log lines so far. */
	log: () => string;
	stop(): Promise<void>;
}

/** A free UDP port on loopback (bound, read, released). */
async function freeUdpPort(): Promise<number> {
	const socket = createSocket('udp4');
	await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
	const { port } = socket.address();
	await new Promise<void>((resolve) => socket.close(() => resolve()));
	return port;
}

/** Sends a STUN Binding Request; resolves true when a Binding Success Response comes back. */
function stunBinding(port: number, timeoutMs: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = createSocket('udp4');
		const request = Buffer.alloc(20);
		request.writeUInt16BE(0x0001, 0); // Binding Request
		request.writeUInt16BE(0, 2);
		request.writeUInt32BE(0x2112a442, 4); // magic cookie
		randomBytes(12).copy(request, 8);
		const done = (ok: boolean) => {
			clearTimeout(timer);
			socket.close();
			resolve(ok);
		};
		const timer = setTimeout(() => done(false), timeoutMs);
		socket.on('message', (msg) => done(msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(request.subarray(8, 20))));
		socket.on('error', () => done(false));
		socket.send(request, port, '127.0.0.1');
	});
}

/**
 * Starts a real coturn on loopback with the project's generated config (plus
 * `allow-loopback-peers`, tests only), waits until it answers STUN, and
 * returns how to reach and stop it.
 */
export async function startCoturn(relayPorts: { min: number; max: number }): Promise<RunningCoturn> {
	const dir = mkdtempSync(join(tmpdir(), 'coturn-'));
	const port = await freeUdpPort();
	const secret = randomBytes(16).toString('hex');
	const config = TurnConfigSchema.parse({
		enabled: true,
		urls: [`turn:127.0.0.1:${port}?transport=udp`],
		secret,
		realm: 'streaming-engine.test',
		listeningIp: '127.0.0.1',
		listeningPort: port,
		relayIp: '127.0.0.1',
		minPort: relayPorts.min,
		maxPort: relayPorts.max,
		allowLoopbackPeers: true,
	});
	const file = join(dir, 'turnserver.conf');
	// Per-process pid file and database, so parallel runs never share state.
	writeFileSync(file, `${renderTurnserverConf(config)}pidfile=${join(dir, 'turnserver.pid')}\nuserdb=${join(dir, 'turndb')}\n`);
	const child: ChildProcess = spawn('/usr/bin/turnserver', ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
	let output = '';
	child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
	child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

	const stop = async () => {
		if (child.exitCode === null && child.signalCode === null) {
			child.kill('SIGTERM');
			const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
			await exited;
			clearTimeout(timer);
		}
		rmSync(dir, { recursive: true, force: true });
	};

	// Bounded: 50 probes of up to 200 ms.
	for (let attempt = 0; attempt < 50; attempt++) {
		if (child.exitCode !== null) break;
		if (await stunBinding(port, 200)) {
			return { port, url: `turn:127.0.0.1:${port}?transport=udp`, secret, log: () => output, stop };
		}
	}
	await stop();
	throw new Error(`coturn did not answer STUN on 127.0.0.1:${port}\n${output}`);
}

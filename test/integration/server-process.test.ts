import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids, isAlive, startServer, type RunningServer } from '../support/serverProcess.js';

describe('the built server process (npm start)', () => {
	let server: RunningServer;

	beforeAll(async () => {
		server = await startServer({ MEDIASOUP_NUM_WORKERS: '2' });
	});

	afterAll(async () => {
		await server?.stop();
	});

	it('GET /healthz answers 200 with status ok and its worker count', async () => {
		const res = await fetch(`${server.url}/healthz`);
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toMatch(/application\/json/);
		const body = (await res.json()) as Record<string, unknown>;
		expect(body.status).toBe('ok');
		expect(body.workers).toBe(2);
	});

	it('says on its console that rooms are open (no access token) by default', async () => {
		const find = () => server.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('rooms are OPEN'));
		await expect.poll(find).toBeDefined();
		expect(find()?.level).toBe(40);
	});

	it('GET / serves the call app', async () => {
		const res = await fetch(`${server.url}/`);
		expect(res.status).toBe(200);
		const html = await res.text();
		expect(html).toContain('<main id="app">');
		const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
		expect(script).toBeDefined();
		const js = await fetch(`${server.url}${script}`);
		expect(js.status).toBe(200);
	});

	it('an upgrade on another path than /ws is refused', async () => {
		const res = await fetch(`${server.url}/not-ws`, { headers: { connection: 'upgrade', upgrade: 'websocket' } }).catch(
			(error: unknown) => error,
		);
		// Either a 404 answer or a closed connection: never a WebSocket.
		if (res instanceof Response) expect(res.status).not.toBe(101);
	});

	it('SIGTERM closes sockets, ends the mediasoup workers and exits 0', async () => {
		const workers = childPids(server.process.pid as number);
		expect(workers).toHaveLength(2);
		const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
		await new Promise((resolve, reject) => {
			ws.once('open', resolve);
			ws.once('error', reject);
		});
		const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
		const code = await server.stop();
		expect(code).toBe(0);
		expect(await closed).toBe(1001);
		for (const pid of workers) expect(isAlive(pid)).toBe(false);
	});
});

describe('configuration at start', () => {
	const entry = fileURLToPath(new URL('../../dist/server/main.js', import.meta.url));

	it('an invalid value is refused with exit code 2 and a message naming the key', () => {
		const res = spawnSync(process.execPath, [entry], {
			env: { ...process.env, PORT: 'eighty' },
			encoding: 'utf8',
			timeout: 10_000,
		});
		expect(res.status).toBe(2);
		expect(res.stderr).toContain('invalid config "PORT"');
	});

	it('an out-of-range nested value names its dotted key', () => {
		const res = spawnSync(process.execPath, [entry], {
			env: { ...process.env, MEDIASOUP_MIN_PORT: '50000', MEDIASOUP_MAX_PORT: '40000' },
			encoding: 'utf8',
			timeout: 10_000,
		});
		expect(res.status).toBe(2);
		expect(res.stderr).toContain('invalid config "mediasoup.rtcMinPort"');
	});
});

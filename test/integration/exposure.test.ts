import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSample } from '../support/metrics.js';
import { projectRoot, startServer, type RunningServer } from '../support/serverProcess.js';

// What the server shows the world: the headers on every HTTP answer, who may
// read /metrics and where, that the production build carries no source maps,
// and which origins may open a signaling socket.

const API_KEY = 'exposure-api-key-0123456789';
const GOOD_ORIGIN = 'http://good.example';
const webRoot = join(projectRoot, 'dist/web');

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
	return readdirSync(dir, { recursive: true, withFileTypes: true })
		.filter((entry) => entry.isFile())
		.map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

/** A port that was free a moment ago: listen on 0, note it, close. */
function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const probe = createServer();
		probe.once('error', reject);
		probe.listen(0, '127.0.0.1', () => {
			const { port } = probe.address() as AddressInfo;
			probe.close(() => resolve(port));
		});
	});
}

type Opened = { opened: true } | { opened: false; status: number | undefined; body: Record<string, unknown> };

/** Opens a signaling socket with the `ws` package, sending `origin` if given; closes it again. */
function openSocket(port: number, origin?: string): Promise<Opened> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, origin === undefined ? {} : { origin });
		const timer = setTimeout(() => {
			ws.terminate();
			reject(new Error('neither open nor refused within 5 s'));
		}, 5_000);
		ws.once('open', () => {
			clearTimeout(timer);
			ws.close();
			resolve({ opened: true });
		});
		ws.once('unexpected-response', (_req, res) => {
			let text = '';
			res.setEncoding('utf8');
			res.on('data', (chunk: string) => (text += chunk));
			res.on('end', () => {
				clearTimeout(timer);
				ws.terminate();
				resolve({ opened: false, status: res.statusCode, body: JSON.parse(text) as Record<string, unknown> });
			});
		});
		ws.once('error', (error) => {
			clearTimeout(timer);
			reject(error);
		});
	});
}

/** The local addresses listening on a TCP port, from /proc/net/tcp and tcp6 (Linux). */
function listeningAddresses(port: number): string[] {
	const addresses: string[] = [];
	for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
		for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
			const [, local, , state] = line.trim().split(/\s+/);
			if (!local || state !== '0A') continue; // 0A: LISTEN
			const [hex = '', portHex = ''] = local.split(':');
			if (Number.parseInt(portHex, 16) !== port) continue;
			// IPv4 in /proc/net/tcp is one little-endian word; anything else (tcp6) is named as it is.
			addresses.push(hex.length === 8 ? (hex.match(/../g) ?? []).reverse().map((b) => Number.parseInt(b, 16)).join('.') : hex);
		}
	}
	return addresses;
}

describe('exposure: API_KEY and ALLOWED_ORIGINS set, /metrics on the main port', () => {
	let server: RunningServer;
	let base: string;
	const auth = { authorization: `Bearer ${API_KEY}` };

	beforeAll(async () => {
		server = await startServer({ API_KEY, ALLOWED_ORIGINS: GOOD_ORIGIN });
		base = `http://127.0.0.1:${server.port}`;
	});

	afterAll(async () => {
		await server?.stop();
	});

	it.each([
		{ what: 'the call app /', path: '/', headers: {}, status: 200 },
		{ what: '/healthz', path: '/healthz', headers: {}, status: 200 },
		{ what: '/api/rooms with the key', path: '/api/rooms', headers: auth, status: 200 },
		{ what: '/api/rooms without the key', path: '/api/rooms', headers: {}, status: 401 },
		{ what: 'a 404 (a file that does not exist)', path: '/nope.txt', headers: {}, status: 404 },
		{ what: 'a 400 (a malformed target)', path: '/api/rooms/%zz', headers: {}, status: 400 },
	])('security headers on $what ($status)', async ({ path, headers, status }) => {
		const res = await fetch(`${base}${path}`, { headers });
		expect(res.status).toBe(status);
		await res.arrayBuffer();
		expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
		expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
		expect(res.headers.get('x-content-type-options')).toBe('nosniff');
		expect(res.headers.get('x-frame-options')).toBe('DENY');
		expect(res.headers.get('referrer-policy')).toBe('no-referrer');
		expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
		expect(res.headers.get('permissions-policy')).toContain('camera=(self)');
	});

	it('/metrics is 401 UNAUTHORIZED without the key or with a wrong one, 200 with it', async () => {
		const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-key-wrong-key-00' }, { authorization: API_KEY }];
		for (const headers of attempts) {
			const res = await fetch(`${base}/metrics`, { headers });
			expect(res.status).toBe(401);
			expect(await res.json()).toMatchObject({ error: 'UNAUTHORIZED' });
		}
		const res = await fetch(`${base}/metrics`, { headers: auth });
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
		expect(metricSample(await res.text(), 'streaming_internal_errors_total{where="http"}')).toBe(0);
	});

	it('the production build has no source maps, and asking for one is 404', async () => {
		const files = filesUnder(webRoot);
		const scripts = files.filter((file) => file.endsWith('.js'));
		expect(scripts.length).toBeGreaterThan(0);
		expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
		for (const file of scripts) expect(readFileSync(join(webRoot, file), 'utf8'), file).not.toContain('sourceMappingURL');

		const script = scripts.find((file) => file.startsWith('assets/')) as string;
		const js = await fetch(`${base}/${script}`);
		expect(js.status).toBe(200);
		await js.arrayBuffer();
		expect(js.headers.get('sourcemap')).toBeNull();
		expect(js.headers.get('x-sourcemap')).toBeNull();
		const map = await fetch(`${base}/${script}.map`);
		expect(map.status).toBe(404);
		expect(await map.json()).toMatchObject({ error: 'NOT_FOUND' });
	});

	it('signaling upgrades: the allowed origin opens, another is 403 ORIGIN_NOT_ALLOWED, none at all opens', async () => {
		expect(await openSocket(server.port, GOOD_ORIGIN)).toEqual({ opened: true });
		const refused = await openSocket(server.port, 'http://evil.example');
		expect(refused).toMatchObject({ opened: false, status: 403, body: { error: 'ORIGIN_NOT_ALLOWED' } });
		expect(await openSocket(server.port)).toEqual({ opened: true });
	});
});

describe('exposure: /metrics on a port of its own (METRICS_PORT)', () => {
	let server: RunningServer;
	let metricsPort: number;

	beforeAll(async () => {
		metricsPort = await freePort();
		server = await startServer({ API_KEY, METRICS_PORT: String(metricsPort) });
	});

	afterAll(async () => {
		await server?.stop();
	});

	it('the "listening" log line names the metrics port', () => {
		expect(server.logs.find((line) => line.msg === 'listening')).toMatchObject({ port: server.port, metricsPort });
	});

	it('/metrics is 404 on the main port, with or without the key', async () => {
		const attempts: Array<Record<string, string>> = [{}, { authorization: `Bearer ${API_KEY}` }];
		for (const headers of attempts) {
			const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, { headers });
			const text = await res.text();
			expect(text).not.toContain('streaming_internal_errors_total');
			expect(res.status).toBe(404);
		}
	});

	it('/metrics is 200 on the metrics port (METRICS_HOST 127.0.0.1), without the key; nothing else is served there', async () => {
		const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
		expect(res.status).toBe(200);
		expect(metricSample(await res.text(), 'streaming_internal_errors_total{where="http"}')).toBe(0);
		const other = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
		expect(other.status).toBe(404);
		expect(await other.json()).toMatchObject({ error: 'NOT_FOUND' });
	});

	it('the metrics port listens on loopback only', () => {
		expect(listeningAddresses(metricsPort)).toEqual(['127.0.0.1']);
	});
});

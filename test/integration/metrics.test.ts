import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Method, PROTOCOL_VERSION } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import { metricSample } from '../support/metrics.js';
import { startInProcessServer } from '../support/inProcessServer.js';
import { connectClient } from '../support/signaling.js';

describe('GET /metrics', () => {
	let server: Server;

	beforeAll(async () => {
		server = await startInProcessServer();
	});

	afterAll(async () => {
		await server?.close();
	});

	it('counts connections, rooms, peers, messages by method, errors by code and request latency', async () => {
		const clients = await Promise.all([connectClient(server.port), connectClient(server.port), connectClient(server.port)]);
		for (const [i, client] of clients.entries()) {
			await client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: i < 2 ? 'm1' : 'm2', displayName: `P${i}` });
		}
		await clients[0]?.request(Method.Leave, {}).catch(() => undefined);
		await clients[0]?.request(Method.Leave, {}).catch(() => undefined); // NOT_JOINED
		const raw = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
		await new Promise((resolve) => raw.once('open', resolve));
		const answered = new Promise((resolve) => raw.once('message', resolve));
		raw.send('not json');
		await answered;

		const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toMatch(/text\/plain/);
		const text = await res.text();
		expect(metricSample(text, 'streaming_signaling_connections')).toBe(4);
		expect(metricSample(text, 'streaming_rooms')).toBe(2);
		expect(metricSample(text, 'streaming_peers')).toBe(2);
		expect(metricSample(text, 'streaming_signaling_messages_total{method="join"}')).toBe(3);
		expect(metricSample(text, 'streaming_signaling_messages_total{method="leave"}')).toBe(2);
		expect(metricSample(text, 'streaming_signaling_errors_total{code="NOT_JOINED"}')).toBe(1);
		expect(metricSample(text, 'streaming_signaling_errors_total{code="BAD_JSON"}')).toBe(1);
		expect(metricSample(text, 'streaming_signaling_request_duration_seconds_count{method="join"}')).toBe(3);
		expect(text).toContain('streaming_process_cpu_seconds_total');
		raw.close();
		for (const client of clients) client.close();
	});
});

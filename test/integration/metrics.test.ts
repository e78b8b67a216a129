import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Method, PROTOCOL_VERSION } from '../../core/protocol/index.js';
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

	it('counts media.repair reports by path and action (a mesh one must name a peer of the room), from zero', async () => {
		const series = (path: string, action: string) => `streaming_media_repairs_total{path="${path}",action="${action}"}`;
		const scrape = async () => (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
		const before = await scrape();
		for (const path of ['mesh', 'sfu']) {
			for (const action of ['ice-restart', 'recreate', 'rebuild', 'recovered', 'gave-up']) expect(metricSample(before, series(path, action))).toBe(0);
		}

		const [ann, ben] = await Promise.all([connectClient(server.port), connectClient(server.port)]);
		const joined = await ann.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'repairs', displayName: 'Ann' });
		// The join answer says how to repair (the defaults here).
		expect(joined.repair).toEqual({ disconnectedGraceMs: 1000, giveUpMs: 20_000 });
		const { peerId: benId } = await ben.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'repairs', displayName: 'Ben' });

		await expect(ann.request(Method.MediaRepair, { path: 'mesh', action: 'ice-restart', peerId: benId })).resolves.toEqual({});
		await expect(ann.request(Method.MediaRepair, { path: 'mesh', action: 'ice-restart', peerId: benId })).resolves.toEqual({});
		await expect(ben.request(Method.MediaRepair, { path: 'mesh', action: 'recovered' })).resolves.toEqual({});
		await expect(ben.request(Method.MediaRepair, { path: 'sfu', action: 'gave-up' })).resolves.toEqual({});
		// A peer that is not in the room (or oneself) is refused, and not counted.
		for (const peerId of ['nobody', benId]) {
			await expect(ben.request(Method.MediaRepair, { path: 'mesh', action: 'rebuild', peerId })).rejects.toMatchObject({ code: ErrorCode.PeerNotFound });
		}

		const after = await scrape();
		expect(metricSample(after, series('mesh', 'ice-restart'))).toBe(2);
		expect(metricSample(after, series('mesh', 'recovered'))).toBe(1);
		expect(metricSample(after, series('sfu', 'gave-up'))).toBe(1);
		expect(metricSample(after, series('mesh', 'rebuild'))).toBe(0);
		expect(metricSample(after, 'streaming_signaling_messages_total{method="media.repair"}')).toBe(6);
		ann.close();
		ben.close();
	});
});

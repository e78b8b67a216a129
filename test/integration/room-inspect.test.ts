import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Method, PROTOCOL_VERSION, RoomInspectionSchema, type ConnectionQuality } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import type { SignalingClient } from '../../web/src/signaling/SignalingClient.js';
import { startInProcessServer } from '../support/inProcessServer.js';
import { connectClient, withBystanders } from '../support/signaling.js';

/**
 * `room.inspect`: what the topology inspector draws. The room's topology and,
 * per participant, its latest quality report as the server keeps it.
 */

const join = async (port: number, roomId: string, displayName: string): Promise<{ client: SignalingClient; peerId: string }> => {
	const client = await connectClient(port);
	const { peerId } = await client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId, displayName });
	return { client, peerId };
};

const quality = (remotePeerId: string, path: ConnectionQuality['path'], outboundBitrateBps: number, rttMs: number | null): ConnectionQuality => ({
	remotePeerId,
	path,
	outboundBitrateBps,
	availableOutgoingBitrateBps: null,
	rttMs,
	packetLoss: 0,
});

describe('room.inspect', () => {
	let server: Server;
	const clients: SignalingClient[] = [];

	beforeAll(async () => {
		server = await startInProcessServer();
	});

	withBystanders(() => server);

	afterAll(async () => {
		for (const c of clients) c.close();
		await server?.close();
	});

	it('two participants that reported: both listed, in join order, with their connections, the topology and the server time', async () => {
		const ann = await join(server.port, 'inspected', 'Ann');
		const ben = await join(server.port, 'inspected', 'Ben');
		const cal = await join(server.port, 'inspected', 'Cal');
		clients.push(ann.client, ben.client, cal.client);
		await ann.client.request(Method.QualityReport, { intervalMs: 2000, connections: [quality(ben.peerId, 'direct', 300_000.4, 20.04), quality(cal.peerId, 'relay', 250_000, null)] });
		await ben.client.request(Method.QualityReport, { intervalMs: 2000, connections: [quality(ann.peerId, 'direct', 310_000, 22)] });
		const before = Date.now();

		const answer = await cal.client.request(Method.RoomInspect, {});
		expect(RoomInspectionSchema.parse(answer)).toEqual(answer);
		expect(answer).toMatchObject({ roomKind: 'meeting', topology: { state: 'mesh', epoch: 0 }, qualityReportIntervalMs: 2000, truncated: { participants: 0, connections: 0 } });
		expect(answer.now).toBeGreaterThanOrEqual(before);
		expect(answer.participants.map((p) => [p.peerId, p.displayName, p.role])).toEqual([
			[ann.peerId, 'Ann', 'participant'],
			[ben.peerId, 'Ben', 'participant'],
			[cal.peerId, 'Cal', 'participant'],
		]);
		const [a, b, c] = answer.participants;
		expect(a?.quality?.connections).toEqual([
			{ remotePeerId: ben.peerId, path: 'direct', outboundBitrateBps: 300_000, rttMs: 20, packetLoss: 0 },
			{ remotePeerId: cal.peerId, path: 'relay', outboundBitrateBps: 250_000, rttMs: null, packetLoss: 0 },
		]);
		expect(b?.quality?.connections).toEqual([{ remotePeerId: ann.peerId, path: 'direct', outboundBitrateBps: 310_000, rttMs: 22, packetLoss: 0 }]);
		expect(a?.quality?.receivedAt).toBeLessThanOrEqual(answer.now);
		expect(answer.now - (a?.quality?.receivedAt ?? 0)).toBeLessThan(5_000);
		// Cal has not reported yet.
		expect(c?.quality).toBeNull();
	});

	it('a participant that left is no longer listed, and a connection to it is dropped from the others\' reports', async () => {
		const dee = await join(server.port, 'leaving', 'Dee');
		const eve = await join(server.port, 'leaving', 'Eve');
		clients.push(dee.client);
		await dee.client.request(Method.QualityReport, { intervalMs: 2000, connections: [quality(eve.peerId, 'direct', 1000, 5), quality('sfu', 'sfu', 2000, 7)] });
		await eve.client.request(Method.Leave, {});
		eve.client.close();
		const answer = await dee.client.request(Method.RoomInspect, {});
		expect(answer.participants.map((p) => p.peerId)).toEqual([dee.peerId]);
		expect(answer.participants[0]?.quality?.connections.map((c) => c.remotePeerId)).toEqual(['sfu']);
	});

	it('one answer serves the whole room for a second: two askers get the same one (or, a second apart, a fresh one), and a later ask sees a newcomer', async () => {
		const fay = await join(server.port, 'cached', 'Fay');
		const gus = await join(server.port, 'cached', 'Gus');
		clients.push(fay.client, gus.client);
		const first = await fay.client.request(Method.RoomInspect, {});
		const second = await gus.client.request(Method.RoomInspect, {});
		// Within the window the same answer (its server time says so); on a slow machine the second may come after it.
		if (second.now === first.now) expect(second).toEqual(first);
		else expect(second.now - first.now).toBeGreaterThanOrEqual(1000);
		const hal = await join(server.port, 'cached', 'Hal');
		clients.push(hal.client);
		await expect.poll(async () => (await gus.client.request(Method.RoomInspect, {})).participants.map((p) => p.peerId), { timeout: 5_000, interval: 100 }).toEqual([fay.peerId, gus.peerId, hal.peerId]);
		const fresh = await hal.client.request(Method.RoomInspect, {});
		expect(fresh.now - first.now).toBeGreaterThanOrEqual(1000);
	});

	it('a broadcast\'s viewer is refused with PERMISSION_DENIED; its host sees the stage only', async () => {
		const res = await fetch(`http://127.0.0.1:${server.port}/api/rooms`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ roomId: 'show', settings: { kind: 'broadcast' } }),
		});
		expect(res.status).toBe(201);
		const speaker = await connectClient(server.port);
		const { peerId } = await speaker.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'show', displayName: 'Speaker', role: 'participant' });
		const viewer = await connectClient(server.port);
		await viewer.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'show', displayName: 'Viewer' });
		clients.push(speaker, viewer);
		await expect(viewer.request(Method.RoomInspect, {})).rejects.toMatchObject({ code: ErrorCode.PermissionDenied });
		// Refused, not cut off: it still serves.
		await expect(viewer.request(Method.Chat, { text: 'still here' })).resolves.toMatchObject({ sentAt: expect.any(Number) });
		const answer = await speaker.request(Method.RoomInspect, {});
		expect(answer.roomKind).toBe('broadcast');
		expect(answer.participants.map((p) => p.peerId)).toEqual([peerId]);
	});
});

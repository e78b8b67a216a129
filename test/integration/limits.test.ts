import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, Method, Notification, PROTOCOL_VERSION, type ResponseData } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import { metricSample } from '../support/metrics.js';
import { startInProcessServer, until } from '../support/inProcessServer.js';
import { connectClient, nextEvent, withBystanders } from '../support/signaling.js';
import type { SignalingClient } from '../../web/src/signaling/SignalingClient.js';

const join = (roomId: string, displayName = 'Tester') => ({ protocolVersion: PROTOCOL_VERSION, roomId, displayName });

/** Opens a raw socket as if from `address` (the server trusts X-Forwarded-For here); resolves open, or the refusal's status and body. */
function openFrom(port: number, address: string): Promise<{ ws?: WebSocket; status?: number; body?: { error: string } }> {
	return new Promise((resolve) => {
		const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { 'x-forwarded-for': address } });
		ws.once('open', () => resolve({ ws }));
		ws.once('unexpected-response', (_req, res) => {
			let text = '';
			res.on('data', (chunk: Buffer) => (text += chunk.toString()));
			res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) as { error: string } }));
		});
		ws.once('error', () => undefined);
	});
}

function closed(ws: WebSocket): Promise<number> {
	return new Promise((resolve) => {
		if (ws.readyState === WebSocket.CLOSED) resolve(-1);
		ws.once('close', (code) => resolve(code));
	});
}

async function healthy(server: Server): Promise<void> {
	expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
}

// Each limit is tried on a server that also carries a call in another room (withBystanders):
// after every test the server answers /healthz and that call goes on.

describe('limits: sockets per address and in total', () => {
	let server: Server;
	const open: WebSocket[] = [];

	beforeAll(async () => {
		// Two of the 8 sockets are the bystanders' (from 127.0.0.1 itself).
		server = await startInProcessServer({ http: { trustProxy: true }, limits: { maxConnections: 8, maxConnectionsPerAddress: 3 } });
	});
	withBystanders(() => server);

	afterEach(async () => {
		for (const ws of open.splice(0)) ws.terminate();
		await until(() => server.signaling.connectionCount === 2, 5000, 'sockets to close');
	});

	afterAll(async () => {
		await server?.close();
	});

	it('one address gets maxConnectionsPerAddress sockets; the next is refused 429 TOO_MANY_CONNECTIONS; a closed one frees its slot', async () => {
		for (let i = 0; i < 3; i++) {
			const { ws } = await openFrom(server.port, '203.0.113.7');
			expect(ws).toBeDefined();
			open.push(ws as WebSocket);
		}
		const refused = await openFrom(server.port, '203.0.113.7');
		expect(refused.status).toBe(429);
		expect(refused.body?.error).toBe('TOO_MANY_CONNECTIONS');
		// Another address is unaffected.
		const other = await openFrom(server.port, '203.0.113.8');
		expect(other.ws).toBeDefined();
		open.push(other.ws as WebSocket);
		// Closing one frees the slot.
		const first = open.shift() as WebSocket;
		const gone = closed(first);
		first.close();
		await gone;
		await until(async () => (await openFrom(server.port, '203.0.113.7').then((r) => (r.ws ? (open.push(r.ws), true) : false))), 5000, 'a slot to free');
		expect(metricSample(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text(), 'streaming_signaling_upgrades_refused_total{code="TOO_MANY_CONNECTIONS"}')).toBeGreaterThanOrEqual(1);
		await healthy(server);
	});

	it('past maxConnections in total (bystanders included), any address is refused 503 TOO_MANY_CONNECTIONS', async () => {
		for (let i = 0; i < 6; i++) {
			const { ws } = await openFrom(server.port, `198.51.100.${i}`);
			expect(ws).toBeDefined();
			open.push(ws as WebSocket);
		}
		const refused = await openFrom(server.port, '198.51.100.200');
		expect(refused.status).toBe(503);
		expect(refused.body?.error).toBe('TOO_MANY_CONNECTIONS');
		await healthy(server);
	});
});

describe('limits: the join deadline', () => {
	let server: Server;

	beforeAll(async () => {
		server = await startInProcessServer({ limits: { joinTimeoutMs: 300 } });
	});
	withBystanders(() => server);

	afterAll(async () => {
		await server?.close();
	});

	it('a socket that never joins is closed with 4005 JOIN_TIMEOUT; one that joined in time stays', async () => {
		const idle = await connectClient(server.port);
		const idleClosed = nextEvent(idle, 'close');
		const member = await connectClient(server.port);
		await member.request(Method.Join, join('deadline'));
		expect(await idleClosed).toEqual([CloseCode.JoinTimeout, 'JOIN_TIMEOUT']);
		await new Promise((r) => setTimeout(r, 400));
		expect(member.closed).toBe(false);
		await expect(member.request(Method.Chat, { text: 'still here' })).resolves.toMatchObject({ sentAt: expect.any(Number) });
		member.close();
		expect(metricSample(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text(), 'streaming_signaling_limit_closes_total{reason="join_timeout"}')).toBe(1);
	});

	it('after a leave the deadline starts again: the socket must join again or go', async () => {
		const client = await connectClient(server.port);
		await client.request(Method.Join, join('deadline-leave'));
		await client.request(Method.Leave, {});
		const [code] = await nextEvent(client, 'close');
		expect(code).toBe(CloseCode.JoinTimeout);
	});
});

describe('limits: rooms in total', () => {
	let server: Server;
	const clients: SignalingClient[] = [];

	beforeAll(async () => {
		// The bystanders' room is the first of three.
		server = await startInProcessServer({ limits: { maxRooms: 3 } });
	});
	withBystanders(() => server);

	afterAll(async () => {
		for (const client of clients) client.close();
		await server?.close();
	});

	it('a join that would make room maxRooms+1 gets TOO_MANY_ROOMS, as does POST /api/rooms (503); existing rooms still admit', async () => {
		for (const room of ['r1', 'r2']) {
			const client = await connectClient(server.port);
			clients.push(client);
			await client.request(Method.Join, join(room));
		}
		const third = await connectClient(server.port);
		clients.push(third);
		await expect(third.request(Method.Join, join('r3'))).rejects.toMatchObject({ code: ErrorCode.TooManyRooms });
		// Not fatal: the same socket joins a room that exists.
		await expect(third.request(Method.Join, join('r1'))).resolves.toMatchObject({ roomId: 'r1' });
		const res = await fetch(`http://127.0.0.1:${server.port}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"roomId":"r4"}' });
		expect(res.status).toBe(503);
		expect(await res.json()).toMatchObject({ error: 'TOO_MANY_ROOMS' });
		expect(server.rooms.size).toBe(3);
		// When a room goes away, a new one can be made.
		(clients[1] as SignalingClient).close();
		await until(() => server.rooms.size === 2, 5000, 'room r2 to go');
		const fourth = await connectClient(server.port);
		clients.push(fourth);
		await expect(fourth.request(Method.Join, join('r5'))).resolves.toMatchObject({ roomId: 'r5' });
		await healthy(server);
	});
});

describe('limits: what one client can make the server queue', () => {
	let server: Server;

	beforeAll(async () => {
		server = await startInProcessServer({
			signaling: { resumeGraceMs: 10_000, rateLimit: { messagesPerSecond: 100_000, burst: 100_000 } },
			limits: { maxQueuedBytes: 64 * 1024, resumeQueueBytes: 16 * 1024 },
		});
	});
	withBystanders(() => server);

	afterAll(async () => {
		await server?.close();
	});

	it('a client that stops reading is cut off once maxQueuedBytes wait for it, and its peer removed (no resume could fill the gap); the sender is unharmed', async () => {
		const reader = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
		await new Promise((resolve) => reader.once('open', resolve));
		const readerClosed = closed(reader);
		reader.send(JSON.stringify({ id: 1, method: Method.Join, data: join('slow', 'Slow') }));
		await until(() => server.rooms.get('slow')?.size === 1, 5000, 'the reader to join');
		// Stop reading: the kernel buffers fill, then the server's own queue.
		(reader as unknown as { _socket: { pause(): void } })._socket.pause();
		const sender = await connectClient(server.port);
		await sender.request(Method.Join, join('slow', 'Sender'));
		const readerLeft = nextEvent(sender, Notification.PeerLeft, 25_000);
		const text = 'x'.repeat(2000);
		const readerPeer = [...(server.rooms.get('slow')?.peers ?? [])].find((p) => p.displayName === 'Slow');
		let sent = 0;
		const deadline = Date.now() + 20_000;
		while (readerPeer?.state === 'connected' && sent < 20_000 && Date.now() < deadline) {
			await Promise.all(Array.from({ length: 50 }, () => sender.request(Method.Chat, { text })));
			sent += 50;
		}
		expect(readerPeer?.state).toBe('closed');
		expect((await readerLeft)[0]).toEqual({ peerId: expect.any(String) });
		// Reading again, the client finds its socket cut.
		(reader as unknown as { _socket: { resume(): void } })._socket.resume();
		await readerClosed;
		expect(metricSample(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text(), 'streaming_signaling_limit_closes_total{reason="slow_reader"}')).toBe(1);
		expect(server.rooms.get('slow')?.size).toBe(1);
		await expect(sender.request(Method.Chat, { text: 'after' })).resolves.toMatchObject({ sentAt: expect.any(Number) });
		expect(sender.closed).toBe(false);
		sender.close();
		await healthy(server);
	});

});

describe('limits: the held resume queue', () => {
	let server: Server;

	beforeAll(async () => {
		// 16 KiB each, 24 KiB for all dropped peers together.
		server = await startInProcessServer({ signaling: { resumeGraceMs: 10_000 }, limits: { resumeQueueBytes: 16 * 1024, resumeQueueBytesTotal: 24 * 1024 } });
	});
	withBystanders(() => server);

	/** Joins `room` as `name` on a raw socket and drops it (no close frame): the peer waits out its grace. */
	async function joinAndDrop(room: string, name: string): Promise<void> {
		const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
		await new Promise((resolve) => ws.once('open', resolve));
		ws.send(JSON.stringify({ id: 1, method: Method.Join, data: join(room, name) }));
		await until(() => [...(server.rooms.get(room)?.peers ?? [])].some((p) => p.displayName === name), 5000, `${name} to join`);
		ws.terminate();
		await until(() => [...(server.rooms.get(room)?.peers ?? [])].some((p) => p.displayName === name && p.state === 'disconnected'), 5000, `${name}'s drop to be seen`);
	}

	it('dropped peers share one budget: when their queues together pass resumeQueueBytesTotal, the one that does not fit is removed', async () => {
		const speaker = await connectClient(server.port);
		await speaker.request(Method.Join, join('budget-a', 'Speaker'));
		await joinAndDrop('budget-a', 'First');
		// 5 chats of 2,000 characters: about 10 KiB held for First, under its own 16 KiB.
		for (let i = 0; i < 5; i++) await speaker.request(Method.Chat, { text: 'z'.repeat(2000) });
		const other = await connectClient(server.port);
		await other.request(Method.Join, join('budget-b', 'Other'));
		await joinAndDrop('budget-b', 'Second');
		const secondLeft = nextEvent(other, Notification.PeerLeft, 5000);
		// Second's own queue would stay under 16 KiB too, but the two together pass 24 KiB.
		for (let i = 0; i < 7; i++) await other.request(Method.Chat, { text: 'z'.repeat(2000) });
		await secondLeft;
		expect(server.rooms.get('budget-b')?.size).toBe(1);
		// First still waits for its resume, its queue intact.
		expect([...(server.rooms.get('budget-a')?.peers ?? [])].find((p) => p.displayName === 'First')?.state).toBe('disconnected');
		speaker.close();
		other.close();
	});

	afterAll(async () => {
		await server?.close();
	});

	it('a dropped peer whose held notifications pass resumeQueueBytes is removed at once (others see it leave), not held to the end of its grace', async () => {
		const dropped = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
		await new Promise((resolve) => dropped.once('open', resolve));
		dropped.send(JSON.stringify({ id: 1, method: Method.Join, data: join('held', 'Gone') }));
		const other = await connectClient(server.port);
		await until(() => server.rooms.get('held')?.size === 1, 5000, 'the first to join');
		await other.request(Method.Join, join('held', 'Other'));
		dropped.terminate();
		await until(() => [...(server.rooms.get('held')?.peers ?? [])].some((p) => p.state === 'disconnected'), 5000, 'the drop to be seen');
		const left = nextEvent(other, Notification.PeerLeft, 5000);
		// 2,000-character chats: the 16 KiB queue holds 7 of them; the 8th overflows it.
		for (let i = 0; i < 8; i++) await other.request(Method.Chat, { text: 'y'.repeat(2000) });
		await left;
		expect(server.rooms.get('held')?.size).toBe(1);
		other.close();
	});
});

describe('limits: SFU objects per peer', () => {
	let server: Server;
	let client: SignalingClient;
	let send: ResponseData<'sfu.createTransport'>;
	let recv: ResponseData<'sfu.createTransport'>;
	const producers = async () => metricSample(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text(), 'streaming_sfu_producers');

	beforeAll(async () => {
		server = await startInProcessServer({ topology: { meshMaxPeers: 0, meshMinPeers: 0 } });
		client = await connectClient(server.port);
		await client.request(Method.Join, join('sfu-limits'));
	});
	withBystanders(() => server);

	afterAll(async () => {
		client?.close();
		await server?.close();
	});

	it('one send and one receive transport per peer: another of either is LIMIT_EXCEEDED and binds no port, until sfu.closeTransport frees its direction', async () => {
		const transports = async () => metricSample(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text(), 'streaming_sfu_transports');
		const first = await client.request(Method.SfuCreateTransport, { direction: 'send' });
		recv = await client.request(Method.SfuCreateTransport, { direction: 'recv' });
		// One client asking 60 times (the attack in the issue) still holds 2.
		for (let i = 0; i < 30; i++) {
			await expect(client.request(Method.SfuCreateTransport, { direction: 'send' })).rejects.toMatchObject({ code: ErrorCode.LimitExceeded });
			await expect(client.request(Method.SfuCreateTransport, { direction: 'recv' })).rejects.toMatchObject({ code: ErrorCode.LimitExceeded });
		}
		expect(await transports()).toBe(2);
		// A client that starts over closes its own first: then it may make a new one.
		await client.request(Method.SfuCloseTransport, { transportId: first.transportId });
		expect(await transports()).toBe(1);
		send = await client.request(Method.SfuCreateTransport, { direction: 'send' });
		expect(send.transportId).not.toBe(first.transportId);
		expect(await transports()).toBe(2);
		await expect(client.request(Method.SfuRestartIce, { transportId: first.transportId })).rejects.toMatchObject({ code: ErrorCode.SfuObjectNotFound });
	});

	it('one producer per source (camera, microphone, screen); a source carries its own kind; closing one frees its source', async () => {
		const transportId = send.transportId;
		const video = (ssrc: number) => ({ codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }], encodings: [{ ssrc }] });
		const audio = { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 3333 }] };
		const camera = await client.request(Method.SfuProduce, { transportId, kind: 'video', source: 'camera', rtpParameters: video(1111) });
		await client.request(Method.SfuProduce, { transportId, kind: 'audio', source: 'microphone', rtpParameters: audio });
		await client.request(Method.SfuProduce, { transportId, kind: 'video', source: 'screen', rtpParameters: video(4444) });
		await expect(client.request(Method.SfuProduce, { transportId, kind: 'video', source: 'camera', rtpParameters: video(5555) })).rejects.toMatchObject({
			code: ErrorCode.LimitExceeded,
		});
		await expect(client.request(Method.SfuProduce, { transportId, kind: 'audio', source: 'screen', rtpParameters: audio })).rejects.toMatchObject({
			code: ErrorCode.InvalidData,
		});
		// Producing on the receive transport is refused too.
		await expect(client.request(Method.SfuProduce, { transportId: recv.transportId, kind: 'video', source: 'camera', rtpParameters: video(7777) })).rejects.toMatchObject({
			code: ErrorCode.SfuRejected,
		});
		expect(await producers()).toBe(3);
		await client.request(Method.SfuCloseProducer, { producerId: camera.producerId });
		await expect(client.request(Method.SfuProduce, { transportId, kind: 'video', source: 'camera', rtpParameters: video(6666) })).resolves.toMatchObject({
			producerId: expect.any(String),
		});
		expect(await producers()).toBe(3);
	});

	it('sfu.restartIce gives fresh ICE parameters for the caller\'s transport; another id is SFU_OBJECT_NOT_FOUND', async () => {
		const { iceParameters } = await client.request(Method.SfuRestartIce, { transportId: recv.transportId });
		expect(iceParameters.usernameFragment).toEqual(expect.any(String));
		expect(iceParameters.usernameFragment).not.toBe(recv.iceParameters.usernameFragment);
		expect(iceParameters.password).not.toBe(recv.iceParameters.password);
		await expect(client.request(Method.SfuRestartIce, { transportId: 'not-mine' })).rejects.toMatchObject({ code: ErrorCode.SfuObjectNotFound });
	});
});

import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Method, Notification, PROTOCOL_VERSION, SignalingError } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import { startInProcessServer } from '../support/inProcessServer.js';
import type { SignalingClient } from '../../web/src/signaling/SignalingClient.js';
import { connectClient, nextEvent } from '../support/signaling.js';

const join = (roomId: string, displayName: string) => ({ protocolVersion: PROTOCOL_VERSION, roomId, displayName });

/** Sends one raw frame and resolves with the server's first reply (or close). */
function rawExchange(port: number, frame: string | Buffer): Promise<{ reply?: Record<string, unknown>; closeCode?: number }> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
		ws.once('error', reject);
		ws.once('open', () => ws.send(frame));
		ws.once('message', (data) => {
			resolve({ reply: JSON.parse(data.toString()) as Record<string, unknown> });
			ws.close();
		});
		ws.once('close', (code) => resolve({ closeCode: code }));
	});
}

describe('signaling over /ws', () => {
	let server: Server;

	let bystanders: Array<{ client: SignalingClient; peerId: string }>;

	beforeAll(async () => {
		server = await startInProcessServer();
		bystanders = [];
		for (const name of ['Bea', 'Ben']) {
			const client = await connectClient(server.port);
			const { peerId } = await client.request(Method.Join, join('bystanders', name));
			bystanders.push({ client, peerId });
		}
	});

	afterAll(async () => {
		for (const b of bystanders ?? []) b.client.close();
		await server?.close();
	});

	it('join answers with a peer id and the peers already present; others get peerJoined', async () => {
		const alice = await connectClient(server.port);
		const bob = await connectClient(server.port);
		const a = await alice.request(Method.Join, join('sig-join', 'Alice'));
		expect(a.peers).toEqual([]);
		// Only a token makes a host: the first anonymous joiner is a participant too.
		expect(a.role).toBe('participant');
		const joined = nextEvent(alice, Notification.PeerJoined);
		const b = await bob.request(Method.Join, join('sig-join', 'Bob'));
		expect(b.role).toBe('participant');
		expect(b.peers).toEqual([{ peerId: a.peerId, displayName: 'Alice', role: 'participant', audioMuted: false, videoMuted: false }]);
		expect(b.resumeToken).not.toBe(a.resumeToken);
		expect(b.resumeToken.length).toBeGreaterThanOrEqual(32);
		const [info] = await joined;
		expect(info).toEqual({ peerId: b.peerId, displayName: 'Bob', role: 'participant', audioMuted: false, videoMuted: false });

		// Closing with 1000 is a leave: the others hear of it at once, no grace.
		const left = nextEvent(alice, Notification.PeerLeft);
		bob.close();
		expect((await left)[0].peerId).toBe(b.peerId);
		alice.close();
	});

	it('signal relays an SDP description to the named peer of the same room', async () => {
		const alice = await connectClient(server.port);
		const bob = await connectClient(server.port);
		await alice.request(Method.Join, join('sig-relay', 'Alice'));
		const b = await bob.request(Method.Join, join('sig-relay', 'Bob'));
		const received = nextEvent(bob, Notification.Signal);
		const a = b.peers[0]?.peerId as string;
		const signal = { kind: 'description', description: { type: 'offer', sdp: 'v=0\r\n' } } as const;
		await alice.request(Method.Signal, { to: b.peerId, signal });
		expect((await received)[0]).toEqual({ from: a, signal });
		alice.close();
		bob.close();
	});

	it('signal carries the pair connection\'s generation (a repaired pair) to the other end; a bad one is refused', async () => {
		const alice = await connectClient(server.port);
		const bob = await connectClient(server.port);
		await alice.request(Method.Join, join('sig-generation', 'Alice'));
		const b = await bob.request(Method.Join, join('sig-generation', 'Bob'));
		const a = b.peers[0]?.peerId as string;
		const signal = { kind: 'candidate', candidate: { candidate: 'gen-3' } } as const;
		const received = nextEvent(bob, Notification.Signal);
		await alice.request(Method.Signal, { to: b.peerId, signal, generation: 3 });
		expect((await received)[0]).toEqual({ from: a, signal, generation: 3 });
		for (const generation of [-1, 1.5, 1_000_001]) {
			await expect(alice.request(Method.Signal, { to: b.peerId, signal, generation } as never)).rejects.toMatchObject({ code: ErrorCode.InvalidData });
		}
		// Still relaying after the refusals.
		const again = nextEvent(bob, Notification.Signal);
		await alice.request(Method.Signal, { to: b.peerId, signal });
		expect((await again)[0]).toEqual({ from: a, signal });
		alice.close();
		bob.close();
	});

	it('chat reaches everyone else in the room with the sender\'s name; mute state too', async () => {
		const alice = await connectClient(server.port);
		const bob = await connectClient(server.port);
		const a = await alice.request(Method.Join, join('sig-chat', 'Alice'));
		await bob.request(Method.Join, join('sig-chat', 'Bob'));
		const message = nextEvent(bob, Notification.ChatMessage);
		const { sentAt } = await alice.request(Method.Chat, { text: '  hello room ' });
		expect((await message)[0]).toEqual({ from: a.peerId, displayName: 'Alice', text: 'hello room', sentAt });
		await expect(alice.request(Method.Chat, { text: '   ' })).rejects.toMatchObject({ code: ErrorCode.InvalidData });
		const muted = nextEvent(bob, Notification.PeerMediaState);
		await alice.request(Method.MediaState, { audioMuted: true, videoMuted: false });
		expect((await muted)[0]).toEqual({ peerId: a.peerId, audioMuted: true, videoMuted: false });
		const carol = await connectClient(server.port);
		const c = await carol.request(Method.Join, join('sig-chat', 'Carol'));
		expect(c.peers.find((p) => p.peerId === a.peerId)?.audioMuted).toBe(true);
		for (const client of [alice, bob, carol]) client.close();
	});

	it('a peer in another room is unreachable: PEER_NOT_FOUND', async () => {
		const alice = await connectClient(server.port);
		const mallory = await connectClient(server.port);
		const a = await alice.request(Method.Join, join('room-a', 'Alice'));
		await mallory.request(Method.Join, join('room-b', 'Mallory'));
		let delivered = false;
		alice.on(Notification.Signal, () => {
			delivered = true;
		});
		const attempt = mallory.request(Method.Signal, {
			to: a.peerId,
			signal: { kind: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' } },
		});
		await expect(attempt).rejects.toMatchObject({ code: ErrorCode.PeerNotFound });
		// A round trip on alice's own socket proves nothing was queued for her.
		await alice.request(Method.Leave, {});
		expect(delivered).toBe(false);
		alice.close();
		mallory.close();
	});

	it('requests before join are refused with NOT_JOINED', async () => {
		const client = await connectClient(server.port);
		await expect(client.request(Method.Leave, {})).rejects.toMatchObject({ code: ErrorCode.NotJoined });
		client.close();
	});

	it('joining twice on one connection is refused with ALREADY_JOINED', async () => {
		const client = await connectClient(server.port);
		await client.request(Method.Join, join('sig-twice', 'Carol'));
		await expect(client.request(Method.Join, join('sig-twice', 'Carol'))).rejects.toMatchObject({
			code: ErrorCode.AlreadyJoined,
		});
		client.close();
	});

	it('a protocol version mismatch is refused with PROTOCOL_MISMATCH, then the socket closes', async () => {
		const client = await connectClient(server.port);
		const closed = nextEvent(client, 'close');
		const error = await client
			.request(Method.Join, { protocolVersion: PROTOCOL_VERSION + 1, roomId: 'x', displayName: 'Old' })
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(SignalingError);
		expect((error as SignalingError).code).toBe(ErrorCode.ProtocolMismatch);
		expect((await closed)[0]).toBe(4001);
	});

	it('malformed JSON gets BAD_JSON', async () => {
		const { reply } = await rawExchange(server.port, '{"id":1,');
		expect(reply).toMatchObject({ ok: false, errorCode: ErrorCode.BadJson });
	});

	it('an unknown method gets UNKNOWN_METHOD with the request id', async () => {
		const { reply } = await rawExchange(server.port, JSON.stringify({ id: 7, method: 'teleport', data: {} }));
		expect(reply).toMatchObject({ id: 7, ok: false, errorCode: ErrorCode.UnknownMethod });
	});

	it('missing fields get INVALID_DATA naming the field', async () => {
		const { reply } = await rawExchange(server.port, JSON.stringify({ id: 4, method: 'join', data: { protocolVersion: 1, roomId: 'r' } }));
		expect(reply).toMatchObject({ id: 4, ok: false, errorCode: ErrorCode.InvalidData });
		expect(String(reply?.errorReason)).toContain('displayName');
	});

	it('wrong types get INVALID_DATA naming the field', async () => {
		const { reply } = await rawExchange(
			server.port,
			JSON.stringify({ id: 3, method: 'join', data: { protocolVersion: 1, roomId: 42, displayName: 'X' } }),
		);
		expect(reply).toMatchObject({ id: 3, ok: false, errorCode: ErrorCode.InvalidData });
		expect(String(reply?.errorReason)).toContain('roomId');
	});

	it('a binary frame closes the socket with 1003', async () => {
		const { closeCode } = await rawExchange(server.port, Buffer.from([1, 2, 3]));
		expect(closeCode).toBe(1003);
	});

	it('a frame over the size limit closes the socket with 1009', async () => {
		const { closeCode } = await rawExchange(server.port, 'x'.repeat(70 * 1024));
		expect(closeCode).toBe(1009);
	});

	it('requests on one socket are handled one at a time in arrival order, each answered once, even when they arrive together', async () => {
		const alice = await connectClient(server.port);
		const a = await alice.request(Method.Join, join('sig-order', 'Alice'));
		const signals: Array<{ from: string; signal: { candidate?: { candidate: string } } }> = [];
		alice.on(Notification.Signal, (data) => signals.push(data as (typeof signals)[0]));
		const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
		await new Promise((resolve, reject) => {
			ws.once('open', resolve);
			ws.once('error', reject);
		});
		const replies: Array<{ id: number; ok: boolean; data?: { peerId?: string } }> = [];
		ws.on('message', (raw) => {
			const frame = JSON.parse(raw.toString()) as (typeof replies)[0];
			if ('ok' in frame) replies.push(frame);
		});
		// One write: the join (answered after the room's queue) and everything behind it reach the server in one read.
		const frames = [JSON.stringify({ id: 1, method: Method.Join, data: join('sig-order', 'Bob') })];
		for (let id = 2; id <= 22; id++) {
			frames.push(
				id === 12
					? JSON.stringify({ id, method: Method.SfuGetRouterRtpCapabilities, data: {} })
					: JSON.stringify({ id, method: Method.Signal, data: { to: a.peerId, signal: { kind: 'candidate', candidate: { candidate: `c${id}` } } } }),
			);
		}
		frames.push(JSON.stringify({ id: 23, method: Method.Chat, data: { text: 'last' } }));
		const socket = (ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
		socket.cork();
		for (const frame of frames) ws.send(frame);
		socket.uncork();
		await expect.poll(() => replies.length).toBe(23);
		await expect.poll(() => signals.length).toBe(20);
		// Each answered once, in order, and none before the join it queued behind (no NOT_JOINED).
		expect(replies.map((r) => r.id)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
		expect(replies.every((r) => r.ok)).toBe(true);
		const bob = replies[0]?.data?.peerId;
		expect(signals.map((s) => s.from)).toEqual(Array(20).fill(bob));
		expect(signals.map((s) => s.signal.candidate?.candidate)).toEqual(
			Array.from({ length: 21 }, (_, i) => i + 2)
				.filter((id) => id !== 12)
				.map((id) => `c${id}`),
		);
		ws.close();
		alice.close();
	});

	it('after all that, the server still serves a fresh join, and the bystanders lost nothing', async () => {
		const client = await connectClient(server.port);
		const res = await client.request(Method.Join, join('still-alive', 'Dana'));
		expect(res.peerId).toMatch(/[0-9a-f-]{36}/);
		client.close();
		// Joined before the hostile frames above, still in their room, still able to signal.
		const [a, b] = bystanders as [(typeof bystanders)[0], (typeof bystanders)[0]];
		expect(server.rooms.get('bystanders')?.size).toBe(2);
		const received = nextEvent(b.client, Notification.Signal);
		await a.client.request(Method.Signal, { to: b.peerId, signal: { kind: 'candidate', candidate: { candidate: 'still-here' } } });
		expect((await received)[0]).toMatchObject({ from: a.peerId, signal: { candidate: { candidate: 'still-here' } } });
	});
});

describe('the repair policy (config repair.*)', () => {
	let server: Server;

	beforeAll(async () => {
		server = await startInProcessServer({ repair: { disconnectedGraceMs: 500, giveUpMs: 7000 } });
	});

	afterAll(async () => {
		await server?.close();
	});

	it('reaches the browser in its join answer, and again in its resume answer', async () => {
		const first = await connectClient(server.port);
		const joined = await first.request(Method.Join, join('repair-policy', 'Rae'));
		expect(joined.repair).toEqual({ disconnectedGraceMs: 500, giveUpMs: 7000 });
		const second = await connectClient(server.port);
		const resumed = await second.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken: joined.resumeToken });
		expect(resumed).toMatchObject({ peerId: joined.peerId, repair: { disconnectedGraceMs: 500, giveUpMs: 7000 } });
		first.close();
		second.close();
	});
});

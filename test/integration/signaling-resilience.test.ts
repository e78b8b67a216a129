import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Method, Notification, PROTOCOL_VERSION } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import type { SignalingSession } from '../../web/src/signaling/SignalingSession.js';
import { startInProcessServer, until } from '../support/inProcessServer.js';
import { connectClient, nextEvent, sessionWithCuttableSocket } from '../support/signaling.js';

const HEARTBEAT_MS = 250;
const GRACE_MS = 1500;
const join = (roomId: string, displayName: string) => ({ protocolVersion: PROTOCOL_VERSION, roomId, displayName });


describe('heartbeat', () => {
	let server: Server;

	beforeAll(async () => {
		server = await startInProcessServer({ signaling: { heartbeatIntervalMs: HEARTBEAT_MS } });
	});

	afterAll(async () => {
		await server?.close();
	});

	it('a socket that stops answering pings is dropped at the next heartbeat (within two intervals)', async () => {
		const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { autoPong: false });
		let pings = 0;
		ws.on('ping', () => pings++);
		const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
		await new Promise((resolve) => ws.once('open', resolve));
		// Dropped (1006: terminated, no close frame) after exactly one unanswered ping.
		expect(await closed).toBe(1006);
		expect(pings).toBe(1);
	});

	it('a socket that answers pings stays connected across many intervals', async () => {
		const client = await connectClient(server.port);
		await client.request(Method.Join, join('hb-alive', 'Alive'));
		await new Promise((r) => setTimeout(r, HEARTBEAT_MS * 5));
		expect(client.closed).toBe(false);
		await expect(client.request(Method.Leave, {})).resolves.toEqual({});
		client.close();
	});

});

describe('resume, floods and concurrency', () => {
	let server: Server;

	beforeAll(async () => {
		server = await startInProcessServer({
			signaling: { resumeGraceMs: GRACE_MS, rateLimit: { messagesPerSecond: 50, burst: 20 } },
		});
	});

	afterAll(async () => {
		await server?.close();
	});

	it('a dropped peer resumes with the same identity; others see no leave or join, and nothing is lost', async () => {
		const alice = sessionWithCuttableSocket(server.port);
		const bob = await connectClient(server.port);
		const a = await alice.session.join({ roomId: 'resume', displayName: 'Alice' });
		const b = await bob.request(Method.Join, join('resume', 'Bob'));
		let bobSawPresence = 0;
		bob.on(Notification.PeerLeft, () => bobSawPresence++);
		bob.on(Notification.PeerJoined, () => bobSawPresence++);
		const received: string[] = [];
		alice.session.on(Notification.Signal, ({ signal }) => {
			if (signal.kind === 'description') received.push(signal.description.sdp);
		});

		alice.cut();
		await until(() => alice.session.state === 'reconnecting', 2000, 'reconnecting');
		// Bob signals Alice while her socket is down: held by the server, replayed on resume.
		await bob.request(Method.Signal, { to: a.peerId, signal: { kind: 'description', description: { type: 'offer', sdp: 'held-1' } } });
		await bob.request(Method.Signal, { to: a.peerId, signal: { kind: 'description', description: { type: 'offer', sdp: 'held-2' } } });
		const [resumed] = await nextEventOf(alice.session, 'reconnected');

		expect(resumed.peerId).toBe(a.peerId);
		expect(resumed.peers.map((p) => p.peerId)).toEqual([b.peerId]);
		expect(resumed.resumeToken).not.toBe(a.resumeToken);
		await until(() => received.length === 2, 2000, 'replayed signals');
		expect(received).toEqual(['held-1', 'held-2']);
		// Bob can still reach Alice under the same id, and heard nothing about her.
		await bob.request(Method.Signal, { to: a.peerId, signal: { kind: 'description', description: { type: 'offer', sdp: 'live' } } });
		await until(() => received.length === 3, 2000, 'live signal');
		expect(bobSawPresence).toBe(0);
		expect(server.rooms.get('resume')?.size).toBe(2);
		alice.session.close();
		bob.close();
	});

	it('a used resume token is refused with RESUME_FAILED', async () => {
		const alice = sessionWithCuttableSocket(server.port);
		const a = await alice.session.join({ roomId: 'resume-once', displayName: 'Alice' });
		alice.cut();
		await nextEventOf(alice.session, 'reconnected');
		const replay = await connectClient(server.port);
		await expect(replay.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken: a.resumeToken })).rejects.toMatchObject({
			code: ErrorCode.ResumeFailed,
		});
		replay.close();
		alice.session.close();
	});

	it('after the grace period the peer is gone: others get peerLeft, and resume fails', async () => {
		const carol = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
		await new Promise((resolve) => carol.once('open', resolve));
		const reply = new Promise<{ data: { peerId: string; resumeToken: string } }>((resolve) =>
			carol.once('message', (data) => resolve(JSON.parse(data.toString()) as never)),
		);
		carol.send(JSON.stringify({ id: 1, method: 'join', data: join('grace', 'Carol') }));
		const c = (await reply).data;
		const dave = await connectClient(server.port);
		await dave.request(Method.Join, join('grace', 'Dave'));
		const left = nextEvent(dave, Notification.PeerLeft, GRACE_MS * 3);
		// Abrupt drop, no close frame: the server keeps Carol for the grace period.
		carol.terminate();
		await new Promise((r) => setTimeout(r, GRACE_MS / 3));
		expect(server.rooms.get('grace')?.getPeer(c.peerId)).toBeDefined();
		const [{ peerId }] = await left;
		expect(peerId).toBe(c.peerId);
		const late = await connectClient(server.port);
		await expect(late.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken: c.resumeToken })).rejects.toMatchObject({
			code: ErrorCode.ResumeFailed,
		});
		late.close();
		dave.close();
	});

	it('a flooding client is refused with RATE_LIMITED, then cut with 1008; its roommate keeps being served', async () => {
		const flooder = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
		await new Promise((resolve) => flooder.once('open', resolve));
		const neighbour = await connectClient(server.port);
		const n = await neighbour.request(Method.Join, join('flood', 'Neighbour'));
		const codes = new Map<string, number>();
		flooder.on('message', (data) => {
			const msg = JSON.parse(data.toString()) as { errorCode?: string };
			const key = msg.errorCode ?? 'ok';
			codes.set(key, (codes.get(key) ?? 0) + 1);
		});
		const closed = new Promise<number>((resolve) => flooder.once('close', (code) => resolve(code)));
		flooder.send(JSON.stringify({ id: 1, method: 'join', data: join('flood', 'Flooder') }));
		for (let i = 2; i < 500 && flooder.readyState === WebSocket.OPEN; i++) {
			flooder.send(JSON.stringify({ id: i, method: 'signal', data: { to: n.peerId, signal: { kind: 'candidate', candidate: { candidate: `c${i}` } } } }));
		}
		expect(await closed).toBe(1008);
		expect(codes.get(ErrorCode.RateLimited) ?? 0).toBeGreaterThan(0);
		// The neighbour is still in the room and served.
		await expect(neighbour.request(Method.Signal, { to: n.peerId, signal: { kind: 'candidate', candidate: { candidate: 'x' } } })).rejects.toMatchObject({
			code: ErrorCode.PeerNotFound,
		});
		expect(server.rooms.get('flood')?.getPeer(n.peerId)).toBeDefined();
		neighbour.close();
	});

	it('40 concurrent joins to one new room make one room with 40 peers, and everyone learns of everyone', async () => {
		const N = 40;
		const clients = await Promise.all(Array.from({ length: N }, () => connectClient(server.port)));
		const seen = clients.map(() => new Set<string>());
		clients.forEach((client, i) => client.on(Notification.PeerJoined, ({ peerId }) => seen[i]?.add(peerId)));
		const joined = await Promise.all(clients.map((client, i) => client.request(Method.Join, join('crowd', `P${i}`))));
		joined.forEach((j, i) => j.peers.forEach((p) => seen[i]?.add(p.peerId)));
		const ids = new Set(joined.map((j) => j.peerId));
		expect(ids.size).toBe(N);
		expect(server.rooms.get('crowd')?.size).toBe(N);
		expect(joined.every((j) => j.role === 'participant')).toBe(true);
		await until(() => seen.every((s) => s.size === N - 1), 5000, 'every peer to see every other');
		joined.forEach((j, i) => expect(seen[i]?.has(j.peerId)).toBe(false));
		for (const client of clients) client.close();
		await until(() => server.rooms.get('crowd') === undefined, 5000, 'room to be dropped when empty');
	});
});

function nextEventOf<E extends 'reconnected' | 'closed'>(session: SignalingSession, event: E, timeoutMs = 5000) {
	return new Promise<Parameters<Parameters<typeof session.once<E>>[1]>>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
		session.once(event, ((...args: Parameters<Parameters<typeof session.once<E>>[1]>) => {
			clearTimeout(timer);
			resolve(args);
		}) as never);
	});
}

describe('SignalingSession when the server is gone for good', () => {
	it('gives up under its policy: pending requests reject with CLOSED and `closed` carries the error', async () => {
		const server = await startInProcessServer({ signaling: { resumeGraceMs: 800 } });
		const alice = sessionWithCuttableSocket(server.port);
		await alice.session.join({ roomId: 'gone', displayName: 'Alice' });
		const closed = nextEventOf(alice.session, 'closed', 10_000);
		await server.close();
		await until(() => alice.session.state === 'reconnecting', 2000, 'reconnecting');
		// Made while reconnecting: waits, then fails with the session.
		const pending = alice.session.request(Method.Leave, {});
		const [error] = await closed;
		expect(error?.code).toBe(ErrorCode.Closed);
		await expect(pending).rejects.toMatchObject({ code: ErrorCode.Closed });
		expect(alice.session.state).toBe('closed');
	});
});

import { describe, expect, it } from 'vitest';
import { ErrorCode, Notification, PROTOCOL_VERSION, SignalingError } from '../../../core/protocol/index.js';
import { EarlyJoin } from './EarlyJoin.js';
import { joinAnswer } from './joinAnswer.fixture.js';
import type { WebSocketLike } from './SignalingClient.js';
import { SignalingSession } from './SignalingSession.js';

/** An in-memory socket the test drives: it opens, delivers frames and closes when told. */
class FakeSocket implements WebSocketLike {
	readyState = 0;
	readonly sent: string[] = [];
	readonly #listeners = new Map<string, Array<(event: never) => void>>();

	addEventListener(type: string, listener: (event: never) => void): void {
		this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
	}
	send(data: string): void {
		if (this.readyState !== 1) throw new Error('send() on a socket that is not open');
		this.sent.push(data);
	}
	close(code = 1000, reason = ''): void {
		if (this.readyState === 3) return;
		this.readyState = 3;
		this.#fire('close', { code, reason });
	}
	open(): void {
		this.readyState = 1;
		this.#fire('open');
	}
	frame(message: unknown): void {
		this.#fire('message', { data: JSON.stringify(message) });
	}
	#fire(type: string, event: unknown = {}): void {
		for (const l of this.#listeners.get(type) ?? []) l(event as never);
	}
}

const joined = joinAnswer({
	peerId: 'p2',
	displayName: 'B',
	peers: [{ peerId: 'p1', displayName: 'A', role: 'participant', audioMuted: false, videoMuted: false }],
	repair: { disconnectedGraceMs: 1000, giveUpMs: 20_000 },
});

const offer = { from: 'p1', signal: { kind: 'description', description: { type: 'offer', sdp: 'v=0\r\n' } } };

function early(data = { roomId: 'r', displayName: 'B' }): { join: EarlyJoin; socket: FakeSocket } {
	const socket = new FakeSocket();
	const join = new EarlyJoin('ws://test/ws', data, () => socket);
	return { join, socket };
}

/** A session on the early join's socket, its peerJoined/signal notifications recorded from the start. */
function adopt(join: EarlyJoin): { session: SignalingSession; heard: string[]; closes: Array<number | undefined>; joining: Promise<unknown> } {
	const session = new SignalingSession({ url: 'ws://unused/ws', requestTimeoutMs: 1000 });
	const heard: string[] = [];
	const closes: Array<number | undefined> = [];
	session.subscribe(Notification.PeerJoined, ({ peerId }) => heard.push(`peerJoined ${peerId}`));
	session.subscribe(Notification.Signal, ({ from, signal }) => heard.push(`signal ${from} ${signal.kind}`));
	session.subscribe('closed', (_error, code) => closes.push(code));
	return { session, heard, closes, joining: session.join(join) };
}

describe('EarlyJoin', () => {
	it('sends the join (request 1) as soon as the socket opens, and peeks at the role the answer gives', async () => {
		const { join, socket } = early({ roomId: 'r', displayName: 'B' });
		expect(socket.sent).toEqual([]);
		socket.open();
		expect(socket.sent.map((s) => JSON.parse(s) as unknown)).toEqual([
			{ id: 1, method: 'join', data: { protocolVersion: PROTOCOL_VERSION, roomId: 'r', displayName: 'B' } },
		]);
		socket.frame({ id: 1, ok: true, data: { ...joined, role: 'viewer' } });
		await expect(join.role).resolves.toBe('viewer');
	});

	it('peeks no role from a refusal, a closed socket, or an answer naming no role', async () => {
		const refused = early();
		refused.socket.open();
		refused.socket.frame({ id: 1, ok: false, errorCode: 'ROOM_FULL', errorReason: 'full' });
		await expect(refused.join.role).resolves.toBeUndefined();

		const closed = early();
		closed.socket.close(1006);
		await expect(closed.join.role).resolves.toBeUndefined();

		const odd = early();
		odd.socket.open();
		odd.socket.frame({ id: 1, ok: true, data: { role: 'admin' } });
		await expect(odd.join.role).resolves.toBeUndefined();
	});

	it('hands every frame the socket got before the app listened to the session, in order: the answer, then the news', async () => {
		const { join, socket } = early();
		socket.open();
		socket.frame({ id: 1, ok: true, data: joined });
		socket.frame({ method: Notification.PeerJoined, data: { peerId: 'p3', displayName: 'C', role: 'participant', audioMuted: false, videoMuted: false } });
		socket.frame({ method: Notification.Signal, data: offer });
		const { session, heard, joining } = adopt(join);
		await expect(joining).resolves.toMatchObject({ peerId: 'p2', peers: [{ peerId: 'p1' }] });
		expect(session.state).toBe('joined');
		expect(heard).toEqual(['peerJoined p3', 'signal p1 description']);
		// The adopted socket carries the session's next requests, numbered after the join.
		const chat = session.request('chat', { text: 'hi' });
		expect(JSON.parse(socket.sent.at(-1) as string)).toMatchObject({ id: 2, method: 'chat' });
		socket.frame({ id: 2, ok: true, data: { sentAt: 1 } });
		await expect(chat).resolves.toEqual({ sentAt: 1 });
		session.close();
		expect(socket.readyState).toBe(3);
	});

	it('works the same when the app takes over before the socket even opened', async () => {
		const { join, socket } = early();
		const { session, heard, joining } = adopt(join);
		socket.open();
		socket.frame({ id: 1, ok: true, data: joined });
		socket.frame({ method: Notification.Signal, data: offer });
		await expect(joining).resolves.toMatchObject({ peerId: 'p2' });
		expect(heard).toEqual(['signal p1 description']);
		session.close();
	});

	it("rejects with the server's code when the join was refused before the app listened", async () => {
		const { join, socket } = early();
		socket.open();
		socket.frame({ id: 1, ok: false, errorCode: ErrorCode.TokenInvalid, errorReason: 'bad token' });
		socket.close(4003, 'TOKEN_INVALID');
		const { session, joining } = adopt(join);
		const error = await joining.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(SignalingError);
		expect((error as SignalingError).code).toBe(ErrorCode.TokenInvalid);
		expect(session.state).toBe('closed');
	});

	it('a session the server ended right after answering (both held until the app listened) is closed, not joined', async () => {
		const { join, socket } = early();
		socket.open();
		socket.frame({ id: 1, ok: true, data: joined });
		socket.close(4008, 'removed by a host');
		const { session, closes, joining } = adopt(join);
		const error = await joining.catch((e: unknown) => e);
		expect((error as SignalingError).code).toBe(ErrorCode.Closed);
		expect(session.state).toBe('closed');
		expect(closes).toEqual([4008]);
	});

	it('rejects with CLOSED when the socket never opened', async () => {
		const { join, socket } = early();
		socket.close(1006);
		const { session, joining } = adopt(join);
		const error = await joining.catch((e: unknown) => e);
		expect((error as SignalingError).code).toBe(ErrorCode.Closed);
		expect(session.state).toBe('closed');
	});

	it('rejects an answer that fails validation, as any answer', async () => {
		const { join, socket } = early();
		socket.open();
		socket.frame({ id: 1, ok: true, data: { ...joined, peerId: '' } });
		const { joining } = adopt(join);
		const error = await joining.catch((e: unknown) => e);
		expect((error as SignalingError).code).toBe(ErrorCode.InvalidData);
	});

	it('a socket that dropped after the answer but before the app listened is a drop: the session reconnects', async () => {
		const { join, socket } = early();
		socket.open();
		socket.frame({ id: 1, ok: true, data: joined });
		socket.close(1006);
		const { session, joining } = adopt(join);
		await joining;
		expect(session.state).toBe('reconnecting');
		session.close();
	});
});

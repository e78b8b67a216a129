import { describe, expect, it } from 'vitest';
import { Notification } from '../../../core/protocol/index.js';
import type { WebSocketLike } from './SignalingClient.js';
import { joinAnswer } from './joinAnswer.fixture.js';
import { SignalingSession } from './SignalingSession.js';

/** An in-memory socket that opens at once and answers `join`. */
class FakeSocket implements WebSocketLike {
	readyState = 0;
	#listeners = new Map<string, Array<(event: never) => void>>();

	constructor() {
		queueMicrotask(() => {
			this.readyState = 1;
			this.fire('open');
		});
	}
	addEventListener(type: string, listener: (event: never) => void): void {
		this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
	}
	send(data: string): void {
		const { id, method } = JSON.parse(data) as { id: number; method: string };
		if (method === 'join') queueMicrotask(() => this.fire('message', { data: JSON.stringify({ id, ok: true, data: joined }) }));
	}
	close(code = 1000, reason = ''): void {
		this.readyState = 3;
		this.fire('close', { code, reason });
	}
	fire(type: string, event: unknown = {}): void {
		for (const l of this.#listeners.get(type) ?? []) l(event as never);
	}
	notify(method: string, data: unknown): void {
		this.fire('message', { data: JSON.stringify({ method, data }) });
	}
}

const joined = joinAnswer({ role: 'viewer', mediaMode: 'sfu', topology: { state: 'sfu', epoch: 1 }, roomKind: 'broadcast', audience: 1 });

async function joinedSession(): Promise<{ session: SignalingSession; socket: FakeSocket }> {
	let socket: FakeSocket | undefined;
	const session = new SignalingSession({
		url: 'ws://test/ws',
		createSocket: () => (socket = new FakeSocket()),
	});
	await session.join({ roomId: 'r', displayName: 'A', role: 'viewer' });
	return { session, socket: socket as FakeSocket };
}

describe('SignalingSession.holdNotifications()', () => {
	it('holds notifications back until released, then emits them in their order', async () => {
		const { session, socket } = await joinedSession();
		const seen: string[] = [];
		session.on(Notification.Audience, ({ count }) => seen.push(`audience ${count}`));
		session.on(Notification.PeerLeft, ({ peerId }) => seen.push(`left ${peerId}`));
		const release = session.holdNotifications();
		socket.notify('audience', { count: 2 });
		socket.notify('peerLeft', { peerId: 'p2' });
		socket.notify('audience', { count: 3 });
		expect(seen).toEqual([]);
		release();
		expect(seen).toEqual(['audience 2', 'left p2', 'audience 3']);
		// Released: the next one goes straight through; a second release does nothing.
		release();
		socket.notify('audience', { count: 4 });
		expect(seen).toEqual(['audience 2', 'left p2', 'audience 3', 'audience 4']);
		session.close();
	});

	it('nested holds: nothing goes out until the last is released', async () => {
		const { session, socket } = await joinedSession();
		const seen: number[] = [];
		session.on(Notification.Audience, ({ count }) => seen.push(count));
		const outer = session.holdNotifications();
		const inner = session.holdNotifications();
		socket.notify('audience', { count: 5 });
		outer();
		expect(seen).toEqual([]);
		inner();
		expect(seen).toEqual([5]);
		session.close();
	});

	it('a listener that holds again while the queue drains stops the rest until its own release', async () => {
		const { session, socket } = await joinedSession();
		const seen: number[] = [];
		let releaseInner: (() => void) | undefined;
		session.on(Notification.Audience, ({ count }) => {
			seen.push(count);
			if (count === 1) releaseInner = session.holdNotifications();
		});
		const release = session.holdNotifications();
		socket.notify('audience', { count: 1 });
		socket.notify('audience', { count: 2 });
		release();
		expect(seen).toEqual([1]);
		releaseInner?.();
		expect(seen).toEqual([1, 2]);
		session.close();
	});

	it('what is held when the session closes is dropped', async () => {
		const { session, socket } = await joinedSession();
		const seen: number[] = [];
		session.on(Notification.Audience, ({ count }) => seen.push(count));
		const release = session.holdNotifications();
		socket.notify('audience', { count: 7 });
		session.close();
		release();
		expect(seen).toEqual([]);
	});
});

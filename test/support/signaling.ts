import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import WebSocket from 'ws';
import { Method, Notification, PROTOCOL_VERSION, SignalingError, type ErrorCode } from '../../core/protocol/index.js';
import { BackoffReconnectPolicy } from '../../web/src/signaling/ReconnectPolicy.js';
import { SignalingClient, type SignalingClientEvents, type WebSocketLike } from '../../web/src/signaling/SignalingClient.js';
import { SignalingSession } from '../../web/src/signaling/SignalingSession.js';

/** A SignalingClient in Node, over the `ws` package. */
export function connectClient(port: number, timeoutMs = 5_000): Promise<SignalingClient> {
	return SignalingClient.connect(`ws://127.0.0.1:${port}/ws`, {
		requestTimeoutMs: timeoutMs,
		createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
	});
}

/** Resolves with the arguments of the client's next event of that name. */
export function nextEvent<E extends keyof SignalingClientEvents>(
	client: SignalingClient,
	event: E,
	timeoutMs = 5_000,
): Promise<SignalingClientEvents[E]> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no "${String(event)}" within ${timeoutMs} ms`)), timeoutMs);
		const listener = (...args: SignalingClientEvents[E]) => {
			clearTimeout(timer);
			resolve(args);
		};
		(client.once as (e: E, fn: typeof listener) => unknown)(event, listener);
	});
}

/** A SignalingSession over `ws` (quick retries) whose current socket the test can cut abruptly. */
export function sessionWithCuttableSocket(port: number) {
	const sockets: WebSocket[] = [];
	const session = new SignalingSession({
		url: `ws://127.0.0.1:${port}/ws`,
		requestTimeoutMs: 3000,
		reconnectPolicy: new BackoffReconnectPolicy({ initialDelayMs: 50, maxDelayMs: 200 }),
		createSocket: (url) => {
			const ws = new WebSocket(url);
			sockets.push(ws);
			return ws as unknown as WebSocketLike;
		},
	});
	/** Destroys the TCP connection without a close frame: the server sees 1006, like a lost network. */
	const cut = () => sockets[sockets.length - 1]?.terminate();
	return { session, cut, sockets };
}

/**
 * A call in another room that a test must leave untouched: two joined
 * clients. `check()` asserts both are still connected, still in their room
 * with the same peer ids, and still reach each other.
 */
export async function bystanderCall(port: number, roomId = 'bystanders') {
	const members: Array<{ client: SignalingClient; peerId: string }> = [];
	for (const displayName of ['Bea', 'Ben']) {
		const client = await connectClient(port);
		const { peerId } = await client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId, displayName });
		members.push({ client, peerId });
	}
	const [a, b] = members as [(typeof members)[0], (typeof members)[0]];
	let round = 0;
	return {
		async check(): Promise<void> {
			expect(a.client.closed || b.client.closed, 'a bystander was disconnected').toBe(false);
			const candidate = `bystander-${++round}`;
			const received = nextEvent(b.client, Notification.Signal);
			await a.client.request(Method.Signal, { to: b.peerId, signal: { kind: 'candidate', candidate: { candidate } } });
			expect((await received)[0]).toEqual({ from: a.peerId, signal: { kind: 'candidate', candidate: { candidate } } });
		},
		close(): void {
			for (const m of members) m.client.close();
		},
	};
}

/**
 * For a describe block: a call in another room (bystanderCall) beside every
 * test, and after each test the server answers /healthz and that call goes
 * on. Register it after the hook that starts the server.
 */
export function withBystanders(server: () => { port: number }): void {
	let call: Awaited<ReturnType<typeof bystanderCall>> | undefined;
	beforeAll(async () => {
		call = await bystanderCall(server().port);
	});
	afterEach(async () => {
		expect((await fetch(`http://127.0.0.1:${server().port}/healthz`)).status).toBe(200);
		await call?.check();
	});
	afterAll(() => call?.close());
}

/** A request's outcome: its data, or its error code and reason. */
export type Outcome = { code: 'ok'; data: unknown } | { code: ErrorCode; reason: string };

/** Settles a request into "ok" or its error code; anything but a SignalingError fails the test. */
export async function settle(request: Promise<unknown>): Promise<Outcome> {
	try {
		return { code: 'ok', data: await request };
	} catch (error) {
		if (!(error instanceof SignalingError)) throw error;
		return { code: error.code, reason: error.message };
	}
}

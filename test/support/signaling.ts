import WebSocket from 'ws';
import { SignalingClient, type SignalingClientEvents, type WebSocketLike } from '../../web/src/signaling/SignalingClient.js';

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

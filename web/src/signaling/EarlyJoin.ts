import { asRole, type Role } from '../../../core/protocol/roles.js';
import { Method, PROTOCOL_VERSION, encodeRequest } from '../../../core/protocol/wire.js';
import type { WebSocketFactory, WebSocketLike } from './SignalingClient.js';
import { markJoin } from '../util/joinTimeline.js';

/*
 * Loaded with the page's first script (web/src/boot.ts), before the app's
 * code: it imports no schema, and the app's SignalingClient validates
 * everything it hands over.
 */

/** What a join asks for (the `join` request's data, but the protocol version). */
export interface JoinData {
	roomId: string;
	displayName: string;
	token?: string;
	role?: Role;
}

/** The signaling server's address, next to the page's. */
export function signalingUrl(): string {
	return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

type SocketEvent = 'open' | 'message' | 'close' | 'error';
type Listener = (event: never) => void;

/**
 * A socket that keeps what happens until it is released: its events are
 * held, then handed, in their order, to the listeners attached by then;
 * after that they pass straight through. So whoever takes the socket over
 * late misses nothing: not its `open`, not a frame, not its `close`.
 */
class HeldSocket implements WebSocketLike {
	readonly #socket: WebSocketLike;
	readonly #listeners = new Map<SocketEvent, Listener[]>();
	#held: Array<{ type: SocketEvent; event: unknown }> | undefined = [];

	constructor(socket: WebSocketLike) {
		this.#socket = socket;
		for (const type of ['open', 'message', 'close', 'error'] as const) {
			socket.addEventListener(type as 'open', ((event: unknown) => this.#on(type, event)) as () => void);
		}
	}

	get readyState(): number {
		return this.#socket.readyState;
	}

	send(data: string): void {
		this.#socket.send(data);
	}

	close(code?: number, reason?: string): void {
		this.#socket.close(code, reason);
	}

	addEventListener(type: SocketEvent, listener: Listener): void {
		this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
	}

	release(): void {
		const held = this.#held ?? [];
		this.#held = undefined;
		for (const { type, event } of held) this.#dispatch(type, event);
	}

	#on(type: SocketEvent, event: unknown): void {
		if (this.#held) this.#held.push({ type, event });
		else this.#dispatch(type, event);
	}

	#dispatch(type: SocketEvent, event: unknown): void {
		for (const listener of this.#listeners.get(type) ?? []) listener(event as never);
	}
}

/**
 * A join begun before the app's code has loaded: the socket opens and the
 * join is sent at once (request id 1, the channel's first), and the answer's
 * role is peeked at, unvalidated, so that a role that sends can open the
 * camera while the app still loads. The app's SignalingClient then takes the
 * socket over (SignalingClient.adopt) and gets every frame from the start,
 * the join's answer first, validated as always.
 */
export class EarlyJoin {
	readonly data: JoinData;
	/** The join's request id on this socket. */
	readonly requestId = 1;
	/** The socket; its events are held until release(). */
	readonly socket: WebSocketLike;
	readonly #held: HeldSocket;
	/**
	 * The role the answer gives; undefined if the join was refused or the
	 * socket closed first. A hint for opening the camera early, nothing more.
	 */
	readonly role: Promise<Role | undefined>;

	constructor(url: string, data: JoinData, createSocket: WebSocketFactory = (u) => new WebSocket(u) as unknown as WebSocketLike) {
		this.data = data;
		const raw = createSocket(url);
		this.#held = new HeldSocket(raw);
		this.socket = this.#held;
		const join = encodeRequest(this.requestId, Method.Join, { protocolVersion: PROTOCOL_VERSION, ...data });
		raw.addEventListener('open', () => {
			markJoin('socketOpen');
			raw.send(join);
		});
		let answered = false;
		this.role = new Promise((resolve) => {
			raw.addEventListener('message', (event) => {
				const answer = answered ? undefined : this.#answerIn(event.data);
				if (!answer) return;
				answered = true;
				resolve(answer.role);
			});
			raw.addEventListener('close', () => resolve(undefined));
		});
		// An unheard `error` would throw in Node's `ws`; the close that follows says it all.
		raw.addEventListener('error', () => undefined);
	}

	/**
	 * Hands what the socket got so far (its opening, every frame, its close)
	 * to the listeners attached by now, in order; later events go straight
	 * to them. The SignalingClient that takes the socket over calls it.
	 */
	release(): void {
		this.#held.release();
	}

	/** If `frame` is the join's answer: the role it gives (undefined for a refusal). */
	#answerIn(frame: unknown): { role: Role | undefined } | undefined {
		let message: { id?: unknown; ok?: unknown; data?: { role?: unknown } } | null;
		try {
			message = JSON.parse(String(frame)) as typeof message;
		} catch {
			return undefined;
		}
		if (message?.id !== this.requestId) return undefined;
		markJoin('joined');
		return { role: message.ok === true ? asRole(message.data?.role) : undefined };
	}
}

import { EventEmitter } from 'eventemitter3';
import {
	ErrorCode,
	Method,
	Notification,
	SignalingError,
	decodeEnvelope,
	encodeRequest,
	parseNotification,
	parseResponseData,
	responseSchemas,
	type NotificationData,
	type RequestData,
	type ResponseData,
	type TypedNotification,
} from '../../../core/protocol/index.js';
import type { EarlyJoin } from './EarlyJoin.js';

/** Typed events: one per server notification, plus the channel's own. */
export type SignalingClientEvents = {
	[N in Notification]: [data: NotificationData<N>];
} & {
	/** The socket closed; every pending request was rejected with CLOSED. */
	close: [code: number, reason: string];
	/** A frame from the server failed validation and was dropped. */
	protocolerror: [error: SignalingError];
};

/** The subset of the WebSocket API we use: the browser's, or `ws` in Node. */
export interface WebSocketLike {
	readonly readyState: number;
	send(data: string): void;
	close(code?: number, reason?: string): void;
	addEventListener(type: 'open', listener: () => void): void;
	addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
	addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
	addEventListener(type: 'error', listener: () => void): void;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

export interface SignalingClientOptions {
	/** Per-request timeout in ms. */
	requestTimeoutMs?: number;
	/** Creates the socket; defaults to the global WebSocket. */
	createSocket?: WebSocketFactory;
}

interface Pending {
	method: Method;
	resolve: (data: unknown) => void;
	reject: (error: SignalingError) => void;
	timer: ReturnType<typeof setTimeout>;
}

const OPEN = 1;

/**
 * The browser end of the signaling channel: `request()` returns a promise
 * that settles with the validated response, or rejects with a SignalingError
 * (the server's code, TIMEOUT, or CLOSED). Notifications arrive as typed events.
 */
export class SignalingClient extends EventEmitter<SignalingClientEvents> {
	readonly #socket: WebSocketLike;
	readonly #pending = new Map<number, Pending>();
	readonly #timeoutMs: number;
	#nextId = 1;
	#closed = false;

	private constructor(socket: WebSocketLike, timeoutMs: number) {
		super();
		this.#socket = socket;
		this.#timeoutMs = timeoutMs;
	}

	/** Opens the socket; rejects with CLOSED if it cannot. */
	static connect(url: string, options: SignalingClientOptions = {}): Promise<SignalingClient> {
		const create = options.createSocket ?? ((u: string) => new WebSocket(u) as unknown as WebSocketLike);
		const client = new SignalingClient(create(url), options.requestTimeoutMs ?? 10_000);
		return client.#listen(url);
	}

	/**
	 * Takes over the socket of a join sent before the app's code loaded
	 * (EarlyJoin): that join is this client's first request, and whatever the
	 * socket got meanwhile is handled now, in order. Resolves once the socket
	 * is open, with the join's answer to wait for (validated, as any answer).
	 * `attach` is called with the client before anything the socket got is
	 * handed over, so the caller's listeners hear every notification.
	 */
	static async adopt(
		early: EarlyJoin,
		options: Pick<SignalingClientOptions, 'requestTimeoutMs'>,
		attach: (client: SignalingClient) => void,
	): Promise<{ client: SignalingClient; joined: Promise<ResponseData<'join'>> }> {
		const client = new SignalingClient(early.socket, options.requestTimeoutMs ?? 10_000);
		client.#nextId = early.requestId + 1;
		// Waiting before the socket's held frames are handed over: the answer may be among them.
		const joined = client.#awaitResponse(early.requestId, Method.Join);
		joined.catch(() => undefined); // The caller hears it, unless the socket never opened.
		attach(client);
		const opened = client.#listen('the signaling server');
		early.release();
		return { client: await opened, joined };
	}

	#listen(peer: string): Promise<SignalingClient> {
		const socket = this.#socket;
		socket.addEventListener('message', (event) => this.#onMessage(event.data));
		socket.addEventListener('close', (event) => this.#onClose(event.code, event.reason));
		// A failed socket reports through `close` next; an unheard `error` would throw in Node's `ws`.
		socket.addEventListener('error', () => undefined);
		return new Promise((resolve, reject) => {
			socket.addEventListener('open', () => resolve(this));
			socket.addEventListener('close', (event) => reject(new SignalingError(ErrorCode.Closed, `could not connect to ${peer} (${event.code})`)));
		});
	}

	get closed(): boolean {
		return this.#closed;
	}

	request<M extends Method>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
		if (this.#closed || this.#socket.readyState !== OPEN) {
			return Promise.reject(new SignalingError(ErrorCode.Closed, `${method}: signaling channel is closed`));
		}
		const id = this.#nextId++;
		const response = this.#awaitResponse(id, method);
		this.#socket.send(encodeRequest(id, method, data));
		return response;
	}

	#awaitResponse<M extends Method>(id: number, method: M): Promise<ResponseData<M>> {
		return new Promise<ResponseData<M>>((resolve, reject) => {
			const timer = setTimeout(() => {
				this.#pending.delete(id);
				reject(new SignalingError(ErrorCode.Timeout, `${method}: no response in ${this.#timeoutMs} ms`));
			}, this.#timeoutMs);
			this.#pending.set(id, { method, resolve: resolve as (d: unknown) => void, reject, timer });
		});
	}

	/** Closes the socket and rejects every pending request with CLOSED. Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#socket.close(1000, 'client closed');
		this.#onClose(1000, 'client closed');
	}

	#onMessage(raw: unknown): void {
		if (typeof raw !== 'string') {
			this.emit('protocolerror', new SignalingError(ErrorCode.BadMessage, 'binary frame from server'));
			return;
		}
		try {
			const envelope = decodeEnvelope(raw);
			if (envelope.kind === 'response') {
				const { message } = envelope;
				const pending = this.#pending.get(message.id);
				if (!pending) return; // Timed out already.
				this.#pending.delete(message.id);
				clearTimeout(pending.timer);
				if (message.ok) {
					try {
						pending.resolve(parseResponseData(responseSchemas[pending.method], pending.method, message.data));
					} catch (error) {
						pending.reject(error as SignalingError);
					}
				} else {
					pending.reject(new SignalingError(message.errorCode as ErrorCode, message.errorReason));
				}
			} else if (envelope.kind === 'notification') {
				this.#dispatch(parseNotification(envelope.message));
			} else {
				throw new SignalingError(ErrorCode.BadMessage, 'server sent a request');
			}
		} catch (error) {
			this.emit('protocolerror', error as SignalingError);
		}
	}

	#dispatch(notification: TypedNotification): void {
		// The union is correlated by construction; emit() cannot see that.
		(this.emit as (event: string, data: unknown) => boolean)(notification.method, notification.data);
	}

	#onClose(code: number, reason: string): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const pending of this.#pending.values()) {
			clearTimeout(pending.timer);
			pending.reject(new SignalingError(ErrorCode.Closed, `${pending.method}: signaling channel closed`));
		}
		this.#pending.clear();
		this.emit('close', code, reason);
	}
}

export { Method, Notification };

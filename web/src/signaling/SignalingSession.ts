import { EventEmitter } from 'eventemitter3';
import {
	CloseCode,
	ErrorCode,
	FINAL_CLOSE_CODES,
	Method,
	Notification,
	PROTOCOL_VERSION,
	SignalingError,
	type NotificationData,
	type RequestData,
	type ResponseData,
} from '../../../core/protocol/index.js';
import { BackoffReconnectPolicy, type ReconnectPolicy } from './ReconnectPolicy.js';
import { EarlyJoin, type JoinData } from './EarlyJoin.js';
import { SignalingClient, type SignalingClientOptions, type WebSocketFactory } from './SignalingClient.js';
import { markJoin } from '../util/joinTimeline.js';

export type Joined = ResponseData<'join'>;

export type SessionState = 'idle' | 'joining' | 'joined' | 'reconnecting' | 'closed';

export type SignalingSessionEvents = {
	[N in Notification]: [data: NotificationData<N>];
} & {
	state: [state: SessionState];
	/** A resume attempt is about to start (1-based). */
	reconnecting: [attempt: number];
	/** The socket came back and the server gave the same identity. */
	reconnected: [joined: Joined];
	/** The session ended for good: the user left, the server ended it (`closeCode`, 4xxx, with its reason), or reconnecting gave up. */
	closed: [error: SignalingError | undefined, closeCode?: number, closeReason?: string];
};

export interface SignalingSessionOptions {
	url: string;
	createSocket?: WebSocketFactory;
	reconnectPolicy?: ReconnectPolicy;
	requestTimeoutMs?: number;
}

const notificationMethods = Object.values(Notification);

/** Answers to `resume` that another try cannot change: the session is over. */
const RESUME_REFUSALS: ReadonlySet<string> = new Set([
	ErrorCode.ResumeFailed,
	ErrorCode.TokenExpired,
	ErrorCode.TokenInvalid,
	ErrorCode.TokenRequired,
	ErrorCode.TokenWrongRoom,
	ErrorCode.ProtocolMismatch,
]);

/**
 * A participant's membership in one room, across socket drops. Joins once,
 * and when the socket drops it reconnects under its reconnect policy and
 * presents the resume token, so it keeps its peer id and the server replays
 * what it missed. Requests made while reconnecting wait for it.
 */
export class SignalingSession extends EventEmitter<SignalingSessionEvents> {
	readonly #options: SignalingSessionOptions;
	readonly #policy: ReconnectPolicy;
	#state: SessionState = 'idle';
	#client: SignalingClient | undefined;
	#joined: Joined | undefined;
	/** Settles when the session is joined again (or rejects when it closes). */
	#ready: { promise: Promise<void>; resolve: () => void; reject: (e: SignalingError) => void } | undefined;
	/** Open holds (holdNotifications), and what arrived meanwhile, in order. */
	#holds = 0;
	readonly #held: Array<{ method: Notification; data: unknown }> = [];

	constructor(options: SignalingSessionOptions) {
		super();
		this.#options = options;
		this.#policy = options.reconnectPolicy ?? new BackoffReconnectPolicy();
	}

	get state(): SessionState {
		return this.#state;
	}

	get joined(): Joined | undefined {
		return this.#joined;
	}

	/**
	 * Joins a room: on a socket of its own, or on an early join's (sent before
	 * the app's code loaded), which this session takes over. `role` is the
	 * role asked for without a token (an open broadcast grants it; see the
	 * join schema).
	 */
	async join(data: JoinData | EarlyJoin): Promise<Joined> {
		if (this.#state !== 'idle') throw new Error(`join() in state ${this.#state}`);
		this.#setState('joining');
		try {
			let joined: Joined;
			if (data instanceof EarlyJoin) {
				const adopted = await SignalingClient.adopt(data, this.#clientOptions(), (client) => this.#attach(client));
				joined = await adopted.joined;
				// The socket's held events came at once: the server may have ended the session (a final close) right after answering.
				if (this.state === 'closed') throw new SignalingError(ErrorCode.Closed, 'the server ended the session as it joined');
			} else {
				const client = await this.#connect();
				markJoin('socketOpen');
				joined = await client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, ...data });
			}
			markJoin('joined');
			this.#joined = joined;
			this.#setState('joined');
			// An adopted socket may have closed before this session listened: that is a drop like any other.
			if (this.#client?.closed) this.#onDrop();
			return joined;
		} catch (error) {
			this.#finish(error as SignalingError);
			throw error;
		}
	}

	/**
	 * Calls `handler` for each `event` (a notification method, or one of the
	 * session's own events) until the returned function is called.
	 */
	subscribe<E extends keyof SignalingSessionEvents>(event: E, handler: (...args: SignalingSessionEvents[E]) => void): () => void {
		// eventemitter3's typing cannot follow a generic key through on()/off(): one cast, here only.
		const emitter = this as unknown as EventEmitter<Record<string, unknown[]>>;
		const listener = handler as (...args: unknown[]) => void;
		emitter.on(event, listener);
		return () => {
			emitter.off(event, listener);
		};
	}

	/** Sends a request; while reconnecting it waits, and rejects with CLOSED if the session ends. */
	async request<M extends Method>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
		if (this.#state === 'reconnecting') await this.#ready?.promise;
		if (this.#state !== 'joined' || !this.#client) {
			throw new SignalingError(ErrorCode.Closed, `${method}: session is ${this.#state}`);
		}
		return this.#client.request(method, data);
	}

	/**
	 * Holds notifications back until the returned release is called (each
	 * release once; holds nest), then emits them in their order. A caller
	 * that must finish something asynchronous before it can take the room's
	 * news (open a camera between the join and building the media paths)
	 * loses none of it meanwhile.
	 */
	holdNotifications(): () => void {
		this.#holds++;
		let released = false;
		return () => {
			if (released) return;
			released = true;
			this.#holds--;
			// A listener may hold again while the queue drains: it stops there and that hold's release goes on.
			while (this.#holds === 0 && this.#held.length > 0) {
				const { method, data } = this.#held.shift() as { method: Notification; data: unknown };
				if (this.#state !== 'closed') (this.emit as (e: string, d: unknown) => boolean)(method, data);
			}
		};
	}

	/** Leaves the room (best effort) and closes. Idempotent. */
	close(): void {
		if (this.#state === 'closed') return;
		const client = this.#client;
		if (client && this.#state === 'joined') {
			// Closing with 1000 tells the server this is a leave, not a drop.
			client.close();
		}
		this.#finish(undefined);
	}

	#clientOptions(): SignalingClientOptions {
		return {
			...(this.#options.createSocket ? { createSocket: this.#options.createSocket } : {}),
			...(this.#options.requestTimeoutMs ? { requestTimeoutMs: this.#options.requestTimeoutMs } : {}),
		};
	}

	async #connect(): Promise<SignalingClient> {
		return this.#attach(await SignalingClient.connect(this.#options.url, this.#clientOptions()));
	}

	/** Listens to a new client (its notifications and its close) and makes it the session's. */
	#attach(client: SignalingClient): SignalingClient {
		if (this.#state === 'closed') {
			client.close();
			throw new SignalingError(ErrorCode.Closed, 'session closed while connecting');
		}
		for (const method of notificationMethods) {
			(client.on as (e: string, fn: (data: unknown) => void) => unknown)(method, (data) => {
				if (this.#client !== client) return;
				if (this.#holds > 0) this.#held.push({ method, data });
				else (this.emit as (e: string, d: unknown) => boolean)(method, data);
			});
		}
		client.on('close', (code, reason) => {
			if (this.#client !== client) return;
			// The server ended this peer on purpose (removed, room deleted, token refused): resuming cannot help.
			if (FINAL_CLOSE_CODES.has(code)) {
				this.#finish(new SignalingError(ErrorCode.Closed, `the server ended the session (${code} ${reason})`), code, reason);
				return;
			}
			this.#onDrop();
		});
		this.#client = client;
		return client;
	}

	#onDrop(): void {
		if (this.#state !== 'joined' || !this.#joined) return;
		this.#client = undefined;
		let resolve!: () => void;
		let reject!: (e: SignalingError) => void;
		const promise = new Promise<void>((res, rej) => {
			resolve = res;
			reject = rej;
		});
		promise.catch(() => undefined); // Nobody may be waiting.
		this.#ready = { promise, resolve, reject };
		this.#setState('reconnecting');
		void this.#reconnectLoop(performance.now());
	}

	async #reconnectLoop(droppedAt: number): Promise<void> {
		const graceMs = this.#joined?.resumeGraceMs ?? 0;
		for (let retryCount = 0; ; retryCount++) {
			const delay = this.#policy.nextRetryDelayInMs({ retryCount, elapsedMs: performance.now() - droppedAt, graceMs });
			if (delay === null) {
				this.#finish(new SignalingError(ErrorCode.Closed, 'signaling connection lost; gave up reconnecting'));
				return;
			}
			await new Promise((r) => setTimeout(r, delay));
			if (this.#state !== 'reconnecting') return;
			this.emit('reconnecting', retryCount + 1);
			let client: SignalingClient;
			try {
				client = await this.#connect();
			} catch {
				continue; // Server unreachable still: try again under the policy.
			}
			try {
				const joined = await client.request(Method.Resume, {
					protocolVersion: PROTOCOL_VERSION,
					resumeToken: (this.#joined as Joined).resumeToken,
				});
				this.#joined = joined;
				this.#setState('joined');
				this.#ready?.resolve();
				this.#ready = undefined;
				this.emit('reconnected', joined);
				return;
			} catch (error) {
				const signalingError = error as SignalingError;
				if (RESUME_REFUSALS.has(signalingError.code)) {
					client.close();
					// The server closes a refused token with 4003: say so, as if the close had ended the session.
					const tokenRefused = signalingError.code.startsWith('TOKEN_');
					this.#finish(signalingError, tokenRefused ? CloseCode.Unauthorized : undefined, tokenRefused ? signalingError.code : undefined);
					return;
				}
				// The new socket dropped too: the close handler is ignored in this state; loop on.
				client.close();
			}
		}
	}

	#finish(error: SignalingError | undefined, closeCode?: number, closeReason?: string): void {
		if (this.#state === 'closed') return;
		this.#client?.close();
		this.#client = undefined;
		this.#ready?.reject(error ?? new SignalingError(ErrorCode.Closed, 'session closed'));
		this.#ready = undefined;
		this.#held.length = 0;
		this.#setState('closed');
		this.emit('closed', error, closeCode, closeReason);
	}

	#setState(state: SessionState): void {
		this.#state = state;
		this.emit('state', state);
	}
}

import { randomBytes } from 'node:crypto';
import { CloseCode, encodeNotification, type MediaState, type PeerInfo, type QualityReport, type Role } from '../../core/protocol/index.js';
import type { HeldBytes } from './HeldBytes.js';
import type { RateLimiter } from './RateLimiter.js';

/** What may be held for a peer whose socket dropped: a count and bytes of its own, and a share of a budget for all. */
export interface OutboxLimits {
	count: number;
	bytes: number;
	total: HeldBytes;
}

/** Where a peer's notifications go while its socket is up. */
export interface PeerChannel {
	/** False once the socket closed (or is closing): a join or resume queued on it must not go ahead. */
	readonly open: boolean;
	/** Several nodes: the node that holds the client's socket when it is relayed here; undefined for a socket of this node. */
	readonly via?: string | undefined;
	send(text: string): void;
	close(code: number, reason: string): void;
}

export type PeerState =
	| { name: 'connected'; channel: PeerChannel }
	/** The socket dropped; notifications wait in the outbox, within `limits`, until resume or expiry. */
	| { name: 'disconnected'; outbox: string[]; outboxBytes: number; limits: OutboxLimits; graceTimer: ReturnType<typeof setTimeout> }
	| { name: 'closed' };

/**
 * A participant as the server knows it. Outlives its socket for the resume
 * grace period, so a reconnecting client keeps its identity and loses no
 * notification.
 */
export class Peer {
	readonly id: string;
	readonly identity: string;
	readonly displayName: string;
	readonly roomId: string;
	/** Changes only through Room.setRole (a host promotes or demotes): the room counts its audience. */
	#role: Role;
	/** When the access token it joined with stops admitting it (ms since the epoch); undefined: joined an open room without one. */
	readonly tokenExpiresAt: number | undefined;
	/** Starts every resume token: the node that holds this peer (`<nodeId>.`), so any node can route a resume to it; empty on a single node. */
	readonly #tokenPrefix: string;
	#resumeToken: string;
	#state: PeerState;
	/** The latest quality report and when it arrived (ms since epoch). */
	quality: { report: QualityReport; receivedAt: number } | undefined;
	/** Renews its TURN credentials before they expire. */
	#iceRefresh: ReturnType<typeof setTimeout> | undefined;
	/** Ends the session when its access token expires. */
	#tokenExpiry: ReturnType<typeof setTimeout> | undefined;

	constructor(options: {
		id: string;
		identity: string;
		displayName: string;
		role: Role;
		roomId: string;
		channel: PeerChannel;
		tokenExpiresAt?: number;
		/** The node holding the peer, when several share rooms. */
		nodeId?: string;
	}) {
		this.#tokenPrefix = options.nodeId ? `${options.nodeId}.` : '';
		this.#resumeToken = this.#newResumeToken();
		this.id = options.id;
		this.identity = options.identity;
		this.displayName = options.displayName;
		this.#role = options.role;
		this.roomId = options.roomId;
		this.tokenExpiresAt = options.tokenExpiresAt;
		this.#state = { name: 'connected', channel: options.channel };
	}

	get role(): Role {
		return this.#role;
	}

	/** For Room.setRole only. */
	assignRole(role: Role): void {
		this.#role = role;
	}

	/** Its own chat and reaction buckets, made on first use (rooms that pace them: broadcasts, reactions anywhere). */
	readonly buckets: { chat?: RateLimiter; reactions?: RateLimiter } = {};

	/** Several nodes: where its socket was (and a broadcast viewer's media is): the node relaying it, or undefined for this node. */
	via: string | undefined;

	/** What the peer last said of its microphone and camera. */
	mediaState: MediaState = { audioMuted: false, videoMuted: false };

	get info(): PeerInfo {
		return { peerId: this.id, displayName: this.displayName, role: this.role, ...this.mediaState };
	}

	get state(): PeerState['name'] {
		return this.#state.name;
	}

	get resumeToken(): string {
		return this.#resumeToken;
	}

	/** Issues a fresh resume token (each one is good for one resume). */
	rotateResumeToken(): string {
		this.#resumeToken = this.#newResumeToken();
		return this.#resumeToken;
	}

	#newResumeToken(): string {
		return `${this.#tokenPrefix}${randomBytes(32).toString('base64url')}`;
	}

	/** Whether its access token has run out (never, for a peer without one). */
	tokenExpired(now = Date.now()): boolean {
		return this.tokenExpiresAt !== undefined && now >= this.tokenExpiresAt;
	}

	notify(method: string, data: unknown): 'sent' | 'queued' | 'overflow' | 'closed' {
		return this.deliver(encodeNotification(method, data));
	}

	/**
	 * Sends an encoded notification (a broadcast encodes once for all), or
	 * holds it while the socket is down, within the limits `disconnect()` was
	 * given ('overflow' past any of them).
	 */
	deliver(text: string): 'sent' | 'queued' | 'overflow' | 'closed' {
		switch (this.#state.name) {
			case 'connected':
				this.#state.channel.send(text);
				return 'sent';
			case 'disconnected': {
				const state = this.#state;
				const { limits } = state;
				const bytes = Buffer.byteLength(text);
				if (state.outbox.length >= limits.count || state.outboxBytes + bytes > limits.bytes) return 'overflow';
				if (!limits.total.take(bytes)) return 'overflow';
				state.outbox.push(text);
				state.outboxBytes += bytes;
				return 'queued';
			}
			case 'closed':
				return 'closed';
		}
	}

	/** The socket dropped: hold notifications within `limits`, call `onExpire` after `graceMs`. */
	disconnect(graceMs: number, limits: OutboxLimits, onExpire: () => void): void {
		if (this.#state.name !== 'connected') return;
		this.#state = { name: 'disconnected', outbox: [], outboxBytes: 0, limits, graceTimer: setTimeout(onExpire, graceMs) };
	}

	/**
	 * A new socket takes over. Returns the notifications held meanwhile; the
	 * caller sends them after its resume response. A still-attached old
	 * socket (its drop not noticed yet) is closed.
	 */
	reconnect(channel: PeerChannel): string[] {
		const previous = this.#state;
		if (previous.name === 'closed') throw new Error('peer closed');
		this.#state = { name: 'connected', channel };
		if (previous.name === 'connected') {
			previous.channel.close(CloseCode.Replaced, 'resumed on another connection');
			return [];
		}
		clearTimeout(previous.graceTimer);
		previous.limits.total.release(previous.outboxBytes);
		return previous.outbox;
	}

	/** True while `channel` is the socket this peer speaks through. */
	isAttachedTo(channel: PeerChannel): boolean {
		return this.#state.name === 'connected' && this.#state.channel === channel;
	}

	/** Runs `renew` after `delayMs` (once; a new call replaces the last), until the peer closes. */
	scheduleIceRefresh(delayMs: number, renew: () => void): void {
		clearTimeout(this.#iceRefresh);
		if (this.#state.name === 'closed') return;
		this.#iceRefresh = setTimeout(renew, delayMs);
		this.#iceRefresh.unref?.();
	}

	/** Runs `expire` when the access token runs out (a peer without one never expires); cleared by close(). */
	expireWithToken(expire: () => void): void {
		if (this.tokenExpiresAt === undefined || this.#state.name === 'closed') return;
		clearTimeout(this.#tokenExpiry);
		this.#tokenExpiry = setTimeout(expire, Math.max(0, this.tokenExpiresAt - Date.now()));
		this.#tokenExpiry.unref?.();
	}

	/**
	 * Ends the peer: no more notifications, no resume. With a close code, its
	 * socket (if any) is closed too. Idempotent.
	 */
	close(closeCode?: number, reason = ''): void {
		const previous = this.#state;
		this.#state = { name: 'closed' };
		clearTimeout(this.#iceRefresh);
		clearTimeout(this.#tokenExpiry);
		if (previous.name === 'disconnected') {
			clearTimeout(previous.graceTimer);
			previous.limits.total.release(previous.outboxBytes);
		}
		if (previous.name === 'connected' && closeCode !== undefined) previous.channel.close(closeCode, reason);
	}
}

/** The node a resume token was issued by (`<nodeId>.<random>`), or undefined for a single node's token. */
export function nodeOfResumeToken(token: string): string | undefined {
	const dot = token.indexOf('.');
	return dot > 0 ? token.slice(0, dot) : undefined;
}

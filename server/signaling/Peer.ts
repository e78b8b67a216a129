import { randomBytes } from 'node:crypto';
import { encodeNotification, type MediaState, type PeerInfo, type QualityReport, type Role } from '../../core/protocol/index.js';

/** Where a peer's notifications go while its socket is up. */
export interface PeerChannel {
	send(text: string): void;
	close(code: number, reason: string): void;
}

export type PeerState =
	| { name: 'connected'; channel: PeerChannel }
	/** The socket dropped; notifications wait in the outbox until resume or expiry. */
	| { name: 'disconnected'; outbox: string[]; graceTimer: ReturnType<typeof setTimeout> }
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
	readonly role: Role;
	readonly roomId: string;
	#resumeToken = newResumeToken();
	#state: PeerState;
	/** The latest quality report and when it arrived (ms since epoch). */
	quality: { report: QualityReport; receivedAt: number } | undefined;

	constructor(options: {
		id: string;
		identity: string;
		displayName: string;
		role: Role;
		roomId: string;
		channel: PeerChannel;
	}) {
		this.id = options.id;
		this.identity = options.identity;
		this.displayName = options.displayName;
		this.role = options.role;
		this.roomId = options.roomId;
		this.#state = { name: 'connected', channel: options.channel };
	}

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
		this.#resumeToken = newResumeToken();
		return this.#resumeToken;
	}

	notify(method: string, data: unknown, outboxLimit = Infinity): 'sent' | 'queued' | 'overflow' | 'closed' {
		const text = encodeNotification(method, data);
		switch (this.#state.name) {
			case 'connected':
				this.#state.channel.send(text);
				return 'sent';
			case 'disconnected':
				if (this.#state.outbox.length >= outboxLimit) return 'overflow';
				this.#state.outbox.push(text);
				return 'queued';
			case 'closed':
				return 'closed';
		}
	}

	/** The socket dropped: hold notifications, call `onExpire` after `graceMs`. */
	disconnect(graceMs: number, onExpire: () => void): void {
		if (this.#state.name !== 'connected') return;
		this.#state = { name: 'disconnected', outbox: [], graceTimer: setTimeout(onExpire, graceMs) };
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
			previous.channel.close(4002, 'resumed on another connection');
			return [];
		}
		clearTimeout(previous.graceTimer);
		return previous.outbox;
	}

	/** True while `channel` is the socket this peer speaks through. */
	isAttachedTo(channel: PeerChannel): boolean {
		return this.#state.name === 'connected' && this.#state.channel === channel;
	}

	/**
	 * Ends the peer: no more notifications, no resume. With a close code, its
	 * socket (if any) is closed too. Idempotent.
	 */
	close(closeCode?: number, reason = ''): void {
		const previous = this.#state;
		this.#state = { name: 'closed' };
		if (previous.name === 'disconnected') clearTimeout(previous.graceTimer);
		if (previous.name === 'connected' && closeCode !== undefined) previous.channel.close(closeCode, reason);
	}
}

function newResumeToken(): string {
	return randomBytes(32).toString('base64url');
}

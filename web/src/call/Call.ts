import { Method, Notification, type PeerInfo } from '../../../core/protocol/index.js';
import { SignalingSession, type SessionState } from '../signaling/SignalingSession.js';
import { PeerLink } from './PeerLink.js';

export interface CallOptions {
	signalingUrl: string;
	roomId: string;
	displayName: string;
	/** Access token for rooms that require one. */
	token?: string;
	localStream: MediaStream | undefined;
	/** Called when a remote participant appears, gets media, or leaves. */
	onRemote: (event: { type: 'added'; peer: PeerInfo } | { type: 'media'; peerId: string; stream: MediaStream } | { type: 'removed'; peerId: string }) => void;
}

export interface InboundVideoStat {
	peerId: string;
	framesDecoded: number;
	bytesReceived: number;
}

/**
 * A call in one room over direct peer connections, one per remote
 * participant. The newcomer offers to everyone already in the room.
 */
export class Call {
	readonly #options: CallOptions;
	readonly #links = new Map<string, PeerLink>();
	readonly #signaling: SignalingSession;
	#peerId: string | undefined;
	#closed = false;

	constructor(options: CallOptions) {
		this.#options = options;
		this.#signaling = new SignalingSession({ url: options.signalingUrl });
	}

	/** The signaling channel's state; media keeps flowing while it is `reconnecting`. */
	get signalingState(): SessionState {
		return this.#signaling.state;
	}

	onSignalingState(listener: (state: SessionState) => void): void {
		this.#signaling.on('state', listener);
	}

	get peerId(): string | undefined {
		return this.#peerId;
	}

	async join(): Promise<void> {
		const signaling = this.#signaling;
		signaling.on(Notification.PeerJoined, (peer) => {
			this.#options.onRemote({ type: 'added', peer });
			this.#createLink(peer.peerId);
		});
		signaling.on(Notification.PeerLeft, ({ peerId }) => this.#removeLink(peerId));
		signaling.on(Notification.Signal, ({ from, signal }) => {
			const link = this.#links.get(from) ?? this.#createLink(from);
			link.handleSignal(signal).catch((error: unknown) => console.error('signal from', from, 'failed', error));
		});
		signaling.on('closed', () => this.close());
		const joined = await signaling.join({
			roomId: this.#options.roomId,
			displayName: this.#options.displayName,
			...(this.#options.token ? { token: this.#options.token } : {}),
		});
		this.#peerId = joined.peerId;
		for (const peer of joined.peers) {
			this.#options.onRemote({ type: 'added', peer });
			this.#createLink(peer.peerId)
				.start()
				.catch((error: unknown) => console.error('offer to', peer.peerId, 'failed', error));
		}
	}

	/** Inbound video counters per remote participant, from getStats(). */
	async inboundVideo(): Promise<InboundVideoStat[]> {
		const out: InboundVideoStat[] = [];
		for (const [peerId, link] of this.#links) {
			const report = await link.pc.getStats();
			let framesDecoded = 0;
			let bytesReceived = 0;
			report.forEach((stat: { type: string; kind?: string; framesDecoded?: number; bytesReceived?: number }) => {
				if (stat.type === 'inbound-rtp' && stat.kind === 'video') {
					framesDecoded += stat.framesDecoded ?? 0;
					bytesReceived += stat.bytesReceived ?? 0;
				}
			});
			out.push({ peerId, framesDecoded, bytesReceived });
		}
		return out;
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const peerId of [...this.#links.keys()]) this.#removeLink(peerId);
		this.#signaling.close();
	}

	#createLink(remotePeerId: string): PeerLink {
		const existing = this.#links.get(remotePeerId);
		if (existing) return existing;
		const link = new PeerLink({
			remotePeerId,
			localStream: this.#options.localStream,
			iceServers: [],
			send: (signal) => {
				this.#signaling
					.request(Method.Signal, { to: remotePeerId, signal })
					.catch((error: unknown) => console.warn('signal to', remotePeerId, 'failed', error));
			},
			onTrack: (stream) => this.#options.onRemote({ type: 'media', peerId: remotePeerId, stream }),
		});
		this.#links.set(remotePeerId, link);
		return link;
	}

	#removeLink(peerId: string): void {
		const link = this.#links.get(peerId);
		if (!link) return;
		link.close();
		this.#links.delete(peerId);
		this.#options.onRemote({ type: 'removed', peerId });
	}
}

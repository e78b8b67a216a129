import { Method, Notification, type ConnectionQuality, type PeerInfo } from '../../../core/protocol/index.js';
import { pathOf, type Stat } from '../media/QualitySampler.js';
import { MeshSession } from '../mesh/MeshSession.js';
import { SignalingSession, type Joined, type SessionState } from '../signaling/SignalingSession.js';

export type RemoteEvent =
	| { type: 'added'; peer: PeerInfo }
	| { type: 'media'; peerId: string; stream: MediaStream }
	| { type: 'removed'; peerId: string };

export interface CallOptions {
	signalingUrl: string;
	roomId: string;
	displayName: string;
	/** Access token for rooms that require one. */
	token?: string;
	localStream: MediaStream | undefined;
	onRemote: (event: RemoteEvent) => void;
}

/** What the call knows of one remote participant's connection, from getStats(). */
export interface RemoteConnectionStats {
	peerId: string;
	framesDecoded: number;
	bytesReceived: number;
	audioPacketsReceived: number;
	/** Sum of decoded audio energy: stops growing when the sender mutes. */
	audioEnergy: number;
	path: 'direct' | 'relay';
	localCandidateType?: string;
	/** Offers and answers exchanged: 2 is one negotiation. */
	descriptionCount: number;
}

function sum(stats: Stat[], type: string, kind: string, field: string): number {
	let total = 0;
	for (const s of stats) {
		if (s.type === type && s.kind === kind && typeof s[field] === 'number') total += s[field] as number;
	}
	return total;
}

/**
 * A call in one room: the signaling session, the local media and the mesh
 * of peer connections, plus the periodic quality report to the server.
 */
export class Call {
	readonly #options: CallOptions;
	readonly #signaling: SignalingSession;
	readonly #peers = new Map<string, PeerInfo>();
	#mesh: MeshSession | undefined;
	#reportTimer: ReturnType<typeof setInterval> | undefined;
	#lastReport: ConnectionQuality[] = [];
	#closed = false;

	constructor(options: CallOptions) {
		this.#options = options;
		this.#signaling = new SignalingSession({ url: options.signalingUrl });
	}

	get peerId(): string | undefined {
		return this.#signaling.joined?.peerId;
	}

	/** The signaling channel's state; media keeps flowing while it is `reconnecting`. */
	get signalingState(): SessionState {
		return this.#signaling.state;
	}

	/** The last quality report sent to the server. */
	get lastQualityReport(): ConnectionQuality[] {
		return this.#lastReport;
	}

	onSignalingState(listener: (state: SessionState) => void): void {
		this.#signaling.on('state', listener);
	}

	async join(): Promise<Joined> {
		const signaling = this.#signaling;
		signaling.on(Notification.PeerJoined, (peer) => {
			this.#peers.set(peer.peerId, peer);
			this.#options.onRemote({ type: 'added', peer });
			this.#mesh?.addPeer(peer.peerId);
		});
		signaling.on(Notification.PeerLeft, ({ peerId }) => {
			this.#peers.delete(peerId);
			this.#mesh?.removePeer(peerId);
		});
		signaling.on(Notification.Signal, ({ from, signal }) => this.#mesh?.handleSignal(from, signal));
		signaling.on('closed', () => this.close());
		const joined = await signaling.join({
			roomId: this.#options.roomId,
			displayName: this.#options.displayName,
			...(this.#options.token ? { token: this.#options.token } : {}),
		});
		const mesh = new MeshSession({
			selfId: joined.peerId,
			localStream: this.#options.localStream,
			iceServers: joined.iceServers,
			iceTransportPolicy: joined.iceTransportPolicy,
			sendSignal: (to, signal) => {
				signaling
					.request(Method.Signal, { to, signal })
					.catch((error: unknown) => console.warn('signal to', to, 'failed', error));
			},
		});
		mesh.on('remotestream', (peerId, stream) => this.#options.onRemote({ type: 'media', peerId, stream }));
		mesh.on('remoteclosed', (peerId) => this.#options.onRemote({ type: 'removed', peerId }));
		this.#mesh = mesh;
		for (const peer of joined.peers) {
			this.#peers.set(peer.peerId, peer);
			this.#options.onRemote({ type: 'added', peer });
			mesh.addPeer(peer.peerId);
		}
		this.#reportTimer = setInterval(() => void this.#report(), joined.qualityReportIntervalMs);
		return joined;
	}

	setMicrophoneEnabled(enabled: boolean): void {
		this.#mesh?.setTrackEnabled('audio', enabled);
	}

	setCameraEnabled(enabled: boolean): void {
		this.#mesh?.setTrackEnabled('video', enabled);
	}

	/** Switches the camera (or any video source) on every connection without renegotiating. */
	replaceVideoTrack(newTrack: MediaStreamTrack): void {
		const old = this.#options.localStream?.getVideoTracks()[0];
		if (!old || !this.#mesh) throw new Error('no video track to replace');
		this.#mesh.replaceTrack(old, newTrack);
		old.stop();
	}

	sendData(message: string, peerId?: string): number {
		return this.#mesh?.sendData(message, peerId) ?? 0;
	}

	onData(listener: (peerId: string, message: string) => void): void {
		this.#mesh?.on('data', listener);
	}

	async connectionStats(): Promise<RemoteConnectionStats[]> {
		const all = (await this.#mesh?.stats()) ?? [];
		return all.map(({ peerId, descriptionCount, stats }) => {
			const path = pathOf(stats);
			return {
				peerId,
				framesDecoded: sum(stats, 'inbound-rtp', 'video', 'framesDecoded'),
				bytesReceived: sum(stats, 'inbound-rtp', 'video', 'bytesReceived'),
				audioPacketsReceived: sum(stats, 'inbound-rtp', 'audio', 'packetsReceived'),
				audioEnergy: sum(stats, 'inbound-rtp', 'audio', 'totalAudioEnergy'),
				path: path.path,
				...(path.localCandidateType ? { localCandidateType: path.localCandidateType } : {}),
				descriptionCount,
			};
		});
	}

	/** Inbound video counters per remote participant (kept for tests and the stats panel). */
	async inboundVideo(): Promise<Array<{ peerId: string; framesDecoded: number; bytesReceived: number }>> {
		return (await this.connectionStats()).map(({ peerId, framesDecoded, bytesReceived }) => ({ peerId, framesDecoded, bytesReceived }));
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		clearInterval(this.#reportTimer);
		this.#mesh?.close();
		this.#signaling.close();
	}

	async #report(): Promise<void> {
		if (!this.#mesh || this.#signaling.state !== 'joined') return;
		const connections = await this.#mesh.quality(performance.now());
		this.#lastReport = connections;
		const intervalMs = this.#signaling.joined?.qualityReportIntervalMs ?? 2000;
		await this.#signaling
			.request(Method.QualityReport, { intervalMs, connections })
			.catch((error: unknown) => console.warn('quality report failed', error));
	}
}

import { Method, Notification, type ConnectionQuality, type PeerInfo } from '../../../core/protocol/index.js';
import { pathOf, type Stat } from '../media/QualitySampler.js';
import { MeshSession } from '../mesh/MeshSession.js';
import { SfuSession } from '../sfu/SfuSession.js';
import { SignalingSession, type Joined, type SessionState } from '../signaling/SignalingSession.js';

export type RemoteEvent =
	| { type: 'added'; peer: PeerInfo }
	| { type: 'media'; peerId: string; stream: MediaStream }
	| { type: 'mediaState'; peerId: string; audioMuted: boolean; videoMuted: boolean }
	| { type: 'removed'; peerId: string };

export interface ChatEntry {
	from: string;
	displayName: string;
	text: string;
	sentAt: number;
	self: boolean;
}

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
	path: 'direct' | 'relay' | 'sfu';
	localCandidateType?: string;
	/** Offers and answers exchanged: 2 is one negotiation. */
	descriptionCount: number;
	framesPerSecond: number;
	frameWidth: number;
	frameHeight: number;
}

function sum(stats: Stat[], type: string, kind: string, field: string): number {
	let total = 0;
	for (const s of stats) {
		if (s.type === type && s.kind === kind && typeof s[field] === 'number') total += s[field] as number;
	}
	return total;
}

/** One remote participant's numbers from the getStats() entries of its connection (or its consumers). */
function summarize(
	peerId: string,
	stats: Stat[],
	path: { path: RemoteConnectionStats['path']; localCandidateType?: string },
	descriptionCount: number,
): RemoteConnectionStats {
	const video = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
	const n = (v: unknown) => (typeof v === 'number' ? v : 0);
	return {
		peerId,
		framesDecoded: sum(stats, 'inbound-rtp', 'video', 'framesDecoded'),
		bytesReceived: sum(stats, 'inbound-rtp', 'video', 'bytesReceived'),
		audioPacketsReceived: sum(stats, 'inbound-rtp', 'audio', 'packetsReceived'),
		audioEnergy: sum(stats, 'inbound-rtp', 'audio', 'totalAudioEnergy'),
		path: path.path,
		...(path.localCandidateType ? { localCandidateType: path.localCandidateType } : {}),
		descriptionCount,
		framesPerSecond: n(video?.framesPerSecond),
		frameWidth: n(video?.frameWidth),
		frameHeight: n(video?.frameHeight),
	};
}

/**
 * A call in one room: the signaling session, the local media and the mesh
 * of peer connections, plus the periodic quality report to the server.
 */
export class Call {
	readonly #options: CallOptions;
	readonly #signaling: SignalingSession;
	readonly #peers = new Map<string, PeerInfo>();
	/** How media travels in this room: one of the two sessions, never both (yet). */
	#media: { mode: 'mesh'; session: MeshSession } | { mode: 'sfu'; session: SfuSession } | undefined;
	readonly #activeSpeakerListeners: Array<(peerId: string | null) => void> = [];
	readonly #chatListeners: Array<(entry: ChatEntry) => void> = [];
	#audioMuted = false;
	#videoMuted = false;
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

	/** `mesh` or `sfu` once joined. */
	get mediaMode(): 'mesh' | 'sfu' | undefined {
		return this.#media?.mode;
	}

	onActiveSpeaker(listener: (peerId: string | null) => void): void {
		this.#activeSpeakerListeners.push(listener);
	}

	onChat(listener: (entry: ChatEntry) => void): void {
		this.#chatListeners.push(listener);
	}

	/** Attempt numbers while the signaling channel reconnects. */
	onReconnecting(listener: (attempt: number) => void): void {
		this.#signaling.on('reconnecting', listener);
	}

	get participantCount(): number {
		return this.#peers.size + 1;
	}

	get audioMuted(): boolean {
		return this.#audioMuted;
	}

	get videoMuted(): boolean {
		return this.#videoMuted;
	}

	async sendChat(text: string): Promise<void> {
		const { sentAt } = await this.#signaling.request(Method.Chat, { text });
		const entry = { from: this.peerId ?? '', displayName: this.#signaling.joined?.displayName ?? '', text: text.trim(), sentAt, self: true };
		for (const listener of this.#chatListeners) listener(entry);
	}

	get #mesh(): MeshSession | undefined {
		return this.#media?.mode === 'mesh' ? this.#media.session : undefined;
	}

	get #sfu(): SfuSession | undefined {
		return this.#media?.mode === 'sfu' ? this.#media.session : undefined;
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
			if (this.#sfu) {
				this.#sfu.removePeer(peerId);
				this.#options.onRemote({ type: 'removed', peerId });
			}
		});
		signaling.on(Notification.Signal, ({ from, signal }) => this.#mesh?.handleSignal(from, signal));
		signaling.on(Notification.ChatMessage, (message) => {
			for (const listener of this.#chatListeners) listener({ ...message, self: false });
		});
		signaling.on(Notification.PeerMediaState, (state) => this.#options.onRemote({ type: 'mediaState', ...state }));
		signaling.on('closed', () => this.close());
		const joined = await signaling.join({
			roomId: this.#options.roomId,
			displayName: this.#options.displayName,
			...(this.#options.token ? { token: this.#options.token } : {}),
		});
		if (joined.mediaMode === 'sfu') {
			const sfu = new SfuSession({ signaling, localStream: this.#options.localStream });
			sfu.on('remotestream', (peerId, stream) => this.#options.onRemote({ type: 'media', peerId, stream }));
			sfu.on('activespeaker', (peerId) => {
				for (const listener of this.#activeSpeakerListeners) listener(peerId);
			});
			this.#media = { mode: 'sfu', session: sfu };
			for (const peer of joined.peers) {
				this.#peers.set(peer.peerId, peer);
				this.#options.onRemote({ type: 'added', peer });
			}
			await sfu.start();
		} else {
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
			this.#media = { mode: 'mesh', session: mesh };
			for (const peer of joined.peers) {
				this.#peers.set(peer.peerId, peer);
				this.#options.onRemote({ type: 'added', peer });
				mesh.addPeer(peer.peerId);
			}
		}
		this.#reportTimer = setInterval(() => void this.#report(), joined.qualityReportIntervalMs);
		return joined;
	}

	async setMicrophoneEnabled(enabled: boolean): Promise<void> {
		this.#audioMuted = !enabled;
		this.#mesh?.setTrackEnabled('audio', enabled);
		await this.#sfu?.setTrackEnabled('audio', enabled);
		await this.#announceMediaState();
	}

	async setCameraEnabled(enabled: boolean): Promise<void> {
		this.#videoMuted = !enabled;
		this.#mesh?.setTrackEnabled('video', enabled);
		await this.#sfu?.setTrackEnabled('video', enabled);
		await this.#announceMediaState();
	}

	async #announceMediaState(): Promise<void> {
		await this.#signaling
			.request(Method.MediaState, { audioMuted: this.#audioMuted, videoMuted: this.#videoMuted })
			.catch((error: unknown) => console.warn('media state not sent', error));
	}

	/**
	 * Switches the camera (or any video source, a screen) on every connection
	 * without renegotiating. The old track is stopped unless `keepOld` (a
	 * camera put aside during a screen share).
	 */
	async replaceVideoTrack(newTrack: MediaStreamTrack, keepOld = false): Promise<void> {
		const old = this.#options.localStream?.getVideoTracks()[0];
		if (!old || !this.#media) throw new Error('no video track to replace');
		if (this.#media.mode === 'mesh') this.#media.session.replaceTrack(old, newTrack);
		else await this.#media.session.replaceTrack(old, newTrack);
		if (!keepOld) old.stop();
	}

	/** The rendered width of a remote tile: the SFU sends the simulcast layer it needs. */
	setRemoteVideoWidth(peerId: string, widthPx: number): void {
		this.#sfu?.setRemoteVideoWidth(peerId, widthPx).catch((error: unknown) => console.warn('layer request failed', error));
	}

	sendData(message: string, peerId?: string): number {
		return this.#mesh?.sendData(message, peerId) ?? 0;
	}

	onData(listener: (peerId: string, message: string) => void): void {
		this.#mesh?.on('data', listener);
	}

	async connectionStats(): Promise<RemoteConnectionStats[]> {
		if (this.#sfu) {
			return (await this.#sfu.stats()).map(({ peerId, stats }) => summarize(peerId, stats, { path: 'sfu' }, 0));
		}
		const all = (await this.#mesh?.stats()) ?? [];
		return all.map(({ peerId, descriptionCount, stats }) => summarize(peerId, stats, pathOf(stats), descriptionCount));
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		clearInterval(this.#reportTimer);
		this.#media?.session.close();
		this.#signaling.close();
	}

	async #report(): Promise<void> {
		if (!this.#media || this.#signaling.state !== 'joined') return;
		const connections = await this.#media.session.quality(performance.now());
		this.#lastReport = connections;
		const intervalMs = this.#signaling.joined?.qualityReportIntervalMs ?? 2000;
		await this.#signaling
			.request(Method.QualityReport, { intervalMs, connections })
			.catch((error: unknown) => console.warn('quality report failed', error));
	}
}

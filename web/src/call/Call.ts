import { Capability, Method, Notification, can, type ConnectionQuality, type PeerInfo } from '../../../core/protocol/index.js';
import { pathOf, type Stat } from '../media/QualitySampler.js';
import { SignalingSession, type Joined, type SessionState } from '../signaling/SignalingSession.js';
import { MediaPaths, type MigrationRecord, type TopologyLabel } from '../topology/MediaPaths.js';

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
	/** How long ago (at the stats' own timestamp) the last audio packet arrived; null before any. */
	audioLastPacketAgoMs: number | null;
	path: 'direct' | 'relay' | 'sfu';
	/** Which of the call's media paths the numbers come from (both appear during a migration). */
	via: 'mesh' | 'sfu';
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
	via: 'mesh' | 'sfu',
	stats: Stat[],
	path: { path: RemoteConnectionStats['path']; localCandidateType?: string },
	descriptionCount: number,
): RemoteConnectionStats {
	const video = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
	const n = (v: unknown) => (typeof v === 'number' ? v : 0);
	let audioLastPacketAgoMs: number | null = null;
	for (const a of stats) {
		if (a.type !== 'inbound-rtp' || a.kind !== 'audio' || typeof a.lastPacketReceivedTimestamp !== 'number') continue;
		const ago = Math.max(0, n(a.timestamp) - a.lastPacketReceivedTimestamp);
		audioLastPacketAgoMs = audioLastPacketAgoMs === null ? ago : Math.min(audioLastPacketAgoMs, ago);
	}
	return {
		peerId,
		via,
		framesDecoded: sum(stats, 'inbound-rtp', 'video', 'framesDecoded'),
		bytesReceived: sum(stats, 'inbound-rtp', 'video', 'bytesReceived'),
		audioPacketsReceived: sum(stats, 'inbound-rtp', 'audio', 'packetsReceived'),
		audioEnergy: sum(stats, 'inbound-rtp', 'audio', 'totalAudioEnergy'),
		audioLastPacketAgoMs,
		path: path.path,
		...(path.localCandidateType ? { localCandidateType: path.localCandidateType } : {}),
		descriptionCount,
		framesPerSecond: n(video?.framesPerSecond),
		frameWidth: n(video?.frameWidth),
		frameHeight: n(video?.frameHeight),
	};
}

/**
 * A call in one room: the signaling session, the local media, and the media
 * paths (mesh, SFU, and the migrations between them), plus the periodic
 * quality report to the server.
 */
export class Call {
	readonly #options: CallOptions;
	readonly #signaling: SignalingSession;
	readonly #peers = new Map<string, PeerInfo>();
	#media: MediaPaths | undefined;
	readonly #activeSpeakerListeners: Array<(peerId: string | null) => void> = [];
	readonly #chatListeners: Array<(entry: ChatEntry) => void> = [];
	readonly #topologyListeners: Array<(label: TopologyLabel) => void> = [];
	readonly #dataListeners: Array<(peerId: string, message: string) => void> = [];
	/** Every migration this client took part in (tests and the migration benchmark read it). */
	readonly migrations: MigrationRecord[] = [];
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

	/** `mesh` or `sfu` once joined: the path this client is committed to. */
	get mediaMode(): 'mesh' | 'sfu' | undefined {
		return this.#media?.mode;
	}

	/** What the topology badge shows: `mesh`, `sfu`, or `migrating` while a migration is in flight. */
	get topology(): TopologyLabel | undefined {
		return this.#media?.label;
	}

	onTopology(listener: (label: TopologyLabel) => void): void {
		this.#topologyListeners.push(listener);
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

	/** The session ended for good; `closeCode` (4xxx) and its reason when the server ended it. */
	onClosed(listener: (closeCode: number | undefined, reason: string | undefined) => void): void {
		this.#signaling.on('closed', (_error, closeCode, reason) => listener(closeCode, reason));
	}

	/** Whether this participant's role may send media (a viewer only watches). */
	get canPublish(): boolean {
		const role = this.#signaling.joined?.role;
		return role !== undefined && can(role, Capability.Publish);
	}

	/**
	 * Sends a chat message; resolves with it as the room saw it, once the
	 * server took it (the caller shows it at once, as sending, meanwhile).
	 * Others get it as a `chatMessage`; the sender's own listeners are not called.
	 */
	async sendChat(text: string): Promise<ChatEntry> {
		const { sentAt } = await this.#signaling.request(Method.Chat, { text });
		return { from: this.peerId ?? '', displayName: this.#signaling.joined?.displayName ?? '', text: text.trim(), sentAt, self: true };
	}

	async join(): Promise<Joined> {
		const signaling = this.#signaling;
		signaling.on(Notification.PeerJoined, (peer) => {
			this.#peers.set(peer.peerId, peer);
			this.#options.onRemote({ type: 'added', peer });
			this.#media?.peerJoined();
		});
		signaling.on(Notification.PeerLeft, ({ peerId }) => {
			if (!this.#peers.delete(peerId)) return;
			this.#media?.peerLeft(peerId);
			this.#options.onRemote({ type: 'removed', peerId });
		});
		signaling.on(Notification.ChatMessage, (message) => {
			for (const listener of this.#chatListeners) listener({ ...message, self: false });
		});
		signaling.on(Notification.PeerMediaState, (state) => {
			const peer = this.#peers.get(state.peerId);
			if (peer) this.#peers.set(state.peerId, { ...peer, audioMuted: state.audioMuted, videoMuted: state.videoMuted });
			this.#options.onRemote({ type: 'mediaState', ...state });
		});
		signaling.on('closed', () => this.close());
		const joined = await signaling.join({
			roomId: this.#options.roomId,
			displayName: this.#options.displayName,
			...(this.#options.token ? { token: this.#options.token } : {}),
		});
		for (const peer of joined.peers) {
			this.#peers.set(peer.peerId, peer);
			this.#options.onRemote({ type: 'added', peer });
		}
		// A role that may not publish (a viewer) sends nothing: its camera and microphone are released.
		let localStream = this.#options.localStream;
		if (!this.canPublish && localStream) {
			for (const track of localStream.getTracks()) track.stop();
			localStream = undefined;
		}
		const media = new MediaPaths({
			signaling,
			joined,
			localStream,
			publish: this.canPublish,
			peerIds: () => [...this.#peers.keys()],
			videoMuted: (peerId) => this.#peers.get(peerId)?.videoMuted ?? false,
		});
		media.on('show', (peerId, stream) => this.#options.onRemote({ type: 'media', peerId, stream }));
		media.on('activespeaker', (peerId) => {
			for (const listener of this.#activeSpeakerListeners) listener(peerId);
		});
		media.on('topology', (label) => {
			for (const listener of this.#topologyListeners) listener(label);
		});
		media.on('migration', (record) => this.migrations.push(record));
		media.on('data', (peerId, message) => {
			for (const listener of this.#dataListeners) listener(peerId, message);
		});
		this.#media = media;
		this.#reportTimer = setInterval(() => void this.#report(), joined.qualityReportIntervalMs);
		await media.start();
		return joined;
	}

	async setMicrophoneEnabled(enabled: boolean): Promise<void> {
		this.#audioMuted = !enabled;
		await this.#media?.setTrackEnabled('audio', enabled);
		await this.#announceMediaState();
	}

	async setCameraEnabled(enabled: boolean): Promise<void> {
		this.#videoMuted = !enabled;
		await this.#media?.setTrackEnabled('video', enabled);
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
		await this.#media.replaceTrack(old, newTrack);
		if (!keepOld) old.stop();
	}

	/** The rendered width of a remote tile: the SFU sends the simulcast layer it needs. */
	setRemoteVideoWidth(peerId: string, widthPx: number): void {
		this.#media?.setRemoteVideoWidth(peerId, widthPx).catch((error: unknown) => console.warn('layer request failed', error));
	}

	sendData(message: string, peerId?: string): number {
		return this.#media?.sendData(message, peerId) ?? 0;
	}

	onData(listener: (peerId: string, message: string) => void): void {
		this.#dataListeners.push(listener);
	}

	/** Per remote participant and media path: during a migration a participant appears once per path. */
	async connectionStats(): Promise<RemoteConnectionStats[]> {
		const all = (await this.#media?.stats()) ?? [];
		return all.map(({ peerId, path, descriptionCount, stats }) =>
			summarize(peerId, path, stats, path === 'sfu' ? { path: 'sfu' } : pathOf(stats), descriptionCount),
		);
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		clearInterval(this.#reportTimer);
		this.#media?.close();
		this.#signaling.close();
	}

	async #report(): Promise<void> {
		if (!this.#media || this.#signaling.state !== 'joined') return;
		const connections = await this.#media.quality(performance.now());
		this.#lastReport = connections;
		const intervalMs = this.#signaling.joined?.qualityReportIntervalMs ?? 2000;
		await this.#signaling
			.request(Method.QualityReport, { intervalMs, connections })
			.catch((error: unknown) => console.warn('quality report failed', error));
	}
}

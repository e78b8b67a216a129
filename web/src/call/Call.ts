import { EventEmitter } from 'eventemitter3';
import {
	Capability,
	Method,
	Notification,
	can,
	type ConnectionQuality,
	type NotificationData,
	type PeerInfo,
	type RaisedHand,
	type Reaction,
	type Role,
	type RoomKind,
} from '../../../core/protocol/index.js';
import { pathOf, type Stat } from '../media/QualitySampler.js';
import { SignalingSession, type Joined, type SessionState } from '../signaling/SignalingSession.js';
import { MediaPaths, type MigrationRecord, type TopologyLabel } from '../topology/MediaPaths.js';
import { planRoleChange } from './RoleChange.js';

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

/** Camera and microphone as the page opened them, or why it could not. */
export interface LocalMedia {
	stream?: MediaStream;
	error?: string;
}

/** Reactions counted per emoji (one `reactions` batch). */
export type ReactionCounts = NotificationData<'reactions'>['counts'];

export interface CallOptions {
	signalingUrl: string;
	roomId: string;
	displayName: string;
	/** Access token for rooms that require one. */
	token?: string;
	/** The role asked for without a token (a broadcast grants it; its default is viewer). */
	role?: Role;
	/**
	 * Opens camera and microphone. Called only once the role is known to
	 * publish: after the join response, and again on each promotion to the
	 * stage. The call owns what it returns and stops it when it no longer sends.
	 */
	localMedia: () => Promise<LocalMedia>;
	onRemote: (event: RemoteEvent) => void;
}

export type CallEvents = {
	activeSpeaker: [peerId: string | null];
	chat: [entry: ChatEntry];
	topology: [label: TopologyLabel];
	data: [peerId: string, message: string];
	/** A broadcast's audience size changed. */
	audience: [count: number];
	/** A host of a broadcast: the raised hands, oldest first. */
	hands: [hands: RaisedHand[]];
	/** Reactions since the last batch, counted per emoji. */
	reactions: [counts: ReactionCounts];
	/** This peer's own role changed (brought on stage, or back to the audience), by that host. */
	role: [role: Role, by: string];
	/** This client's camera and microphone: opened (the stream, or the error why not), or released (both undefined). */
	localMedia: [stream: MediaStream | undefined, error: string | undefined];
};

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
 * quality report to the server. In a broadcast it also keeps the audience
 * size, the raised hands (for hosts), and carries out this peer's role
 * changes: camera and microphone are opened only for a role that sends.
 */
export class Call {
	readonly #options: CallOptions;
	readonly #signaling: SignalingSession;
	readonly #events = new EventEmitter<CallEvents>();
	/** Everyone else in the room; in a broadcast, the stage (hosts and speakers). */
	readonly #peers = new Map<string, PeerInfo>();
	#media: MediaPaths | undefined;
	/** Every migration this client took part in (tests and the migration benchmark read it). */
	readonly migrations: MigrationRecord[] = [];
	#role: Role | undefined;
	#roomKind: RoomKind | undefined;
	#audience = 0;
	#hands: RaisedHand[] = [];
	#handRaised = false;
	/** What the page's camera and microphone gave this call (it owns the stream), and why not. */
	#localStream: MediaStream | undefined;
	#mediaError: string | undefined;
	/** Role changes are carried out one at a time, in the order they came. */
	#roleChanges: Promise<void> = Promise.resolve();
	/** The rendered width of each remote tile: SFU consumers made later ask for its layer. */
	readonly #tileWidths = new Map<string, number>();
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
		this.#events.on('topology', listener);
	}

	onActiveSpeaker(listener: (peerId: string | null) => void): void {
		this.#events.on('activeSpeaker', listener);
	}

	onChat(listener: (entry: ChatEntry) => void): void {
		this.#events.on('chat', listener);
	}

	/** Attempt numbers while the signaling channel reconnects. */
	onReconnecting(listener: (attempt: number) => void): void {
		this.#signaling.on('reconnecting', listener);
	}

	get participantCount(): number {
		return this.#peers.size + 1;
	}

	/** `meeting` or `broadcast`, once joined. */
	get roomKind(): RoomKind | undefined {
		return this.#roomKind;
	}

	/** This peer's role now (a broadcast's host brings viewers on stage and back). */
	get role(): Role | undefined {
		return this.#role;
	}

	/** How many watch a broadcast (its viewers); 0 in a meeting. */
	get audienceCount(): number {
		return this.#audience;
	}

	/** A host of a broadcast: the raised hands, oldest first. */
	get hands(): readonly RaisedHand[] {
		return this.#hands;
	}

	/** This viewer's own hand is up. */
	get handRaised(): boolean {
		return this.#handRaised;
	}

	/** The camera and microphone this call sends, while its role sends and the page could open them. */
	get localStream(): MediaStream | undefined {
		return this.#localStream;
	}

	/** Why the camera and microphone could not be opened for the current role, if they could not. */
	get localMediaError(): string | undefined {
		return this.#mediaError;
	}

	onAudience(listener: (count: number) => void): void {
		this.#events.on('audience', listener);
	}

	onHands(listener: (hands: RaisedHand[]) => void): void {
		this.#events.on('hands', listener);
	}

	onReactions(listener: (counts: ReactionCounts) => void): void {
		this.#events.on('reactions', listener);
	}

	onRoleChanged(listener: (role: Role, by: string) => void): void {
		this.#events.on('role', listener);
	}

	onLocalMedia(listener: (stream: MediaStream | undefined, error: string | undefined) => void): void {
		this.#events.on('localMedia', listener);
	}

	get audioMuted(): boolean {
		return this.#audioMuted;
	}

	get videoMuted(): boolean {
		return this.#videoMuted;
	}

	/** The session ended for good; `closeCode` (4xxx) and its reason when the server ended it. */
	onClosed(listener: (closeCode: number | undefined, reason: string | undefined, errorCode: string | undefined) => void): void {
		this.#signaling.on('closed', (error, closeCode, reason) => listener(closeCode, reason, (error as { code?: string } | undefined)?.code));
	}

	/** Whether this participant's role may send media (a viewer only watches). */
	get canPublish(): boolean {
		return this.#role !== undefined && can(this.#role, Capability.Publish);
	}

	/** Whether this participant's role may manage the room (a host: remove, end, promote, demote). */
	get canManage(): boolean {
		return this.#role !== undefined && can(this.#role, Capability.ManageRoom);
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

	/** A viewer of a broadcast raises (or lowers) its hand; resolves once the server has it. */
	async raiseHand(raised: boolean): Promise<void> {
		await this.#signaling.request(Method.HandRaise, { raised });
		this.#handRaised = raised;
	}

	/** A host brings a viewer with its hand up onto the stage. */
	async promote(peerId: string): Promise<void> {
		await this.#signaling.request(Method.StagePromote, { peerId });
	}

	/** A host sends a speaker back to the audience. */
	async demote(peerId: string): Promise<void> {
		await this.#signaling.request(Method.StageDemote, { peerId });
	}

	/** A host removes someone from the room (their session ends with 4008). */
	async removePeer(peerId: string): Promise<void> {
		await this.#signaling.request(Method.RoomRemovePeer, { peerId });
	}

	/** An emoji reaction; everyone sees the room's reactions counted, once a second. */
	async react(emoji: Reaction): Promise<void> {
		await this.#signaling.request(Method.Reaction, { emoji });
	}

	/** A host ends the room for everyone (their sessions end with 4009), then leaves it. */
	async endRoom(): Promise<void> {
		await this.#signaling.request(Method.RoomEnd, {});
		this.close();
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
			this.#tileWidths.delete(peerId);
			this.#media?.peerLeft(peerId);
			this.#options.onRemote({ type: 'removed', peerId });
		});
		signaling.on(Notification.ChatMessage, (message) => this.#events.emit('chat', { ...message, self: false }));
		signaling.on(Notification.PeerMediaState, (state) => {
			const peer = this.#peers.get(state.peerId);
			if (peer) this.#peers.set(state.peerId, { ...peer, audioMuted: state.audioMuted, videoMuted: state.videoMuted });
			this.#options.onRemote({ type: 'mediaState', ...state });
		});
		signaling.on(Notification.Audience, ({ count }) => this.#setAudience(count));
		signaling.on(Notification.Hands, ({ hands }) => this.#setHands(hands));
		signaling.on(Notification.Reactions, ({ counts }) => this.#events.emit('reactions', counts));
		signaling.on(Notification.RoleChanged, (data) => {
			// What the room says after this waits until the media paths are in their new shape (as at the join).
			const release = signaling.holdNotifications();
			this.#roleChanges = this.#roleChanges
				.then(() => this.#changeRole(data, release))
				.catch((error: unknown) => console.warn(`role change to ${data.role} failed`, error))
				.finally(release);
		});
		signaling.on('reconnected', (joined) => {
			this.#setAudience(joined.audience);
			if (this.canManage) this.#setHands(joined.hands);
			this.#handRaised = joined.handRaised;
		});
		signaling.on('closed', () => this.close());

		// Between the join response and media paths that can take them (the camera may take a while to open),
		// the room's notifications wait: a mesh offer made meanwhile is not lost.
		const release = signaling.holdNotifications();
		let joined: Joined;
		let started: Promise<void>;
		try {
			joined = await signaling.join({
				roomId: this.#options.roomId,
				displayName: this.#options.displayName,
				...(this.#options.token ? { token: this.#options.token } : {}),
				...(this.#options.role ? { role: this.#options.role } : {}),
			});
			this.#role = joined.role;
			this.#roomKind = joined.roomKind;
			this.#audience = joined.audience;
			this.#hands = joined.hands;
			this.#handRaised = joined.handRaised;
			for (const peer of joined.peers) {
				this.#peers.set(peer.peerId, peer);
				this.#options.onRemote({ type: 'added', peer });
			}
			// Only a role that sends opens the camera: a viewer is never asked for it.
			if (this.canPublish) await this.#openLocalMedia();
			if (this.#closed) throw new Error('the call was left while joining');
			started = this.#openMediaPaths(joined);
		} finally {
			release();
		}
		this.#reportTimer = setInterval(() => void this.#report(), joined.qualityReportIntervalMs);
		await started;
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
		const old = this.#localStream?.getVideoTracks()[0];
		if (!old || !this.#media) throw new Error('no video track to replace');
		await this.#media.replaceTrack(old, newTrack);
		if (!keepOld) old.stop();
	}

	/** The rendered width of a remote tile: the SFU sends the simulcast layer it needs. */
	setRemoteVideoWidth(peerId: string, widthPx: number): void {
		this.#tileWidths.set(peerId, widthPx);
		this.#media?.setRemoteVideoWidth(peerId, widthPx).catch((error: unknown) => console.warn('layer request failed', error));
	}

	sendData(message: string, peerId?: string): number {
		return this.#media?.sendData(message, peerId) ?? 0;
	}

	onData(listener: (peerId: string, message: string) => void): void {
		this.#events.on('data', listener);
	}

	/** Per remote participant and media path: during a migration a participant appears once per path. */
	async connectionStats(): Promise<RemoteConnectionStats[]> {
		const all = (await this.#media?.stats()) ?? [];
		return all.map(({ peerId, path, descriptionCount, stats }) =>
			summarize(peerId, path, stats, path === 'sfu' ? { path: 'sfu' } : pathOf(stats), descriptionCount),
		);
	}

	/** Leaves: media paths, camera and microphone, and the session close. Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		clearInterval(this.#reportTimer);
		this.#media?.close();
		this.#stopLocalMedia();
		this.#signaling.close();
	}

	/** Asks the page for camera and microphone (a role that sends); the call owns what comes back. */
	async #openLocalMedia(): Promise<void> {
		const { stream, error } = await this.#options.localMedia().catch((e: unknown): LocalMedia => ({ error: (e as Error)?.message || String(e) }));
		if (this.#closed) {
			for (const track of stream?.getTracks() ?? []) track.stop();
			return;
		}
		this.#localStream = stream;
		this.#mediaError = stream ? undefined : (error ?? 'not available');
		this.#audioMuted = this.#videoMuted = false;
		this.#events.emit('localMedia', stream, this.#mediaError);
	}

	/** Camera and microphone off for good (a role that no longer sends, or the call ended). */
	#stopLocalMedia(): void {
		const stream = this.#localStream;
		this.#localStream = undefined;
		this.#mediaError = undefined;
		this.#audioMuted = this.#videoMuted = false;
		for (const track of stream?.getTracks() ?? []) track.stop();
		if (stream) this.#events.emit('localMedia', undefined, undefined);
	}

	/** A broadcast's audience receives through the SFU whatever the stage does: it takes no part in migrations. */
	get #migrates(): boolean {
		return !(this.#roomKind === 'broadcast' && !this.canPublish);
	}

	/** Media paths for a placement (the join's, or a role change's); returns their start, begun synchronously. */
	#openMediaPaths(placement: Joined): Promise<void> {
		const media = new MediaPaths({
			signaling: this.#signaling,
			joined: placement,
			localStream: this.#localStream,
			publish: this.canPublish,
			migrates: this.#migrates,
			peerIds: () => [...this.#peers.keys()],
			videoMuted: (peerId) => this.#peers.get(peerId)?.videoMuted ?? false,
			preferredWidth: (peerId) => this.#tileWidths.get(peerId),
		});
		media.on('show', (peerId, stream) => this.#options.onRemote({ type: 'media', peerId, stream }));
		media.on('activespeaker', (peerId) => this.#events.emit('activeSpeaker', peerId));
		media.on('topology', (label) => this.#events.emit('topology', label));
		media.on('migration', (record) => this.migrations.push(record));
		media.on('data', (peerId, message) => this.#events.emit('data', peerId, message));
		this.#media = media;
		return media.start();
	}

	/**
	 * This peer's role changed (`roleChanged`): on stage it opens camera and
	 * microphone and sends, back in the audience it stops; in place on the
	 * SFU, otherwise by building its media paths again for the new placement.
	 */
	async #changeRole(data: NotificationData<'roleChanged'>, release: () => void): Promise<void> {
		const media = this.#media;
		if (this.#closed || !media) return;
		const publishing = this.canPublish;
		this.#role = data.role;
		if (data.role !== 'viewer') this.#handRaised = false;
		const plan = planRoleChange({ publishing, willPublish: this.canPublish, label: media.label, mediaMode: data.mediaMode });
		this.#events.emit('role', data.role, data.by);
		if (plan === 'none') return;
		let done: Promise<void> | undefined;
		try {
			if (this.canPublish) await this.#openLocalMedia();
			if (this.#closed) return;
			if (plan === 'publish-in-place') {
				done = media.publish(this.#localStream, data.topology);
			} else if (plan === 'unpublish-in-place') {
				done = media.unpublish(this.#migrates);
				this.#stopLocalMedia();
			} else {
				if (!this.canPublish) this.#stopLocalMedia();
				const joined = this.#signaling.joined as Joined;
				await media.closeAndRelease();
				if (this.#closed) return;
				done = this.#openMediaPaths({ ...joined, role: data.role, mediaMode: data.mediaMode, topology: data.topology, iceServers: media.iceServers });
				this.#events.emit('topology', this.#media?.label ?? data.mediaMode);
			}
		} finally {
			release();
		}
		await done;
	}

	#setAudience(count: number): void {
		if (count === this.#audience) return;
		this.#audience = count;
		this.#events.emit('audience', count);
	}

	#setHands(hands: RaisedHand[]): void {
		this.#hands = hands;
		this.#events.emit('hands', hands);
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

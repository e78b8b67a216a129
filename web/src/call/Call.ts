import {
	Capability,
	Method,
	Notification,
	can,
	type ConnectionQuality,
	type NotificationData,
	type PeerInfo,
	type Role,
	type RoomInspection,
	type RoomKind,
	type Topology,
} from '../../../core/protocol/index.js';
import type { RepairRecord } from '../participant/RemoteParticipant.js';
import { SignalingSession, type Joined, type SessionState } from '../signaling/SignalingSession.js';
import { MediaPaths, type TopologyLabel } from '../topology/MediaPaths.js';
import { loadSfuDevice } from '../topology/SfuPath.js';
import type { MigrationRecord } from '../topology/MigrationRecord.js';
import { Emitter } from '../util/Emitter.js';
import { markJoin } from '../util/joinTimeline.js';
import type { CallEvents, CallOptions, ChatEntry, LostPath } from './callTypes.js';
import { summarize, type RemoteConnectionStats } from './connectionStats.js';
import { DeviceSwitchError, LocalTracks } from './LocalTracks.js';
import { LostPaths } from './LostPaths.js';
import { planRoleChange } from './RoleChange.js';
import { Stage } from './Stage.js';

export type { CallEvents, CallOptions, ChatEntry, LocalMedia, LostPath, ReactionCounts, RemoteEvent } from './callTypes.js';
export type { RemoteConnectionStats } from './connectionStats.js';
export { DeviceSwitchError } from './LocalTracks.js';

/**
 * A call in one room: the signaling session, the local media, the media
 * paths (mesh, SFU, the migrations between them, and their repair), and the
 * periodic quality report to the server. In a broadcast it also keeps the
 * audience size, the raised hands (for hosts), and carries out this peer's
 * role changes: camera and microphone are opened only for a role that sends.
 * Listeners subscribe with on(event, listener), which returns the unsubscribe.
 */
export class Call extends Emitter<CallEvents> {
	readonly #options: CallOptions;
	readonly #signaling: SignalingSession;
	/** Everyone else in the room; in a broadcast, the stage (hosts and speakers). */
	readonly #peers = new Map<string, PeerInfo>();
	#media: MediaPaths | undefined;
	/** Every migration this client took part in (tests and the migration benchmark read it). */
	readonly migrations: MigrationRecord[] = [];
	/** Every repair of this client's media paths, in order (the stats panel and tests read it). */
	readonly repairs: RepairRecord[] = [];
	/** Paths repairing gave up on, by `mesh:<peerId>` or `sfu`. */
	readonly #lost = new LostPaths();
	#role: Role | undefined;
	#roomKind: RoomKind | undefined;
	/** A broadcast's audience, raised hands and reactions, and what this role may do about the stage. */
	readonly stage: Stage;
	/** What the page's camera and microphone gave this call (it owns the stream), and why not. */
	readonly #local: LocalTracks;
	/** Role changes are carried out one at a time, in the order they came. */
	#roleChanges: Promise<void> = Promise.resolve();
	/** Camera and microphone switches and screen shares are carried out one at a time, in the order asked. */
	#deviceSwitches: Promise<unknown> = Promise.resolve();
	/** The camera put aside, live, while a screen is sent in its place; undefined when not sharing. */
	#sharedCamera: MediaStreamTrack | undefined;
	/** The rendered width of each remote tile: SFU consumers made later ask for its layer. */
	readonly #tileWidths = new Map<string, number>();
	#reportTimer: ReturnType<typeof setInterval> | undefined;
	#lastReport: ConnectionQuality[] = [];
	#closed = false;

	constructor(options: CallOptions) {
		super();
		this.#options = options;
		this.#signaling = new SignalingSession({ url: options.signalingUrl });
		this.#local = new LocalTracks(options.localMedia, (stream, error) => {
			// The stream a share ran in is gone (or replaced): so is the share, and the camera it put aside.
			this.#sharedCamera?.stop();
			this.#sharedCamera = undefined;
			this.emit('localMedia', stream, error);
		});
		this.stage = new Stage({
			signaling: this.#signaling,
			canManage: () => this.canManage,
			onAudience: (count) => this.emit('audience', count),
			onHands: (hands) => this.emit('hands', hands),
			onReactions: (counts) => this.emit('reactions', counts),
		});
		const signaling = this.#signaling;
		signaling.subscribe('state', (state) => this.emit('signalingState', state));
		signaling.subscribe('reconnecting', (attempt) => this.emit('reconnecting', attempt));
		signaling.subscribe('closed', (error, closeCode, reason) => {
			this.emit('closed', closeCode, reason, error?.code);
			this.close();
		});
	}

	get peerId(): string | undefined {
		return this.#signaling.joined?.peerId;
	}

	get signalingState(): SessionState {
		return this.#signaling.state;
	}

	/** The last quality report sent to the server. */
	get lastQualityReport(): ConnectionQuality[] {
		return this.#lastReport;
	}

	/** `mesh` or `sfu` once joined: the path this client is committed to. */
	get mediaMode(): Topology | undefined {
		return this.#media?.mode;
	}

	/** The mediasoup-client handler this browser uses on the SFU (`device.handlerName`), once it loaded. */
	get sfuHandlerName(): string | undefined {
		return this.#media?.sfuHandlerName;
	}

	/** What the topology badge shows: `mesh`, `sfu`, or `migrating` while a migration is in flight. */
	get topology(): TopologyLabel | undefined {
		return this.#media?.label;
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

	/** The camera and microphone this call sends, while its role sends and the page could open them. */
	get localStream(): MediaStream | undefined {
		return this.#local.stream;
	}

	/** Why the camera and microphone could not be opened for the current role, if they could not. */
	get localMediaError(): string | undefined {
		return this.#local.error;
	}

	/** The media paths repairing gave up on (empty while everything works or is being repaired). */
	get lostPaths(): LostPath[] {
		return this.#lost.all;
	}

	get audioMuted(): boolean {
		return this.#local.audioMuted;
	}

	get videoMuted(): boolean {
		return this.#local.videoMuted;
	}

	/** Whether a screen is sent in place of the camera (shareScreen() until stopSharing(), or until the stream it ran in is gone). */
	get sharing(): boolean {
		return this.#sharedCamera !== undefined;
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

	/** A host removes someone from the room (their session ends with 4008). */
	async removePeer(peerId: string): Promise<void> {
		await this.#signaling.request(Method.RoomRemovePeer, { peerId });
	}

	/** A host ends the room for everyone (their sessions end with 4009), then leaves it. */
	async endRoom(): Promise<void> {
		await this.#signaling.request(Method.RoomEnd, {});
		this.close();
	}

	async join(): Promise<Joined> {
		const signaling = this.#signaling;
		signaling.subscribe(Notification.PeerJoined, (peer) => {
			this.#peers.set(peer.peerId, peer);
			this.#options.onRemote({ type: 'added', peer });
			this.#media?.addParticipant(peer.peerId, peer.videoMuted);
		});
		signaling.subscribe(Notification.PeerLeft, ({ peerId }) => {
			if (!this.#peers.delete(peerId)) return;
			this.#tileWidths.delete(peerId);
			this.#media?.removeParticipant(peerId);
			if (this.#lost.peerLeft(peerId)) this.emit('mediaLost', this.lostPaths);
			this.#options.onRemote({ type: 'removed', peerId });
		});
		signaling.subscribe(Notification.ChatMessage, (message) => this.emit('chat', { ...message, self: false }));
		signaling.subscribe(Notification.PeerMediaState, (state) => {
			const peer = this.#peers.get(state.peerId);
			if (peer) this.#peers.set(state.peerId, { ...peer, audioMuted: state.audioMuted, videoMuted: state.videoMuted });
			this.#media?.setVideoMuted(state.peerId, state.videoMuted);
			this.#options.onRemote({ type: 'mediaState', ...state });
		});
		signaling.subscribe(Notification.RoleChanged, (data) => {
			// What the room says after this waits until the media paths are in their new shape (as at the join).
			const release = signaling.holdNotifications();
			this.#roleChanges = this.#roleChanges
				.then(() => this.#changeRole(data, release))
				.catch((error: unknown) => console.warn(`role change to ${data.role} failed`, error))
				.finally(release);
		});

		// Between the join response and media paths that can take them (the camera may take a while to open),
		// the room's notifications wait: a mesh offer made meanwhile is not lost.
		const release = signaling.holdNotifications();
		let joined: Joined;
		let started: Promise<void>;
		try {
			joined = await signaling.join(
				this.#options.earlyJoin ?? {
					roomId: this.#options.roomId,
					displayName: this.#options.displayName,
					...(this.#options.token ? { token: this.#options.token } : {}),
					...(this.#options.role ? { role: this.#options.role } : {}),
				},
			);
			this.#role = joined.role;
			this.#roomKind = joined.roomKind;
			// The SFU's code and Device load while the camera opens, not after.
			if (joined.mediaMode === 'sfu') void loadSfuDevice(signaling).catch(() => undefined);
			this.stage.joined(joined);
			for (const peer of joined.peers) {
				this.#peers.set(peer.peerId, peer);
				this.#options.onRemote({ type: 'added', peer });
			}
			// Only a role that sends opens the camera: a viewer is never asked for it.
			if (this.canPublish) await this.#local.open(() => this.#closed);
			markJoin('localMedia');
			if (this.#closed) throw new Error('the call was left while joining');
			markJoin('mediaPaths');
			started = this.#openMediaPaths(joined);
		} finally {
			release();
		}
		this.#reportTimer = setInterval(() => void this.#report(), joined.qualityReportIntervalMs);
		await started;
		return joined;
	}

	async setMicrophoneEnabled(enabled: boolean): Promise<void> {
		this.#local.audioMuted = !enabled;
		await this.#media?.setTrackEnabled('audio', enabled);
		await this.#announceMediaState();
	}

	async setCameraEnabled(enabled: boolean): Promise<void> {
		this.#local.videoMuted = !enabled;
		await this.#media?.setTrackEnabled('video', enabled);
		await this.#announceMediaState();
	}

	async #announceMediaState(): Promise<void> {
		await this.#signaling
			.request(Method.MediaState, { audioMuted: this.#local.audioMuted, videoMuted: this.#local.videoMuted })
			.catch((error: unknown) => console.warn('media state not sent', error));
	}

	/**
	 * Switches the camera (or any video source) on every connection without
	 * renegotiating, in turn with device switches and screen shares. The old
	 * track is stopped unless `keepOld`.
	 */
	async replaceVideoTrack(newTrack: MediaStreamTrack, keepOld = false): Promise<void> {
		await this.#inTurn(() => this.replaceTrack(newTrack, keepOld));
	}

	/**
	 * Sends `screen` in place of the camera, in turn with device switches: the
	 * camera put aside is the one sent when the share's turn comes (a switch
	 * asked before it has finished), kept live until stopSharing(). A screen
	 * with no content hint is marked 'detail': the encoder then keeps its
	 * resolution (text stays legible) and gives up frame rate instead.
	 */
	shareScreen(screen: MediaStreamTrack): Promise<void> {
		return this.#inTurn(async () => {
			if (this.#sharedCamera) throw new DeviceSwitchError('SHARING', 'a screen is shared already');
			if (!screen.contentHint) screen.contentHint = 'detail';
			this.#sharedCamera = await this.replaceTrack(screen, true);
		});
	}

	/**
	 * Sends the camera put aside by shareScreen() again and stops the screen;
	 * nothing if not sharing (or the share's stream is gone). If the swap
	 * fails the share goes on, the camera still put aside (stopped with the
	 * stream, or sent by another try).
	 */
	stopSharing(): Promise<void> {
		return this.#inTurn(async () => {
			const camera = this.#sharedCamera;
			if (!camera) return;
			this.#sharedCamera = undefined;
			try {
				await this.replaceTrack(camera);
			} catch (error) {
				// Not when the stream went meanwhile (SUPERSEDED): the camera is stopped and the share is over.
				if (camera.readyState === 'live') this.#sharedCamera ??= camera;
				throw error;
			}
		});
	}

	/**
	 * Swaps the sending track of `newTrack`'s kind (audio or video) on every
	 * path: each mesh pair's sender and the SFU producer, both during a
	 * migration. The shared local stream then holds the new track, so a pair
	 * or SFU session made later sends it too. The new track takes the mute
	 * state of its kind: a camera put aside by a share comes back off if it
	 * was turned off meanwhile (the mute reached only the screen), and a
	 * screen shared with the camera off is sent disabled, as the SFU's paused
	 * producer sends nothing either. The old track is stopped unless
	 * `keepOld`. Resolves with the old track.
	 */
	async replaceTrack(newTrack: MediaStreamTrack, keepOld = false): Promise<MediaStreamTrack> {
		const stream = this.#local.stream;
		const old = stream?.getTracks().find((t) => t.kind === newTrack.kind);
		if (!stream || !old) throw new DeviceSwitchError('NOT_SENDING', `no ${newTrack.kind} track to replace`);
		const muted = () => (newTrack.kind === 'audio' ? this.#local.audioMuted : this.#local.videoMuted);
		// Before the swap, so no frame of a muted kind goes out; after it again, for a mute during the swap (it reached only the old track).
		newTrack.enabled = !muted();
		if (this.#media) await this.#media.replaceTrack(old, newTrack);
		newTrack.enabled = !muted();
		// Closed, or the stream stopped (a demotion), while the paths swapped: nothing stops the new track later.
		if (this.#closed || this.#local.stream !== stream) {
			newTrack.stop();
			throw new DeviceSwitchError('SUPERSEDED', 'the call stopped sending while the track was swapped');
		}
		if (stream.getTracks().includes(old)) {
			stream.removeTrack(old);
			stream.addTrack(newTrack);
		}
		if (!keepOld) old.stop();
		return old;
	}

	/**
	 * Switches the camera (`video`) or microphone (`audio`) mid-call to
	 * `deviceId`: opens it, keeps the mute state, replaces the track on
	 * every path and stops the old one. Resolves with the track now sent.
	 * Switches run one at a time; a camera switch is refused while a screen
	 * is shared (`SHARING`).
	 */
	switchDevice(kind: 'audio' | 'video', deviceId: string): Promise<MediaStreamTrack> {
		return this.#inTurn(() => this.#switchDevice(kind, deviceId));
	}

	/** Runs `task` after the device switches and screen shares asked before it. */
	#inTurn<T>(task: () => Promise<T>): Promise<T> {
		const run = this.#deviceSwitches.then(task);
		this.#deviceSwitches = run.catch(() => undefined);
		return run;
	}

	async #switchDevice(kind: 'audio' | 'video', deviceId: string): Promise<MediaStreamTrack> {
		if (this.#closed) throw new DeviceSwitchError('CLOSED', 'the call has ended');
		if (kind === 'video' && this.#sharedCamera) throw new DeviceSwitchError('SHARING', 'stop sharing your screen to switch the camera');
		const stream = this.#local.stream;
		const old = stream?.getTracks().find((t) => t.kind === kind);
		if (!stream || !old) throw new DeviceSwitchError('NOT_SENDING', `no ${kind} is being sent`);
		if (old.getSettings().deviceId === deviceId) return old;
		const track = await this.#local.openDevice(kind, deviceId);
		if (this.#closed || this.#local.stream !== stream) {
			track.stop();
			throw new DeviceSwitchError('SUPERSEDED', 'the call stopped sending while the device opened');
		}
		try {
			await this.replaceTrack(track);
		} catch (error) {
			track.stop();
			throw error;
		}
		return track;
	}

	/** The rendered width of a remote tile: the SFU sends the simulcast layer it needs. */
	setRemoteVideoWidth(peerId: string, widthPx: number): void {
		this.#tileWidths.set(peerId, widthPx);
		this.#media?.setRemoteVideoWidth(peerId, widthPx).catch((error: unknown) => console.warn('layer request failed', error));
	}

	sendData(message: string, peerId?: string): number {
		return this.#media?.sendData(message, peerId) ?? 0;
	}

	/** Per remote participant and media path: during a migration a participant appears once per path. */
	async connectionStats(): Promise<RemoteConnectionStats[]> {
		return summarize((await this.#media?.stats()) ?? []);
	}

	/** The room's topology and every participant's latest quality report (`room.inspect`): what the topology inspector draws. */
	inspect(): Promise<RoomInspection> {
		return this.#signaling.request(Method.RoomInspect, {});
	}

	/** Leaves: media paths, camera and microphone, and the session close. Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		clearInterval(this.#reportTimer);
		this.#media?.close();
		this.#local.stop();
		this.#signaling.close();
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
			localStream: this.#local.stream,
			publish: this.canPublish,
			migrates: this.#migrates,
			peers: [...this.#peers.values()].map((p) => ({ peerId: p.peerId, videoMuted: p.videoMuted })),
			preferredWidth: (peerId) => this.#tileWidths.get(peerId),
		});
		media.on('show', (peerId, stream) => this.#options.onRemote({ type: 'media', peerId, stream }));
		media.on('activespeaker', (peerId) => this.emit('activeSpeaker', peerId));
		media.on('topology', (label) => {
			if (label !== 'migrating' && this.#lost.settled(label)) this.emit('mediaLost', this.lostPaths);
			this.emit('topology', label);
		});
		media.on('migration', (record) => this.migrations.push(record));
		media.on('data', (peerId, message) => this.emit('data', peerId, message));
		media.on('repair', (record) => this.#onRepair(record));
		this.#media = media;
		return media.start();
	}

	/** A media path was repaired (or given up on, or came back): counted by the server, shown to the user. */
	#onRepair(record: RepairRecord): void {
		this.repairs.push(record);
		this.emit('repair', record);
		const { path, action, peerId } = record;
		void this.#signaling.request(Method.MediaRepair, { path, action, ...(peerId ? { peerId } : {}) }).catch(() => undefined);
		if (this.#lost.record(record, (id) => this.#peers.get(id)?.displayName)) this.emit('mediaLost', this.lostPaths);
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
		if (data.role !== 'viewer') this.stage.onStage();
		const plan = planRoleChange({ publishing, willPublish: this.canPublish, label: media.label, mediaMode: data.mediaMode });
		this.emit('role', data.role, data.by);
		if (plan === 'none') return;
		let done: Promise<void> | undefined;
		try {
			if (this.canPublish) await this.#local.open(() => this.#closed);
			if (this.#closed) return;
			if (plan === 'publish-in-place') {
				done = media.publish(this.#local.stream, data.topology);
			} else if (plan === 'unpublish-in-place') {
				done = media.unpublish(this.#migrates);
				this.#local.stop();
			} else {
				if (!this.canPublish) this.#local.stop();
				const joined = this.#signaling.joined as Joined;
				await media.closeAndRelease();
				if (this.#closed) return;
				if (this.#lost.clear()) this.emit('mediaLost', this.lostPaths);
				done = this.#openMediaPaths({ ...joined, role: data.role, mediaMode: data.mediaMode, topology: data.topology, iceServers: media.iceServers });
				this.emit('topology', this.#media?.label ?? data.mediaMode);
			}
		} finally {
			release();
		}
		await done;
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

import { EventEmitter } from 'eventemitter3';
import type { Device } from 'mediasoup-client';
import { ErrorCode, Method, Notification, type ConnectionQuality, type IceServer, type NotificationData } from '../../../core/protocol/index.js';
import { framesRendered } from '../media/framesRendered.js';
import type { Stat } from '../media/QualitySampler.js';
import { MeshSession } from '../mesh/MeshSession.js';
import { loadDevice, SfuSession } from '../sfu/SfuSession.js';
import type { Joined, SignalingSession } from '../signaling/SignalingSession.js';

export type Topology = 'mesh' | 'sfu';
/** What the topology badge says. */
export type TopologyLabel = Topology | 'migrating';

/** One migration as this client lived it; times are Date.now() (the server's decidedAt is on the same clock on one machine). */
export interface MigrationRecord {
	epoch: number;
	target: Topology;
	decidedAt: number;
	preparedAt: number;
	/** When this client's side of the new path was built (SFU transports and producers; mesh connections are created at once). */
	builtAt?: number;
	/** When each remote tile swapped to the new path. */
	swappedAt: Record<string, number>;
	readyAt?: number;
	/** When the commit (or abort) arrived. */
	endedAt?: number;
	/** When the old path was closed on this client. */
	oldClosedAt?: number;
	result?: 'committed' | 'aborted';
	/** This client joined during the migration, straight onto its target (decidedAt is then unknown: 0). */
	joinedDuring?: boolean;
	/** Peers the server committed without their confirmation (the timeout passed). */
	stragglers?: string[];
}

export type MediaPathsEvents = {
	/** Show this stream's tracks on the peer's tile (swap them in place; never rebuild or reload the element). */
	show: [peerId: string, stream: MediaStream];
	topology: [label: TopologyLabel];
	/** This client takes part in a migration; its record is then updated in place as it goes. */
	migration: [record: MigrationRecord];
	activespeaker: [peerId: string | null];
	data: [peerId: string, message: string];
};

export interface MediaPathsOptions {
	signaling: SignalingSession;
	/** The join response, or the placement a role change gave (its role, mediaMode and topology). */
	joined: Joined;
	/** What to send; publish() and unpublish() change it later. */
	localStream: MediaStream | undefined;
	/** Whether this participant's role may send media; a viewer only receives. */
	publish: boolean;
	/**
	 * Whether this client takes part in the room's migrations (default true).
	 * A broadcast's audience does not: it receives through the SFU whatever
	 * the stage does, and is not waited for.
	 */
	migrates?: boolean;
	/** The rendered width of a peer's tile, when known: SFU consumers ask for the layer it needs as they arrive. */
	preferredWidth?: (peerId: string) => number | undefined;
	/** Everyone else in the room now. */
	peerIds: () => string[];
	/** Whether a remote participant has its camera off (its new path will not render frames to wait for). */
	videoMuted: (peerId: string) => boolean;
}

/** How long a receiver waits for a new path to render before swapping anyway. */
const RENDER_TIMEOUT_MS = 6000;
/** Frames a new path renders off screen before a tile swaps to it: it flows, not just its first key frame. */
const FRAMES_BEFORE_SWAP = 3;

interface Migration {
	/** `building` until no tile shows the old path; then `confirmed` (topology.ready sent). */
	phase: 'building' | 'confirmed';
	/** Its epoch and target, and what happened when. */
	record: MigrationRecord;
}

/**
 * The media paths of one call, the mesh and the SFU, and the switch between
 * them that the room's topology machine commands (topology.prepare, commit,
 * abort). Make before break: the new path is built beside the old one, each
 * remote tile swaps to the new path only once it has rendered a few frames
 * off screen (and carries the audio), `topology.ready` goes out when no tile
 * shows the old path any more, and the old path closes on commit.
 */
export class MediaPaths extends EventEmitter<MediaPathsEvents> {
	readonly #options: MediaPathsOptions;
	#mesh: MeshSession | undefined;
	#sfu: SfuSession | undefined;
	/** The path this client is committed to. */
	#mode: Topology;
	#migration: Migration | undefined;
	/** Per remote peer, the stream each path delivers. */
	readonly #streams = new Map<string, Partial<Record<Topology, MediaStream>>>();
	/** Per remote peer, the path its tile shows. */
	readonly #shown = new Map<string, Topology>();
	readonly #probing = new Set<string>();
	/** Video tracks seen rendering (a swap held up by audio still on its way does not probe them again). */
	readonly #rendered = new WeakSet<MediaStreamTrack>();
	/** The mediasoup-client Device, loaded while the call is calm so a migration does not wait for it. */
	#device: Promise<Device> | undefined;
	#preloadTimer: ReturnType<typeof setTimeout> | undefined;
	/** The latest STUN/TURN servers the server gave (credentials renewed as they near expiry). */
	#iceServers: IceServer[];
	readonly #unsubscribe: Array<() => void> = [];
	/** What this client sends, on whichever path it opens (publish() and unpublish() change both). */
	#localStream: MediaStream | undefined;
	#publish: boolean;
	#migrates: boolean;
	#closed = false;

	constructor(options: MediaPathsOptions) {
		super();
		this.#options = options;
		this.#localStream = options.localStream;
		this.#publish = options.publish;
		this.#migrates = options.migrates ?? true;
		this.#mode = options.joined.mediaMode;
		// Joined mid-migration: we are on its target already, and confirm like everyone else.
		if (this.#migrates) this.#adoptMigration(options.joined.topology);
		this.#on(Notification.Signal, ({ from, signal }) => this.#mesh?.handleSignal(from, signal));
		this.#on(Notification.TopologyPrepare, (data) => this.#prepare(data));
		this.#on(Notification.TopologyCommit, (data) => this.#commit(data));
		this.#on(Notification.TopologyAbort, (data) => this.#abort(data));
		// TURN credentials are short-lived: the server renews them before they expire (and in every resume answer).
		this.#iceServers = options.joined.iceServers;
		this.#on(Notification.IceServers, ({ iceServers }) => this.#setIceServers(iceServers));
		const onReconnected = (joined: Joined) => this.#setIceServers(joined.iceServers);
		options.signaling.on('reconnected', onReconnected);
		this.#unsubscribe.push(() => options.signaling.off('reconnected', onReconnected));
	}

	/** A migration in flight when this client arrived on its target (a join, a role change): it confirms like everyone else. */
	#adoptMigration({ state, epoch }: Joined['topology']): MigrationRecord | undefined {
		if ((state !== 'escalating' && state !== 'deescalating') || this.#migration) return undefined;
		const record: MigrationRecord = { epoch, target: this.#mode, decidedAt: 0, preparedAt: Date.now(), swappedAt: {}, joinedDuring: true };
		this.#migration = { phase: 'building', record };
		return record;
	}

	/** The latest STUN/TURN servers (a path built after this one's should start from them). */
	get iceServers(): IceServer[] {
		return this.#iceServers;
	}

	#setIceServers(iceServers: IceServer[]): void {
		this.#iceServers = iceServers;
		this.#mesh?.updateIceServers(iceServers);
	}

	get mode(): Topology {
		return this.#mode;
	}

	get label(): TopologyLabel {
		return this.#migration ? 'migrating' : this.#mode;
	}

	/** Builds the path the join response named. */
	async start(): Promise<void> {
		const record = this.#migration?.record;
		if (record) this.emit('migration', record);
		if (this.#mode === 'sfu') await this.#openSfu();
		else this.#openMesh();
		if (record) record.builtAt = Date.now();
		this.#checkReady();
		// On the mesh, get the SFU's Device ready a little after the call settles.
		if (this.#mode === 'mesh') this.#preloadTimer = setTimeout(() => void this.#device$().catch(() => undefined), 2000);
	}

	/** A participant joined (already among `peerIds()`): it is on the path the room is heading to. */
	peerJoined(): void {
		if (this.#heading === 'mesh') this.#openMesh();
	}

	peerLeft(peerId: string): void {
		this.#mesh?.removePeer(peerId);
		this.#sfu?.removePeer(peerId);
		this.#streams.delete(peerId);
		this.#shown.delete(peerId);
		this.#checkReady();
	}

	async setTrackEnabled(kind: 'audio' | 'video', enabled: boolean): Promise<void> {
		this.#mesh?.setTrackEnabled(kind, enabled);
		await this.#sfu?.setTrackEnabled(kind, enabled);
	}

	async replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack): Promise<void> {
		// Both paths share the local stream; the mesh goes first (simple-peer finds its sender by the old track in the stream).
		this.#mesh?.replaceTrack(oldTrack, newTrack);
		await this.#sfu?.replaceTrack(oldTrack, newTrack);
	}

	/**
	 * Starts sending `stream` on the SFU, beside what this client receives
	 * there (a broadcast viewer brought on stage while settled on the SFU).
	 * From now on it takes part in the room's migrations; `topology` is the
	 * room's as the role change gave it (a migration in flight is confirmed).
	 */
	async publish(stream: MediaStream | undefined, topology: Joined['topology']): Promise<void> {
		if (this.#closed) return;
		if (this.#mode !== 'sfu' || this.#migration) throw new Error(`publish() in place needs a client settled on the SFU (it is ${this.label})`);
		this.#localStream = stream;
		this.#publish = true;
		this.#migrates = true;
		const record = this.#adoptMigration(topology);
		if (record) {
			this.emit('migration', record);
			this.emit('topology', this.label);
		}
		await this.#sfu?.publish(stream);
		if (record) record.builtAt = Date.now();
		this.#checkReady();
	}

	/**
	 * Stops sending (a speaker sent back to the audience): producers and the
	 * send transport close, what this client receives stays. With `migrates`
	 * false it no longer takes part in migrations (a broadcast's audience).
	 */
	async unpublish(migrates: boolean): Promise<void> {
		if (this.#closed) return;
		if (this.#mode !== 'sfu' || this.#migration) throw new Error(`unpublish() in place needs a client settled on the SFU (it is ${this.label})`);
		this.#localStream = undefined;
		this.#publish = false;
		this.#migrates = migrates;
		await this.#sfu?.unpublish();
	}

	async setRemoteVideoWidth(peerId: string, widthPx: number): Promise<void> {
		await this.#sfu?.setRemoteVideoWidth(peerId, widthPx);
	}

	sendData(message: string, peerId?: string): number {
		return this.#mesh?.sendData(message, peerId) ?? 0;
	}

	/** getStats() per remote peer and path: during a migration a peer has an entry on each. */
	async stats(): Promise<Array<{ peerId: string; path: Topology; descriptionCount: number; stats: Stat[] }>> {
		const mesh = (await this.#mesh?.stats()) ?? [];
		const sfu = (await this.#sfu?.stats()) ?? [];
		return [
			...mesh.map((m) => ({ peerId: m.peerId, path: 'mesh' as const, descriptionCount: m.descriptionCount, stats: m.stats })),
			...sfu.map((s) => ({ peerId: s.peerId, path: 'sfu' as const, descriptionCount: 0, stats: s.stats })),
		];
	}

	/** Quality of the committed path (what the topology machine weighs). */
	async quality(now: number): Promise<ConnectionQuality[]> {
		return this.#mode === 'sfu' ? ((await this.#sfu?.quality(now)) ?? []) : ((await this.#mesh?.quality(now)) ?? []);
	}

	/**
	 * Closes both paths, and asks the server to close this client's SFU
	 * transports: for paths replaced by new ones on the same socket (the
	 * server allows one transport per direction).
	 */
	async closeAndRelease(): Promise<void> {
		const sfu = this.#sfu;
		this.#sfu = undefined;
		this.close();
		await sfu?.closeAndRelease();
	}

	/** Closes both paths. Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		clearTimeout(this.#preloadTimer);
		for (const off of this.#unsubscribe.splice(0)) off();
		this.#mesh?.close();
		this.#sfu?.close();
		this.#mesh = this.#sfu = undefined;
		this.removeAllListeners();
	}

	/** Where the room is heading: the migration's target, else the committed path. */
	get #heading(): Topology {
		return this.#migration?.record.target ?? this.#mode;
	}

	/** The mesh, connected to everyone in the room (a pair skipped while the room headed elsewhere is added now). */
	#openMesh(): MeshSession {
		if (this.#mesh) {
			for (const peerId of this.#options.peerIds()) this.#mesh.addPeer(peerId);
			return this.#mesh;
		}
		const { joined, signaling } = this.#options;
		const mesh = new MeshSession({
			selfId: joined.peerId,
			localStream: this.#localStream,
			iceServers: this.#iceServers,
			iceTransportPolicy: joined.iceTransportPolicy,
			sendSignal: (to, signal) => {
				signaling.request(Method.Signal, { to, signal }).catch((error: unknown) => console.warn('signal to', to, 'failed', error));
			},
		});
		mesh.on('remotestream', (peerId, stream) => this.#onStream('mesh', peerId, stream));
		mesh.on('remoteclosed', (peerId) => this.#onPathClosed('mesh', peerId));
		mesh.on('connectionstate', (peerId, state) => {
			if (state === 'failed') this.#meshFailed(peerId);
		});
		mesh.on('data', (peerId, message) => this.emit('data', peerId, message));
		this.#mesh = mesh;
		for (const peerId of this.#options.peerIds()) mesh.addPeer(peerId);
		return mesh;
	}

	/**
	 * A mesh connection failed. On the way back to the mesh that is this
	 * migration failing: the room stays on the SFU (the commit would leave
	 * this pair with no path at all).
	 */
	#meshFailed(peerId: string): void {
		const record = this.#migration?.record;
		if (this.#closed || !record || record.target !== 'mesh') return;
		this.#reportFailed(record.epoch, `mesh connection to ${peerId} failed`);
	}

	/** This client cannot build migration `epoch`'s new path: the room rolls back (a stale epoch is ignored). */
	#reportFailed(epoch: number, reason: string): void {
		void this.#options.signaling.request(Method.TopologyFailed, { epoch, reason: reason.slice(0, 200) }).catch(() => undefined);
	}

	/** The loaded Device (the same for the whole call: every router has the same capabilities); a failed load is retried next time. */
	#device$(): Promise<Device> {
		this.#device ??= loadDevice(this.#options.signaling).catch((error: unknown) => {
			this.#device = undefined;
			throw error;
		});
		return this.#device;
	}

	/** Builds the SFU path; a failed build is closed (and forgotten) before the error goes on, so a later call starts afresh. */
	async #openSfu(): Promise<void> {
		if (this.#sfu) return;
		const sfu = new SfuSession({
			signaling: this.#options.signaling,
			localStream: this.#localStream,
			publish: this.#publish,
			device: () => this.#device$(),
			...(this.#options.preferredWidth ? { preferredWidth: this.#options.preferredWidth } : {}),
		});
		sfu.on('remotestream', (peerId, stream) => this.#onStream('sfu', peerId, stream));
		sfu.on('remoteclosed', (peerId) => this.#onPathClosed('sfu', peerId));
		sfu.on('activespeaker', (peerId) => this.emit('activespeaker', peerId));
		this.#sfu = sfu;
		try {
			await sfu.start();
		} catch (error) {
			if (this.#sfu === sfu) this.#closePath('sfu');
			throw error;
		}
	}

	/**
	 * The SFU path for a room that is (or is committed to be) on the SFU.
	 * During a migration a failure is reported (the room rolls back); once
	 * committed there is nothing to roll back to, so it is retried, a few times.
	 */
	#ensureSfu(epoch: number, attempt = 1): void {
		const record = this.#migration?.record;
		this.#openSfu().then(
			() => {
				if (record && !record.builtAt) record.builtAt = Date.now();
			},
			(error: unknown) => {
				console.warn(`SFU path failed (attempt ${attempt})`, error);
				if (this.#closed) return;
				if (this.#migration?.record.epoch === epoch && this.#migration.record.target === 'sfu') {
					this.#reportFailed(epoch, (error as Error)?.message || String(error) || 'unknown error');
				} else if (this.#mode === 'sfu' && !this.#migration && attempt < 3) {
					setTimeout(() => {
						if (!this.#closed && this.#mode === 'sfu') this.#ensureSfu(epoch, attempt + 1);
					}, 1000 * attempt);
				}
			},
		);
	}

	#closePath(path: Topology): void {
		if (path === 'mesh') {
			const mesh = this.#mesh;
			this.#mesh = undefined;
			mesh?.close();
		} else {
			const sfu = this.#sfu;
			this.#sfu = undefined;
			sfu?.close();
			this.emit('activespeaker', null);
		}
		for (const [peerId, streams] of this.#streams) {
			delete streams[path];
			if (this.#shown.get(peerId) === path) this.#shown.delete(peerId);
		}
	}

	#onStream(path: Topology, peerId: string, stream: MediaStream): void {
		if (this.#closed) return;
		const streams = this.#streams.get(peerId) ?? {};
		streams[path] = stream;
		this.#streams.set(peerId, streams);
		const shown = this.#shown.get(peerId);
		if (shown === path) {
			this.emit('show', peerId, stream);
		} else if (shown === undefined && (path === this.#heading || !streams[this.#heading])) {
			// Nothing on the tile yet (a newcomer, or a path that just closed): show at once.
			this.#show(peerId, path);
		} else if (path === this.#heading) {
			void this.#swapWhenRendered(path, peerId);
		}
	}

	/** Swaps the peer's tile to `path` once that path has rendered a few frames off screen. */
	async #swapWhenRendered(path: Topology, peerId: string): Promise<void> {
		const key = `${path}:${peerId}`;
		if (this.#probing.has(key)) return;
		const stream = this.#streams.get(peerId)?.[path];
		const video = stream?.getVideoTracks()[0];
		if (!video && this.#expectsVideo(peerId)) return; // the video track is on its way (SFU consumers come one by one)
		this.#probing.add(key);
		try {
			if (video && !this.#rendered.has(video) && !this.#options.videoMuted(peerId)) {
				if (await framesRendered(video, FRAMES_BEFORE_SWAP, RENDER_TIMEOUT_MS, () => this.#framesDecoded(path, peerId))) this.#rendered.add(video);
			}
		} finally {
			this.#probing.delete(key);
		}
		if (this.#closed || this.#heading !== path || !this.#streams.get(peerId)?.[path]) return;
		if (!this.#carriesAudio(peerId, path)) return; // the audio consumer is on its way; its arrival tries again
		this.#show(peerId, path);
	}

	/** The tile shows video now (someone without a camera, or with it off, sends none to wait for). */
	#expectsVideo(peerId: string): boolean {
		if (this.#options.videoMuted(peerId)) return false;
		const shown = this.#shown.get(peerId);
		const current = shown ? this.#streams.get(peerId)?.[shown] : undefined;
		return !current || current.getVideoTracks().length > 0;
	}

	/** The new path has the audio the tile plays now (or the tile plays none): swapping will not silence it. */
	#carriesAudio(peerId: string, path: Topology): boolean {
		const shown = this.#shown.get(peerId);
		const current = shown ? this.#streams.get(peerId)?.[shown] : undefined;
		if (!current || current.getAudioTracks().length === 0) return true;
		return (this.#streams.get(peerId)?.[path]?.getAudioTracks().length ?? 0) > 0;
	}

	/** Video frames decoded from `peerId` on `path` so far. */
	async #framesDecoded(path: Topology, peerId: string): Promise<number> {
		const entries = path === 'mesh' ? ((await this.#mesh?.stats()) ?? []) : ((await this.#sfu?.stats()) ?? []);
		let frames = 0;
		for (const entry of entries) {
			if (entry.peerId !== peerId) continue;
			for (const s of entry.stats) if (s.type === 'inbound-rtp' && s.kind === 'video' && typeof s.framesDecoded === 'number') frames += s.framesDecoded;
		}
		return frames;
	}

	#show(peerId: string, path: Topology): void {
		const stream = this.#streams.get(peerId)?.[path];
		if (!stream) return;
		this.#shown.set(peerId, path);
		const record = this.#migration?.record;
		if (record && path === record.target) record.swappedAt[peerId] = Date.now();
		this.emit('show', peerId, stream);
		this.#checkReady();
	}

	#onPathClosed(path: Topology, peerId: string): void {
		const streams = this.#streams.get(peerId);
		if (!streams) return;
		delete streams[path];
		if (this.#shown.get(peerId) !== path) return;
		this.#shown.delete(peerId);
		const other = path === 'mesh' ? 'sfu' : 'mesh';
		if (streams[other]) this.#show(peerId, other);
	}

	/**
	 * No remote tile shows the old path any more, and the new one has shown
	 * someone (it works for us): say so. A tile
	 * with nothing on it yet (someone who joined on the target) does not hold
	 * the old path, so it does not hold this up.
	 */
	#checkReady(): void {
		const migration = this.#migration;
		if (!migration || migration.phase !== 'building' || this.#closed) return;
		const { epoch, target } = migration.record;
		const old = target === 'mesh' ? 'sfu' : 'mesh';
		const peers = this.#options.peerIds();
		if (peers.some((p) => this.#shown.get(p) === old)) return;
		if (peers.length > 0 && !peers.some((p) => this.#shown.get(p) === target)) return;
		migration.phase = 'confirmed';
		migration.record.readyAt = Date.now();
		this.#options.signaling.request(Method.TopologyReady, { epoch }).catch((error: unknown) => {
			if ((error as { code?: string }).code === ErrorCode.StaleEpoch || this.#migration !== migration) return;
			// Lost on the way (the socket dropped mid-request): say it again shortly.
			console.warn(`topology.ready ${epoch} not delivered; retrying`, error);
			migration.phase = 'building';
			setTimeout(() => this.#checkReady(), 500);
		});
	}

	#prepare(data: NotificationData<'topology.prepare'>): void {
		if (this.#closed || !this.#migrates) return;
		const record: MigrationRecord = { epoch: data.epoch, target: data.target, decidedAt: data.decidedAt, preparedAt: Date.now(), swappedAt: {} };
		this.#migration = { phase: 'building', record };
		this.emit('topology', this.label);
		this.emit('migration', record);
		this.#build(data.target, data.epoch);
	}

	/** Builds `target` beside the current path; streams already there are swapped as they render. */
	#build(target: Topology, epoch: number): void {
		const record = this.#migration?.record;
		if (target === 'mesh') {
			this.#openMesh();
			if (record) record.builtAt = Date.now();
		} else {
			this.#ensureSfu(epoch);
		}
		for (const [peerId, streams] of this.#streams) {
			if (streams[target] && this.#shown.get(peerId) !== target) void this.#swapWhenRendered(target, peerId);
		}
		this.#checkReady();
	}

	#commit(data: NotificationData<'topology.commit'>): void {
		if (this.#closed || !this.#migrates || (this.#migration && this.#migration.record.epoch !== data.epoch)) return;
		if (this.#migration) this.#migration.record.stragglers = data.stragglers;
		this.#finish(data.topology, 'committed');
	}

	#abort(data: NotificationData<'topology.abort'>): void {
		if (this.#closed || !this.#migrates || (this.#migration && this.#migration.record.epoch !== data.epoch)) return;
		// Back to the room's topology. Whoever joined on the aborted target has no
		// old path to return to: that path is (re)built now; the aborted one is
		// gone on the server side anyway.
		this.#finish(data.topology, 'aborted');
	}

	/** Settles on `topology`: every tile shows it (stragglers swap now), the other path closes. */
	#finish(topology: Topology, result: 'committed' | 'aborted'): void {
		const record = this.#migration?.record;
		if (record) record.endedAt = Date.now();
		const epoch = record?.epoch ?? 0;
		this.#migration = undefined;
		this.#mode = topology;
		if (topology === 'mesh') this.#openMesh();
		else this.#ensureSfu(epoch);
		for (const [peerId, streams] of this.#streams) {
			if (streams[topology] && this.#shown.get(peerId) !== topology) this.#show(peerId, topology);
		}
		this.#closePath(topology === 'mesh' ? 'sfu' : 'mesh');
		if (record) {
			record.oldClosedAt = Date.now();
			record.result = result;
		}
		this.emit('topology', this.label);
	}

	#on<N extends Notification>(method: N, listener: (data: NotificationData<N>) => void): void {
		const signaling = this.#options.signaling;
		const on = signaling.on.bind(signaling) as (e: string, fn: (d: NotificationData<N>) => void) => unknown;
		const off = signaling.off.bind(signaling) as (e: string, fn: (d: NotificationData<N>) => void) => unknown;
		on(method, listener);
		this.#unsubscribe.push(() => off(method, listener));
	}
}

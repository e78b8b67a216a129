import {
	ErrorCode,
	Method,
	Notification,
	SignalingError,
	type ConnectionQuality,
	type IceServer,
	type Topology,
} from '../../../core/protocol/index.js';
import type { Stat } from '../media/QualitySampler.js';
import { Participants } from '../participant/Participants.js';
import type { RepairRecord } from '../participant/RemoteParticipant.js';
import type { RepairPolicy } from '../participant/repair.js';
import type { Joined, SignalingSession } from '../signaling/SignalingSession.js';
import { Emitter, Subscriptions } from '../util/Emitter.js';
import { ClientMigration, type TopologyLabel } from './ClientMigration.js';
import type { MigrationRecord } from './MigrationRecord.js';
import { SfuPath } from './SfuPath.js';

export type { TopologyLabel } from './ClientMigration.js';

export type MediaPathsEvents = {
	/** Show this stream's tracks on the peer's tile (swap them in place; never rebuild or reload the element). */
	show: [peerId: string, stream: MediaStream];
	topology: [label: TopologyLabel];
	/** This client takes part in a migration; its record is then updated in place as it goes. */
	migration: [record: MigrationRecord];
	activespeaker: [peerId: string | null];
	data: [peerId: string, message: string];
	/** A media path was repaired (or repairing gave up, or it came back). */
	repair: [record: RepairRecord];
};

export interface MediaPathsOptions {
	signaling: SignalingSession;
	/** The join response, or the placement a role change gave (its role, mediaMode and topology). */
	joined: Joined;
	/** What to send; publish() and unpublish() change it later. */
	localStream: MediaStream | undefined;
	/** Whether this participant's role may send media; a viewer only receives. */
	publish: boolean;
	/** Whether this client takes part in the room's migrations (default true); a broadcast's audience does not. */
	migrates?: boolean;
	/** The rendered width of a peer's tile, when known: SFU consumers ask for the layer it needs as they arrive. */
	preferredWidth?: (peerId: string) => number | undefined;
	/** Everyone else in the room now, with whether their camera is off. */
	peers: Array<{ peerId: string; videoMuted: boolean }>;
}

/** How long a receiver waits for a new source to render before swapping anyway (a migration's deadline shortens it). */
const RENDER_TIMEOUT_MS = 6000;

/**
 * The orchestrator of one call's media: one RemoteParticipant per remote
 * peer (its mesh pair, its SFU stream, its tile's source), the SFU session,
 * and the switch between the mesh and the SFU that the room's topology
 * machine commands (topology.prepare, commit, abort). Make before break: the
 * new path is built beside the old one, each tile swaps once its new source
 * renders, `topology.ready` goes out when no tile shows the old path, and the
 * old path closes on commit. After a signaling resume it resyncs from the
 * room's snapshot.
 */
export class MediaPaths extends Emitter<MediaPathsEvents> {
	readonly #options: MediaPathsOptions;
	readonly #participants: Participants;
	readonly #sfuPath: SfuPath;
	readonly #migration: ClientMigration;
	/** The latest STUN/TURN servers (credentials renewed as they near expiry). */
	#iceServers: IceServer[];
	#repairPolicy: RepairPolicy;
	readonly #subscriptions = new Subscriptions();
	#localStream: MediaStream | undefined;
	#publish: boolean;
	#closed = false;

	constructor(options: MediaPathsOptions) {
		super();
		this.#options = options;
		this.#localStream = options.localStream;
		this.#publish = options.publish;
		this.#iceServers = options.joined.iceServers;
		this.#repairPolicy = options.joined.repair;
		const { signaling, joined } = options;
		this.#participants = new Participants({
			selfId: joined.peerId,
			iceTransportPolicy: joined.iceTransportPolicy,
			localStream: () => this.#localStream,
			iceServers: () => this.#iceServers,
			sendSignal: (to, signal, generation) => {
				signaling.request(Method.Signal, { to, signal, generation }).catch((error: unknown) => console.warn('signal to', to, 'failed', error));
			},
			repairPolicy: () => this.#repairPolicy,
			heading: () => this.#migration.heading,
			// Within half the migration's deadline, so the confirmation reaches the server in time.
			renderTimeoutMs: () => {
				const migration = this.#migration.migrating;
				return migration ? Math.min(RENDER_TIMEOUT_MS, Math.max(250, migration.timeoutMs / 2)) : RENDER_TIMEOUT_MS;
			},
			framesDecoded: (path, peerId) => this.#framesDecoded(path, peerId),
		});
		this.#participants.on('show', (peerId, stream, path) => {
			const record = this.#migration.migrating?.record;
			if (record && path === record.target) record.swappedAt[peerId] = Date.now();
			this.emit('show', peerId, stream);
			this.#migration.checkReady();
		});
		this.#participants.on('hidden', () => this.#migration.checkReady());
		this.#participants.on('data', (peerId, message) => this.emit('data', peerId, message));
		this.#participants.on('repair', (record) => this.emit('repair', record));
		// On the way back to the mesh a pair that cannot connect fails the migration: the room stays on the SFU
		// (a commit would leave this pair with no path at all).
		this.#participants.on('linkFailed', (peerId) => {
			const migration = this.#migration.migrating;
			if (migration?.target === 'mesh') this.#reportFailed(migration.epoch, `mesh connection to ${peerId} failed`);
		});
		this.#sfuPath = new SfuPath({
			signaling,
			localStream: () => this.#localStream,
			publish: () => this.#publish,
			repairPolicy: () => this.#repairPolicy,
			...(options.preferredWidth ? { preferredWidth: options.preferredWidth } : {}),
			onStream: (peerId, stream) => this.#participants.get(peerId)?.setSfuStream(stream),
			onPeerClosed: (peerId) => this.#participants.get(peerId)?.sfuClosed(),
			onActiveSpeaker: (peerId) => this.emit('activespeaker', peerId),
			onRepair: (record) => this.emit('repair', record),
			onClosed: () => {
				for (const participant of this.#participants.values()) participant.sfuClosed();
				this.emit('activespeaker', null);
			},
			// During a migration to the SFU a failure is reported (the room rolls back); once committed there is
			// nothing to roll back to, so it is retried, a few times.
			onBuildFailed: (epoch, error, attempt) => {
				const migration = this.#migration.migrating;
				if (migration?.epoch === epoch && migration.target === 'sfu') {
					this.#reportFailed(epoch, (error as Error)?.message || String(error) || 'unknown error');
					return 'stop';
				}
				return this.label === 'sfu' && attempt < 3 ? 'retry' : 'stop';
			},
		});
		this.#migration = new ClientMigration({
			mode: options.joined.mediaMode,
			migrates: options.migrates ?? true,
			effects: {
				build: (target, epoch) => this.#build(target, epoch),
				settle: (topology, epoch) => this.#settle(topology, epoch),
				shownPaths: () => this.#participants.shownPaths(),
				ready: (epoch) =>
					this.#options.signaling.request(Method.TopologyReady, { epoch }).then(
						() => undefined,
						(error: unknown) => {
							throw error instanceof SignalingError && error.code === ErrorCode.StaleEpoch ? 'stale' : error;
						},
					),
			},
		});
		this.#migration.on('topology', (label) => this.emit('topology', label));
		this.#migration.on('migration', (record) => this.emit('migration', record));
		// Joined mid-migration: we are on its target already, and confirm like everyone else.
		this.#migration.adopt(options.joined.topology, { joinedDuring: true });
		for (const { peerId, videoMuted } of options.peers) this.addParticipant(peerId, videoMuted);
		this.#subscriptions.add(
			signaling.subscribe(Notification.Signal, ({ from, signal, generation }) => this.#participants.handleSignal(from, signal, generation ?? 0)),
			signaling.subscribe(Notification.TopologyPrepare, (data) => this.#migration.prepare(data)),
			signaling.subscribe(Notification.TopologyCommit, (data) => this.#migration.end(data.epoch, data.topology, 'committed', data.stragglers)),
			signaling.subscribe(Notification.TopologyAbort, (data) => this.#migration.end(data.epoch, data.topology, 'aborted')),
			// TURN credentials are short-lived: the server renews them before they expire (and in every resume answer).
			signaling.subscribe(Notification.IceServers, ({ iceServers }) => this.#setIceServers(iceServers)),
			signaling.subscribe('reconnected', (joined) => this.#resync(joined)),
		);
	}

	/** The latest STUN/TURN servers (a path built after this one's should start from them). */
	get iceServers(): IceServer[] {
		return this.#iceServers;
	}

	get mode(): Topology {
		return this.#migration.mode;
	}

	/** The mediasoup-client handler this browser uses on the SFU, once it loaded. */
	get sfuHandlerName(): string | undefined {
		return this.#sfuPath.handlerName;
	}

	get label(): TopologyLabel {
		return this.#migration.label;
	}

	/** Builds the path the placement named. */
	async start(): Promise<void> {
		const record = this.#migration.migrating?.record;
		if (record) this.emit('migration', record);
		if (this.mode === 'sfu') await this.#sfuPath.open();
		else this.#participants.openMesh();
		if (record) record.builtAt = Date.now();
		this.#migration.checkReady();
		// On the mesh, get the SFU's Device ready a little after the call settles.
		if (this.mode === 'mesh') this.#sfuPath.preloadDevice(2000);
	}

	/** A participant is in the room (joined now, or there at the start): it is on the path the room is heading to. */
	addParticipant(peerId: string, videoMuted: boolean): void {
		if (!this.#closed) this.#participants.add(peerId, videoMuted);
	}

	removeParticipant(peerId: string): void {
		this.#participants.remove(peerId);
		this.#sfuPath.session?.removePeer(peerId);
		this.#migration.checkReady();
	}

	setVideoMuted(peerId: string, muted: boolean): void {
		this.#participants.get(peerId)?.setVideoMuted(muted);
	}

	async setTrackEnabled(kind: 'audio' | 'video', enabled: boolean): Promise<void> {
		for (const track of this.#localStream?.getTracks() ?? []) if (track.kind === kind) track.enabled = enabled;
		await this.#sfuPath.session?.setTrackEnabled(kind, enabled);
	}

	async replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack): Promise<void> {
		// Both paths share the local stream; the mesh goes first (simple-peer finds its sender by the old track in the stream).
		const stream = this.#localStream;
		if (!stream) throw new Error('no local stream to replace a track in');
		this.#participants.replaceTrack(oldTrack, newTrack, stream);
		await this.#sfuPath.session?.replaceTrack(oldTrack, newTrack);
		if (!this.#sfuPath.session) {
			stream.removeTrack(oldTrack);
			stream.addTrack(newTrack);
		}
	}

	/** Starts sending `stream` on the SFU beside what this client receives there (a viewer brought on stage); it now migrates with the room. */
	async publish(stream: MediaStream | undefined, topology: Joined['topology']): Promise<void> {
		if (this.#closed) return;
		if (this.label !== 'sfu') throw new Error(`publish() in place needs a client settled on the SFU (it is ${this.label})`);
		this.#localStream = stream;
		this.#publish = true;
		this.#migration.migrates = true;
		const record = this.#migration.adopt(topology, { joinedDuring: true });
		if (record) {
			this.emit('migration', record);
			this.emit('topology', this.label);
		}
		await this.#sfuPath.session?.publish(stream);
		if (record) record.builtAt = Date.now();
		this.#migration.checkReady();
	}

	/** Stops sending (a speaker sent back to the audience); with `migrates` false it no longer takes part in migrations. */
	async unpublish(migrates: boolean): Promise<void> {
		if (this.#closed) return;
		if (this.label !== 'sfu') throw new Error(`unpublish() in place needs a client settled on the SFU (it is ${this.label})`);
		this.#localStream = undefined;
		this.#publish = false;
		this.#migration.migrates = migrates;
		await this.#sfuPath.session?.unpublish();
	}

	async setRemoteVideoWidth(peerId: string, widthPx: number): Promise<void> {
		await this.#sfuPath.session?.setRemoteVideoWidth(peerId, widthPx);
	}

	sendData(message: string, peerId?: string): number {
		return this.#participants.send(message, peerId);
	}

	/** getStats() per remote peer and path (a peer has an entry on each during a migration), with each path's generation. */
	async stats(): Promise<Array<{ peerId: string; path: Topology; descriptionCount: number; generation: number; stats: Stat[] }>> {
		const mesh = await this.#participants.meshStats();
		const sfu = (await this.#sfuPath.session?.stats()) ?? [];
		const generation = this.#sfuPath.session?.generation ?? 0;
		return [
			...mesh,
			...sfu.map((s) => ({ peerId: s.peerId, path: 'sfu' as const, descriptionCount: 0, generation, stats: s.stats })),
		];
	}

	/** Quality of the committed path (what the topology machine weighs). */
	async quality(now: number): Promise<ConnectionQuality[]> {
		if (this.mode === 'sfu') return (await this.#sfuPath.session?.quality(now)) ?? [];
		return this.#participants.meshQuality(now);
	}

	/** Closes both paths, and asks the server to close this client's SFU transports (a new set follows on the same socket). */
	async closeAndRelease(): Promise<void> {
		const release = this.#sfuPath.release();
		this.close();
		await release;
	}

	/** Closes every path and participant. Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#subscriptions.drop();
		this.#migration.close();
		this.#participants.close();
		this.#sfuPath.dispose();
		this.removeAllListeners();
	}

	#setIceServers(iceServers: IceServer[]): void {
		this.#iceServers = iceServers;
		this.#participants.updateIceServers(iceServers);
	}

	/** This client cannot build migration `epoch`'s new path: the room rolls back (a stale epoch is ignored). */
	#reportFailed(epoch: number, reason: string): void {
		void this.#options.signaling.request(Method.TopologyFailed, { epoch, reason: reason.slice(0, 200) }).catch(() => undefined);
	}

	/** The SFU path for a room that is (or is committed to be) on the SFU (a build's time goes into the migration's record). */
	#ensureSfu(epoch: number): void {
		const record = this.#migration.migrating?.record;
		this.#sfuPath.ensure(epoch, () => {
			if (record && !record.builtAt) record.builtAt = Date.now();
		});
	}

	/** Video frames decoded from `peerId` on `path` so far (a background page paints nothing to count). */
	async #framesDecoded(path: Topology, peerId: string): Promise<number> {
		const entries = path === 'mesh' ? [await this.#participants.get(peerId)?.meshStats()] : ((await this.#sfuPath.session?.stats()) ?? []).filter((e) => e.peerId === peerId);
		let frames = 0;
		for (const entry of entries) {
			for (const s of entry?.stats ?? []) if (s.type === 'inbound-rtp' && s.kind === 'video' && typeof s.framesDecoded === 'number') frames += s.framesDecoded;
		}
		return frames;
	}

	/** Builds `target` beside the current path (a migration's first step); tiles swap to it as their sources render. */
	#build(target: Topology, epoch: number): void {
		if (target === 'mesh') {
			this.#participants.openMesh();
			const record = this.#migration.migrating?.record;
			if (record) record.builtAt = Date.now();
		} else {
			this.#ensureSfu(epoch);
		}
		this.#participants.heading(target);
	}

	/** Settles on `topology`: every tile shows it (stragglers swap now), the other path closes. */
	#settle(topology: Topology, epoch: number): void {
		if (topology === 'mesh') this.#participants.openMesh();
		else this.#ensureSfu(epoch);
		this.#participants.settle(topology);
		if (topology === 'mesh') this.#sfuPath.close();
		else this.#participants.closeMesh();
	}

	/** A resume: renewed ICE servers and repair policy, and the room's topology as it is now. */
	#resync(joined: Joined): void {
		this.#setIceServers(joined.iceServers);
		this.#repairPolicy = joined.repair;
		this.#migration.resync(joined.topology);
	}
}

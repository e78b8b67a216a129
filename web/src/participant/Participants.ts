import type { ConnectionQuality, IceServer, MeshSignal, Topology } from '../../../core/protocol/index.js';
import { framesRendered } from '../media/framesRendered.js';
import type { Stat } from '../media/QualitySampler.js';
import { MeshConnection } from '../mesh/MeshConnection.js';
import { Emitter } from '../util/Emitter.js';
import { RemoteParticipant, type RepairRecord } from './RemoteParticipant.js';
import type { RepairPolicy } from './repair.js';

/** Frames a new source renders off screen before a tile swaps to it: it flows, not just its first key frame. */
const FRAMES_BEFORE_SWAP = 3;

export type ParticipantsEvents = {
	/** Show this stream's tracks on the peer's tile (swap them in place; never rebuild or reload the element). */
	show: [peerId: string, stream: MediaStream, path: Topology];
	/** A tile has nothing to show any more. */
	hidden: [peerId: string];
	data: [peerId: string, message: string];
	repair: [record: RepairRecord];
	/** The newest mesh connection to this peer failed. */
	linkFailed: [peerId: string];
};

export interface ParticipantsOptions {
	selfId: string;
	iceTransportPolicy: RTCIceTransportPolicy;
	/** What this client sends on the mesh now. */
	localStream: () => MediaStream | undefined;
	iceServers: () => IceServer[];
	sendSignal: (peerId: string, signal: MeshSignal, generation: number) => void;
	repairPolicy: () => RepairPolicy;
	/** Where the room heads now: a newcomer's tile starts there. */
	heading: () => Topology;
	renderTimeoutMs: () => number;
	/** Video frames decoded from `peerId` on `path` so far (a background page paints no frames to count). */
	framesDecoded: (path: Topology, peerId: string) => Promise<number>;
}

/**
 * Every remote participant of the call, by peer id, and the mesh as a
 * whole: whether it is open, the signals it routes to each pair, and what
 * is sent, measured or replaced on every pair at once.
 */
export class Participants extends Emitter<ParticipantsEvents> {
	readonly #options: ParticipantsOptions;
	readonly #all = new Map<string, RemoteParticipant>();
	#meshOpen = false;

	constructor(options: ParticipantsOptions) {
		super();
		this.#options = options;
	}

	get(peerId: string): RemoteParticipant | undefined {
		return this.#all.get(peerId);
	}

	values(): IterableIterator<RemoteParticipant> {
		return this.#all.values();
	}

	/** The path each tile shows now (undefined: nothing yet). */
	shownPaths(): Array<Topology | undefined> {
		return [...this.#all.values()].map((p) => p.shownPath);
	}

	/** Someone in the room. While the room heads for the SFU no mesh pair is made with them. */
	add(peerId: string, videoMuted: boolean): void {
		if (this.#all.has(peerId)) return;
		const { selfId, iceTransportPolicy } = this.#options;
		const participant = new RemoteParticipant({
			peerId,
			offerer: selfId < peerId,
			heading: this.#options.heading(),
			videoMuted,
			createLink: (generation, initiator) =>
				new MeshConnection({
					remotePeerId: peerId,
					initiator,
					generation,
					localStream: this.#options.localStream(),
					iceServers: this.#options.iceServers(),
					iceTransportPolicy,
				}),
			sendSignal: (signal, generation) => this.#options.sendSignal(peerId, signal, generation),
			repairPolicy: this.#options.repairPolicy,
			probe: (track, path, timeoutMs) => framesRendered(track, FRAMES_BEFORE_SWAP, timeoutMs, () => this.#options.framesDecoded(path, peerId)),
			renderTimeoutMs: this.#options.renderTimeoutMs,
		});
		participant.on('show', (stream, path) => this.emit('show', peerId, stream, path));
		participant.on('hidden', () => this.emit('hidden', peerId));
		participant.on('data', (message) => this.emit('data', peerId, message));
		participant.on('repair', (record) => this.emit('repair', record));
		participant.on('linkFailed', () => this.emit('linkFailed', peerId));
		this.#all.set(peerId, participant);
		if (this.#meshOpen && this.#options.heading() === 'mesh') participant.openMesh();
	}

	remove(peerId: string): void {
		this.#all.get(peerId)?.close();
		this.#all.delete(peerId);
	}

	/** The mesh, to everyone in the room (a pair skipped while the room headed elsewhere is connected now). */
	openMesh(): void {
		this.#meshOpen = true;
		for (const participant of this.#all.values()) participant.openMesh();
	}

	closeMesh(): void {
		this.#meshOpen = false;
		for (const participant of this.#all.values()) participant.closeMesh();
	}

	/** A mesh signal from `from` (dropped while this client is off the mesh). */
	handleSignal(from: string, signal: MeshSignal, generation: number): void {
		if (this.#meshOpen) this.#all.get(from)?.handleSignal(signal, generation);
	}

	heading(path: Topology): void {
		for (const participant of this.#all.values()) participant.heading(path);
	}

	settle(path: Topology): void {
		for (const participant of this.#all.values()) participant.settle(path);
	}

	replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack, stream: MediaStream): void {
		for (const participant of this.#all.values()) participant.replaceTrack(oldTrack, newTrack, stream);
	}

	updateIceServers(iceServers: IceServer[]): void {
		for (const participant of this.#all.values()) participant.updateIceServers(iceServers);
	}

	/** Sends an app message over the mesh to one peer, or to all; returns how many channels took it. */
	send(message: string, peerId?: string): number {
		if (!this.#meshOpen) return 0;
		let sent = 0;
		for (const participant of this.#all.values()) if ((peerId === undefined || participant.peerId === peerId) && participant.send(message)) sent++;
		return sent;
	}

	/** Each pair's newest mesh connection: getStats(), descriptions exchanged, generation. */
	async meshStats(): Promise<Array<{ peerId: string; path: 'mesh'; descriptionCount: number; generation: number; stats: Stat[] }>> {
		const all = await Promise.all([...this.#all.values()].map(async (p) => ({ peerId: p.peerId, entry: await p.meshStats() })));
		return all.flatMap(({ peerId, entry }) => (entry ? [{ peerId, path: 'mesh' as const, ...entry }] : []));
	}

	async meshQuality(now: number): Promise<ConnectionQuality[]> {
		const all = await Promise.all([...this.#all.values()].map((p) => p.meshQuality(now)));
		return all.filter((q): q is ConnectionQuality => q !== undefined);
	}

	/** Closes every participant's connections. Idempotent. */
	close(): void {
		for (const participant of this.#all.values()) participant.close();
		this.#all.clear();
		this.#meshOpen = false;
		this.removeAllListeners();
	}
}

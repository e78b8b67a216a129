import { AwaitQueue } from 'awaitqueue';
import type { PeerInfo, Role, RoomKind, RoomSettings } from '../../core/protocol/index.js';
import type { RoomTopology } from '../topology/RoomTopology.js';
import type { Audience } from './Audience.js';
import type { Peer } from './Peer.js';

/** Makes a room's topology actor and its audience batches (the server wires their effects to the room). */
export type RoomPartsFactory = (room: Room) => { topology: RoomTopology; audience: Audience };

/**
 * A room: the peers that can see and signal each other. A peer can only
 * reach peers of its own room, because every lookup goes through this map.
 * Membership changes run one at a time through `queue`.
 *
 * Of two kinds (settings.kind). In a meeting everyone sees everyone. In a
 * broadcast the stage (hosts and participants, who may publish) is seen by
 * all, and the audience (viewers) by nobody one by one: others know only
 * its size.
 */
export class Room {
	readonly id: string;
	#settings: RoomSettings;
	/** Created (or claimed) through the API: kept when empty, until deleted. */
	#persistent: boolean;
	/** Serializes joins, leaves and expiries, so none interleave. */
	readonly queue = new AwaitQueue();
	/** Decides and drives the room's mesh <-> SFU migrations. */
	readonly topology: RoomTopology;
	/** Audience count, raised hands and reactions, announced in batches. */
	readonly audience: Audience;
	readonly #peers = new Map<string, Peer>();
	/** Peers whose role is viewer. */
	#viewers = 0;
	/** Operations in flight that will touch this room (it must not be dropped under them). */
	#holds = 0;
	#closed = false;

	constructor(id: string, settings: RoomSettings, persistent: boolean, parts: RoomPartsFactory) {
		this.id = id;
		this.#settings = settings;
		this.#persistent = persistent;
		const { topology, audience } = parts(this);
		this.topology = topology;
		this.audience = audience;
	}

	get settings(): RoomSettings {
		return this.#settings;
	}

	get kind(): RoomKind {
		return this.#settings.kind;
	}

	/** Peers on the stage: everyone in a meeting. */
	get stageSize(): number {
		return this.kind === 'broadcast' ? this.#peers.size - this.#viewers : this.#peers.size;
	}

	/** Viewers in the room: a broadcast's audience. */
	get audienceSize(): number {
		return this.#viewers;
	}

	/**
	 * Whether `peer` is on the stage: everyone in a meeting, hosts and
	 * participants in a broadcast. Others see a stage member one by one
	 * (peerJoined, peerLeft, join answers), and its media follows the
	 * topology machine; a broadcast's viewers are only counted, and receive
	 * through the SFU.
	 */
	onStage(peer: Peer): boolean {
		return this.kind === 'meeting' || peer.role !== 'viewer';
	}

	/** A host promoted or demoted `peer`. */
	setRole(peer: Peer, role: Role): void {
		if (this.#peers.get(peer.id) !== peer || peer.role === role) return;
		this.#viewers += (role === 'viewer' ? 1 : 0) - (peer.role === 'viewer' ? 1 : 0);
		peer.assignRole(role);
	}

	get persistent(): boolean {
		return this.#persistent;
	}

	/**
	 * The room API claims a room that a join made: from now on it persists
	 * and has these settings (the topology thresholds included). Who no longer
	 * qualifies is the caller's to remove.
	 */
	claim(settings: RoomSettings): void {
		this.#persistent = true;
		this.#settings = settings;
		this.topology.updateSettings(settings);
	}

	get size(): number {
		return this.#peers.size;
	}

	get closed(): boolean {
		return this.#closed;
	}

	get peers(): IterableIterator<Peer> {
		return this.#peers.values();
	}

	/** True when nothing holds the room: no peer, no operation in flight, not persistent. */
	get disposable(): boolean {
		return !this.#persistent && this.#peers.size === 0 && this.#holds === 0;
	}

	hold(): void {
		this.#holds++;
	}

	unhold(): void {
		this.#holds--;
	}

	getPeer(peerId: string): Peer | undefined {
		return this.#peers.get(peerId);
	}

	addPeer(peer: Peer): void {
		if (this.#peers.has(peer.id)) return;
		this.#peers.set(peer.id, peer);
		if (peer.role === 'viewer') this.#viewers++;
	}

	removePeer(peerId: string): boolean {
		const peer = this.#peers.get(peerId);
		if (!peer) return false;
		this.#peers.delete(peerId);
		if (peer.role === 'viewer') this.#viewers--;
		return true;
	}

	/** Everyone others may see (the stage, in a broadcast) except `exceptId`, as the protocol describes them. */
	peerInfos(exceptId?: string): PeerInfo[] {
		const infos: PeerInfo[] = [];
		for (const peer of this.#peers.values()) {
			if (peer.id !== exceptId && this.onStage(peer)) infos.push(peer.info);
		}
		return infos;
	}

	/** Ends every peer and stops the queue. Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const peer of this.#peers.values()) peer.close();
		this.#peers.clear();
		this.#viewers = 0;
		this.topology.close();
		this.audience.close();
		this.queue.stop();
	}
}

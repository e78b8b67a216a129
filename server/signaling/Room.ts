import { AwaitQueue } from 'awaitqueue';
import type { PeerInfo, RoomSettings } from '../../core/protocol/index.js';
import type { RoomTopology } from '../topology/RoomTopology.js';
import type { Peer } from './Peer.js';

/** Makes a room's topology actor (the server wires its effects to the room). */
export type TopologyFactory = (room: Room) => RoomTopology;

/**
 * A room: the peers that can see and signal each other. A peer can only
 * reach peers of its own room, because every lookup goes through this map.
 * Membership changes run one at a time through `queue`.
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
	readonly #peers = new Map<string, Peer>();
	/** Operations in flight that will touch this room (it must not be dropped under them). */
	#holds = 0;
	#closed = false;

	constructor(id: string, settings: RoomSettings, persistent: boolean, topology: TopologyFactory) {
		this.id = id;
		this.#settings = settings;
		this.#persistent = persistent;
		this.topology = topology(this);
	}

	get settings(): RoomSettings {
		return this.#settings;
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
		this.#peers.set(peer.id, peer);
	}

	removePeer(peerId: string): boolean {
		return this.#peers.delete(peerId);
	}

	/** Everyone in the room except `exceptId`, as the protocol describes them. */
	peerInfos(exceptId?: string): PeerInfo[] {
		const infos: PeerInfo[] = [];
		for (const peer of this.#peers.values()) {
			if (peer.id !== exceptId) infos.push(peer.info);
		}
		return infos;
	}

	/** Ends every peer and stops the queue. Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const peer of this.#peers.values()) peer.close();
		this.#peers.clear();
		this.topology.close();
		this.queue.stop();
	}
}

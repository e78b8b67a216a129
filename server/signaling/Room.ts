import type { PeerInfo } from '../../core/protocol/index.js';
import type { Peer } from './Peer.js';

/**
 * A room: the peers that can see and signal each other. A peer can only
 * reach peers of its own room, because every lookup goes through this map.
 */
export class Room {
	readonly id: string;
	readonly #peers = new Map<string, Peer>();

	constructor(id: string) {
		this.id = id;
	}

	get size(): number {
		return this.#peers.size;
	}

	get peers(): IterableIterator<Peer> {
		return this.#peers.values();
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

	/** Sends a notification to every peer except `exceptId`. */
	broadcast(method: string, data: unknown, exceptId?: string): void {
		for (const peer of this.#peers.values()) {
			if (peer.id !== exceptId) peer.notify(method, data);
		}
	}
}

import { ErrorCode, SignalingError, type RoomSettings } from '../../core/protocol/index.js';
import type { Peer } from './Peer.js';
import { Room, type RoomPartsFactory } from './Room.js';

/**
 * All live rooms and the resume-token index. Rooms created on demand are
 * dropped when empty; rooms created through the API stay until deleted.
 * Creation is synchronous, so two concurrent joins can never make two rooms.
 */
export class RoomRegistry {
	readonly #rooms = new Map<string, Room>();
	readonly #byResumeToken = new Map<string, Peer>();
	readonly #defaultSettings: RoomSettings;
	readonly #onRoomClosed: (roomId: string) => void;
	readonly #parts: RoomPartsFactory;
	readonly #maxRooms: number;

	/**
	 * `parts` makes each room's topology actor and audience batches; `onRoomClosed` runs when a
	 * room goes away (emptied, deleted, shutdown), to free what else it held.
	 */
	constructor(options: {
		defaultSettings: RoomSettings;
		parts: RoomPartsFactory;
		onRoomClosed?: (roomId: string) => void;
		/** Rooms at once; making one more throws TOO_MANY_ROOMS. */
		maxRooms?: number;
	}) {
		this.#defaultSettings = options.defaultSettings;
		this.#maxRooms = options.maxRooms ?? Infinity;
		this.#parts = options.parts;
		this.#onRoomClosed = options.onRoomClosed ?? (() => undefined);
	}

	/** What a room gets for every setting it does not override. */
	get defaultSettings(): RoomSettings {
		return this.#defaultSettings;
	}

	get size(): number {
		return this.#rooms.size;
	}

	get peerCount(): number {
		let count = 0;
		for (const room of this.#rooms.values()) count += room.size;
		return count;
	}

	get rooms(): IterableIterator<Room> {
		return this.#rooms.values();
	}

	get(roomId: string): Room | undefined {
		return this.#rooms.get(roomId);
	}

	/** Creates a persistent room; undefined if the id is taken. Throws TOO_MANY_ROOMS at the limit. */
	create(roomId: string, settings: RoomSettings): Room | undefined {
		if (this.#rooms.has(roomId)) return undefined;
		this.#checkRoomLimit();
		const room = new Room(roomId, settings, true, this.#parts);
		this.#rooms.set(roomId, room);
		return room;
	}

	/**
	 * The room, created on demand, held against disposal until `release()`.
	 * Every operation that awaits before touching a room goes through this.
	 */
	acquire(roomId: string): Room {
		let room = this.#rooms.get(roomId);
		if (!room) {
			this.#checkRoomLimit();
			room = new Room(roomId, { ...this.#defaultSettings }, false, this.#parts);
			this.#rooms.set(roomId, room);
		}
		room.hold();
		return room;
	}

	release(room: Room): void {
		room.unhold();
		this.#disposeIfUnused(room);
	}

	/** Forgets a peer's resume token and drops its room if that was the last use. */
	peerRemoved(room: Room, peer: Peer): void {
		this.#forgetResumeToken(peer);
		this.#disposeIfUnused(room);
	}

	/** Deletes a room and ends its peers (close their sockets first). False if no such room. */
	delete(roomId: string): boolean {
		const room = this.#rooms.get(roomId);
		if (!room) return false;
		for (const peer of room.peers) this.#forgetResumeToken(peer);
		this.#rooms.delete(roomId);
		room.close();
		this.#onRoomClosed(roomId);
		return true;
	}

	indexResumeToken(peer: Peer, previous?: string): void {
		if (previous !== undefined) this.#byResumeToken.delete(previous);
		this.#byResumeToken.set(peer.resumeToken, peer);
	}

	peerByResumeToken(token: string): Peer | undefined {
		return this.#byResumeToken.get(token);
	}

	/** Ends every room. Idempotent. */
	close(): void {
		for (const room of this.#rooms.values()) {
			room.close();
			this.#onRoomClosed(room.id);
		}
		this.#rooms.clear();
		this.#byResumeToken.clear();
	}

	#checkRoomLimit(): void {
		if (this.#rooms.size >= this.#maxRooms) {
			throw new SignalingError(ErrorCode.TooManyRooms, `this server holds ${this.#maxRooms} rooms, its limit (limits.maxRooms); try again later`);
		}
	}

	#forgetResumeToken(peer: Peer): void {
		if (this.#byResumeToken.get(peer.resumeToken) === peer) this.#byResumeToken.delete(peer.resumeToken);
	}

	#disposeIfUnused(room: Room): void {
		if (room.disposable && this.#rooms.get(room.id) === room) {
			this.#rooms.delete(room.id);
			room.close();
			this.#onRoomClosed(room.id);
		}
	}
}

import { Room } from './Room.js';

/** All live rooms. A room exists while it has peers. */
export class RoomRegistry {
	readonly #rooms = new Map<string, Room>();

	get size(): number {
		return this.#rooms.size;
	}

	get(roomId: string): Room | undefined {
		return this.#rooms.get(roomId);
	}

	getOrCreate(roomId: string): Room {
		let room = this.#rooms.get(roomId);
		if (!room) {
			room = new Room(roomId);
			this.#rooms.set(roomId, room);
		}
		return room;
	}

	/** Drops the room if nobody is left in it. */
	releaseIfEmpty(room: Room): void {
		if (room.size === 0 && this.#rooms.get(room.id) === room) {
			this.#rooms.delete(room.id);
		}
	}
}

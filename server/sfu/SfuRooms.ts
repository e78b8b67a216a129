import type { types } from 'mediasoup';
import type { SfuConfig } from '../../core/config/index.js';
import type { RoomKind } from '../../core/protocol/index.js';
import type { Logger } from '../logger.js';
import type { ListenIp } from './listenIps.js';
import { SfuRoom, type SfuNotify, type TransportStateListener } from './SfuRoom.js';
import type { WorkerPool } from './WorkerPool.js';

/** What every room's SFU side is made with. */
export interface SfuRoomsOptions {
	pool: WorkerPool;
	sfu: SfuConfig;
	/** Where the WebRTC transports listen (resolveListenIps). */
	listenIps: readonly ListenIp[];
	logger: Logger;
	onTransportState?: TransportStateListener;
}

/** The SFU side of every room that has one, created on the first SFU request. */
export class SfuRooms {
	readonly #rooms = new Map<string, SfuRoom>();
	readonly #options: SfuRoomsOptions;

	constructor(options: SfuRoomsOptions) {
		this.#options = options;
	}

	/** What every router offers (the same codecs everywhere). */
	get routerRtpCapabilities(): types.RtpCapabilities {
		return this.#options.pool.routerRtpCapabilities;
	}

	get(roomId: string): SfuRoom | undefined {
		return this.#rooms.get(roomId);
	}

	getOrCreate(roomId: string, kind: RoomKind, notify: SfuNotify): SfuRoom {
		let room = this.#rooms.get(roomId);
		if (!room) {
			room = new SfuRoom({ roomId, kind, notify, ...this.#options });
			this.#rooms.set(roomId, room);
		}
		return room;
	}

	/** Closes a room's SFU side (its routers). */
	close(roomId: string): void {
		this.#rooms.get(roomId)?.close();
		this.#rooms.delete(roomId);
	}

	closeAll(): void {
		for (const room of this.#rooms.values()) room.close();
		this.#rooms.clear();
	}
}

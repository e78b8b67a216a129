import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
	CreateRoomRequestSchema,
	ErrorCode,
	RoomIdSchema,
	RoomSettingsSchema,
	SignalingError,
	type RoomDescription,
	type RoomDetails,
	type RoomSettings,
	type SfuConsumerSummary,
} from '../../core/protocol/index.js';
import type { Room } from '../signaling/Room.js';
import type { RoomRegistry } from '../signaling/RoomRegistry.js';
import type { ApiKey } from './ApiKey.js';
import { HttpError, readJson, sendJson } from './httpUtil.js';

export const ROOM_API_PREFIX = '/api/rooms';

function describe(room: Room): RoomDescription {
	return {
		roomId: room.id,
		settings: room.settings,
		topology: room.topology.placement.topology,
		peers: room.size,
		audience: room.audienceSize,
		persistent: room.persistent,
	};
}

function details(room: Room, sfuRouters: RoomDetails['sfuRouters'], sfuConsumers: (peerId: string) => SfuConsumerSummary[]): RoomDetails {
	return {
		...describe(room),
		sfuRouters,
		participants: [...room.peers].map((peer) => ({
			...peer.info,
			state: peer.state === 'disconnected' ? 'disconnected' : 'connected',
			quality: peer.quality ?? null,
			consumers: sfuConsumers(peer.info.peerId),
		})),
	};
}

/**
 * The room API:
 *   POST   /api/rooms        {roomId?, settings?} -> 201 RoomDescription (200 when it claims a room a join made)
 *   GET    /api/rooms        -> 200 {rooms: RoomDescription[]}
 *   GET    /api/rooms/:id    -> 200 RoomDetails (with participants, their quality reports and SFU consumers)
 *   DELETE /api/rooms/:id    -> 204; its peers' sockets close with 4004
 * With auth.apiKey set, every call needs `Authorization: Bearer <key>`.
 */
export class RoomApi {
	readonly #registry: RoomRegistry;
	readonly #deleteRoom: (roomId: string) => boolean;
	readonly #claimRoom: (room: Room, settings: RoomSettings) => Promise<void>;
	readonly #apiKey: ApiKey | undefined;
	readonly #tokensEnabled: boolean;
	readonly #broadcastMaxPeers: number;
	readonly #claimInDirectory: { nodeId: string; claim(roomId: string): Promise<string> } | undefined;
	readonly #sfuRouters: (roomId: string) => RoomDetails['sfuRouters'];
	readonly #sfuConsumers: (roomId: string, peerId: string) => SfuConsumerSummary[];

	constructor(options: {
		sfuRouters: (roomId: string) => RoomDetails['sfuRouters'];
		/** A participant's consumers on the room's SFU side (none in a mesh room). */
		sfuConsumers: (roomId: string, peerId: string) => SfuConsumerSummary[];
		registry: RoomRegistry;
		deleteRoom: (roomId: string) => boolean;
		claimRoom: (room: Room, settings: RoomSettings) => Promise<void>;
		apiKey: ApiKey | undefined;
		tokensEnabled: boolean;
		/** maxPeers of a broadcast room that names none. */
		broadcastMaxPeers: number;
		/** Several nodes: the room directory, where a new room is claimed for this node first. */
		directory?: { nodeId: string; claim(roomId: string): Promise<string> };
	}) {
		this.#claimInDirectory = options.directory;
		this.#registry = options.registry;
		this.#deleteRoom = options.deleteRoom;
		this.#claimRoom = options.claimRoom;
		this.#apiKey = options.apiKey;
		this.#tokensEnabled = options.tokensEnabled;
		this.#broadcastMaxPeers = options.broadcastMaxPeers;
		this.#sfuRouters = options.sfuRouters;
		this.#sfuConsumers = options.sfuConsumers;
	}

	/** `path` is the decoded request path, under ROOM_API_PREFIX. */
	async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
		this.#apiKey?.authorize(req);
		const rest = path.slice(ROOM_API_PREFIX.length);
		if (rest === '' || rest === '/') {
			if (req.method === 'POST') return this.#create(req, res);
			if (req.method === 'GET') {
				sendJson(res, 200, { rooms: [...this.#registry.rooms].map(describe) });
				return;
			}
			throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} not allowed on ${ROOM_API_PREFIX}`);
		}
		const roomId = RoomIdSchema.safeParse(rest.slice(1));
		if (!roomId.success) throw new HttpError(404, 'ROOM_NOT_FOUND', 'no such room');
		if (req.method === 'GET') {
			const room = this.#registry.get(roomId.data);
			if (!room) throw new HttpError(404, 'ROOM_NOT_FOUND', `no room "${roomId.data}"`);
			sendJson(res, 200, details(room, this.#sfuRouters(room.id), (peerId) => this.#sfuConsumers(room.id, peerId)));
			return;
		}
		if (req.method === 'DELETE') {
			if (!this.#deleteRoom(roomId.data)) throw new HttpError(404, 'ROOM_NOT_FOUND', `no room "${roomId.data}"`);
			res.writeHead(204).end();
			return;
		}
		throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} not allowed on a room`);
	}

	async #create(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const parsed = CreateRoomRequestSchema.safeParse(await readJson(req));
		if (!parsed.success) {
			const issue = parsed.error.issues[0];
			throw new HttpError(400, 'INVALID_DATA', `${issue?.path.join('.') || '(body)'}: ${issue?.message ?? 'invalid'}`);
		}
		const { settings } = parsed.data;
		if (settings.requireToken && !this.#tokensEnabled) {
			throw new HttpError(400, 'TOKENS_NOT_CONFIGURED', 'requireToken needs auth.tokenSecret on this server');
		}
		// Each key is valid alone; together with the defaults they must still make sense. A broadcast's audience needs room.
		const defaults = { ...this.#registry.defaultSettings, ...(settings.kind === 'broadcast' ? { maxPeers: this.#broadcastMaxPeers } : {}) };
		const merged = RoomSettingsSchema.safeParse({ ...defaults, ...settings });
		if (!merged.success) {
			const issue = merged.error.issues[0];
			throw new HttpError(400, 'INVALID_DATA', `settings.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
		}
		const roomId = parsed.data.roomId ?? randomBytes(6).toString('base64url');
		const existing = this.#registry.get(roomId);
		if (existing?.persistent) throw new HttpError(409, 'ROOM_EXISTS', `room "${roomId}" already exists`);
		if (!existing && this.#claimInDirectory) {
			// Several nodes: the room is made on the node that claims it in the directory.
			let owner: string;
			try {
				owner = await this.#claimInDirectory.claim(roomId);
			} catch (error) {
				if (error instanceof SignalingError) throw new HttpError(503, error.code, error.message);
				throw error;
			}
			if (owner !== this.#claimInDirectory.nodeId) {
				throw new HttpError(409, 'ROOM_ON_OTHER_NODE', `room "${roomId}" is held by node ${owner}; ask that node, or pick another id`);
			}
		}
		if (existing) {
			if (existing.kind !== merged.data.kind) {
				throw new HttpError(409, 'ROOM_IN_USE', `room "${roomId}" is in use as a ${existing.kind}; its kind cannot change while people are in it`);
			}
			// A join made it: the API claims it, and its settings apply to who is in it now.
			await this.#claimRoom(existing, merged.data);
			sendJson(res, 200, describe(existing));
			return;
		}
		let room: Room | undefined;
		try {
			room = this.#registry.create(roomId, merged.data);
		} catch (error) {
			if (error instanceof SignalingError && error.code === ErrorCode.TooManyRooms) throw new HttpError(503, error.code, error.message);
			throw error;
		}
		if (!room) throw new HttpError(409, 'ROOM_EXISTS', `room "${roomId}" already exists`);
		sendJson(res, 201, describe(room));
	}
}

import { randomUUID } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import {
	ErrorCode,
	Method,
	Notification,
	PROTOCOL_VERSION,
	SignalingError,
	decodeEnvelope,
	encodeError,
	encodeNotification,
	encodeOk,
	parseRequest,
	type RequestData,
	type ResponseData,
	type TypedRequest,
} from '../../core/protocol/index.js';
import type { Logger } from '../logger.js';
import { Peer } from './Peer.js';
import type { Room } from './Room.js';
import type { RoomRegistry } from './RoomRegistry.js';

/** WebSocket close codes this server uses (4000-4999 is the application range). */
export const CloseCode = {
	Normal: 1000,
	GoingAway: 1001,
	Unsupported: 1003,
	ProtocolMismatch: 4001,
} as const;

type ConnectionState =
	| { name: 'connected' }
	| { name: 'joined'; peer: Peer; room: Room }
	| { name: 'closed' };

/**
 * One participant's signaling channel. Decodes and validates every frame,
 * answers each request exactly once, and owns the peer it creates at join:
 * closing the connection removes the peer from its room.
 */
export class Connection {
	readonly #socket: WebSocket;
	readonly #rooms: RoomRegistry;
	readonly #logger: Logger;
	#state: ConnectionState = { name: 'connected' };

	constructor(socket: WebSocket, rooms: RoomRegistry, logger: Logger) {
		this.#socket = socket;
		this.#rooms = rooms;
		this.#logger = logger;
		socket.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
		socket.on('close', () => this.close());
		socket.on('error', (error) => {
			this.#logger.warn({ err: error }, 'socket error');
			this.close();
		});
	}

	get peerId(): string | undefined {
		return this.#state.name === 'joined' ? this.#state.peer.id : undefined;
	}

	/** Leaves the room (if joined) and closes the socket. Idempotent. */
	close(code: number = CloseCode.Normal, reason = ''): void {
		if (this.#state.name === 'closed') return;
		const previous = this.#state;
		this.#state = { name: 'closed' };
		if (previous.name === 'joined') this.#leaveRoom(previous.peer, previous.room);
		if (this.#socket.readyState === this.#socket.OPEN || this.#socket.readyState === this.#socket.CONNECTING) {
			this.#socket.close(code, reason);
		}
	}

	#send(text: string): void {
		if (this.#socket.readyState === this.#socket.OPEN) this.#socket.send(text);
	}

	#notify = (method: string, data: unknown): void => {
		this.#send(encodeNotification(method, data));
	};

	#onFrame(data: RawData, isBinary: boolean): void {
		if (this.#state.name === 'closed') return;
		if (isBinary) {
			this.#logger.warn('binary frame refused');
			this.close(CloseCode.Unsupported, 'binary frames are not supported');
			return;
		}
		const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : data.toString('utf8');
		let request: TypedRequest;
		let id: number | undefined;
		try {
			const envelope = decodeEnvelope(text);
			if (envelope.kind !== 'request') {
				throw new SignalingError(ErrorCode.BadMessage, 'clients may only send requests');
			}
			id = envelope.message.id;
			request = parseRequest(envelope.message);
		} catch (error) {
			this.#replyError(id ?? 0, error);
			return;
		}
		try {
			const result = this.#handle(request);
			this.#send(encodeOk(request.id, result));
		} catch (error) {
			this.#replyError(request.id, error);
		}
	}

	#replyError(id: number, error: unknown): void {
		if (error instanceof SignalingError) {
			this.#send(encodeError(id, error.code, error.message));
			return;
		}
		this.#logger.error({ err: error }, 'request failed');
		this.#send(encodeError(id, ErrorCode.Internal, 'internal error'));
	}

	#handle(request: TypedRequest): unknown {
		switch (request.method) {
			case Method.Join:
				return this.#join(request.data);
			case Method.Leave:
				return this.#leave();
			case Method.Signal:
				return this.#signal(request.data);
		}
	}

	#join(data: RequestData<'join'>): ResponseData<'join'> {
		if (data.protocolVersion !== PROTOCOL_VERSION) {
			// Answer first so the client learns why, then close.
			const reason = `protocol version ${data.protocolVersion} not supported; server speaks ${PROTOCOL_VERSION}`;
			setImmediate(() => this.close(CloseCode.ProtocolMismatch, 'protocol mismatch'));
			throw new SignalingError(ErrorCode.ProtocolMismatch, reason);
		}
		if (this.#state.name !== 'connected') {
			throw new SignalingError(ErrorCode.AlreadyJoined, 'this connection already joined a room');
		}
		const room = this.#rooms.getOrCreate(data.roomId);
		const peer = new Peer({
			id: randomUUID(),
			displayName: data.displayName,
			role: room.size === 0 ? 'host' : 'participant',
			roomId: room.id,
			notify: this.#notify,
		});
		const peers = room.peerInfos();
		room.addPeer(peer);
		this.#state = { name: 'joined', peer, room };
		room.broadcast(Notification.PeerJoined, peer.info, peer.id);
		this.#logger.info({ roomId: room.id, peerId: peer.id }, 'peer joined');
		return { peerId: peer.id, roomId: room.id, role: peer.role, peers };
	}

	#leave(): ResponseData<'leave'> {
		if (this.#state.name !== 'joined') {
			throw new SignalingError(ErrorCode.NotJoined, 'join a room first');
		}
		const { peer, room } = this.#state;
		this.#state = { name: 'connected' };
		this.#leaveRoom(peer, room);
		return {};
	}

	#signal(data: RequestData<'signal'>): ResponseData<'signal'> {
		if (this.#state.name !== 'joined') {
			throw new SignalingError(ErrorCode.NotJoined, 'join a room first');
		}
		const { peer, room } = this.#state;
		// Looked up in the sender's own room: another room's peer is unreachable.
		const target = room.getPeer(data.to);
		if (!target || target === peer) {
			throw new SignalingError(ErrorCode.PeerNotFound, `no peer "${data.to}" in this room`);
		}
		target.notify(Notification.Signal, { from: peer.id, signal: data.signal });
		return {};
	}

	#leaveRoom(peer: Peer, room: Room): void {
		if (!room.removePeer(peer.id)) return;
		room.broadcast(Notification.PeerLeft, { peerId: peer.id });
		this.#rooms.releaseIfEmpty(room);
		this.#logger.info({ roomId: room.id, peerId: peer.id }, 'peer left');
	}
}

import type { types } from 'mediasoup';
import type { BroadcastConfig, ClusterConfig, MediasoupConfig, SfuConfig } from '../../core/config/index.js';
import { CloseCode, ErrorCode, Method, Notification, SignalingError, encodeNotification, type TypedRequest } from '../../core/protocol/index.js';
import type { Logger } from '../logger.js';
import type { ListenIp } from '../sfu/listenIps.js';
import { SfuRoom } from '../sfu/SfuRoom.js';
import type { WorkerPool } from '../sfu/WorkerPool.js';
import type { ClusterNode } from './ClusterNode.js';
import { PIPE, connectPipe, createPipe, parsePipeMessage, pipeAddress, type PipeMessage, type PipedProducer } from './mediaPipe.js';

/** How long the edge waits for the room's node to answer an attach. */
const ATTACH_TIMEOUT_MS = 5000;

export interface EdgeMediaOptions {
	pool: WorkerPool;
	sfu: SfuConfig;
	/** Where the pipe transports listen (with `cluster`: resolvePipeListenIp). */
	mediasoup: MediasoupConfig;
	/** Where the viewers' WebRTC transports listen (resolveListenIps). */
	listenIps: readonly ListenIp[];
	cluster: ClusterConfig;
	broadcast: BroadcastConfig;
	resumeGraceMs: number;
	logger: Logger;
}

/** A viewer whose socket is on this node while its room is on another: its receive side is served here. */
export interface EdgeViewer {
	readonly roomId: string;
	readonly peerId: string;
	/**
	 * The request, served here (its answer), or null: it goes to the room's
	 * node (publishing after a promotion, everything but the receive side).
	 */
	handle(request: TypedRequest): Promise<unknown> | null;
	/** Its socket here closed: a leave (1000/1001) lets go at once, a drop after the resume grace. */
	socketClosed(code: number): void;
}

interface Viewer {
	deliver: (text: string) => void;
	transports: Set<string>;
	consumers: Set<string>;
	/** Lets go of a dropped viewer that did not come back. */
	expiry: ReturnType<typeof setTimeout> | undefined;
}

interface EdgeRoom {
	roomId: string;
	origin: string;
	sfu: SfuRoom;
	/** The pseudo-peer holding the pipe transport (and every producer piped in). */
	holder: string;
	/** Attached: the pipe is connected and the stage's producers are here. */
	ready: Promise<void>;
	attachReply?: (message: PipeMessage) => void;
	/** Local pipe producers by the origin's producer id. */
	producers: Map<string, types.Producer>;
	viewers: Map<string, Viewer>;
}

/**
 * An edge node's side of a broadcast spread over nodes. Viewers whose
 * sockets are here, of a broadcast held by another node, consume here: per
 * such room an SfuRoom (kind broadcast, over this node's workers) whose one
 * send transport is a PipeTransport from the room's node, holding a pipe
 * producer per stage producer. The viewers' receive transports, consumers,
 * key-frame requests and layers are this node's; their other requests
 * (publishing after a promotion, chat, hands) still go to the room's node.
 * The last viewer to go closes the pipe (detach).
 */
export class EdgeMedia {
	readonly #cluster: ClusterNode;
	readonly #options: EdgeMediaOptions;
	readonly #logger: Logger;
	readonly #rooms = new Map<string, EdgeRoom>();

	constructor(cluster: ClusterNode, options: EdgeMediaOptions) {
		this.#cluster = cluster;
		this.#options = options;
		this.#logger = options.logger.child({ module: 'EdgeMedia' });
		cluster.on('message', (type, roomId, body) => {
			if (type === PIPE) this.#onMessage(roomId, body);
		});
		cluster.on('nodegone', (nodeId) => {
			for (const room of [...this.#rooms.values()]) if (room.origin === nodeId) this.#closeRoom(room, 'the room node is gone');
		});
	}

	/** Rooms served here for another node, and their viewers (for tests and operators). */
	get rooms(): Array<{ roomId: string; origin: string; viewers: number; sfu: SfuRoom }> {
		return [...this.#rooms.values()].map((r) => ({ roomId: r.roomId, origin: r.origin, viewers: r.viewers.size, sfu: r.sfu }));
	}

	/** A viewer of broadcast `roomId` (held by `origin`) joined or resumed through a socket here; `deliver` writes to that socket. */
	register(roomId: string, origin: string, peerId: string, deliver: (text: string) => void): EdgeViewer {
		const room = this.#roomFor(roomId, origin);
		const existing = room.viewers.get(peerId);
		if (existing) {
			clearTimeout(existing.expiry);
			existing.expiry = undefined;
			existing.deliver = deliver;
		} else {
			room.viewers.set(peerId, { deliver, transports: new Set(), consumers: new Set(), expiry: undefined });
		}
		return {
			roomId,
			peerId,
			handle: (request) => this.#handle(room, peerId, request),
			socketClosed: (code) => this.#socketClosed(room, peerId, code),
		};
	}

	/** Closes every room served here (this node stops). Idempotent. */
	close(): void {
		for (const room of [...this.#rooms.values()]) this.#closeRoom(room, 'node stopping');
	}

	#roomFor(roomId: string, origin: string): EdgeRoom {
		const existing = this.#rooms.get(roomId);
		if (existing && existing.origin === origin) return existing;
		if (existing) this.#closeRoom(existing, 'the room moved to another node');
		const holder = `pipe@${origin}`;
		const room: EdgeRoom = {
			roomId,
			origin,
			holder,
			producers: new Map(),
			viewers: new Map(),
			ready: Promise.resolve(),
			sfu: new SfuRoom({
				roomId,
				kind: 'broadcast',
				pool: this.#options.pool,
				sfu: this.#options.sfu,
				listenIps: this.#options.listenIps,
				logger: this.#options.logger,
				notify: (peerId, method, data) => this.#notify(room, peerId, method, data),
			}),
		};
		room.ready = this.#attach(room);
		// A failed attach is the first request's error; the room is closed so the next request tries again.
		room.ready.catch((error: unknown) => this.#closeRoom(room, (error as Error).message));
		this.#rooms.set(roomId, room);
		return room;
	}

	/** Opens the pipe from the room's node: a PipeTransport here, its address there, theirs back, then the stage's producers. */
	async #attach(room: EdgeRoom): Promise<void> {
		const pipe = (await room.sfu.attachTransport(room.holder, 'send', (router) => createPipe(router, this.#options.cluster, this.#options.mediasoup))) as types.PipeTransport;
		const reply = new Promise<PipeMessage>((resolve, reject) => {
			const timer = setTimeout(() => reject(new SignalingError(ErrorCode.ClusterUnavailable, `node ${room.origin} did not answer the pipe request`)), ATTACH_TIMEOUT_MS);
			room.attachReply = (message) => {
				clearTimeout(timer);
				resolve(message);
			};
		});
		const sent = await this.#send(room, { op: 'attach', edge: this.#cluster.nodeId, ...pipeAddress(pipe) });
		if (!sent) throw new SignalingError(ErrorCode.ClusterUnavailable, 'the cluster bus is out of reach');
		const answer = await reply;
		room.attachReply = undefined;
		if (answer.op !== 'attached') throw new SignalingError(ErrorCode.WrongMediaMode, answer.op === 'refused' ? answer.reason : 'unexpected answer');
		await connectPipe(pipe, answer);
		await Promise.all(answer.producers.map((p) => this.#addProducer(room, p)));
		this.#logger.info({ roomId: room.roomId, origin: room.origin, producers: answer.producers.length }, 'stage piped in from the room node');
	}

	async #addProducer(room: EdgeRoom, piped: PipedProducer): Promise<void> {
		if (room.producers.has(piped.id)) return;
		const producer = await room.sfu.produceFromPipe(room.holder, piped);
		room.producers.set(piped.id, producer);
		producer.observer.once('close', () => room.producers.delete(piped.id));
	}

	#onMessage(roomId: string, body: string): void {
		const room = this.#rooms.get(roomId);
		const message = parsePipeMessage(body);
		if (!room || !message) return;
		switch (message.op) {
			case 'attached':
			case 'refused':
				room.attachReply?.(message);
				return;
			case 'producer':
				void room.ready.then(() => this.#addProducer(room, message.producer)).catch((error: unknown) => this.#logger.warn({ err: error }, 'piped producer not added'));
				return;
			case 'closed':
				room.producers.get(message.producerId)?.close();
				return;
			case 'paused':
				void room.producers.get(message.producerId)?.pause();
				return;
			case 'resumed':
				void room.producers.get(message.producerId)?.resume();
				return;
			case 'gone':
				this.#closeRoom(room, 'the room ended on its node');
				return;
		}
	}

	/** The viewer's receive side is served here; anything else goes to the room's node. */
	#handle(room: EdgeRoom, peerId: string, request: TypedRequest): Promise<unknown> | null {
		const viewer = room.viewers.get(peerId);
		if (!viewer || this.#rooms.get(room.roomId) !== room) return null;
		const sfu = room.sfu;
		switch (request.method) {
			case Method.SfuGetRouterRtpCapabilities:
				return Promise.resolve({ routerRtpCapabilities: this.#options.pool.routerRtpCapabilities as unknown as Record<string, unknown> });
			case Method.SfuJoin:
				return room.ready.then(() => sfu.join(peerId, request.data, this.#options.broadcast.viewerSpatialLayer)).then(() => ({}));
			case Method.SfuCreateTransport:
				if (request.data.direction !== 'recv') return null;
				return room.ready
					.then(() => sfu.createTransport(peerId, request.data))
					.then((made) => {
						viewer.transports.add(made.transportId);
						return made;
					});
			case Method.SfuConnectTransport:
				return viewer.transports.has(request.data.transportId) ? sfu.connectTransport(peerId, request.data).then(() => ({})) : null;
			case Method.SfuRestartIce:
				return viewer.transports.has(request.data.transportId) ? sfu.restartIce(peerId, request.data.transportId) : null;
			case Method.SfuCloseTransport:
				if (!viewer.transports.delete(request.data.transportId)) return null;
				return sfu.closeTransport(peerId, request.data.transportId).then(() => ({}));
			case Method.SfuResumeConsumer:
				return viewer.consumers.has(request.data.consumerId) ? sfu.resumeConsumer(peerId, request.data.consumerId).then(() => ({})) : null;
			case Method.SfuSetConsumerPreferredLayers:
				return viewer.consumers.has(request.data.consumerId) ? sfu.setConsumerPreferredLayers(peerId, request.data).then(() => ({})) : null;
			default:
				return null;
		}
	}

	#notify(room: EdgeRoom, peerId: string, method: Notification, data: unknown): void {
		const viewer = room.viewers.get(peerId);
		if (!viewer) return;
		if (method === Notification.SfuNewConsumer) viewer.consumers.add((data as { consumerId: string }).consumerId);
		if (method === Notification.SfuConsumerClosed) viewer.consumers.delete((data as { consumerId: string }).consumerId);
		viewer.deliver(encodeNotification(method, data));
	}

	#socketClosed(room: EdgeRoom, peerId: string, code: number): void {
		const viewer = room.viewers.get(peerId);
		if (!viewer || viewer.expiry) return;
		if (code === CloseCode.Normal || code === CloseCode.GoingAway) {
			this.#removeViewer(room, peerId);
			return;
		}
		// A drop: it may resume through this node within the grace, and find its receive side as it was.
		viewer.deliver = () => undefined;
		viewer.expiry = setTimeout(() => this.#removeViewer(room, peerId), this.#options.resumeGraceMs);
		viewer.expiry.unref();
	}

	#removeViewer(room: EdgeRoom, peerId: string): void {
		const viewer = room.viewers.get(peerId);
		if (!viewer) return;
		clearTimeout(viewer.expiry);
		room.viewers.delete(peerId);
		room.sfu.removePeer(peerId);
		if (room.viewers.size === 0) {
			void this.#send(room, { op: 'detach', edge: this.#cluster.nodeId });
			this.#closeRoom(room, 'no viewer left here');
		}
	}

	/** Closes what this node serves of the room: its viewers' consumers close (they are told), the pipe with them. */
	#closeRoom(room: EdgeRoom, why: string): void {
		if (this.#rooms.get(room.roomId) !== room) return;
		this.#rooms.delete(room.roomId);
		for (const viewer of room.viewers.values()) clearTimeout(viewer.expiry);
		for (const [peerId, viewer] of room.viewers) {
			for (const consumerId of viewer.consumers) viewer.deliver(encodeNotification(Notification.SfuConsumerClosed, { consumerId }));
			room.sfu.removePeer(peerId);
		}
		room.viewers.clear();
		room.sfu.close();
		this.#logger.info({ roomId: room.roomId, origin: room.origin, why }, 'edge room closed');
	}

	#send(room: EdgeRoom, message: PipeMessage): Promise<boolean> {
		return this.#cluster.send(room.origin, PIPE, room.roomId, JSON.stringify(message));
	}
}

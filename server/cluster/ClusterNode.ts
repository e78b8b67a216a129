import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { ClusterConfig } from '../../core/config/index.js';
import { ErrorCode, SignalingError } from '../../core/protocol/index.js';
import type { Logger } from '../logger.js';

/** Every key and channel of the product in Redis starts with this. */
const PREFIX = 'se:';
const nodeKey = (nodeId: string) => `${PREFIX}node:${nodeId}`;
const roomKey = (roomId: string) => `${PREFIX}room:${roomId}`;
const channelOf = (nodeId: string) => `${PREFIX}bus:${nodeId}`;
const NODES = `${PREFIX}nodes`;

/**
 * Claims a room for ARGV[1] unless a live owner holds it: returns the owner.
 * Atomic in Redis, so two nodes claiming at once end with one owner.
 */
const CLAIM = `
local owner = redis.call('GET', KEYS[1])
if owner then return owner end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]`;

/** Renews the room for ARGV[1] if it still owns it (or claims it again after Redis lost it); returns the owner. */
const RENEW = `
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return owner end
if not owner then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return ARGV[1] end
return owner`;

/** Releases the room if ARGV[1] owns it. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** What a node's registry entry says of it. */
export interface NodeEntry {
	nodeId: string;
	advertiseUrl: string | null;
	startedAt: number;
	/** Signaling sockets and rooms on this node at its last heartbeat. */
	load: { connections: number; rooms: number };
}

type ClusterEvents = {
	/** A message for this node on the bus: its type letter, the relayed connection it is about, and the rest. */
	message: [type: string, connId: string, body: string];
	/** Another node's registry entry lapsed (it stopped or died). */
	nodegone: [nodeId: string];
};

/**
 * This server as one node of several sharing rooms through Redis (ioredis,
 * a real redis-server). Redis holds:
 *
 * - the node registry: `se:node:<id>` (its entry, with an expiry renewed by
 *   each heartbeat) and the set `se:nodes`;
 * - the room directory: `se:room:<roomId>` -> the owning node, claimed
 *   atomically (a Lua script), renewed by the owner's heartbeat and released
 *   when the room closes; a node that stops renewing loses its rooms after
 *   `nodeTtlMs`;
 * - the bus: one pub/sub channel per node, `se:bus:<id>`, carrying relayed
 *   signaling between the node that holds a socket and the room's owner.
 *
 * Redis down: directory requests fail at once with CLUSTER_UNAVAILABLE
 * (no queueing), rooms and calls already placed go on, and everything is
 * registered again when Redis is back.
 */
export class ClusterNode extends EventEmitter<ClusterEvents> {
	readonly nodeId: string;
	readonly #config: ClusterConfig;
	readonly #logger: Logger;
	readonly #cmd: Redis;
	readonly #sub: Redis;
	readonly #startedAt = Date.now();
	/** Rooms this node claimed and holds: renewed each heartbeat while `holds(roomId)` says so. */
	readonly #owned = new Set<string>();
	/** Other nodes this one has relayed connections with: their lapse is worth an event. */
	readonly #watched = new Set<string>();
	#holds: (roomId: string) => boolean = () => true;
	#load: () => NodeEntry['load'] = () => ({ connections: 0, rooms: 0 });
	#timer: ReturnType<typeof setInterval> | undefined;
	#beating = false;
	/** Draining: no new room, no heartbeat. */
	#leaving = false;
	#closed = false;

	private constructor(config: ClusterConfig & { redisUrl: string }, logger: Logger) {
		super();
		this.#config = config;
		this.nodeId = config.nodeId ?? randomBytes(4).toString('hex');
		this.#logger = logger.child({ module: 'ClusterNode', nodeId: this.nodeId });
		const options = {
			// Fail fast while Redis is away: a join gets CLUSTER_UNAVAILABLE instead of hanging.
			enableOfflineQueue: false,
			maxRetriesPerRequest: 1,
			retryStrategy: (times: number) => Math.min(100 * times, 1000),
			lazyConnect: true,
		};
		this.#cmd = new Redis(config.redisUrl, options);
		// The subscriber re-subscribes by itself after a reconnect (ioredis autoResubscribe).
		this.#sub = new Redis(config.redisUrl, { ...options, enableOfflineQueue: true, maxRetriesPerRequest: null });
		for (const [name, client] of [
			['commands', this.#cmd],
			['subscriber', this.#sub],
		] as const) {
			client.on('error', (error: Error) => this.#logger.debug({ err: error, client: name }, 'redis error'));
			client.on('end', () => this.#closed || this.#logger.warn({ client: name }, 'redis connection ended'));
			client.on('ready', () => this.#logger.info({ client: name }, 'redis ready'));
		}
		this.#sub.on('message', (_channel: string, message: string) => this.#onBusMessage(message));
	}

	/** Connects to Redis, subscribes to this node's channel and registers the node. */
	static async start(config: ClusterConfig & { redisUrl: string }, logger: Logger): Promise<ClusterNode> {
		const node = new ClusterNode(config, logger);
		try {
			await Promise.all([node.#cmd.connect(), node.#sub.connect()]);
			await node.#sub.subscribe(channelOf(node.nodeId));
			await node.#heartbeat();
		} catch (error) {
			await node.close();
			throw error;
		}
		node.#timer = setInterval(() => void node.#heartbeat(), config.heartbeatIntervalMs);
		node.#timer.unref();
		node.#logger.info({ redis: redactUrl(config.redisUrl) }, 'cluster node registered');
		return node;
	}

	/**
	 * What the node reports and renews: `holds(roomId)` (the room still
	 * exists here) and its load. Rooms it no longer holds are released at the
	 * next heartbeat.
	 */
	attach(options: { holds: (roomId: string) => boolean; load: () => NodeEntry['load'] }): void {
		this.#holds = options.holds;
		this.#load = options.load;
	}

	/** The room's owner: this node if it was free (it claims it now), else the node that holds it. */
	async claim(roomId: string): Promise<string> {
		if (this.#leaving) throw new SignalingError(ErrorCode.ClusterUnavailable, `node ${this.nodeId} is stopping; join again through another node`);
		const owner = (await this.#directory(() => this.#cmd.eval(CLAIM, 1, roomKey(roomId), this.nodeId, this.#config.nodeTtlMs))) as string;
		if (owner === this.nodeId) this.#owned.add(roomId);
		return owner;
	}

	/** Lets go of a room this node owned (it closed here). */
	async release(roomId: string): Promise<void> {
		if (!this.#owned.delete(roomId)) return;
		await this.#cmd.eval(RELEASE, 1, roomKey(roomId), this.nodeId).catch((error: unknown) => {
			// Redis is away: the claim lapses by itself after nodeTtlMs.
			this.#logger.debug({ err: error, roomId }, 'room release failed');
		});
	}

	/** Whether `nodeId` has a live registry entry. */
	async isAlive(nodeId: string): Promise<boolean> {
		if (nodeId === this.nodeId) return true;
		return (await this.#directory(() => this.#cmd.exists(nodeKey(nodeId)))) === 1;
	}

	/**
	 * Sends `type`, `connId` and `body` to `nodeId`'s channel. Messages from
	 * one node arrive in the order sent. False when Redis is away.
	 */
	async send(nodeId: string, type: string, connId: string, body: string): Promise<boolean> {
		this.#watched.add(nodeId);
		try {
			await this.#cmd.publish(channelOf(nodeId), `${type}${connId} ${body}`);
			return true;
		} catch (error) {
			this.#logger.debug({ err: error, to: nodeId }, 'bus message not sent');
			return false;
		}
	}

	/** The node a relayed connection id was made on (ids are `<nodeId>-<n>`). */
	static nodeOfConnection(connId: string): string {
		return connId.slice(0, connId.lastIndexOf('-'));
	}

	/**
	 * Drains: takes no more rooms, leaves the registry and releases this
	 * node's rooms, so the next join of each is claimed by another node. The
	 * bus stays up (to close what is relayed) until close(). Idempotent.
	 */
	async leave(): Promise<void> {
		if (this.#leaving) return;
		this.#leaving = true;
		clearInterval(this.#timer);
		try {
			if (this.#cmd.status === 'ready') {
				const pipeline = this.#cmd.pipeline().del(nodeKey(this.nodeId)).srem(NODES, this.nodeId);
				for (const roomId of this.#owned) pipeline.eval(RELEASE, 1, roomKey(roomId), this.nodeId);
				await pipeline.exec();
			}
		} catch (error) {
			this.#logger.warn({ err: error }, 'could not leave the registry cleanly; it lapses by itself');
		}
		this.#owned.clear();
	}

	/** Leaves (if it has not) and disconnects from Redis. Idempotent. */
	async close(): Promise<void> {
		if (this.#closed) return;
		await this.leave();
		this.#closed = true;
		this.removeAllListeners();
		this.#cmd.disconnect();
		this.#sub.disconnect();
	}

	#onBusMessage(message: string): void {
		const space = message.indexOf(' ');
		if (space < 2) return;
		this.emit('message', message[0] as string, message.slice(1, space), message.slice(space + 1));
	}

	/** Renews this node's entry and its rooms; notices nodes it relays with that lapsed. */
	async #heartbeat(): Promise<void> {
		if (this.#beating || this.#leaving) return;
		this.#beating = true;
		try {
			const entry: NodeEntry = { nodeId: this.nodeId, advertiseUrl: this.#config.advertiseUrl ?? null, startedAt: this.#startedAt, load: this.#load() };
			const pipeline = this.#cmd.pipeline().set(nodeKey(this.nodeId), JSON.stringify(entry), 'PX', this.#config.nodeTtlMs).sadd(NODES, this.nodeId);
			const rooms = [...this.#owned];
			const gone = rooms.filter((roomId) => !this.#holds(roomId));
			const kept = rooms.filter((roomId) => this.#holds(roomId));
			for (const roomId of kept) pipeline.eval(RENEW, 1, roomKey(roomId), this.nodeId, this.#config.nodeTtlMs);
			for (const roomId of gone) pipeline.eval(RELEASE, 1, roomKey(roomId), this.nodeId);
			const watched = [...this.#watched];
			for (const nodeId of watched) pipeline.exists(nodeKey(nodeId));
			const results = (await pipeline.exec()) ?? [];
			for (const roomId of gone) this.#owned.delete(roomId);
			kept.forEach((roomId, i) => {
				const owner = results[2 + i]?.[1];
				if (typeof owner === 'string' && owner !== this.nodeId) {
					// Another node claimed it while Redis had lost ours (a restart): it is theirs now.
					this.#logger.error({ roomId, owner }, 'room claimed by another node while Redis was away');
					this.#owned.delete(roomId);
				}
			});
			watched.forEach((nodeId, i) => {
				if (results[2 + kept.length + gone.length + i]?.[1] === 0) {
					this.#watched.delete(nodeId);
					void this.#cmd.srem(NODES, nodeId).catch(() => undefined);
					this.emit('nodegone', nodeId);
				}
			});
		} catch (error) {
			this.#logger.warn({ err: error }, 'cluster heartbeat failed (Redis away?)');
		} finally {
			this.#beating = false;
		}
	}

	/** A directory request; Redis being away is CLUSTER_UNAVAILABLE. */
	async #directory<T>(request: () => Promise<T>): Promise<T> {
		try {
			return await request();
		} catch (error) {
			throw new SignalingError(ErrorCode.ClusterUnavailable, `the room directory is out of reach (${(error as Error).message}); try again shortly`);
		}
	}
}

function redactUrl(url: string): string {
	return url.replace(/\/\/[^@/]*@/, '//***@');
}

import { createServer, type Server as NodeHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ServerConfig } from '../core/config/index.js';
import { CloseCode, type Role } from '../core/protocol/index.js';
import { AccessTokens } from './auth/AccessTokens.js';
import { ClusterNode } from './cluster/ClusterNode.js';
import { EdgeMedia } from './cluster/EdgeMedia.js';
import { OriginPipes } from './cluster/OriginPipes.js';
import { Relay } from './cluster/Relay.js';
import { ApiKey } from './http/ApiKey.js';
import { createHttpApp, guardRoute, serveMetrics } from './http/HttpApp.js';
import { HttpError } from './http/httpUtil.js';
import { parseTarget } from './http/requestTarget.js';
import { RoomApi } from './http/RoomApi.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics/Metrics.js';
import { SfuRooms } from './sfu/SfuRooms.js';
import { SfuStats } from './sfu/SfuStats.js';
import { resolveListenIps, resolvePipeListenIp, type ListenIp } from './sfu/listenIps.js';
import { WorkerPool } from './sfu/WorkerPool.js';
import { RoomRegistry } from './signaling/RoomRegistry.js';
import { SignalingServer } from './signaling/SignalingServer.js';
import { SignalingService } from './signaling/SignalingService.js';
import { Audience } from './signaling/Audience.js';
import { RoomTopology } from './topology/RoomTopology.js';
import { TurnCredentials } from './turn/TurnCredentials.js';

export interface ServerOptions {
	/** Folder holding the built call app; defaults to dist/web next to dist/server. */
	webRoot?: string;
}

/**
 * The whole server process: HTTP (health, metrics, room API, call app),
 * signaling on /ws and the mediasoup worker pool. `close()` ends them in
 * order of dependency: sockets and rooms first, then workers.
 */
export class Server {
	readonly config: ServerConfig;
	readonly workers: WorkerPool;
	/** Where the WebRTC transports listen: `mediasoup.listenIp` resolved at start (`auto`: loopback and the machine's IPv4 addresses). */
	readonly listenIps: readonly ListenIp[];
	readonly rooms: RoomRegistry;
	readonly sfuRooms: SfuRooms;
	readonly tokens: AccessTokens;
	readonly metrics: Metrics;
	readonly sfuStats: SfuStats;
	readonly signaling: SignalingServer;
	/** This node in the Redis registry, when several share rooms (`cluster.redisUrl`). */
	readonly cluster: ClusterNode | undefined;
	readonly #relay: Relay | undefined;
	/** Several nodes: this node's broadcast viewers of rooms held elsewhere consume here... */
	readonly edgeMedia: EdgeMedia | undefined;
	/** ...and the stages of rooms held here are piped to the nodes whose viewers ask. */
	readonly originPipes: OriginPipes | undefined;
	readonly #http: NodeHttpServer;
	/** /metrics on a port of its own (`metrics.port`), if configured. */
	readonly #metricsHttp: NodeHttpServer | undefined;
	readonly #logger: Logger;
	readonly #startedAt = Date.now();
	#closing: Promise<void> | undefined;

	private constructor(config: ServerConfig, logger: Logger, workers: WorkerPool, cluster: ClusterNode | undefined, listenIps: readonly ListenIp[], options: ServerOptions) {
		this.config = config;
		this.listenIps = listenIps;
		this.cluster = cluster;
		this.#relay = cluster ? new Relay(cluster, logger) : undefined;
		this.#logger = logger;
		this.workers = workers;
		this.tokens = new AccessTokens(config.auth.tokenSecret, config.auth.maxTokenAgeSeconds);
		const apiKey = config.auth.apiKey === undefined ? undefined : new ApiKey(config.auth.apiKey);
		this.sfuRooms = new SfuRooms({
			pool: workers,
			sfu: config.sfu,
			listenIps,
			logger,
			onTransportState: (layer, state) => this.metrics.sfuTransportStates.inc({ layer, state }),
		});
		this.metrics = new Metrics({
			rooms: () => this.rooms.size,
			roomsByTopology: () => {
				const counts = { mesh: 0, escalating: 0, sfu: 0, deescalating: 0 };
				for (const room of this.rooms.rooms) counts[room.topology.state]++;
				return counts;
			},
			peers: () => this.rooms.peerCount,
			connections: () => this.signaling.connectionCount,
		});
		const { meshMaxPeers, meshMinPeers, deescalateCooldownMs } = config.topology;
		this.rooms = new RoomRegistry({
			defaultSettings: { kind: 'meeting', maxPeers: config.rooms.maxPeers, requireToken: config.auth.requireTokens, meshMaxPeers, meshMinPeers, deescalateCooldownMs },
			parts: (room) => ({
				topology: new RoomTopology({
					settings: room.settings,
					config: config.topology,
					metrics: this.metrics,
					logger: logger.child({ roomId: room.id }),
					effects: {
						broadcast: (method, data) => service.broadcast(room, method, data),
						prepareSfu: () => {
							service.sfuRoomOf(room).prepare().catch((error: unknown) => logger.warn({ err: error, roomId: room.id }, 'no router for the migration yet'));
						},
						closeSfu: () => this.sfuRooms.close(room.id),
					},
				}),
				audience: new Audience(config.broadcast, () => room.audienceSize, (batch) => service.sendAudienceBatch(room, batch)),
			}),
			onRoomClosed: (roomId) => {
				this.sfuRooms.close(roomId);
				void this.cluster?.release(roomId);
			},
			maxRooms: config.limits.maxRooms,
		});
		this.sfuStats = new SfuStats(workers, this.metrics.registry);
		const service = new SignalingService({
			registry: this.rooms,
			tokens: this.tokens,
			sfu: this.sfuRooms,
			turn: new TurnCredentials(config.turn),
			iceTransportPolicy: config.turn.iceTransportPolicy,
			config: config.signaling,
			broadcast: config.broadcast,
			repair: config.repair,
			limits: config.limits,
			requireTokens: config.auth.requireTokens,
			metrics: this.metrics,
			logger: logger.child({ module: 'SignalingService' }),
			...(cluster ? { nodeId: cluster.nodeId } : {}),
		});
		this.#http = createServer(
			{
				// Slow clients cannot hold a connection open by dribbling headers or a body.
				headersTimeout: 10_000,
				requestTimeout: 30_000,
				maxHeaderSize: 16 * 1024,
			},
			createHttpApp({
				webRoot: options.webRoot ?? fileURLToPath(new URL('../web/', import.meta.url)),
				health: () => ({
					uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
					workers: this.workers.workers.length,
					rooms: this.rooms.size,
					connections: this.signaling.connectionCount,
				}),
				metrics: this.metrics,
				metricsHere: config.metrics.port === undefined,
				apiKey,
				plainLinkRole: (roomId) => this.#plainLinkRole(roomId),
				roomApi: new RoomApi({
					registry: this.rooms,
					deleteRoom: (roomId) => this.signaling.deleteRoom(roomId),
					claimRoom: (room, settings) => service.claim(room, settings),
					apiKey,
					tokensEnabled: this.tokens.enabled,
					broadcastMaxPeers: config.rooms.broadcastMaxPeers,
					...(cluster ? { directory: cluster } : {}),
					sfuRouters: (roomId) =>
						(this.sfuRooms.get(roomId)?.routers ?? []).map((r) => ({
							routerId: r.id,
							workerPid: (r.appData as { workerPid: number }).workerPid,
						})),
					sfuConsumers: (roomId, peerId) => this.sfuRooms.get(roomId)?.consumersOf(peerId) ?? [],
				}),
				logger,
			}),
		);
		// CONNECT (a proxy tunnel) is not ours to serve; without a listener Node would just drop the socket.
		this.#http.on('connect', (_req, socket: Duplex) => {
			socket.on('error', () => undefined);
			socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
		});
		if (cluster) {
			this.edgeMedia = new EdgeMedia(cluster, {
				pool: workers,
				sfu: config.sfu,
				mediasoup: config.mediasoup,
				listenIps,
				cluster: config.cluster,
				broadcast: config.broadcast,
				resumeGraceMs: config.signaling.resumeGraceMs,
				logger,
			});
			this.originPipes = new OriginPipes({
				cluster,
				mediasoup: config.mediasoup,
				clusterConfig: config.cluster,
				logger,
				sfuFor: async (roomId) => {
					const room = this.rooms.get(roomId);
					return room && room.kind === 'broadcast' ? service.sfuRoomOf(room) : undefined;
				},
			});
		}
		this.signaling = new SignalingServer({
			httpServer: this.#http,
			registry: this.rooms,
			service,
			metrics: this.metrics,
			config: config.signaling,
			limits: config.limits,
			http: config.http,
			logger,
			...(this.#relay ? { relay: this.#relay } : {}),
			...(this.edgeMedia ? { edge: this.edgeMedia } : {}),
		});
		cluster?.attach({
			holds: (roomId) => this.rooms.get(roomId) !== undefined,
			load: () => ({ connections: this.signaling.connectionCount, rooms: this.rooms.size }),
		});
		this.#metricsHttp =
			config.metrics.port === undefined
				? undefined
				: createServer(
						guardRoute(
							async (req, res) => {
								if (parseTarget(req.url)?.path !== '/metrics') throw new HttpError(404, 'NOT_FOUND', 'only /metrics here');
								await serveMetrics(req, res, this.metrics, undefined);
							},
							{ logger, metrics: this.metrics },
						),
					);
		this.#metricsHttp?.on('upgrade', (_req, socket) => socket.destroy());
	}

	static async start(config: ServerConfig, logger: Logger, options: ServerOptions = {}): Promise<Server> {
		const { redisUrl } = config.cluster;
		const cluster = redisUrl ? await ClusterNode.start({ ...config.cluster, redisUrl }, logger) : undefined;
		let workers: WorkerPool;
		try {
			workers = await WorkerPool.create(config.mediasoup, logger);
		} catch (error) {
			await cluster?.close();
			throw error;
		}
		const listenIps = resolveListenIps(config.mediasoup, networkInterfaces());
		const named = (l: ListenIp) => (l.announcedIp ? `${l.ip} (announced as ${l.announcedIp})` : l.ip);
		logger.info(
			{ listenIp: config.mediasoup.listenIp, listenIps, ...(cluster ? { pipeListenIp: resolvePipeListenIp(config.cluster, config.mediasoup) } : {}) },
			`mediasoup WebRTC transports listen on ${listenIps.map(named).join(', ')}`,
		);
		const server = new Server(config, logger, workers, cluster, listenIps, options);
		try {
			await listen(server.#http, config.port, config.host);
			if (server.#metricsHttp && config.metrics.port !== undefined) await listen(server.#metricsHttp, config.metrics.port, config.metrics.host);
		} catch (error) {
			await server.close();
			throw error;
		}
		logger.info({ port: server.port, host: config.host, workers: workers.workers.length, metricsPort: server.metricsPort, nodeId: cluster?.nodeId }, 'listening');
		return server;
	}

	get port(): number {
		return (this.#http.address() as AddressInfo).port;
	}

	/** The separate /metrics port, when `metrics.port` is set. */
	get metricsPort(): number | undefined {
		const address = this.#metricsHttp?.address();
		return address && typeof address === 'object' ? address.port : undefined;
	}

	/** Stops accepting, closes every socket and room, ends the workers. Idempotent. */
	/**
	 * The role a plain link (no role asked, no token) joins `roomId` in, when
	 * this node knows: its room here (a meeting's participant, a broadcast's
	 * viewer), or, on a single node, the meeting a join would make. Unknown
	 * when tokens are required, the room asks for one, or it may live on
	 * another node.
	 */
	#plainLinkRole(roomId: string): Role | undefined {
		if (this.config.auth.requireTokens) return undefined;
		const room = this.rooms.get(roomId);
		if (room) return room.settings.requireToken ? undefined : room.kind === 'broadcast' ? 'viewer' : 'participant';
		return this.cluster ? undefined : 'participant';
	}

	close(): Promise<void> {
		this.#closing ??= (async () => {
			// Several nodes: drain first. Its rooms are released (their next join is claimed elsewhere), then every
			// socket is told to reconnect (1012), through another node.
			await this.cluster?.leave();
			this.signaling.close(this.cluster ? CloseCode.ServiceRestart : CloseCode.GoingAway);
			this.#relay?.close();
			this.edgeMedia?.close();
			this.originPipes?.close();
			await this.cluster?.close();
			for (const http of [this.#http, this.#metricsHttp]) {
				if (!http?.listening) continue;
				await new Promise<void>((resolve) => {
					http.close(() => resolve());
					http.closeAllConnections();
				});
			}
			await this.workers.closeAndWait();
			this.#logger.info('closed');
		})();
		return this.#closing;
	}
}

function listen(http: NodeHttpServer, port: number, host: string): Promise<void> {
	return new Promise<void>((resolve, reject) => {
		http.once('error', reject);
		http.listen(port, host, () => {
			http.off('error', reject);
			resolve();
		});
	});
}

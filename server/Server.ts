import { createServer, type Server as NodeHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ServerConfig } from '../core/config/index.js';
import { AccessTokens } from './auth/AccessTokens.js';
import { createHttpApp } from './http/HttpApp.js';
import { RoomApi } from './http/RoomApi.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics/Metrics.js';
import { SfuRooms } from './sfu/SfuRooms.js';
import { SfuStats } from './sfu/SfuStats.js';
import { WorkerPool } from './sfu/WorkerPool.js';
import { RoomRegistry } from './signaling/RoomRegistry.js';
import { SignalingServer } from './signaling/SignalingServer.js';
import { SignalingService } from './signaling/SignalingService.js';
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
	readonly rooms: RoomRegistry;
	readonly sfuRooms: SfuRooms;
	readonly tokens: AccessTokens;
	readonly metrics: Metrics;
	readonly sfuStats: SfuStats;
	readonly signaling: SignalingServer;
	readonly #http: NodeHttpServer;
	readonly #logger: Logger;
	readonly #startedAt = Date.now();
	#closing: Promise<void> | undefined;

	private constructor(config: ServerConfig, logger: Logger, workers: WorkerPool, options: ServerOptions) {
		this.config = config;
		this.#logger = logger;
		this.workers = workers;
		this.tokens = new AccessTokens(config.auth.tokenSecret);
		this.sfuRooms = new SfuRooms({ pool: workers, sfu: config.sfu, mediasoup: config.mediasoup, logger });
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
			defaultSettings: { maxPeers: config.rooms.maxPeers, requireToken: config.auth.requireTokens, meshMaxPeers, meshMinPeers, deescalateCooldownMs },
			topology: (room) =>
				new RoomTopology({
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
			onRoomClosed: (roomId) => this.sfuRooms.close(roomId),
		});
		this.sfuStats = new SfuStats(workers, this.metrics.registry);
		const service = new SignalingService({
			registry: this.rooms,
			tokens: this.tokens,
			sfu: this.sfuRooms,
			turn: new TurnCredentials(config.turn),
			iceTransportPolicy: config.turn.iceTransportPolicy,
			config: config.signaling,
			requireTokens: config.auth.requireTokens,
			logger: logger.child({ module: 'SignalingService' }),
		});
		this.#http = createServer(
			createHttpApp({
				webRoot: options.webRoot ?? fileURLToPath(new URL('../web/', import.meta.url)),
				health: () => ({
					uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
					workers: this.workers.workers.length,
					rooms: this.rooms.size,
					connections: this.signaling.connectionCount,
				}),
				metrics: this.metrics,
				roomApi: new RoomApi({
					registry: this.rooms,
					deleteRoom: (roomId) => this.signaling.deleteRoom(roomId),
					apiKey: config.auth.apiKey,
					tokensEnabled: this.tokens.enabled,
					sfuRouters: (roomId) =>
						(this.sfuRooms.get(roomId)?.routers ?? []).map((r) => ({
							routerId: r.id,
							workerPid: (r.appData as { workerPid: number }).workerPid,
						})),
				}),
				logger,
			}),
		);
		this.signaling = new SignalingServer({
			httpServer: this.#http,
			registry: this.rooms,
			service,
			metrics: this.metrics,
			config: config.signaling,
			logger,
		});
	}

	static async start(config: ServerConfig, logger: Logger, options: ServerOptions = {}): Promise<Server> {
		const workers = await WorkerPool.create(config.mediasoup, logger);
		const server = new Server(config, logger, workers, options);
		try {
			await new Promise<void>((resolve, reject) => {
				server.#http.once('error', reject);
				server.#http.listen(config.port, config.host, () => {
					server.#http.off('error', reject);
					resolve();
				});
			});
		} catch (error) {
			await server.close();
			throw error;
		}
		logger.info({ port: server.port, host: config.host, workers: workers.workers.length }, 'listening');
		return server;
	}

	get port(): number {
		return (this.#http.address() as AddressInfo).port;
	}

	/** Stops accepting, closes every socket and room, ends the workers. Idempotent. */
	close(): Promise<void> {
		this.#closing ??= (async () => {
			this.signaling.close();
			await new Promise<void>((resolve) => {
				this.#http.close(() => resolve());
				this.#http.closeAllConnections();
			});
			await this.workers.closeAndWait();
			this.#logger.info('closed');
		})();
		return this.#closing;
	}
}

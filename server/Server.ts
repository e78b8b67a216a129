import { createServer, type Server as NodeHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ServerConfig } from '../core/config/index.js';
import { createHttpApp } from './http/HttpApp.js';
import type { Logger } from './logger.js';
import { WorkerPool } from './sfu/WorkerPool.js';
import { SignalingServer } from './signaling/SignalingServer.js';

export interface ServerOptions {
	/** Folder holding the built call app; defaults to dist/web next to dist/server. */
	webRoot?: string;
}

/**
 * The whole server process: HTTP (health, call app), signaling on /ws and the
 * mediasoup worker pool. `close()` ends all three, in that order of
 * dependency: sockets first, then workers.
 */
export class Server {
	readonly config: ServerConfig;
	readonly workers: WorkerPool;
	readonly signaling: SignalingServer;
	readonly #http: NodeHttpServer;
	readonly #logger: Logger;
	readonly #startedAt = Date.now();
	#closing: Promise<void> | undefined;

	private constructor(config: ServerConfig, logger: Logger, workers: WorkerPool, options: ServerOptions) {
		this.config = config;
		this.#logger = logger;
		this.workers = workers;
		const webRoot = options.webRoot ?? fileURLToPath(new URL('../web/', import.meta.url));
		this.#http = createServer(
			createHttpApp({
				webRoot,
				health: () => ({
					uptimeSeconds: Math.round((Date.now() - this.#startedAt) / 1000),
					workers: this.workers.workers.length,
					rooms: this.signaling.rooms.size,
					connections: this.signaling.connectionCount,
				}),
			}),
		);
		this.signaling = new SignalingServer(this.#http, logger);
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
			workers.close();
			throw error;
		}
		logger.info({ port: server.port, host: config.host, workers: workers.workers.length }, 'listening');
		return server;
	}

	get port(): number {
		return (this.#http.address() as AddressInfo).port;
	}

	/** Stops accepting, closes every socket, ends the workers. Idempotent. */
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

import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { MAX_MESSAGE_BYTES } from '../../core/protocol/index.js';
import type { Logger } from '../logger.js';
import { CloseCode, Connection } from './Connection.js';
import { RoomRegistry } from './RoomRegistry.js';

export const SIGNALING_PATH = '/ws';

/** Accepts WebSocket upgrades on /ws and gives each socket a Connection. */
export class SignalingServer {
	readonly rooms = new RoomRegistry();
	readonly #wss: WebSocketServer;
	readonly #connections = new Set<Connection>();
	readonly #logger: Logger;
	#closed = false;

	constructor(httpServer: HttpServer, logger: Logger) {
		this.#logger = logger.child({ module: 'SignalingServer' });
		this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
		httpServer.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
	}

	get connectionCount(): number {
		return this.#connections.size;
	}

	/** Closes every connection (peers leave their rooms). Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const connection of this.#connections) connection.close(CloseCode.GoingAway, 'server shutting down');
		this.#connections.clear();
		this.#wss.close();
	}

	#onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
		const path = new URL(req.url ?? '/', 'http://localhost').pathname;
		if (this.#closed || path !== SIGNALING_PATH) {
			socket.write('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
			socket.destroy();
			return;
		}
		this.#wss.handleUpgrade(req, socket, head, (ws) => {
			const connection = new Connection(ws, this.rooms, this.#logger);
			this.#connections.add(connection);
			ws.once('close', () => this.#connections.delete(connection));
		});
	}
}

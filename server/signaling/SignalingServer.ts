import { STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { HttpConfig, LimitsConfig, SignalingConfig } from '../../core/config/index.js';
import { CloseCode, MAX_MESSAGE_BYTES } from '../../core/protocol/index.js';
import { clientAddress, parseTarget } from '../http/requestTarget.js';
import { SECURITY_HEADERS } from '../http/securityHeaders.js';
import type { EdgeMedia } from '../cluster/EdgeMedia.js';
import type { Relay } from '../cluster/Relay.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/Metrics.js';
import { Connection, type SignalingSocket } from './Connection.js';
import type { RoomRegistry } from './RoomRegistry.js';
import type { SignalingService } from './SignalingService.js';

export const SIGNALING_PATH = '/ws';

/**
 * The heartbeat visits each socket once per interval, but in slices spread
 * over it, one every HEARTBEAT_TICK_MS (at least 20 slices, at most 1000):
 * pinging thousands of sockets in one tick stalls the event loop (measured:
 * p99 request latency 6 ms -> 76 ms at 5,000 sockets in one tick; with 20
 * slices of a 5 s interval, 20,000 sockets still stalled it 40 ms every
 * 250 ms).
 */
const HEARTBEAT_TICK_MS = 20;

function heartbeatSlices(intervalMs: number): number {
	return Math.min(1000, Math.max(20, Math.round(intervalMs / HEARTBEAT_TICK_MS)));
}

/** An upgrade refused before the WebSocket handshake: status, code and why. */
class UpgradeRefusal {
	constructor(
		readonly status: number,
		readonly code: string,
		readonly message: string,
	) {}
}

/**
 * Accepts WebSocket upgrades on /ws, gives each socket a Connection, and
 * runs one heartbeat timer for all of them. An upgrade is refused with an
 * HTTP answer (never an exception) when its target is malformed (400), not
 * /ws (404), its Origin is not allowed (403), or the server (503) or its
 * source address (429) holds as many sockets as it may.
 */
export class SignalingServer {
	readonly #wss: WebSocketServer;
	readonly #connections = new Set<Connection>();
	/** Each connection's heartbeat slice; a slice's turn comes once per interval. */
	readonly #slices: Array<Set<Connection>>;
	#nextSlice = 0;
	#tick = 0;
	readonly #registry: RoomRegistry;
	readonly #service: SignalingService;
	readonly #metrics: Metrics;
	readonly #config: SignalingConfig;
	readonly #limits: LimitsConfig;
	readonly #http: HttpConfig;
	readonly #logger: Logger;
	readonly #relay: Relay | undefined;
	readonly #edge: EdgeMedia | undefined;
	/** Sockets per source address, counted from the upgrade until the TCP socket closes. */
	readonly #perAddress = new Map<string, number>();
	/** Upgrades accepted whose socket has not closed yet (handshakes included). */
	#sockets = 0;
	readonly #heartbeat: ReturnType<typeof setInterval>;
	#closed = false;

	constructor(options: {
		httpServer: HttpServer;
		registry: RoomRegistry;
		service: SignalingService;
		metrics: Metrics;
		config: SignalingConfig;
		limits: LimitsConfig;
		http: HttpConfig;
		logger: Logger;
		/** Several nodes: joins for rooms on other nodes are relayed there, and theirs here. */
		relay?: Relay;
		/** Several nodes: broadcast viewers relayed from here consume here. */
		edge?: EdgeMedia;
	}) {
		this.#registry = options.registry;
		this.#relay = options.relay;
		this.#edge = options.edge;
		this.#relay?.onAdopt((socket) => this.#adopt(socket));
		this.#limits = options.limits;
		this.#http = options.http;
		this.#service = options.service;
		this.#metrics = options.metrics;
		this.#config = options.config;
		this.#logger = options.logger.child({ module: 'SignalingServer' });
		this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
		options.httpServer.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head));
		const slices = heartbeatSlices(this.#config.heartbeatIntervalMs);
		this.#slices = Array.from({ length: slices }, () => new Set<Connection>());
		this.#heartbeat = setInterval(() => {
			const slice = this.#slices[this.#tick++ % slices] as Set<Connection>;
			for (const connection of slice) connection.heartbeat();
		}, this.#config.heartbeatIntervalMs / slices);
		this.#heartbeat.unref();
	}

	get connectionCount(): number {
		return this.#connections.size;
	}

	/** Deletes a room: its peers' sockets close with 4004. False if no such room. */
	deleteRoom(roomId: string): boolean {
		const room = this.#registry.get(roomId);
		if (!room) return false;
		for (const peer of [...room.peers]) peer.close(CloseCode.RoomDeleted, 'room deleted');
		this.#registry.delete(roomId);
		return true;
	}

	/**
	 * Closes every connection and ends every room. Idempotent. `code` is what
	 * clients read: 1001 (going away), or 1012 when another node can take
	 * them (several nodes: reconnect, through another node).
	 */
	close(code: number = CloseCode.GoingAway): void {
		if (this.#closed) return;
		this.#closed = true;
		clearInterval(this.#heartbeat);
		for (const connection of this.#connections) connection.close(code, 'server shutting down');
		this.#connections.clear();
		for (const slice of this.#slices) slice.clear();
		this.#registry.close();
		this.#wss.close();
	}

	#onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
		// A reset during the handshake must not become an unhandled 'error' event.
		socket.on('error', (error) => this.#logger.debug({ err: error }, 'upgrade socket error'));
		try {
			const refusal = this.#check(req);
			if (refusal) {
				this.#metrics.upgradesRefused.inc({ code: refusal.code });
				refuse(socket, refusal);
				return;
			}
			this.#accept(req, socket, head);
		} catch (error) {
			// Last resort: a bug here must cost one socket, never the process.
			this.#metrics.internalErrors.inc({ where: 'upgrade' });
			this.#logger.error({ err: error }, 'upgrade failed');
			refuse(socket, new UpgradeRefusal(500, 'INTERNAL', 'internal error'));
		}
	}

	#check(req: IncomingMessage): UpgradeRefusal | undefined {
		const target = parseTarget(req.url);
		if (!target) return new UpgradeRefusal(400, 'BAD_REQUEST', 'malformed request target');
		if (target.path !== SIGNALING_PATH) return new UpgradeRefusal(404, 'NOT_FOUND', `signaling is at ${SIGNALING_PATH}`);
		if (this.#closed) return new UpgradeRefusal(503, 'SHUTTING_DOWN', 'the server is shutting down');
		const origin = req.headers.origin;
		if (origin !== undefined && this.#http.allowedOrigins.length > 0 && !this.#http.allowedOrigins.includes(origin)) {
			return new UpgradeRefusal(403, 'ORIGIN_NOT_ALLOWED', `origin ${origin.slice(0, 100)} may not open a signaling socket`);
		}
		if (this.#sockets >= this.#limits.maxConnections) {
			return new UpgradeRefusal(503, 'TOO_MANY_CONNECTIONS', `the server holds ${this.#limits.maxConnections} sockets, its limit`);
		}
		const address = clientAddress(req, this.#http.trustProxy);
		if ((this.#perAddress.get(address) ?? 0) >= this.#limits.maxConnectionsPerAddress) {
			return new UpgradeRefusal(429, 'TOO_MANY_CONNECTIONS', `${this.#limits.maxConnectionsPerAddress} sockets from one address at most`);
		}
		return undefined;
	}

	#accept(req: IncomingMessage, socket: Duplex, head: Buffer): void {
		const address = clientAddress(req, this.#http.trustProxy);
		this.#sockets++;
		this.#perAddress.set(address, (this.#perAddress.get(address) ?? 0) + 1);
		// Counted until the TCP socket closes, whether or not the handshake succeeds.
		socket.once('close', () => {
			this.#sockets--;
			const left = (this.#perAddress.get(address) ?? 1) - 1;
			if (left <= 0) this.#perAddress.delete(address);
			else this.#perAddress.set(address, left);
		});
		this.#wss.handleUpgrade(req, socket, head, (ws) => this.#adopt(ws));
	}

	/**
	 * Gives a socket its Connection: one accepted here, or a connection
	 * another node relays to this one (its room is here; that node counted
	 * it against its limits and keeps its heartbeat).
	 */
	#adopt(socket: SignalingSocket & { once(event: 'close', listener: () => void): unknown }): void {
		if (this.#closed) {
			socket.close(CloseCode.GoingAway, 'server shutting down');
			return;
		}
		const connection = new Connection(socket, {
			service: this.#service,
			metrics: this.#metrics,
			logger: this.#logger,
			config: this.#config,
			limits: this.#limits,
			...(this.#relay ? { relay: this.#relay } : {}),
			...(this.#edge ? { edge: this.#edge } : {}),
		});
		const slice = this.#slices[this.#nextSlice++ % this.#slices.length] as Set<Connection>;
		this.#connections.add(connection);
		slice.add(connection);
		socket.once('close', () => {
			this.#connections.delete(connection);
			slice.delete(connection);
		});
	}
}

/** Answers an upgrade request with a JSON error and ends the socket once it is written. */
function refuse(socket: Duplex, refusal: UpgradeRefusal): void {
	if (!socket.writable) {
		socket.destroy();
		return;
	}
	const body = JSON.stringify({ error: refusal.code, message: refusal.message });
	socket.once('finish', () => socket.destroy());
	socket.end(
		`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}\r\n` +
			'Connection: close\r\n' +
			'Content-Type: application/json; charset=utf-8\r\n' +
			SECURITY_HEADERS.map(([name, value]) => `${name}: ${value}\r\n`).join('') +
			`Content-Length: ${Buffer.byteLength(body)}\r\n` +
			'\r\n' +
			body,
	);
}

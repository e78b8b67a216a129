import type { RawData } from 'ws';
import type { LimitsConfig, SignalingConfig } from '../../core/config/index.js';
import {
	CloseCode,
	ErrorCode,
	Method,
	SignalingError,
	can,
	decodeEnvelope,
	encodeError,
	encodeOk,
	parseRequest,
	requiredCapability,
	type TypedRequest,
} from '../../core/protocol/index.js';
import type { EdgeMedia, EdgeViewer } from '../cluster/EdgeMedia.js';
import { ClusterNode } from '../cluster/ClusterNode.js';
import { RelaySocket, type Relay, type RelayLink } from '../cluster/Relay.js';
import type { Logger } from '../logger.js';
import type { Metrics, MethodMetrics } from '../metrics/Metrics.js';
import type { Peer, PeerChannel } from './Peer.js';
import { RateLimiter } from './RateLimiter.js';
import type { SignalingService } from './SignalingService.js';

/** Errors after which the server answers, then closes the socket. */
const fatal: Partial<Record<string, number>> = {
	[ErrorCode.ProtocolMismatch]: CloseCode.ProtocolMismatch,
	[ErrorCode.TokenRequired]: CloseCode.Unauthorized,
	[ErrorCode.TokenInvalid]: CloseCode.Unauthorized,
	[ErrorCode.TokenExpired]: CloseCode.Unauthorized,
	[ErrorCode.TokenWrongRoom]: CloseCode.Unauthorized,
};

/** What a Connection needs of its socket: a `ws` WebSocket, or a relayed connection's RelaySocket. */
export interface SignalingSocket {
	readonly readyState: number;
	readonly bufferedAmount: number;
	readonly OPEN: number;
	readonly CONNECTING: number;
	on(event: 'message', listener: (data: RawData | string, isBinary: boolean) => void): unknown;
	on(event: 'pong', listener: () => void): unknown;
	on(event: 'close', listener: (code: number) => void): unknown;
	on(event: 'error', listener: (error: Error) => void): unknown;
	send(text: string): void;
	close(code?: number, reason?: string): void;
	terminate(): void;
	ping(): void;
}

/** open: not joined; joined: a peer here; relayed: its room is on another node, every frame goes there; closed. */
type ConnectionState = { name: 'open' } | { name: 'joined'; peer: Peer } | { name: 'relayed'; link: RelayLink } | { name: 'closed' };

type Result =
	| {
			data: unknown;
			/** Frames to send right after the response (a resume's held notifications). */
			then?: string[];
	  }
	/** Forwarded to the room's node, which answers. */
	| { relayed: true };

/** A request waiting its turn: handled after every request before it on this connection has been answered. */
interface Pending {
	request: TypedRequest;
	/** Handles it: its outcome, at once or later. */
	handle: () => Result | Promise<Result>;
	/** performance.now() when its frame arrived, and its method's metrics; undefined: not timed (a relayed viewer's request served at the edge). */
	started: number | undefined;
	metrics?: MethodMetrics;
}

/**
 * One participant's socket. Refuses floods (token bucket), decodes and
 * validates every frame, and handles requests one at a time in arrival
 * order, so a description always precedes the candidates sent after it.
 * Each request gets exactly one response.
 */
export class Connection implements PeerChannel {
	readonly #socket: SignalingSocket;
	/** Several nodes: where joins and resumes for rooms elsewhere are relayed. */
	readonly #relay: Relay | undefined;
	/** Several nodes: where a relayed broadcast viewer's receive side is served (here, not on the room's node). */
	readonly #edge: EdgeMedia | undefined;
	/** Relayed, and a viewer of a broadcast: its receive side is this node's. */
	#edgeViewer: EdgeViewer | undefined;
	readonly #service: SignalingService;
	readonly #metrics: Metrics;
	readonly #logger: Logger;
	readonly #limiter: RateLimiter;
	readonly #burst: number;
	/**
	 * Requests that arrived while one is being handled, in arrival order.
	 * Bounded by what the rate limiter lets in while the one ahead of them waits.
	 */
	readonly #backlog: Pending[] = [];
	/** A request is being handled (until it is answered). */
	#busy = false;
	/** Bumped when the connection closes: what a request still running then ends with is dropped, as if never asked. */
	#epoch = 0;
	readonly #limits: LimitsConfig;
	#state: ConnectionState = { name: 'open' };
	/** Closes a socket that has not joined in time (restarted by a leave). */
	#joinDeadline: ReturnType<typeof setTimeout> | undefined;
	#refusedInARow = 0;
	#awaitingPong = false;

	constructor(
		socket: SignalingSocket,
		deps: { service: SignalingService; metrics: Metrics; logger: Logger; config: SignalingConfig; limits: LimitsConfig; relay?: Relay; edge?: EdgeMedia },
	) {
		this.#socket = socket;
		this.#relay = deps.relay;
		this.#edge = deps.edge;
		this.#limits = deps.limits;
		this.#service = deps.service;
		this.#metrics = deps.metrics;
		this.#logger = deps.logger;
		this.#limiter = new RateLimiter(deps.config.rateLimit.messagesPerSecond, deps.config.rateLimit.burst);
		this.#burst = deps.config.rateLimit.burst;
		socket.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
		socket.on('pong', () => {
			this.#awaitingPong = false;
		});
		socket.on('close', (code) => this.#onSocketClose(code));
		socket.on('error', (error) => {
			// ws closes the socket after an error (e.g. 1009 for a frame over maxPayload).
			this.#logger.debug({ err: error }, 'socket error');
		});
		this.#armJoinDeadline();
	}

	get peer(): Peer | undefined {
		return this.#state.name === 'joined' ? this.#state.peer : undefined;
	}

	get open(): boolean {
		return this.#state.name !== 'closed';
	}

	/** The node relaying this connection (its socket is there), or undefined for a socket of this node. */
	get via(): string | undefined {
		return this.#socket instanceof RelaySocket ? ClusterNode.nodeOfConnection(this.#socket.connId) : undefined;
	}

	/**
	 * Called on every heartbeat tick: a socket that did not answer the
	 * previous ping is dropped, so a dead one goes within two intervals.
	 */
	heartbeat(): void {
		if (this.#state.name === 'closed') return;
		if (this.#awaitingPong) {
			this.#metrics.heartbeatDrops.inc();
			this.#logger.info({ peerId: this.peer?.id }, 'heartbeat missed; dropping socket');
			this.#socket.terminate();
			return;
		}
		this.#awaitingPong = true;
		this.#socket.ping();
	}

	/**
	 * Queues a frame. A client that stopped reading (more than
	 * `limits.maxQueuedBytes` already waiting) is cut off instead, and its
	 * peer removed: what was queued for it is lost, so a resume could only
	 * hide a gap. It finds out as a failed resume and joins again.
	 */
	send(text: string): void {
		if (this.#socket.readyState !== this.#socket.OPEN) return;
		const queued = this.#socket.bufferedAmount;
		// UTF-8 takes at most 3 bytes per UTF-16 unit: most frames are let through without counting theirs.
		if (queued + text.length * 3 > this.#limits.maxQueuedBytes && queued + Buffer.byteLength(text) > this.#limits.maxQueuedBytes) {
			const peer = this.peer;
			this.#metrics.closes.inc({ reason: 'slow_reader' });
			this.#logger.warn({ peerId: peer?.id, queued: this.#socket.bufferedAmount }, 'client is not reading; cutting it off');
			this.close(CloseCode.SlowReader, 'SLOW_READER');
			// A close frame would wait behind what it does not read: cut the connection.
			this.#socket.terminate();
			if (peer) this.#service.end(peer, 'stopped reading');
			return;
		}
		this.#socket.send(text);
	}

	/** Closes the socket; the peer (if any) keeps its resume grace unless it left. Idempotent. */
	close(code: number = CloseCode.Normal, reason = ''): void {
		if (this.#state.name === 'closed') return;
		const previous = this.#markClosed();
		if (previous.name === 'joined') this.#service.disconnected(previous.peer, this);
		// Relayed: for the room's node this is a drop (the client keeps its grace and may resume anywhere).
		if (previous.name === 'relayed') {
			previous.link.close(CloseCode.Abnormal);
			this.#edgeViewer?.socketClosed(CloseCode.Abnormal);
		}
		if (this.#socket.readyState === this.#socket.OPEN || this.#socket.readyState === this.#socket.CONNECTING) {
			this.#socket.close(code, reason);
		}
	}

	/**
	 * A client that closes with 1000 (normal) or 1001 (page going away) has
	 * left; any other end (1006 abnormal, a heartbeat drop) is a drop, and the
	 * peer keeps its identity for the resume grace.
	 */
	#onSocketClose(code: number): void {
		if (this.#state.name === 'relayed') {
			// The room's node tells a leave (1000/1001) from a drop, as it would for a socket of its own.
			const { link } = this.#state;
			this.#markClosed();
			link.close(code);
			this.#edgeViewer?.socketClosed(code);
			return;
		}
		if (this.#state.name === 'joined' && (code === CloseCode.Normal || code === CloseCode.GoingAway)) {
			const { peer } = this.#state;
			this.#markClosed();
			void this.#service.leave(peer, this);
			return;
		}
		this.close();
	}

	/** No more requests, no join deadline; returns what the connection was. */
	#markClosed(): ConnectionState {
		const previous = this.#state;
		this.#state = { name: 'closed' };
		clearTimeout(this.#joinDeadline);
		// The requests still waiting are never handled, nor answered; the one running is not answered.
		this.#backlog.length = 0;
		this.#epoch++;
		return previous;
	}

	#onFrame(data: RawData | string, isBinary: boolean): void {
		if (this.#state.name === 'closed') return;
		if (!this.#limiter.tryTake()) {
			this.#metrics.errors.inc({ code: ErrorCode.RateLimited });
			// A client that keeps pushing past the limit is not backing off: cut it.
			if (++this.#refusedInARow > this.#burst) {
				this.#logger.warn({ peerId: this.peer?.id }, 'rate limit exceeded; closing');
				this.close(CloseCode.PolicyViolation, 'rate limit exceeded');
				return;
			}
			this.send(encodeError(requestIdOf(data, isBinary), ErrorCode.RateLimited, 'too many messages; slow down'));
			return;
		}
		this.#refusedInARow = 0;
		if (isBinary) {
			this.#metrics.errors.inc({ code: ErrorCode.BadMessage });
			this.close(CloseCode.Unsupported, 'binary frames are not supported');
			return;
		}
		const text = rawText(data);
		if (this.#state.name === 'relayed') {
			// The room's node reads, validates and answers it (but a broadcast viewer's receive side, served here).
			if (!this.#edgeViewer || !this.#servedAtEdge(this.#edgeViewer, this.#state.link, text)) this.#state.link.send(text);
			return;
		}
		const started = performance.now();
		let request: TypedRequest;
		try {
			const envelope = decodeEnvelope(text);
			if (envelope.kind !== 'request') {
				throw new SignalingError(ErrorCode.BadMessage, 'clients may only send requests');
			}
			try {
				request = parseRequest(envelope.message);
			} catch (error) {
				this.#metrics.messages.inc({ method: 'unknown' });
				this.#replyError(envelope.message.id, error);
				return;
			}
		} catch (error) {
			this.#replyError(0, error);
			return;
		}
		const metrics = this.#metrics.forMethod(request.method);
		metrics.received();
		this.#enqueue({ request, started, metrics, handle: () => this.#handle(request, text) });
	}

	/** Runs it now if nothing is being handled, else after what is waiting. */
	#enqueue(pending: Pending): void {
		if (this.#busy) this.#backlog.push(pending);
		else this.#run(pending);
	}

	/**
	 * Handles `first`, then whatever queued behind it, one at a time in
	 * arrival order, each answered before the next starts. A request handled
	 * synchronously (a signal, say: most of them) is answered at once, with no
	 * promise in between; one that waits (a join) holds the rest until it is
	 * answered, then carries on from there.
	 */
	#run(first: Pending): void {
		this.#busy = true;
		const epoch = this.#epoch;
		// Bounded: each pass answers one request taken off the backlog, which only the rate limiter lets grow.
		for (let pending: Pending | undefined = first; pending !== undefined; pending = this.#backlog.shift()) {
			let outcome: Result | Promise<Result>;
			try {
				outcome = pending.handle();
			} catch (error) {
				if (epoch === this.#epoch) this.#replyError(pending.request.id, error);
				this.#observe(pending);
				if (epoch !== this.#epoch) return;
				continue;
			}
			if (outcome instanceof Promise) {
				const waited = pending;
				void outcome
					.then(
						(result) => {
							if (epoch === this.#epoch) this.#respond(waited.request, result);
						},
						(error: unknown) => {
							if (epoch === this.#epoch) this.#replyError(waited.request.id, error);
						},
					)
					.finally(() => {
						this.#observe(waited);
						if (epoch !== this.#epoch) return;
						const next = this.#backlog.shift();
						if (next) this.#run(next);
						else this.#busy = false;
					});
				return;
			}
			if (epoch === this.#epoch) this.#respond(pending.request, outcome);
			this.#observe(pending);
			if (epoch !== this.#epoch) return;
		}
		this.#busy = false;
	}

	#respond(request: TypedRequest, result: Result): void {
		if ('relayed' in result) return;
		let text: string;
		try {
			text = encodeOk(request.id, result.data);
		} catch (error) {
			// A result that does not encode is a bug: answered INTERNAL (and logged), never left unanswered.
			this.#replyError(request.id, error);
			return;
		}
		this.send(text);
		for (const frame of result.then ?? []) this.send(frame);
	}

	#observe(pending: Pending): void {
		if (pending.started === undefined) return;
		pending.metrics?.answered((performance.now() - pending.started) / 1000);
	}

	#replyError(id: number, error: unknown): void {
		if (this.#state.name === 'closed' && !(error instanceof SignalingError)) return;
		if (!(error instanceof SignalingError)) {
			this.#logger.error({ err: error }, 'request failed');
			error = new SignalingError(ErrorCode.Internal, 'internal error');
		}
		const { code, message } = error as SignalingError;
		this.#metrics.errors.inc({ code });
		this.send(encodeError(id, code, message));
		const closeCode = fatal[code];
		if (closeCode !== undefined) this.close(closeCode, code);
	}

	/** A request's outcome: at once when it can be (most requests), or a promise when it waits on something. */
	#handle(request: TypedRequest, text: string): Result | Promise<Result> {
		// Queued before the join was relayed: it goes where the join went.
		if (this.#state.name === 'relayed') {
			this.#state.link.send(text);
			return { relayed: true };
		}
		switch (request.method) {
			case Method.Join:
			case Method.Resume:
			case Method.Leave:
				return this.#handleMembership(request, text);
			default: {
				const data = this.#handleJoined(this.#authorized(request), request);
				return data instanceof Promise ? data.then((d: unknown) => ({ data: d })) : { data };
			}
		}
	}

	async #handleMembership(request: Extract<TypedRequest, { method: 'join' | 'resume' | 'leave' }>, text: string): Promise<Result> {
		switch (request.method) {
			case Method.Join: {
				this.#requireOpen();
				if (await this.#relayed(request, text)) return { relayed: true };
				const { peer, response } = await this.#service.join(this, request.data);
				this.#state = this.#adopt(peer);
				return { data: response };
			}
			case Method.Resume: {
				this.#requireOpen();
				if (await this.#relayed(request, text)) return { relayed: true };
				const { peer, response, replay } = await this.#service.resume(this, request.data);
				this.#state = this.#adopt(peer);
				this.#metrics.resumes.inc({ result: 'ok' });
				return { data: response, then: replay };
			}
			case Method.Leave: {
				const peer = this.#requireJoined();
				this.#state = { name: 'open' };
				this.#armJoinDeadline();
				await this.#service.leave(peer, this);
				return { data: {} };
			}
		}
	}

	/**
	 * Several nodes: a join or resume whose room is on another node is
	 * forwarded there, with everything after it; the answers come back
	 * through this socket. False: it is served here.
	 */
	async #relayed(request: Extract<TypedRequest, { method: 'join' | 'resume' }>, text: string): Promise<boolean> {
		if (!this.#relay) return false;
		const nodeId = await this.#relay.route(request);
		if (nodeId === null || this.#state.name !== 'open') return false;
		clearTimeout(this.#joinDeadline);
		const link = this.#relay.link(
			nodeId,
			(frame) => {
				if (this.#edge && !this.#edgeViewer) this.#edgeViewer = this.#watchForViewer(this.#edge, nodeId, frame);
				this.send(frame);
			},
			(code, reason) => {
				if (this.#state.name !== 'relayed' || this.#state.link !== link) return;
				// The room's node ended the session (removed, room ended, node gone): nothing to keep here.
				this.#edgeViewer?.socketClosed(CloseCode.Normal);
				this.#markClosed();
				if (this.#socket.readyState === this.#socket.OPEN || this.#socket.readyState === this.#socket.CONNECTING) this.#socket.close(code, reason);
			},
		);
		this.#state = { name: 'relayed', link };
		link.send(text);
		return true;
	}

	/**
	 * A relayed join or resume answer that admits a viewer of a broadcast:
	 * its receive side will be served on this node (EdgeMedia).
	 */
	#watchForViewer(edge: EdgeMedia, origin: string, frame: string): EdgeViewer | undefined {
		if (!frame.includes('"roomKind":"broadcast"') || !frame.includes('"resumeToken"')) return undefined;
		let data: { peerId?: unknown; roomId?: unknown; role?: unknown; roomKind?: unknown; resumeToken?: unknown } | undefined;
		try {
			const envelope = JSON.parse(frame) as { ok?: boolean; data?: typeof data };
			data = envelope.ok === true ? envelope.data : undefined;
		} catch {
			return undefined;
		}
		if (!data || data.roomKind !== 'broadcast' || data.role !== 'viewer' || typeof data.peerId !== 'string' || typeof data.roomId !== 'string') return undefined;
		return edge.register(data.roomId, origin, data.peerId, (text) => this.send(text));
	}

	/** A relayed viewer's request its edge serves: answered here, in order with the others served here. False: relay it. */
	#servedAtEdge(viewer: EdgeViewer, link: RelayLink, text: string): boolean {
		if (!text.includes('"sfu.')) return false;
		let request: TypedRequest;
		try {
			const envelope = decodeEnvelope(text);
			if (envelope.kind !== 'request') return false;
			request = parseRequest(envelope.message);
		} catch {
			// The room's node answers what is malformed, as for any frame.
			return false;
		}
		this.#enqueue({
			request,
			started: undefined,
			handle: () => {
				const served = viewer.handle(request);
				if (!served) {
					link.send(text);
					return { relayed: true };
				}
				return served.then((data) => ({ data }));
			},
		});
		return true;
	}

	/** The joined peer, if its role may make this request (core/protocol/permissions.ts); PERMISSION_DENIED otherwise. */
	#authorized(request: TypedRequest): Peer {
		const peer = this.#requireJoined();
		const capability = requiredCapability(request);
		if (capability !== null && !can(peer.role, capability)) {
			throw new SignalingError(ErrorCode.PermissionDenied, `a ${peer.role} may not ${capability} (${request.method})`);
		}
		return peer;
	}

	/** The answer's data, or a promise of it for the requests that wait (room changes, the SFU). */
	#handleJoined(peer: Peer, request: Exclude<TypedRequest, { method: 'join' | 'resume' | 'leave' }>): unknown {
		switch (request.method) {
			case Method.Signal:
				this.#service.signal(peer, request.data);
				return {};
			case Method.QualityReport:
				this.#service.qualityReport(peer, request.data);
				return {};
			case Method.Chat:
				return this.#service.chat(peer, request.data);
			case Method.MediaState:
				this.#service.mediaState(peer, request.data);
				return {};
			case Method.TopologyReady:
				this.#service.topologyReady(peer, request.data.epoch);
				return {};
			case Method.TopologyFailed:
				this.#service.topologyFailed(peer, request.data.epoch, request.data.reason);
				return {};
			case Method.RoomRemovePeer:
				return this.#service.removeByHost(peer, request.data.peerId).then(() => ({}));
			case Method.RoomEnd:
				return this.#service.endRoom(peer).then(() => ({}));
			case Method.HandRaise:
				this.#service.raiseHand(peer, request.data.raised);
				return {};
			case Method.StagePromote:
				return this.#service.promote(peer, request.data.peerId).then(() => ({}));
			case Method.StageDemote:
				return this.#service.demote(peer, request.data.peerId).then(() => ({}));
			case Method.Reaction:
				this.#service.react(peer, request.data.emoji);
				return {};
			case Method.MediaRepair:
				this.#service.mediaRepair(peer, request.data);
				return {};
			case Method.RoomInspect:
				return this.#service.inspect(peer);
			default:
				return this.#service.sfuRequest(peer, request);
		}
	}

	/** A socket that has not joined within `limits.joinTimeoutMs` is closed (4005): an idle socket holds a slot for nothing. */
	#armJoinDeadline(): void {
		clearTimeout(this.#joinDeadline);
		this.#joinDeadline = setTimeout(() => {
			if (this.#state.name !== 'open') return;
			this.#metrics.closes.inc({ reason: 'join_timeout' });
			this.close(CloseCode.JoinTimeout, 'JOIN_TIMEOUT');
		}, this.#limits.joinTimeoutMs);
	}

	/** The connection was closed while the join/resume was queued: hand the peer straight back. */
	#adopt(peer: Peer): ConnectionState {
		if (this.#state.name === 'closed') {
			this.#service.disconnected(peer, this);
			return this.#state;
		}
		clearTimeout(this.#joinDeadline);
		return { name: 'joined', peer };
	}

	#requireOpen(): void {
		if (this.#state.name !== 'open') {
			throw new SignalingError(ErrorCode.AlreadyJoined, 'this connection already joined a room');
		}
	}

	#requireJoined(): Peer {
		if (this.#state.name !== 'joined') throw new SignalingError(ErrorCode.NotJoined, 'join a room first');
		return this.#state.peer;
	}
}

function rawText(data: RawData | string): string {
	if (typeof data === 'string') return data;
	if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
	// A Buffer is read in place; an ArrayBuffer is viewed, not copied.
	return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}

/** Best-effort request id for a refused frame, without a full parse. */
function requestIdOf(data: RawData | string, isBinary: boolean): number {
	if (isBinary) return 0;
	const match = /"id"\s*:\s*(\d{1,15})/.exec(rawText(data).slice(0, 64));
	return match ? Number(match[1]) : 0;
}

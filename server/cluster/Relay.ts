import { EventEmitter } from 'node:events';
import { CloseCode, Method, type TypedRequest } from '../../core/protocol/index.js';
import type { Logger } from '../logger.js';
import { nodeOfResumeToken } from '../signaling/Peer.js';
import { ClusterNode } from './ClusterNode.js';

/**
 * Bus message types (one letter): `o` a relayed connection opens (edge ->
 * owner), `f` a frame (either way, the text as the client or the server
 * wrote it), `c` a close (either way, `<code> <reason>`).
 */
const OPEN = 'o';
const FRAME = 'f';
const CLOSE = 'c';

/** The edge's end of a relayed connection: what its Connection forwards through. */
export interface RelayLink {
	readonly nodeId: string;
	/** A client frame, to the owner. */
	send(text: string): void;
	/** The client's socket closed with `code` (1000/1001: a leave; anything else: a drop). */
	close(code: number): void;
}

type RelaySocketEvents = {
	message: [data: string, isBinary: boolean];
	pong: [];
	close: [code: number];
	error: [error: Error];
};

/**
 * The owner's end of a relayed connection: a socket-shaped object the
 * owner's Connection reads and writes as if the client were connected here.
 * Liveness is the edge's to judge (it holds the real socket and its
 * heartbeat), so a ping is answered at once.
 */
export class RelaySocket extends EventEmitter<RelaySocketEvents> {
	readonly CONNECTING = 0;
	readonly OPEN = 1;
	/** Frames go to Redis at once: nothing waits here. */
	readonly bufferedAmount = 0;
	readyState = 1;
	readonly connId: string;
	readonly #toEdge: (type: string, body: string) => void;

	constructor(connId: string, toEdge: (type: string, body: string) => void) {
		super();
		this.connId = connId;
		this.#toEdge = toEdge;
	}

	send(text: string): void {
		if (this.readyState === this.OPEN) this.#toEdge(FRAME, text);
	}

	/** The owner closes it: the edge closes the client's socket with the same code. */
	close(code: number = CloseCode.Normal, reason = ''): void {
		if (this.readyState !== this.OPEN) return;
		this.readyState = 3;
		this.#toEdge(CLOSE, `${code} ${reason}`);
		this.emit('close', code);
	}

	terminate(): void {
		this.close(CloseCode.Abnormal, 'terminated');
	}

	ping(): void {
		queueMicrotask(() => this.emit('pong'));
	}

	/** A frame the client sent, through the edge. */
	receive(text: string): void {
		if (this.readyState === this.OPEN) this.emit('message', text, false);
	}

	/** The client's socket closed at the edge (or the edge is gone: 1006). */
	remoteClosed(code: number): void {
		if (this.readyState !== this.OPEN) return;
		this.readyState = 3;
		this.emit('close', code);
	}
}

interface EdgeLink {
	onFrame: (text: string) => void;
	onClose: (code: number, reason: string) => void;
	nodeId: string;
}

/**
 * Relays signaling between the node that holds a client's socket (the
 * edge) and the node that owns its room, over the cluster bus. The browser
 * sees the same protocol either way.
 *
 * Edge: `route()` says where a join or resume belongs (null: here), and
 * `link()` opens the relayed connection. Owner: each relayed connection
 * becomes a RelaySocket handed to `adopt` (the SignalingServer gives it a
 * Connection like any socket). A node that lapses closes what was relayed
 * with it: its clients' peers drop (and keep their resume grace) on the
 * owner; an owner's clients are told to reconnect (1012) at the edge.
 */
export class Relay {
	readonly #cluster: ClusterNode;
	readonly #logger: Logger;
	/** Edge side: this node's relayed connections, by id. */
	readonly #links = new Map<string, EdgeLink>();
	/** Owner side: connections relayed to this node, by id. */
	readonly #sockets = new Map<string, RelaySocket>();
	#adopt: (socket: RelaySocket) => void = (socket) => socket.close(CloseCode.GoingAway, 'not ready');
	#next = 0;

	constructor(cluster: ClusterNode, logger: Logger) {
		this.#cluster = cluster;
		this.#logger = logger.child({ module: 'Relay' });
		cluster.on('message', (type, connId, body) => this.#onMessage(type, connId, body));
		cluster.on('nodegone', (nodeId) => this.#onNodeGone(nodeId));
	}

	get nodeId(): string {
		return this.#cluster.nodeId;
	}

	/** Owner side: how a relayed connection gets its Connection here. */
	onAdopt(adopt: (socket: RelaySocket) => void): void {
		this.#adopt = adopt;
	}

	/**
	 * Where a join or resume is served: null here, or the owning node's id.
	 * A join claims a free room for this node; a resume goes to the node
	 * that issued its token while that node lives (a lapsed node's peers
	 * are gone: here, the resume fails as unknown and the client joins again).
	 */
	async route(request: Extract<TypedRequest, { method: 'join' | 'resume' }>): Promise<string | null> {
		if (request.method === Method.Join) {
			const owner = await this.#cluster.claim(request.data.roomId);
			return owner === this.#cluster.nodeId ? null : owner;
		}
		const issuer = nodeOfResumeToken(request.data.resumeToken);
		if (issuer === undefined || issuer === this.#cluster.nodeId) return null;
		return (await this.#cluster.isAlive(issuer)) ? issuer : null;
	}

	/** Edge side: opens a relayed connection to `nodeId`; frames and the close from there come back through the callbacks. */
	link(nodeId: string, onFrame: (text: string) => void, onClose: (code: number, reason: string) => void): RelayLink {
		const connId = `${this.#cluster.nodeId}-${++this.#next}`;
		this.#links.set(connId, { nodeId, onFrame, onClose });
		void this.#cluster.send(nodeId, OPEN, connId, '');
		return {
			nodeId,
			send: (text) => {
				void this.#cluster.send(nodeId, FRAME, connId, text).then((sent) => {
					if (!sent) this.#dropLink(connId, CloseCode.ServiceRestart, 'CLUSTER_UNAVAILABLE');
				});
			},
			close: (code) => {
				if (!this.#links.delete(connId)) return;
				void this.#cluster.send(nodeId, CLOSE, connId, `${code} `);
			},
		};
	}

	/** Ends every relayed connection (this node is stopping): edges' clients reconnect elsewhere; owners see drops. */
	close(): void {
		for (const connId of [...this.#links.keys()]) this.#dropLink(connId, CloseCode.GoingAway, 'node stopping');
		for (const socket of this.#sockets.values()) socket.close(CloseCode.GoingAway, 'node stopping');
		this.#sockets.clear();
	}

	#onMessage(type: string, connId: string, body: string): void {
		if (type !== OPEN && type !== FRAME && type !== CLOSE) return;
		if (ClusterNode.nodeOfConnection(connId) === this.#cluster.nodeId) {
			// From an owner, about a connection this node holds the socket of.
			const link = this.#links.get(connId);
			if (!link) return;
			if (type === FRAME) link.onFrame(body);
			else if (type === CLOSE) {
				this.#links.delete(connId);
				const [code, reason] = splitClose(body);
				link.onClose(code, reason);
			}
			return;
		}
		// From an edge, about a connection relayed to this node.
		if (type === OPEN) {
			if (this.#sockets.has(connId)) return;
			const edge = ClusterNode.nodeOfConnection(connId);
			const socket = new RelaySocket(connId, (t, b) => void this.#cluster.send(edge, t, connId, b));
			this.#sockets.set(connId, socket);
			socket.once('close', () => this.#sockets.delete(connId));
			this.#adopt(socket);
			return;
		}
		const socket = this.#sockets.get(connId);
		if (!socket) return;
		if (type === FRAME) socket.receive(body);
		else if (type === CLOSE) socket.remoteClosed(splitClose(body)[0]);
	}

	#onNodeGone(nodeId: string): void {
		this.#logger.warn({ nodeId }, 'node lapsed: closing what was relayed with it');
		for (const [connId, link] of [...this.#links]) if (link.nodeId === nodeId) this.#dropLink(connId, CloseCode.ServiceRestart, 'room node gone');
		for (const socket of [...this.#sockets.values()]) if (ClusterNode.nodeOfConnection(socket.connId) === nodeId) socket.remoteClosed(CloseCode.Abnormal);
	}

	#dropLink(connId: string, code: number, reason: string): void {
		const link = this.#links.get(connId);
		if (!link) return;
		this.#links.delete(connId);
		link.onClose(code, reason);
	}
}

function splitClose(body: string): [number, string] {
	const space = body.indexOf(' ');
	const code = Number(space === -1 ? body : body.slice(0, space));
	return [Number.isInteger(code) ? code : CloseCode.Abnormal, space === -1 ? '' : body.slice(space + 1)];
}

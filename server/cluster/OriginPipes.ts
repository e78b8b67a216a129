import type { types } from 'mediasoup';
import type { ClusterConfig, MediasoupConfig } from '../../core/config/index.js';
import type { Logger } from '../logger.js';
import type { ProducerInfo, SfuRoom } from '../sfu/SfuRoom.js';
import type { ClusterNode } from './ClusterNode.js';
import { PIPE, connectPipe, createPipe, parsePipeMessage, pipeAddress, type PipeMessage, type PipedProducer } from './mediaPipe.js';

interface Pipe {
	roomId: string;
	edge: string;
	transport: types.PipeTransport;
	/** Pipe consumers by the producer they carry. */
	consumers: Map<string, types.Consumer>;
	stopWatching: () => void;
	/** The edge asked for the close (detach): it need not be told. */
	detached: boolean;
}

/**
 * The room's node side of a broadcast spread over nodes: for each edge node
 * with viewers of a room here, one PipeTransport (RTX on, SRTP when
 * `cluster.pipeSrtp`) from the room's
 * first router, and a pipe consumer per stage producer, the ones made later
 * included. Pauses, resumes and closes go to the edge as messages (a pipe
 * producer does not learn them by itself). The pipe closes when the edge
 * has no viewer left (detach), when that node lapses, or with the room.
 */
export class OriginPipes {
	readonly #cluster: ClusterNode;
	readonly #sfuFor: (roomId: string) => Promise<SfuRoom | undefined>;
	readonly #mediasoup: MediasoupConfig;
	readonly #clusterConfig: ClusterConfig;
	readonly #logger: Logger;
	/** By `<roomId> <edge>`. */
	readonly #pipes = new Map<string, Pipe>();

	/** `sfuFor(roomId)`: the SFU side of a broadcast room held here (made if need be), or undefined. */
	constructor(options: {
		cluster: ClusterNode;
		sfuFor: (roomId: string) => Promise<SfuRoom | undefined>;
		mediasoup: MediasoupConfig;
		clusterConfig: ClusterConfig;
		logger: Logger;
	}) {
		this.#cluster = options.cluster;
		this.#clusterConfig = options.clusterConfig;
		this.#sfuFor = options.sfuFor;
		this.#mediasoup = options.mediasoup;
		this.#logger = options.logger.child({ module: 'OriginPipes' });
		options.cluster.on('message', (type, roomId, body) => {
			if (type !== PIPE) return;
			const message = parsePipeMessage(body);
			if (message?.op === 'attach') void this.#attach(roomId, message);
			else if (message?.op === 'detach') this.#close(roomId, message.edge, true);
		});
		options.cluster.on('nodegone', (nodeId) => {
			for (const pipe of [...this.#pipes.values()]) if (pipe.edge === nodeId) this.#close(pipe.roomId, nodeId, true);
		});
	}

	/** Pipes open now, per room: which edges (for tests and the room API). */
	edgesOf(roomId: string): string[] {
		return [...this.#pipes.values()].filter((p) => p.roomId === roomId).map((p) => p.edge);
	}

	/** Closes every pipe (this node stops): the edges are told. Idempotent. */
	close(): void {
		for (const pipe of [...this.#pipes.values()]) this.#close(pipe.roomId, pipe.edge, false);
	}

	async #attach(roomId: string, message: Extract<PipeMessage, { op: 'attach' }>): Promise<void> {
		const key = `${roomId} ${message.edge}`;
		const reply = (m: PipeMessage) => void this.#cluster.send(message.edge, PIPE, roomId, JSON.stringify(m));
		try {
			this.#close(roomId, message.edge, true);
			const sfu = await this.#sfuFor(roomId);
			if (!sfu) {
				reply({ op: 'refused', reason: `no broadcast room "${roomId}" on node ${this.#cluster.nodeId}` });
				return;
			}
			await sfu.prepare();
			const router = sfu.routers[0];
			if (!router) throw new Error('the room has no router');
			const transport = await createPipe(router, this.#clusterConfig, this.#mediasoup);
			await connectPipe(transport, message);
			const pipe: Pipe = { roomId, edge: message.edge, transport, consumers: new Map(), stopWatching: () => undefined, detached: false };
			this.#pipes.set(key, pipe);
			transport.observer.once('close', () => this.#close(roomId, message.edge, pipe.detached));
			const producers: PipedProducer[] = [];
			for (const { producer, info } of sfu.producers) {
				// Only the room's own stage: what another node piped in is not piped out again.
				if (info.holder !== undefined) continue;
				const piped = await this.#export(pipe, sfu, router, producer, info);
				if (piped) producers.push(piped);
			}
			pipe.stopWatching = sfu.onProducer((producer, info) => {
				if (info.holder !== undefined) return;
				void this.#export(pipe, sfu, router, producer, info).then((piped) => {
					if (piped) reply({ op: 'producer', producer: piped });
				});
			});
			reply({ op: 'attached', ...pipeAddress(transport), producers });
			this.#logger.info({ roomId, edge: message.edge, producers: producers.length }, 'stage piped to an edge node');
		} catch (error) {
			this.#logger.warn({ err: error, roomId, edge: message.edge }, 'could not pipe the stage to an edge node');
			this.#close(roomId, message.edge, true);
			reply({ op: 'refused', reason: (error as Error).message });
		}
	}

	/** A pipe consumer of `producer` on the pipe, its events told to the edge; undefined if it closed meanwhile. */
	async #export(pipe: Pipe, sfu: SfuRoom, router: types.Router, producer: types.Producer, info: ProducerInfo): Promise<PipedProducer | undefined> {
		if (producer.closed || pipe.transport.closed) return undefined;
		try {
			await sfu.bringTo(producer, router);
			const consumer = await pipe.transport.consume({ producerId: producer.id });
			pipe.consumers.set(producer.id, consumer);
			const tell = (op: 'closed' | 'paused' | 'resumed') =>
				void this.#cluster.send(pipe.edge, PIPE, pipe.roomId, JSON.stringify({ op, producerId: producer.id } satisfies PipeMessage));
			consumer.on('producerclose', () => {
				pipe.consumers.delete(producer.id);
				tell('closed');
			});
			consumer.on('producerpause', () => tell('paused'));
			consumer.on('producerresume', () => tell('resumed'));
			return { id: producer.id, kind: producer.kind, rtpParameters: consumer.rtpParameters, paused: producer.paused, peerId: info.peerId, source: info.source };
		} catch (error) {
			this.#logger.warn({ err: error, producerId: producer.id, edge: pipe.edge }, 'could not pipe a producer');
			return undefined;
		}
	}

	/** Closes the room's pipe to `edge`; the edge is told unless it asked (or is gone). */
	#close(roomId: string, edge: string, quietly: boolean): void {
		const key = `${roomId} ${edge}`;
		const pipe = this.#pipes.get(key);
		if (!pipe) return;
		this.#pipes.delete(key);
		pipe.detached = true;
		pipe.stopWatching();
		pipe.transport.close();
		if (!quietly) void this.#cluster.send(edge, PIPE, roomId, JSON.stringify({ op: 'gone' } satisfies PipeMessage));
		this.#logger.info({ roomId, edge }, 'pipe to an edge node closed');
	}
}

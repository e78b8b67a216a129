import { AwaitQueue } from 'awaitqueue';
import type { types } from 'mediasoup';
import type { SfuConfig } from '../../core/config/index.js';
import {
	ErrorCode,
	Notification,
	SignalingError,
	type MediaSource,
	type RoomKind,
	type NotificationData,
	type RequestData,
	type ResponseData,
	type SfuConsumerSummary,
} from '../../core/protocol/index.js';
import type { Logger } from '../logger.js';
import type { ListenIp } from './listenIps.js';
import { noSfuError, SfuPeer } from './SfuPeer.js';
import type { WorkerPool } from './WorkerPool.js';

export type SfuNotify = <N extends Notification>(peerId: string, method: N, data: NotificationData<N>) => void;

/** Whose media a producer carries, and from which source. */
export interface ProducerInfo {
	peerId: string;
	source: MediaSource;
	/**
	 * The SfuPeer whose transport holds it, when not `peerId` itself: a
	 * producer piped in from another node is held by the pipe's pseudo-peer.
	 */
	holder?: string;
}

/** Told of every producer the room gets (a peer's, or one piped in from another node). */
export type ProducerListener = (producer: types.Producer, info: ProducerInfo) => void;

/** What each source may carry: one producer per source and peer. */
const SOURCE_KIND: Record<MediaSource, 'audio' | 'video'> = { camera: 'video', microphone: 'audio', screen: 'video' };

/** Where the room reports what its transports' ICE and DTLS layers do. */
export type TransportStateListener = (layer: 'ice' | 'dtls', state: string) => void;

/** mediasoup throws TypeError for bad parameters: the client's fault, said as SFU_REJECTED. */
async function sfuCall<T>(what: string, fn: () => Promise<T>, gone: () => boolean = () => false): Promise<T> {
	try {
		return await fn();
	} catch (error) {
		if (error instanceof SignalingError) throw error;
		// The room left the SFU (or the peer left) while the worker was at it: that, not the worker's "closed" error, is the answer.
		if (gone()) throw noSfuError();
		throw new SignalingError(ErrorCode.SfuRejected, `${what}: ${(error as Error).message}`);
	}
}

/**
 * A room's media on the SFU. Peers are placed on the room's routers. A
 * meeting fills a router up to `maxPeersPerRouter`, then takes another on
 * the least-loaded worker. A broadcast has (at most) one router per worker
 * and puts each peer on the worker carrying the fewest peers, so its
 * audience spreads over every core. A consumer on one router of a producer
 * on another goes through pipeToRouter, made once per producer and router,
 * when the first consumer there needs it. Consumers are created paused and resumed when the client
 * says it is ready. Losing a router (its worker died) restarts the room's
 * SFU side: every peer is told to rebuild, and new routers are taken.
 */
export class SfuRoom {
	readonly roomId: string;
	readonly kind: RoomKind;
	readonly #pool: WorkerPool;
	readonly #sfu: SfuConfig;
	readonly #listenIps: readonly ListenIp[];
	readonly #notify: SfuNotify;
	readonly #onTransportState: TransportStateListener;
	readonly #logger: Logger;
	readonly #peers = new Map<string, SfuPeer>();
	readonly #routers: types.Router[] = [];
	readonly #levelObservers = new Map<types.Router, types.AudioLevelObserver>();
	/** "<peerId>:<producerId>" pairs consumed (or being consumed): one consumer per pair. */
	readonly #consuming = new Set<string>();
	/** "<producerId>:<routerId>": producers piped (or being piped) to another router of the room; every consumer there awaits the same pipe. */
	readonly #piped = new Map<string, Promise<unknown>>();
	/** Router creation and placement, one at a time. */
	readonly #placement = new AwaitQueue();
	readonly #producerListeners = new Set<ProducerListener>();
	#activeSpeaker: string | null = null;
	#closed = false;

	constructor(options: {
		roomId: string;
		/** Default meeting. */
		kind?: RoomKind;
		pool: WorkerPool;
		sfu: SfuConfig;
		/** Where its WebRTC transports listen (resolveListenIps). */
		listenIps: readonly ListenIp[];
		notify: SfuNotify;
		logger: Logger;
		onTransportState?: TransportStateListener;
	}) {
		this.roomId = options.roomId;
		this.kind = options.kind ?? 'meeting';
		this.#pool = options.pool;
		this.#sfu = options.sfu;
		this.#listenIps = options.listenIps;
		this.#notify = options.notify;
		this.#onTransportState = options.onTransportState ?? (() => undefined);
		this.#logger = options.logger.child({ module: 'SfuRoom', roomId: options.roomId });
	}

	get routers(): readonly types.Router[] {
		return this.#routers;
	}

	get peerIds(): string[] {
		return [...this.#peers.keys()];
	}

	/** The peer's open consumers, with the layers asked for and forwarded (the room API's details). */
	consumersOf(peerId: string): SfuConsumerSummary[] {
		const peer = this.#peers.get(peerId);
		if (!peer) return [];
		return [...peer.consumers.values()]
			.filter((c) => !c.closed)
			.map((c) => ({
				producerPeerId: (c.appData as unknown as ProducerInfo).peerId,
				kind: c.kind,
				preferredLayers: c.preferredLayers ?? null,
				currentLayers: c.currentLayers ?? null,
			}));
	}

	/** A migration to the SFU starts: take the room's first router now, before the clients ask. */
	async prepare(): Promise<void> {
		if (this.#closed) return;
		try {
			await this.#placement.push(async () => {
				if (this.#routers.length === 0) await this.#routerWithRoom();
			}, 'prepare');
		} catch (error) {
			// Closed meanwhile (close() stops the placement queue): nothing to prepare any more.
			if (!this.#closed) throw error;
		}
	}

	/** The peer's device capabilities; `startLayer` is the simulcast layer its video consumers start on (undefined: the best). */
	async join(peerId: string, data: RequestData<'sfu.join'>, startLayer?: number): Promise<void> {
		const peer = await this.#peer(peerId);
		peer.rtpCapabilities = data.rtpCapabilities as types.RtpCapabilities;
		peer.startLayer = startLayer;
		await this.#consumeAllFor(peer);
	}

	async createTransport(peerId: string, data: RequestData<'sfu.createTransport'>): Promise<ResponseData<'sfu.createTransport'>> {
		const peer = await this.#peer(peerId);
		// Each transport binds ports from the worker's range: one per direction, or one client could exhaust them.
		if (peer.transportFor(data.direction)) {
			throw new SignalingError(ErrorCode.LimitExceeded, `a ${data.direction} transport exists already (one per direction; close it first with sfu.closeTransport)`);
		}
		const transport: types.WebRtcTransport = await sfuCall('createTransport', () =>
			peer.router.createWebRtcTransport({
				listenIps: this.#listenIps.map((listenIp) => ({ ...listenIp })),
				enableUdp: true,
				enableTcp: true,
				preferUdp: true,
				initialAvailableOutgoingBitrate: this.#sfu.initialAvailableOutgoingBitrate,
				appData: { peerId, direction: data.direction },
			}),
			() => this.#closed || peer.closed,
		);
		peer.addTransport(transport);
		this.#watch(peerId, transport);
		if (data.direction === 'recv') await this.#consumeAllFor(peer);
		return {
			transportId: transport.id,
			iceParameters: transport.iceParameters as unknown as Record<string, unknown>,
			iceCandidates: transport.iceCandidates as unknown as Array<Record<string, unknown>>,
			dtlsParameters: transport.dtlsParameters as unknown as RequestData<'sfu.connectTransport'>['dtlsParameters'],
		};
	}

	/**
	 * Places the peer as a browser would be placed and adopts a transport
	 * `make` creates on its router: plain RTP (or SRTP) for server-side
	 * tools, such as the broadcast bench's audience. One per direction, as
	 * for browsers; a receive transport gets its consumers at once.
	 */
	async attachTransport(peerId: string, direction: 'send' | 'recv', make: (router: types.Router) => Promise<types.Transport>): Promise<types.Transport> {
		const peer = await this.#peer(peerId);
		if (peer.transportFor(direction)) throw new SignalingError(ErrorCode.LimitExceeded, `a ${direction} transport exists already`);
		const transport = await make(peer.router);
		Object.assign(transport.appData, { peerId, direction });
		peer.addTransport(transport);
		if (direction === 'recv') await this.#consumeAllFor(peer);
		return transport;
	}

	/** The simulcast layer the peer's new video consumers start on (a viewer promoted or demoted); undefined: the best. */
	setStartLayer(peerId: string, layer: number | undefined): void {
		const peer = this.#peers.get(peerId);
		if (peer) peer.startLayer = layer;
	}

	/** A speaker went back to the audience: its send transport (and every producer on it) closes; it keeps receiving. */
	closeSendSide(peerId: string): void {
		this.#peers.get(peerId)?.transportFor('send')?.close();
	}

	async connectTransport(peerId: string, data: RequestData<'sfu.connectTransport'>): Promise<void> {
		const transport = (await this.#peer(peerId)).transport(data.transportId);
		await sfuCall('connectTransport', () => transport.connect({ dtlsParameters: data.dtlsParameters as unknown as types.DtlsParameters }));
	}

	/** Closes one of the peer's transports: its producers and consumers go with it (the others' consumers of them too). */
	async closeTransport(peerId: string, transportId: string): Promise<void> {
		(await this.#peer(peerId)).transport(transportId).close();
	}

	/**
	 * A video stream that went silent (its sender's path was cut: mediasoup
	 * scores an inactive stream 0) and flows again: everyone who receives it
	 * gets a key frame at once, instead of decoding nothing until a decoder
	 * asks for one.
	 */
	#refreshOnResume(producer: types.Producer): void {
		let silent = false;
		producer.on('score', (scores: types.ProducerScore[]) => {
			const live = scores.some((s) => s.score > 0);
			if (live && silent) this.#requestKeyFrames((_, consumer) => consumer.producerId === producer.id);
			silent = !live;
		});
	}

	/**
	 * The peer's path to the SFU came back after an outage (its browser said
	 * so): whoever receives its video, and the peer itself, get a key frame
	 * now instead of waiting for the decoder's next request.
	 */
	refreshAfterOutage(peerId: string): void {
		const peer = this.#peers.get(peerId);
		if (!peer) return;
		const video = new Set([...peer.producers.values()].filter((p) => p.kind === 'video').map((p) => p.id));
		this.#requestKeyFrames((holder, consumer) => holder === peer || video.has(consumer.producerId));
	}

	/** A key frame for every open video consumer in the room that `which` picks (by the peer that holds it). */
	#requestKeyFrames(which: (holder: SfuPeer, consumer: types.Consumer) => boolean): void {
		for (const holder of this.#peers.values()) {
			for (const consumer of holder.consumers.values()) {
				if (consumer.kind === 'video' && !consumer.closed && which(holder, consumer)) void consumer.requestKeyFrame().catch(() => undefined);
			}
		}
	}

	/** New ICE parameters for one of the peer's transports: the client restarts ICE with them after a failure or a network change. */
	async restartIce(peerId: string, transportId: string): Promise<ResponseData<'sfu.restartIce'>> {
		const transport = (await this.#peer(peerId)).transport(transportId);
		if (!isWebRtc(transport)) throw new SignalingError(ErrorCode.SfuRejected, 'restartIce: not a WebRTC transport');
		const iceParameters = await sfuCall('restartIce', () => transport.restartIce());
		this.#logger.info({ peerId, transportId }, 'ICE restarted');
		return { iceParameters: iceParameters as unknown as Record<string, unknown> };
	}

	async produce(peerId: string, data: RequestData<'sfu.produce'>): Promise<ResponseData<'sfu.produce'>> {
		const peer = await this.#peer(peerId);
		const transport = peer.transport(data.transportId);
		if ((transport.appData as { direction?: string }).direction !== 'send') {
			throw new SignalingError(ErrorCode.SfuRejected, 'produce on the send transport');
		}
		if (SOURCE_KIND[data.source] !== data.kind) {
			throw new SignalingError(ErrorCode.InvalidData, `a ${data.source} source carries ${SOURCE_KIND[data.source]}, not ${data.kind}`);
		}
		for (const existing of peer.producers.values()) {
			if ((existing.appData as unknown as ProducerInfo).source === data.source) {
				throw new SignalingError(ErrorCode.LimitExceeded, `a ${data.source} producer exists already (one per source; close it first)`);
			}
		}
		const producer = await this.#produce(peer, transport, { kind: data.kind, rtpParameters: data.rtpParameters, paused: data.paused ?? false, info: { peerId, source: data.source } });
		return { producerId: producer.id };
	}

	/**
	 * A producer piped in from the room's node (several nodes): made on the
	 * pipe transport `holderId` attached as its send transport, carrying
	 * `info.peerId`'s media; everyone here consumes it like a peer's own.
	 */
	async produceFromPipe(
		holderId: string,
		data: { kind: 'audio' | 'video'; rtpParameters: unknown; paused: boolean; peerId: string; source: MediaSource },
	): Promise<types.Producer> {
		const holder = await this.#peer(holderId);
		const transport = holder.transportFor('send');
		if (!transport) throw new SignalingError(ErrorCode.SfuObjectNotFound, 'no pipe transport for this room yet');
		return this.#produce(holder, transport, { kind: data.kind, rtpParameters: data.rtpParameters, paused: data.paused, info: { peerId: data.peerId, source: data.source, holder: holderId } });
	}

	/** Every producer in the room now, with whose media it carries. */
	get producers(): Array<{ producer: types.Producer; info: ProducerInfo }> {
		return [...this.#peers.values()].flatMap((peer) => [...peer.producers.values()].map((producer) => ({ producer, info: producer.appData as unknown as ProducerInfo })));
	}

	/** Calls `listener` for every producer made from now on; returns how to stop. */
	onProducer(listener: ProducerListener): () => void {
		this.#producerListeners.add(listener);
		return () => this.#producerListeners.delete(listener);
	}

	/** Makes `producer` consumable on `router` (piped there from its own router once, if it lives elsewhere). */
	async bringTo(producer: types.Producer, router: types.Router): Promise<void> {
		const info = producer.appData as unknown as ProducerInfo;
		const source = this.#peers.get(info.holder ?? info.peerId);
		if (source && source.router !== router) await this.#pipe(producer, source.router, router);
	}

	async #produce(
		peer: SfuPeer,
		transport: types.Transport,
		data: { kind: 'audio' | 'video'; rtpParameters: unknown; paused: boolean; info: ProducerInfo },
	): Promise<types.Producer> {
		const { info } = data;
		const producer = await sfuCall('produce', () =>
			transport.produce({
				kind: data.kind,
				rtpParameters: data.rtpParameters as types.RtpParameters,
				paused: data.paused,
				// However many receivers ask for a key frame, at most one request per interval reaches the sender.
				...(data.kind === 'video' ? { keyFrameRequestDelay: this.#sfu.keyFrameRequestDelayMs } : {}),
				appData: { ...info },
			}),
		);
		peer.addProducer(producer);
		// Its pipes to other routers go with it.
		producer.observer.once('close', () => {
			for (const key of [...this.#piped.keys()]) if (key.startsWith(`${producer.id}:`)) this.#piped.delete(key);
		});
		if (producer.kind === 'audio') {
			await this.#levelObservers.get(peer.router)?.addProducer({ producerId: producer.id }).catch(() => undefined);
		} else {
			this.#refreshOnResume(producer);
		}
		for (const other of this.#peers.values()) {
			if (other !== peer && other.peerId !== info.peerId) void this.#consume(other, producer, info);
		}
		for (const listener of this.#producerListeners) listener(producer, info);
		return producer;
	}

	async pauseProducer(peerId: string, producerId: string): Promise<void> {
		await (await this.#peer(peerId)).producer(producerId).pause();
	}

	async resumeProducer(peerId: string, producerId: string): Promise<void> {
		await (await this.#peer(peerId)).producer(producerId).resume();
	}

	async closeProducer(peerId: string, producerId: string): Promise<void> {
		(await this.#peer(peerId)).producer(producerId).close();
	}

	/** The client consumed it: start the flow, and ask the sender for a key frame so video starts at once. */
	async resumeConsumer(peerId: string, consumerId: string): Promise<void> {
		const consumer = (await this.#peer(peerId)).consumer(consumerId);
		await consumer.resume();
		if (consumer.kind === 'video') await consumer.requestKeyFrame();
	}

	async setConsumerPreferredLayers(peerId: string, data: RequestData<'sfu.setConsumerPreferredLayers'>): Promise<void> {
		const consumer = (await this.#peer(peerId)).consumer(data.consumerId);
		if (consumer.type !== 'simulcast' && consumer.type !== 'svc') return;
		await consumer.setPreferredLayers({
			spatialLayer: data.spatialLayer,
			...(data.temporalLayer !== undefined ? { temporalLayer: data.temporalLayer } : {}),
		});
	}

	/** The peer left the room: its transports, producers and consumers close; others' consumers of it close too. */
	removePeer(peerId: string): void {
		const peer = this.#peers.get(peerId);
		if (!peer) return;
		this.#peers.delete(peerId);
		this.#pool.notePlaced(peer.router, -1);
		peer.close();
		for (const key of [...this.#consuming]) if (key.startsWith(`${peerId}:`)) this.#consuming.delete(key);
		this.#releaseUnusedRouters();
	}

	/** Closes every router of the room (and everything on them). Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const peer of this.#peers.values()) {
			this.#pool.notePlaced(peer.router, -1);
			peer.close();
		}
		this.#peers.clear();
		for (const router of this.#routers.splice(0)) router.close();
		this.#levelObservers.clear();
		this.#placement.stop();
	}

	async #peer(peerId: string): Promise<SfuPeer> {
		if (this.#closed) throw noSfuError();
		const existing = this.#peers.get(peerId);
		if (existing) return existing;
		try {
			return await this.#placement.push(async () => {
				const again = this.#peers.get(peerId);
				if (again) return again;
				const router = this.kind === 'broadcast' ? await this.#routerOnLeastBusyWorker() : await this.#routerWithRoom();
				const peer = new SfuPeer(peerId, router);
				this.#peers.set(peerId, peer);
				this.#pool.notePlaced(router, 1);
				return peer;
			}, 'place peer');
		} catch (error) {
			// close() stops the placement queue: what was queued or under way is for a room no longer on the SFU.
			if (this.#closed) throw noSfuError();
			throw error;
		}
	}

	/** A router of this room with space for one more peer, or a new one on the least-loaded worker. */
	async #routerWithRoom(): Promise<types.Router> {
		const load = new Map<types.Router, number>(this.#routers.map((r) => [r, 0]));
		for (const peer of this.#peers.values()) load.set(peer.router, (load.get(peer.router) ?? 0) + 1);
		let best: types.Router | undefined;
		for (const [router, peers] of load) {
			if (peers < this.#sfu.maxPeersPerRouter && (!best || peers < (load.get(best) ?? 0))) best = router;
		}
		if (best) return best;
		return this.#addRouter();
	}

	/** A broadcast's router on the worker carrying the fewest peers now (made there on first use). */
	async #routerOnLeastBusyWorker(): Promise<types.Router> {
		const worker = this.#pool.leastBusyWorker();
		return this.#routers.find((r) => this.#pool.workerOf(r) === worker) ?? this.#addRouter(worker);
	}

	/** A new router for the room, on `worker` or the least-loaded one, with its loudest-speaker observer. */
	async #addRouter(worker?: types.Worker): Promise<types.Router> {
		const router = await this.#pool.createRouter({ roomId: this.roomId }, worker);
		if (this.#closed) {
			// Closed while the router was being made (a migration rolled back): it must not outlive the room.
			router.close();
			throw noSfuError();
		}
		this.#routers.push(router);
		router.observer.once('close', () => this.#onRouterClosed(router));
		const observer = await router.createAudioLevelObserver({
			maxEntries: 1,
			threshold: this.#sfu.activeSpeakerThresholdDb,
			interval: this.#sfu.activeSpeakerIntervalMs,
		});
		observer.on('volumes', (volumes: types.AudioLevelObserverVolume[]) => {
			const speaker = (volumes[0]?.producer.appData as { peerId?: string } | undefined)?.peerId ?? null;
			this.#setActiveSpeaker(speaker);
		});
		observer.on('silence', () => this.#setActiveSpeaker(null));
		this.#levelObservers.set(router, observer);
		this.#logger.info({ routerId: router.id, routers: this.#routers.length }, 'router added to room');
		return router;
	}

	/** Reports what the transport's ICE and DTLS layers do; a DTLS failure is worth a warning (the client repairs with restartIce). */
	#watch(peerId: string, transport: types.WebRtcTransport): void {
		transport.on('icestatechange', (state: types.IceState) => {
			this.#onTransportState('ice', state);
			this.#logger.debug({ peerId, transportId: transport.id, state }, 'transport ICE state');
		});
		transport.on('dtlsstatechange', (state: types.DtlsState) => {
			this.#onTransportState('dtls', state);
			if (state === 'failed' || state === 'closed') this.#logger.warn({ peerId, transportId: transport.id, state }, 'transport DTLS ended');
		});
	}

	#setActiveSpeaker(peerId: string | null): void {
		if (peerId === this.#activeSpeaker) return;
		this.#activeSpeaker = peerId;
		for (const peer of this.#peers.values()) this.#notify(peer.peerId, Notification.SfuActiveSpeaker, { peerId });
	}

	async #consumeAllFor(peer: SfuPeer): Promise<void> {
		if (!peer.canReceive) return;
		const jobs: Array<Promise<void>> = [];
		for (const other of this.#peers.values()) {
			if (other === peer) continue;
			for (const producer of other.producers.values()) {
				const info = producer.appData as unknown as ProducerInfo;
				// Its own media piped back from another node is not for it.
				if (info.peerId !== peer.peerId) jobs.push(this.#consume(peer, producer, info));
			}
		}
		await Promise.all(jobs);
	}

	/** Creates a paused consumer of `producer` for `peer` and tells the client; once per pair. */
	async #consume(peer: SfuPeer, producer: types.Producer, info: ProducerInfo): Promise<void> {
		const transport = peer.recvTransport;
		if (!peer.canReceive || !transport || producer.closed) return;
		const key = `${peer.peerId}:${producer.id}`;
		if (this.#consuming.has(key)) return;
		this.#consuming.add(key);
		try {
			const source = this.#peers.get(info.holder ?? info.peerId);
			if (source && source.router !== peer.router) await this.#pipe(producer, source.router, peer.router);
			const rtpCapabilities = peer.rtpCapabilities as types.RtpCapabilities;
			if (!peer.router.canConsume({ producerId: producer.id, rtpCapabilities })) {
				this.#consuming.delete(key);
				this.#logger.warn({ peerId: peer.peerId, producerId: producer.id }, 'peer cannot consume this producer');
				return;
			}
			const preferredLayers = peer.startLayer !== undefined && producer.kind === 'video' ? { preferredLayers: { spatialLayer: peer.startLayer } } : {};
			const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities, paused: true, ...preferredLayers, appData: { ...info } });
			if (peer.closed || transport.closed) {
				this.#consuming.delete(key);
				consumer.close();
				return;
			}
			peer.consumers.set(consumer.id, consumer);
			const closed = () => {
				if (!peer.consumers.delete(consumer.id)) return;
				this.#consuming.delete(key);
				this.#notify(peer.peerId, Notification.SfuConsumerClosed, { consumerId: consumer.id });
			};
			consumer.on('transportclose', closed);
			consumer.on('producerclose', closed);
			consumer.on('producerpause', () => this.#notify(peer.peerId, Notification.SfuConsumerPaused, { consumerId: consumer.id }));
			consumer.on('producerresume', () => this.#notify(peer.peerId, Notification.SfuConsumerResumed, { consumerId: consumer.id }));
			this.#notify(peer.peerId, Notification.SfuNewConsumer, {
				consumerId: consumer.id,
				producerId: producer.id,
				peerId: info.peerId,
				kind: consumer.kind,
				source: info.source,
				rtpParameters: consumer.rtpParameters as unknown as RequestData<'sfu.produce'>['rtpParameters'],
				producerPaused: consumer.producerPaused,
			});
		} catch (error) {
			this.#consuming.delete(key);
			this.#logger.warn({ err: error, peerId: peer.peerId, producerId: producer.id }, 'consume failed');
		}
	}

	/**
	 * Makes `producer` (on `from`) consumable on `to`, once. Consumers on `to`
	 * asking while the pipe is being made wait for that same pipe (the
	 * producer is not on `to` before it is done); a failed pipe is forgotten,
	 * so the next consumer tries again.
	 */
	async #pipe(producer: types.Producer, from: types.Router, to: types.Router): Promise<void> {
		const key = `${producer.id}:${to.id}`;
		let piping = this.#piped.get(key);
		if (!piping) {
			const made = from.pipeToRouter({ producerId: producer.id, router: to });
			piping = made;
			this.#piped.set(key, made);
			made.catch(() => {
				if (this.#piped.get(key) === made) this.#piped.delete(key);
			});
		}
		await piping;
	}

	#onRouterClosed(router: types.Router): void {
		const index = this.#routers.indexOf(router);
		if (index === -1 || this.#closed) return;
		this.#routers.splice(index, 1);
		this.#levelObservers.delete(router);
		// We close routers only through close() or #releaseUnusedRouters(), which
		// remove them first: this one was lost (its worker died). Start over.
		this.#logger.error({ routerId: router.id }, 'router lost; restarting the room on the SFU');
		const peers = [...this.#peers.values()];
		for (const peer of peers) this.#pool.notePlaced(peer.router, -1);
		this.#peers.clear();
		this.#piped.clear();
		this.#consuming.clear();
		for (const peer of peers) peer.close();
		for (const other of this.#routers.splice(0)) other.close();
		this.#levelObservers.clear();
		for (const peer of peers) this.#notify(peer.peerId, Notification.SfuRestart, { reason: 'media server worker lost' });
	}

	/** Closes routers no peer is placed on any more (keeping one while the room has peers). */
	#releaseUnusedRouters(): void {
		const used = new Set([...this.#peers.values()].map((p) => p.router));
		for (const router of [...this.#routers]) {
			if (used.has(router)) continue;
			this.#routers.splice(this.#routers.indexOf(router), 1);
			this.#levelObservers.delete(router);
			for (const key of [...this.#piped.keys()]) if (key.endsWith(`:${router.id}`)) this.#piped.delete(key);
			router.close();
		}
	}
}

function isWebRtc(transport: types.Transport): transport is types.WebRtcTransport {
	return typeof (transport as unknown as Partial<types.WebRtcTransport>).restartIce === 'function';
}

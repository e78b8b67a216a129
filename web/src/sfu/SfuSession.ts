import { EventEmitter } from 'eventemitter3';
import { Device, type types } from 'mediasoup-client';
import { ErrorCode, Method, Notification, type ConnectionQuality, type NotificationData } from '../../../core/protocol/index.js';
import { QualitySampler, type Stat } from '../media/QualitySampler.js';
import type { SignalingSession } from '../signaling/SignalingSession.js';

export type SfuSessionState = 'new' | 'connecting' | 'connected' | 'restarting' | 'closed';

export type SfuSessionEvents = {
	remotestream: [peerId: string, stream: MediaStream];
	remoteclosed: [peerId: string];
	activespeaker: [peerId: string | null];
	state: [state: SfuSessionState];
};

/**
 * The encodings to send a camera of this width with: three VP8 simulcast
 * layers (quarter, half, full) from 960 px up, two (half, full) from 480 px,
 * one below. Chromium enables only as many layers as the resolution allows
 * and keeps the lowest ones, so asking three of a 320 px camera would send
 * just the 80 px layer.
 */
export function videoEncodings(widthPx: number): RTCRtpEncodingParameters[] {
	if (widthPx >= 960) {
		return [
			{ rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
			{ rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
			{ rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
		];
	}
	if (widthPx >= 480) {
		return [
			{ rid: 'r0', scaleResolutionDownBy: 2, maxBitrate: 300_000 },
			{ rid: 'r1', scaleResolutionDownBy: 1, maxBitrate: 900_000 },
		];
	}
	return [{ maxBitrate: 600_000 }];
}

/**
 * A mediasoup-client Device loaded with the server's router capabilities
 * (the same for every router). Loading probes the browser's own
 * capabilities with a throwaway peer connection, a few hundred ms on a busy
 * machine: callers load it ahead of need.
 */
export async function loadDevice(signaling: SignalingSession): Promise<Device> {
	const { routerRtpCapabilities } = await signaling.request(Method.SfuGetRouterRtpCapabilities, {});
	const device = new Device();
	await device.load({ routerRtpCapabilities: routerRtpCapabilities as types.RtpCapabilities });
	return device;
}

/** The simulcast layer a tile this wide needs. */
export function spatialLayerForWidth(widthPx: number): number {
	if (widthPx < 240) return 0;
	if (widthPx < 480) return 1;
	return 2;
}

interface RemoteConsumer {
	consumer: types.Consumer;
	peerId: string;
}

function collect(report: RTCStatsReport, into: Stat[]): void {
	report.forEach((s: Stat) => into.push(s));
}

export interface SfuSessionOptions {
	signaling: SignalingSession;
	localStream: MediaStream | undefined;
	/** `false` (a viewer) makes a receive-only session; publish() turns sending on later. */
	publish?: boolean;
	/** Hands over a Device loaded ahead of time (see loadDevice); without it the session loads its own. */
	device?: () => Promise<Device>;
	/** The rendered width of a peer's tile, if known: a new video consumer asks for the layer it needs at once. */
	preferredWidth?: (peerId: string) => number | undefined;
}

/**
 * Media through the SFU, on mediasoup-client: one send transport producing
 * the local tracks (video as up to 3 simulcast layers, by camera size), one receive transport
 * consuming everyone else. Same outward shape as MeshSession: tracks in,
 * remote streams out, stats, close. Sending can start and stop while the
 * session lives (a broadcast viewer brought on stage and back): publish(),
 * unpublish().
 */
export class SfuSession extends EventEmitter<SfuSessionEvents> {
	readonly #signaling: SignalingSession;
	#localStream: MediaStream | undefined;
	/** False while this participant only receives (a viewer): no send transport, nothing produced. */
	#publish: boolean;
	readonly #preferredWidth: (peerId: string) => number | undefined;
	readonly #remoteStreams = new Map<string, MediaStream>();
	readonly #consumers = new Map<string, RemoteConsumer>();
	readonly #producers = new Map<'audio' | 'video', types.Producer>();
	readonly #sampler = new QualitySampler();
	readonly #unsubscribe: Array<() => void> = [];
	#device: Device | undefined;
	#sendTransport: types.Transport | undefined;
	#recvTransport: types.Transport | undefined;
	/** Transports the server made for this session's current attempt (one per direction at most, on the server too). */
	readonly #serverTransports = new Set<string>();
	/** Consumers can be announced before the receive transport exists: they wait on this. */
	#recvReady!: Promise<types.Transport>;
	#resolveRecv!: (transport: types.Transport) => void;
	#state: SfuSessionState = 'new';
	/** Serializes start, restart, publish and unpublish: one of them at a time. */
	#queue: Promise<void> = Promise.resolve();

	readonly #loadDevice: () => Promise<Device>;

	constructor(options: SfuSessionOptions) {
		super();
		this.#signaling = options.signaling;
		this.#localStream = options.localStream;
		this.#publish = options.publish ?? true;
		this.#preferredWidth = options.preferredWidth ?? (() => undefined);
		this.#loadDevice = options.device ?? (() => loadDevice(options.signaling));
		this.#resetRecvReady();
		this.#on(Notification.SfuNewConsumer, (data) => void this.#onNewConsumer(data));
		this.#on(Notification.SfuConsumerClosed, ({ consumerId }) => this.#closeConsumer(consumerId));
		this.#on(Notification.SfuConsumerPaused, ({ consumerId }) => this.#consumers.get(consumerId)?.consumer.pause());
		this.#on(Notification.SfuConsumerResumed, ({ consumerId }) => this.#consumers.get(consumerId)?.consumer.resume());
		this.#on(Notification.SfuActiveSpeaker, ({ peerId }) => this.emit('activespeaker', peerId));
		this.#on(Notification.SfuRestart, ({ reason }) => {
			console.warn(`SFU restart: ${reason}`);
			void this.restart();
		});
	}

	get state(): SfuSessionState {
		return this.#state;
	}

	get remotePeerIds(): string[] {
		return [...this.#remoteStreams.keys()];
	}

	/**
	 * Loads the device, creates both transports and produces the local tracks.
	 * A start that fails gives back what the server made for it, so the next
	 * try may make its transports again (the server allows one per direction).
	 */
	start(): Promise<void> {
		return this.#enqueue(() =>
			this.#start().catch(async (error: unknown) => {
				await this.#releaseServerTransports();
				throw error;
			}),
		);
	}

	/**
	 * Starts sending `stream` (a viewer brought on stage): a send transport
	 * and a producer per track. Before the session has started, start()
	 * does it. Without a stream (no camera) it only allows sending.
	 */
	publish(stream: MediaStream | undefined): Promise<void> {
		return this.#enqueue(() => this.#startPublishing(stream));
	}

	/**
	 * Stops sending (back to the audience): the producers and the send
	 * transport close here, and the server is asked to close the transport
	 * (it may have done so already: not finding it is fine). The local
	 * tracks are the caller's to stop.
	 */
	unpublish(): Promise<void> {
		return this.#enqueue(() => this.#stopPublishing());
	}

	/** The server lost our SFU side (a worker died): drop everything local and build it again. */
	restart(): Promise<void> {
		if (this.#state === 'closed') return Promise.resolve();
		this.#setState('restarting');
		this.#teardown();
		// The server dropped our side already: nothing of it to give back.
		this.#serverTransports.clear();
		return this.start();
	}

	/** A participant left: forget their consumers and stream. */
	removePeer(peerId: string): void {
		for (const [id, entry] of this.#consumers) if (entry.peerId === peerId) this.#closeConsumer(id);
		if (this.#remoteStreams.delete(peerId)) this.emit('remoteclosed', peerId);
	}

	/** Mute: pauses the producer here and on the server, so no RTP for it reaches anyone. */
	async setTrackEnabled(kind: 'audio' | 'video', enabled: boolean): Promise<void> {
		for (const track of this.#localStream?.getTracks() ?? []) if (track.kind === kind) track.enabled = enabled;
		const producer = this.#producers.get(kind);
		if (!producer) return;
		if (enabled) {
			producer.resume();
			await this.#signaling.request(Method.SfuResumeProducer, { producerId: producer.id });
		} else {
			producer.pause();
			await this.#signaling.request(Method.SfuPauseProducer, { producerId: producer.id });
		}
	}

	async replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack): Promise<void> {
		const producer = this.#producers.get(newTrack.kind as 'audio' | 'video');
		if (producer) await producer.replaceTrack({ track: newTrack });
		this.#localStream?.removeTrack(oldTrack);
		this.#localStream?.addTrack(newTrack);
	}

	/** Asks for the simulcast layer a tile of this width needs (the SFU still adapts to bandwidth below it). */
	async setRemoteVideoWidth(peerId: string, widthPx: number): Promise<void> {
		const spatialLayer = spatialLayerForWidth(widthPx);
		await Promise.all(
			[...this.#consumers.values()]
				.filter((e) => e.peerId === peerId && e.consumer.kind === 'video')
				.map((e) => this.#signaling.request(Method.SfuSetConsumerPreferredLayers, { consumerId: e.consumer.id, spatialLayer })),
		);
	}

	/** getStats() of every consumer, grouped by the remote peer it comes from. */
	async stats(): Promise<Array<{ peerId: string; stats: Stat[] }>> {
		const byPeer = new Map<string, Stat[]>([...this.#remoteStreams.keys()].map((id) => [id, []]));
		await Promise.all(
			[...this.#consumers.values()].map(async ({ consumer, peerId }) => {
				const list = byPeer.get(peerId) ?? [];
				byPeer.set(peerId, list);
				collect(await consumer.getStats(), list);
			}),
		);
		return [...byPeer].map(([peerId, stats]) => ({ peerId, stats }));
	}

	/** One ConnectionQuality for the path to the SFU: send-side bitrate and estimate (when sending), receive-side loss. */
	async quality(now: number): Promise<ConnectionQuality[]> {
		if (this.#state !== 'connected' || !this.#recvTransport) return [];
		const stats: Stat[] = [];
		if (this.#sendTransport) collect(await this.#sendTransport.getStats(), stats);
		const recv: Stat[] = [];
		collect(await this.#recvTransport.getStats(), recv);
		stats.push(...recv.filter((s) => s.type === 'inbound-rtp'));
		return [{ ...this.#sampler.sample('sfu', stats, now), path: 'sfu' }];
	}

	/**
	 * Closes here (close()) and asks the server to close this session's
	 * transports too, for a session replaced by another on the same socket
	 * (the server allows one transport per direction). Transports the server
	 * closed already are not found there: that is fine.
	 */
	async closeAndRelease(): Promise<void> {
		const ids = [...this.#serverTransports];
		this.#serverTransports.clear();
		this.close();
		await Promise.all(ids.map((transportId) => this.#signaling.request(Method.SfuCloseTransport, { transportId }).catch(() => undefined)));
	}

	/** Closes transports, producers and consumers. Idempotent. */
	close(): void {
		if (this.#state === 'closed') return;
		this.#teardown();
		for (const off of this.#unsubscribe.splice(0)) off();
		this.#setState('closed');
		this.removeAllListeners();
	}

	async #start(): Promise<void> {
		if (this.#state === 'closed') return;
		this.#setState('connecting');
		this.#device ??= await this.#loadDevice();
		const device = this.#device;

		if (this.#isClosed()) return;

		// Both transports at once (a viewer makes no send transport); consumers can come as soon as the
		// receive side and our capabilities are known.
		const directions: Array<'recv' | 'send'> = this.#publish ? ['recv', 'send'] : ['recv'];
		const made = await Promise.allSettled(directions.map((direction) => this.#createTransport(direction)));
		const failed = made.find((m) => m.status === 'rejected');
		if (failed) {
			for (const m of made) if (m.status === 'fulfilled') m.value.close();
			throw failed.reason;
		}
		const [recv, send] = made.map((m) => (m as PromiseFulfilledResult<types.Transport>).value) as [types.Transport, types.Transport | undefined];
		if (this.#isClosed()) {
			// Closed while they were being made (a migration rolled back): they must not outlive the session.
			recv.close();
			send?.close();
			return;
		}
		this.#recvTransport = recv;
		this.#sendTransport = send;
		this.#resolveRecv(recv);
		await this.#signaling.request(Method.SfuJoin, { rtpCapabilities: device.rtpCapabilities as Record<string, unknown> });

		// Both tracks at once: mediasoup-client queues the negotiations, the requests overlap.
		if (send) {
			const tracks = (this.#localStream?.getTracks() ?? []).filter((t) => device.canProduce(t.kind as 'audio' | 'video'));
			await Promise.all(tracks.map((track) => this.#produce(send, track)));
		}
		if (this.#isClosed()) return;
		this.#setState('connected');
	}

	/** Runs `operation` after every one queued before it; a failure does not block those after. */
	#enqueue(operation: () => Promise<void>): Promise<void> {
		const run = this.#queue.then(operation);
		this.#queue = run.catch(() => undefined);
		return run;
	}

	async #startPublishing(stream: MediaStream | undefined): Promise<void> {
		this.#publish = true;
		this.#localStream = stream;
		// Not started (or a start that failed): the next start makes the send transport and produces.
		if (this.#isClosed() || !this.#device || !this.#recvTransport) return;
		let send = this.#sendTransport;
		if (!send) {
			send = await this.#createTransport('send');
			if (this.#isClosed()) {
				send.close();
				return;
			}
			this.#sendTransport = send;
		}
		const device = this.#device;
		const tracks = (stream?.getTracks() ?? []).filter((t) => device.canProduce(t.kind as 'audio' | 'video') && !this.#producers.has(t.kind as 'audio' | 'video'));
		const target = send;
		await Promise.all(tracks.map((track) => this.#produce(target, track)));
	}

	async #stopPublishing(): Promise<void> {
		this.#publish = false;
		this.#localStream = undefined;
		for (const producer of this.#producers.values()) producer.close();
		this.#producers.clear();
		const send = this.#sendTransport;
		this.#sendTransport = undefined;
		if (!send) return;
		send.close();
		this.#serverTransports.delete(send.id);
		await this.#signaling.request(Method.SfuCloseTransport, { transportId: send.id }).catch((error: unknown) => {
			// The server closes a demoted speaker's send transport itself.
			if ((error as { code?: string }).code !== ErrorCode.SfuObjectNotFound) console.warn('closing the send transport failed', error);
		});
	}

	async #produce(send: types.Transport, track: MediaStreamTrack): Promise<void> {
		const kind = track.kind as 'audio' | 'video';
		const producer = await send.produce({
			track,
			// The track may be shared (the mesh uses it too): closing the producer must not stop it.
			stopTracks: false,
			...(kind === 'video' ? { encodings: videoEncodings(track.getSettings().width ?? 640), codecOptions: { videoGoogleStartBitrate: 1000 } } : {}),
			appData: { source: kind === 'video' ? 'camera' : 'microphone' },
		});
		if (this.#state === 'closed' || send.closed) {
			producer.close();
			return;
		}
		if (!track.enabled) {
			producer.pause();
			await this.#signaling.request(Method.SfuPauseProducer, { producerId: producer.id });
		}
		this.#producers.set(kind, producer);
	}

	async #releaseServerTransports(): Promise<void> {
		const ids = [...this.#serverTransports];
		this.#serverTransports.clear();
		await Promise.all(ids.map((transportId) => this.#signaling.request(Method.SfuCloseTransport, { transportId }).catch(() => undefined)));
	}

	async #createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
		const params = await this.#signaling.request(Method.SfuCreateTransport, { direction });
		this.#serverTransports.add(params.transportId);
		const options = {
			id: params.transportId,
			iceParameters: params.iceParameters as unknown as types.IceParameters,
			iceCandidates: params.iceCandidates as unknown as types.IceCandidate[],
			dtlsParameters: params.dtlsParameters as unknown as types.DtlsParameters,
		};
		const device = this.#device as Device;
		const transport = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
		transport.on('connect', ({ dtlsParameters }, callback, errback) => {
			this.#signaling
				.request(Method.SfuConnectTransport, {
					transportId: transport.id,
					dtlsParameters: dtlsParameters as unknown as { fingerprints: Array<Record<string, unknown>> },
				})
				.then(() => callback(), errback);
		});
		if (direction === 'send') {
			transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
				this.#signaling
					.request(Method.SfuProduce, {
						transportId: transport.id,
						kind,
						rtpParameters: rtpParameters as unknown as { codecs: Array<Record<string, unknown>> },
						source: (appData as { source: 'camera' | 'microphone' }).source,
					})
					.then(({ producerId }) => callback({ id: producerId }), errback);
			});
		}
		return transport;
	}

	async #onNewConsumer(data: NotificationData<'sfu.newConsumer'>): Promise<void> {
		const transport = await this.#recvReady;
		if (this.#state === 'closed' || transport.closed) return;
		try {
			const consumer = await transport.consume({
				id: data.consumerId,
				producerId: data.producerId,
				kind: data.kind,
				rtpParameters: data.rtpParameters as unknown as types.RtpParameters,
			});
			this.#consumers.set(consumer.id, { consumer, peerId: data.peerId });
			let stream = this.#remoteStreams.get(data.peerId);
			if (!stream) {
				stream = new MediaStream();
				this.#remoteStreams.set(data.peerId, stream);
			}
			for (const old of stream.getTracks().filter((t) => t.kind === consumer.track.kind)) stream.removeTrack(old);
			stream.addTrack(consumer.track);
			if (data.producerPaused) consumer.pause();
			this.emit('remotestream', data.peerId, stream);
			// The tile's size is known already: ask for its layer before the first frames (a viewer starts on the lowest).
			const width = consumer.kind === 'video' ? this.#preferredWidth(data.peerId) : undefined;
			const layer =
				width === undefined
					? Promise.resolve()
					: this.#signaling
							.request(Method.SfuSetConsumerPreferredLayers, { consumerId: consumer.id, spatialLayer: spatialLayerForWidth(width) })
							.then(() => undefined, (error: unknown) => console.warn('layer request failed', error));
			await Promise.all([layer, this.#signaling.request(Method.SfuResumeConsumer, { consumerId: consumer.id })]);
		} catch (error) {
			console.warn(`consume ${data.consumerId} from ${data.peerId} failed`, error);
		}
	}

	#closeConsumer(consumerId: string): void {
		const entry = this.#consumers.get(consumerId);
		if (!entry) return;
		this.#consumers.delete(consumerId);
		this.#remoteStreams.get(entry.peerId)?.removeTrack(entry.consumer.track);
		entry.consumer.close();
	}

	#teardown(): void {
		for (const id of [...this.#consumers.keys()]) this.#closeConsumer(id);
		for (const producer of this.#producers.values()) producer.close();
		this.#producers.clear();
		this.#sendTransport?.close();
		this.#recvTransport?.close();
		this.#sendTransport = undefined;
		this.#recvTransport = undefined;
		this.#resetRecvReady();
	}

	#resetRecvReady(): void {
		this.#recvReady = new Promise((resolve) => {
			this.#resolveRecv = resolve;
		});
	}

	#on<N extends Notification>(method: N, listener: (data: NotificationData<N>) => void): void {
		const on = this.#signaling.on.bind(this.#signaling) as (e: string, fn: (d: NotificationData<N>) => void) => unknown;
		const off = this.#signaling.off.bind(this.#signaling) as (e: string, fn: (d: NotificationData<N>) => void) => unknown;
		on(method, listener);
		this.#unsubscribe.push(() => off(method, listener));
	}

	/** A method, not a field test: the state can change across an await. */
	#isClosed(): boolean {
		return this.#state === 'closed';
	}

	#setState(state: SfuSessionState): void {
		if (this.#state === state) return;
		this.#state = state;
		this.emit('state', state);
	}
}

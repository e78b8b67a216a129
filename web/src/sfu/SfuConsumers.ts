import type { types } from 'mediasoup-client';
import { Method, Notification, type NotificationData } from '../../../core/protocol/index.js';
import type { Stat } from '../media/QualitySampler.js';
import type { SignalingSession } from '../signaling/SignalingSession.js';
import { Subscriptions } from '../util/Emitter.js';
import { spatialLayerForWidth } from './sfuParams.js';
import { statsOf } from '../media/statsOf.js';

interface RemoteConsumer {
	consumer: types.Consumer;
	peerId: string;
	/** The simulcast layer last asked for (a video consumer): a tile resized within its layer asks nothing. */
	spatialLayer?: number;
}

export interface SfuConsumersOptions {
	signaling: SignalingSession;
	/** The receive transport, once there is one (consumers announced earlier wait for it). */
	recvTransport: () => Promise<types.Transport>;
	isClosed: () => boolean;
	/** The rendered width of a peer's tile, if known: a new video consumer asks for the layer it needs at once. */
	preferredWidth: (peerId: string) => number | undefined;
	/** A remote peer's stream got (or lost) a track: its tile takes the stream again. */
	onStream: (peerId: string, stream: MediaStream) => void;
	onPeerClosed: (peerId: string) => void;
}

/**
 * What one SFU session receives: a consumer per remote track, gathered in a
 * stream per remote peer, following the server's consumer notifications
 * (new, closed, paused, resumed).
 */
export class SfuConsumers {
	readonly #options: SfuConsumersOptions;
	readonly #streams = new Map<string, MediaStream>();
	readonly #consumers = new Map<string, RemoteConsumer>();
	readonly #subscriptions = new Subscriptions();

	constructor(options: SfuConsumersOptions) {
		this.#options = options;
		const { signaling } = options;
		this.#subscriptions.add(
			signaling.subscribe(Notification.SfuNewConsumer, (data) => void this.#onNewConsumer(data)),
			signaling.subscribe(Notification.SfuConsumerClosed, ({ consumerId }) => this.closeConsumer(consumerId)),
			signaling.subscribe(Notification.SfuConsumerPaused, ({ consumerId }) => this.#consumers.get(consumerId)?.consumer.pause()),
			signaling.subscribe(Notification.SfuConsumerResumed, ({ consumerId }) => this.#consumers.get(consumerId)?.consumer.resume()),
		);
	}

	/** A participant left: forget their consumers and stream. */
	removePeer(peerId: string): void {
		for (const [id, entry] of this.#consumers) if (entry.peerId === peerId) this.closeConsumer(id);
		if (this.#streams.delete(peerId)) this.#options.onPeerClosed(peerId);
	}

	/**
	 * Asks for the simulcast layer a tile of this width needs (the SFU still
	 * adapts to bandwidth below it), only when it differs from the last one
	 * asked: a tile's resize animation reports many widths, mostly within one
	 * layer, and each request counts against the socket's rate limit.
	 */
	async setRemoteVideoWidth(peerId: string, widthPx: number): Promise<void> {
		const spatialLayer = spatialLayerForWidth(widthPx);
		await Promise.all(
			[...this.#consumers.values()]
				.filter((e) => e.peerId === peerId && e.consumer.kind === 'video' && e.spatialLayer !== spatialLayer)
				.map((e) => this.#requestLayer(e, spatialLayer)),
		);
	}

	/** getStats() of every consumer, grouped by the remote peer it comes from. */
	async stats(): Promise<Array<{ peerId: string; stats: Stat[] }>> {
		const byPeer = new Map<string, Stat[]>([...this.#streams.keys()].map((id) => [id, []]));
		await Promise.all(
			[...this.#consumers.values()].map(async ({ consumer, peerId }) => {
				const list = byPeer.get(peerId) ?? [];
				byPeer.set(peerId, list);
				list.push(...(await statsOf(consumer)));
			}),
		);
		return [...byPeer].map(([peerId, stats]) => ({ peerId, stats }));
	}

	closeConsumer(consumerId: string): void {
		const entry = this.#consumers.get(consumerId);
		if (!entry) return;
		this.#consumers.delete(consumerId);
		this.#streams.get(entry.peerId)?.removeTrack(entry.consumer.track);
		entry.consumer.close();
	}

	/** Every consumer closes (the transports are going); the streams stay, to take the next consumers' tracks. */
	closeAll(): void {
		for (const id of [...this.#consumers.keys()]) this.closeConsumer(id);
	}

	/** Stops following the server's notifications, and closes every consumer. Idempotent. */
	close(): void {
		this.#subscriptions.drop();
		this.closeAll();
	}

	async #onNewConsumer(data: NotificationData<'sfu.newConsumer'>): Promise<void> {
		const transport = await this.#options.recvTransport();
		if (this.#options.isClosed() || transport.closed) return;
		const { signaling } = this.#options;
		try {
			const consumer = await transport.consume({
				id: data.consumerId,
				producerId: data.producerId,
				kind: data.kind,
				rtpParameters: data.rtpParameters as unknown as types.RtpParameters,
			});
			const entry: RemoteConsumer = { consumer, peerId: data.peerId };
			this.#consumers.set(consumer.id, entry);
			let stream = this.#streams.get(data.peerId);
			if (!stream) {
				stream = new MediaStream();
				this.#streams.set(data.peerId, stream);
			}
			for (const old of stream.getTracks().filter((t) => t.kind === consumer.track.kind)) stream.removeTrack(old);
			stream.addTrack(consumer.track);
			if (data.producerPaused) consumer.pause();
			this.#options.onStream(data.peerId, stream);
			// The tile's size is known already: ask for its layer before the first frames (a viewer starts on the lowest).
			const width = consumer.kind === 'video' ? this.#options.preferredWidth(data.peerId) : undefined;
			const layer = width === undefined ? Promise.resolve() : this.#requestLayer(entry, spatialLayerForWidth(width)).catch((error: unknown) => console.warn('layer request failed', error));
			await Promise.all([layer, signaling.request(Method.SfuResumeConsumer, { consumerId: consumer.id })]);
		} catch (error) {
			console.warn(`consume ${data.consumerId} from ${data.peerId} failed`, error);
		}
	}

	/** Asks the SFU for `spatialLayer` on `entry`'s consumer; remembered at once (a resize asks again only for another layer), forgotten if refused. */
	async #requestLayer(entry: RemoteConsumer, spatialLayer: number): Promise<void> {
		entry.spatialLayer = spatialLayer;
		try {
			await this.#options.signaling.request(Method.SfuSetConsumerPreferredLayers, { consumerId: entry.consumer.id, spatialLayer });
		} catch (error) {
			if (entry.spatialLayer === spatialLayer) entry.spatialLayer = undefined;
			throw error;
		}
	}
}

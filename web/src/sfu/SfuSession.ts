import type { Device, types } from 'mediasoup-client';
import { ErrorCode, Method, Notification, SignalingError, type ConnectionQuality } from '../../../core/protocol/index.js';
import { QualitySampler, type Stat } from '../media/QualitySampler.js';
import type { RepairRecord } from '../participant/RemoteParticipant.js';
import type { RepairPolicy } from '../participant/repair.js';
import type { SignalingSession } from '../signaling/SignalingSession.js';
import { Emitter, Subscriptions } from '../util/Emitter.js';
import { SfuConsumers } from './SfuConsumers.js';
import { SfuProducers } from './SfuProducers.js';
import { SfuRepair } from './SfuRepair.js';
import { createTransport } from './sfuTransport.js';
import { loadDevice } from './sfuParams.js';
import { markJoin } from '../util/joinTimeline.js';
import { statsOf } from '../media/statsOf.js';

export type SfuSessionState = 'new' | 'connecting' | 'connected' | 'restarting' | 'closed';

export type SfuSessionEvents = {
	remotestream: [peerId: string, stream: MediaStream];
	remoteclosed: [peerId: string];
	activespeaker: [peerId: string | null];
	state: [state: SfuSessionState];
	/** A transport was repaired (an ICE restart, a rebuild), or repairing gave up, or it came back. */
	repair: [record: RepairRecord];
};

export interface SfuSessionOptions {
	signaling: SignalingSession;
	localStream: MediaStream | undefined;
	/** `false` (a viewer) makes a receive-only session; publish() turns sending on later. */
	publish?: boolean;
	/** Hands over a Device loaded ahead of time (see loadDevice); without it the session loads its own. */
	device?: () => Promise<Device>;
	/** The rendered width of a peer's tile, if known: a new video consumer asks for the layer it needs at once. */
	preferredWidth?: (peerId: string) => number | undefined;
	/** When a transport that goes down is repaired, and given up on (default: never repaired). */
	repairPolicy?: () => RepairPolicy;
}

/**
 * Media through the SFU, on mediasoup-client: one send transport producing
 * the local tracks (video as up to 3 simulcast layers, by camera size), one receive transport
 * consuming everyone else (SfuConsumers). Sending can start and stop while
 * the session lives (a broadcast viewer brought on stage and back):
 * publish(), unpublish(). A transport that fails (or stays disconnected) is
 * repaired: an ICE restart (`sfu.restartIce`) first, then a rebuild of both
 * transports, with backoff, until the policy gives up.
 */
export class SfuSession extends Emitter<SfuSessionEvents> {
	readonly #signaling: SignalingSession;
	#localStream: MediaStream | undefined;
	/** False while this participant only receives (a viewer): no send transport, nothing produced. */
	#publish: boolean;
	readonly #consumers: SfuConsumers;
	readonly #producers: SfuProducers;
	/** Made before either transport (their counters start at zero after it), on the clock the call samples with. */
	readonly #sampler = new QualitySampler(performance.now());
	readonly #subscriptions = new Subscriptions();
	readonly #repair: SfuRepair | undefined;
	#device: Device | undefined;
	#sendTransport: types.Transport | undefined;
	#recvTransport: types.Transport | undefined;
	/** Transports the server made for this session's current attempt (one per direction at most, on the server too). */
	readonly #serverTransports = new Set<string>();
	/** Consumers can be announced before the receive transport exists: they wait on this. */
	#recvReady!: Promise<types.Transport>;
	#resolveRecv!: (transport: types.Transport) => void;
	#state: SfuSessionState = 'new';
	/** Serializes start, restart, rebuild, ICE restarts, publish and unpublish: one of them at a time. */
	#queue: Promise<void> = Promise.resolve();
	/** A rebuild queued and not yet begun: later attempts join it. */
	#rebuilding: Promise<void> | undefined;

	readonly #loadDevice: () => Promise<Device>;

	constructor(options: SfuSessionOptions) {
		super();
		this.#signaling = options.signaling;
		this.#localStream = options.localStream;
		this.#publish = options.publish ?? true;
		this.#loadDevice = options.device ?? (() => loadDevice(options.signaling));
		this.#producers = new SfuProducers(options.signaling);
		this.#resetRecvReady();
		this.#consumers = new SfuConsumers({
			signaling: options.signaling,
			recvTransport: () => this.#recvReady,
			isClosed: () => this.#isClosed(),
			preferredWidth: options.preferredWidth ?? (() => undefined),
			onStream: (peerId, stream) => {
				markJoin('remoteMedia');
				this.emit('remotestream', peerId, stream);
			},
			onPeerClosed: (peerId) => this.emit('remoteclosed', peerId),
		});
		const { repairPolicy } = options;
		if (repairPolicy) {
			this.#repair = new SfuRepair({
				signaling: options.signaling,
				policy: repairPolicy,
				transports: () => [this.#sendTransport, this.#recvTransport].filter((t): t is types.Transport => t !== undefined),
				enqueue: (operation) => this.#enqueue(operation),
				rebuild: () => this.#rebuild(),
				onRecord: (record) => this.emit('repair', record),
			});
		}
		this.#subscriptions.add(
			options.signaling.subscribe(Notification.SfuActiveSpeaker, ({ peerId }) => this.emit('activespeaker', peerId)),
			options.signaling.subscribe(Notification.SfuRestart, ({ reason }) => {
				console.warn(`SFU restart: ${reason}`);
				void this.restart();
			}),
		);
	}

	get state(): SfuSessionState {
		return this.#state;
	}

	/** ICE restarts and rebuilds of this session so far. */
	get generation(): number {
		return this.#repair?.generation ?? 0;
	}

	/**
	 * Loads the device, creates both transports and produces the local tracks.
	 * A start that fails gives back what the server made for it, so the next
	 * try may make its transports again (the server allows one per direction).
	 */
	start(): Promise<void> {
		return this.#enqueue(() => this.#startOrRelease());
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
		return this.#enqueue(async () => {
			if (this.#isClosed()) return;
			this.#setState('restarting');
			this.#teardown();
			// The server dropped our side already: nothing of it to give back.
			this.#serverTransports.clear();
			await this.#startOrRelease();
		});
	}

	/** A participant left: forget their consumers and stream. */
	removePeer(peerId: string): void {
		this.#consumers.removePeer(peerId);
	}

	/** Mute: pauses the producer here and on the server, so no RTP for it reaches anyone. */
	async setTrackEnabled(kind: 'audio' | 'video', enabled: boolean): Promise<void> {
		for (const track of this.#localStream?.getTracks() ?? []) if (track.kind === kind) track.enabled = enabled;
		await this.#producers.setEnabled(kind, enabled);
	}

	async replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack): Promise<void> {
		await this.#producers.replaceTrack(newTrack);
		this.#localStream?.removeTrack(oldTrack);
		this.#localStream?.addTrack(newTrack);
	}

	async setRemoteVideoWidth(peerId: string, widthPx: number): Promise<void> {
		await this.#consumers.setRemoteVideoWidth(peerId, widthPx);
	}

	stats(): Promise<Array<{ peerId: string; stats: Stat[] }>> {
		return this.#consumers.stats();
	}

	/** One ConnectionQuality for the path to the SFU: send-side bitrate and estimate (when sending), receive-side loss. */
	async quality(now: number): Promise<ConnectionQuality[]> {
		if (this.#state !== 'connected' || !this.#recvTransport) return [];
		const stats: Stat[] = [];
		if (this.#sendTransport) stats.push(...(await statsOf(this.#sendTransport)));
		const recv = await statsOf(this.#recvTransport);
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
		this.#consumers.close();
		this.#subscriptions.drop();
		this.#repair?.close();
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
			await Promise.all(tracks.map((track) => this.#producers.produce(send, track, () => this.#isClosed())));
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
		await Promise.all(tracks.map((track) => this.#producers.produce(target, track, () => this.#isClosed())));
	}

	async #stopPublishing(): Promise<void> {
		this.#publish = false;
		this.#localStream = undefined;
		this.#producers.closeAll();
		const send = this.#sendTransport;
		this.#sendTransport = undefined;
		if (!send) return;
		send.close();
		this.#serverTransports.delete(send.id);
		await this.#signaling.request(Method.SfuCloseTransport, { transportId: send.id }).catch((error: unknown) => {
			// The server closes a demoted speaker's send transport itself.
			if (!(error instanceof SignalingError && error.code === ErrorCode.SfuObjectNotFound)) console.warn('closing the send transport failed', error);
		});
	}

	async #releaseServerTransports(): Promise<void> {
		const ids = [...this.#serverTransports];
		this.#serverTransports.clear();
		await Promise.all(ids.map((transportId) => this.#signaling.request(Method.SfuCloseTransport, { transportId }).catch(() => undefined)));
	}

	async #createTransport(direction: 'send' | 'recv'): Promise<types.Transport> {
		const transport = await createTransport(this.#signaling, this.#device as Device, direction, (id) => this.#serverTransports.add(id));
		this.#repair?.watch(transport);
		return transport;
	}

	#teardown(): void {
		this.#consumers.closeAll();
		this.#producers.closeAll();
		this.#sendTransport?.close();
		this.#recvTransport?.close();
		this.#sendTransport = undefined;
		this.#recvTransport = undefined;
		this.#repair?.forgetTransports();
		this.#resetRecvReady();
	}

	#resetRecvReady(): void {
		this.#recvReady = new Promise((resolve) => {
			this.#resolveRecv = resolve;
		});
	}

	/**
	 * Both transports made again: the server's are given back first (it
	 * allows one per direction), then a fresh start, in one turn of the queue
	 * (nothing may start in between). Attempts that pile up while signaling
	 * is down make one rebuild.
	 */
	#rebuild(): Promise<void> {
		if (this.#rebuilding) return this.#rebuilding;
		const run = this.#enqueue(async () => {
			this.#rebuilding = undefined;
			if (this.#isClosed()) return;
			this.#setState('restarting');
			this.#teardown();
			await this.#releaseServerTransports();
			await this.#startOrRelease();
		});
		this.#rebuilding = run;
		return run;
	}

	/** Starts; a start that fails gives back what the server made for it, so the next may make its transports again. */
	async #startOrRelease(): Promise<void> {
		await this.#start().catch(async (error: unknown) => {
			await this.#releaseServerTransports();
			throw error;
		});
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

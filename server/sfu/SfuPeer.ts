import type { types } from 'mediasoup';
import { ErrorCode, SignalingError } from '../../core/protocol/index.js';

/** A request for a room (or a peer) whose SFU side is gone: it left the SFU, or the peer left. */
export function noSfuError(): SignalingError {
	return new SignalingError(ErrorCode.WrongMediaMode, 'this room has no SFU any more');
}

/**
 * One participant's SFU side: the router it is placed on, its device's RTP
 * capabilities, its send and receive transports, and the producers and
 * consumers on them. close() cascades: transports close their producers and
 * consumers in mediasoup.
 */
export class SfuPeer {
	readonly peerId: string;
	readonly router: types.Router;
	/** WebRTC transports for browsers; other kinds (plain RTP) for server-side tools and the broadcast bench. */
	readonly transports = new Map<string, types.Transport>();
	readonly producers = new Map<string, types.Producer>();
	readonly consumers = new Map<string, types.Consumer>();
	rtpCapabilities: types.RtpCapabilities | undefined;
	/** The simulcast layer its video consumers start on (a broadcast's viewer: the small one); undefined: the best. */
	startLayer: number | undefined;
	#closed = false;

	constructor(peerId: string, router: types.Router) {
		this.peerId = peerId;
		this.router = router;
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** The transport that receives media, once the client made one. */
	get recvTransport(): types.Transport | undefined {
		return this.transportFor('recv');
	}

	/** The peer's transport for one direction, if it made one. */
	transportFor(direction: 'send' | 'recv'): types.Transport | undefined {
		for (const transport of this.transports.values()) {
			if ((transport.appData as { direction?: string }).direction === direction) return transport;
		}
		return undefined;
	}

	/** Ready to receive: the device's capabilities are known and a receive transport exists. */
	get canReceive(): boolean {
		return !this.#closed && this.rtpCapabilities !== undefined && this.recvTransport !== undefined;
	}

	transport(id: string): types.Transport {
		const transport = this.transports.get(id);
		if (!transport) throw new SignalingError(ErrorCode.SfuObjectNotFound, `no transport "${id}" of yours`);
		return transport;
	}

	producer(id: string): types.Producer {
		const producer = this.producers.get(id);
		if (!producer) throw new SignalingError(ErrorCode.SfuObjectNotFound, `no producer "${id}" of yours`);
		return producer;
	}

	consumer(id: string): types.Consumer {
		const consumer = this.consumers.get(id);
		if (!consumer) throw new SignalingError(ErrorCode.SfuObjectNotFound, `no consumer "${id}" of yours`);
		return consumer;
	}

	/**
	 * Keeps a transport the worker just made (forgotten when it closes). One
	 * made while this peer closed (the room left the SFU as the request was
	 * with the worker) is closed at once and the request fails. So is one of
	 * a direction the peer has already (two requests were with the worker at
	 * once, from an old socket and the one that resumed): one per direction.
	 */
	addTransport(transport: types.Transport): void {
		this.#adopt(transport);
		const direction = (transport.appData as { direction: 'send' | 'recv' }).direction;
		if (this.transportFor(direction)) {
			transport.close();
			throw new SignalingError(ErrorCode.LimitExceeded, `a ${direction} transport exists already (one per direction)`);
		}
		this.transports.set(transport.id, transport);
		transport.observer.once('close', () => this.transports.delete(transport.id));
	}

	/** Keeps a producer the worker just made, as addTransport. */
	addProducer(producer: types.Producer): void {
		this.#adopt(producer);
		this.producers.set(producer.id, producer);
		producer.observer.once('close', () => this.producers.delete(producer.id));
	}

	#adopt(made: { close(): void }): void {
		if (!this.#closed) return;
		made.close();
		throw noSfuError();
	}

	/** Closes every transport (and so every producer and consumer). Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const transport of this.transports.values()) transport.close();
		this.transports.clear();
		this.producers.clear();
		this.consumers.clear();
	}
}

import { EventEmitter } from 'eventemitter3';
import SimplePeer from 'simple-peer/simplepeer.min.js';
import type { IceServer, MeshSignal } from '../../../core/protocol/index.js';
import { watchLiveness } from '../media/liveness.js';
import { QualitySampler, type Stat } from '../media/QualitySampler.js';
import { fromMeshSignal, toMeshSignal } from './meshSignals.js';
import { markJoin } from '../util/joinTimeline.js';
import { statsOf } from '../media/statsOf.js';

export type MeshConnectionState = 'connecting' | 'connected' | 'failed' | 'closed';

/** What the pair's ICE says of the path, for its repair: `disconnected` may come back by itself, `failed` will not. */
export type MeshLinkHealth = 'connected' | 'disconnected' | 'failed';

export type MeshConnectionEvents = {
	state: [state: MeshConnectionState];
	health: [health: MeshLinkHealth];
	stream: [stream: MediaStream];
	data: [message: string];
	signal: [signal: MeshSignal];
};

export interface MeshConnectionOptions {
	remotePeerId: string;
	/** The offerer of the pair (the peer with the smaller id, so both ends agree without glare). */
	initiator: boolean;
	/** Which connection of the pair this is: 0 first, +1 each time the offerer re-creates it (a repair). */
	generation?: number;
	localStream: MediaStream | undefined;
	iceServers: IceServer[];
	iceTransportPolicy: RTCIceTransportPolicy;
}

const decoder = new TextDecoder();

/**
 * One direct connection to one remote participant, on simple-peer: audio,
 * video and a data channel, trickle ICE. simple-peer serializes its own
 * negotiation; this class adds an explicit state and the stats we report.
 */
export class MeshConnection extends EventEmitter<MeshConnectionEvents> {
	readonly remotePeerId: string;
	readonly generation: number;
	readonly #peer: SimplePeer.Instance;
	/** Made with the peer connection (the constructor's), on the clock the call samples with. */
	readonly #sampler = new QualitySampler(performance.now());
	#state: MeshConnectionState = 'connecting';
	#stopLiveness: (() => void) | undefined;
	#descriptions = 0;

	constructor(options: MeshConnectionOptions) {
		super();
		this.remotePeerId = options.remotePeerId;
		this.generation = options.generation ?? 0;
		this.#peer = new SimplePeer({
			initiator: options.initiator,
			trickle: true,
			...(options.localStream ? { stream: options.localStream } : {}),
			config: { iceServers: options.iceServers, iceTransportPolicy: options.iceTransportPolicy },
			// The answerer's tracks attach to these m-lines: no second negotiation.
			offerOptions: { offerToReceiveAudio: true, offerToReceiveVideo: true },
		});
		this.#peer.on('signal', (data: SimplePeer.SignalData) => {
			const signal = toMeshSignal(data);
			if (!signal) return;
			if (signal.kind === 'description') {
				this.#descriptions++;
				markJoin('descriptionSent');
			}
			this.emit('signal', signal);
		});
		this.#peer.on('stream', (stream: MediaStream) => {
			markJoin('remoteMedia');
			this.emit('stream', stream);
		});
		this.#peer.on('connect', () => {
			this.#setState('connected');
			// A cut shows here seconds before ICE says so.
			this.#stopLiveness ??= watchLiveness(
				() => this.stats(),
				(alive) => this.emit('health', alive ? 'connected' : 'disconnected'),
			);
		});
		this.#peer.on('iceStateChange', (ice: RTCIceConnectionState) => {
			if (ice === 'connected' || ice === 'completed') {
				markJoin('connected');
				this.emit('health', 'connected');
			}
			else if (ice === 'disconnected' || ice === 'failed') this.emit('health', ice);
		});
		this.#peer.on('data', (chunk: Uint8Array) => this.emit('data', decoder.decode(chunk)));
		this.#peer.on('error', (error: Error & { code?: string }) => {
			console.warn(`mesh connection to ${this.remotePeerId} failed: ${error.code ?? ''} ${error.message}`);
			this.#setState('failed');
			this.emit('health', 'failed');
		});
		this.#peer.on('close', () => this.#setState('closed'));
	}

	get state(): MeshConnectionState {
		return this.#state;
	}

	/** The underlying RTCPeerConnection, for getStats(). */
	get peerConnection(): RTCPeerConnection {
		return (this.#peer as unknown as { _pc: RTCPeerConnection })._pc;
	}

	/** Offers and answers sent or received so far: 2 means one negotiation, no renegotiation. */
	get descriptionCount(): number {
		return this.#descriptions;
	}

	handleSignal(signal: MeshSignal): void {
		if (this.#state === 'closed' || this.#state === 'failed') return;
		if (signal.kind === 'description') {
			this.#descriptions++;
			markJoin('descriptionReceived');
		}
		this.#peer.signal(fromMeshSignal(signal));
	}

	/** Swaps a sending track in place (camera switch): no renegotiation. */
	replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack, stream: MediaStream): void {
		if (this.#state === 'closed') return;
		try {
			this.#peer.replaceTrack(oldTrack, newTrack, stream);
		} catch (error) {
			// A pair that never sent the old track (made without media, or torn down meanwhile) keeps going; the others switch.
			console.warn(`could not replace the ${oldTrack.kind} track for ${this.remotePeerId}`, error);
		}
	}

	/** New TURN credentials for later ICE gathering (a restart); the candidates in use keep theirs. */
	updateIceServers(iceServers: IceServer[]): void {
		if (this.#state === 'closed') return;
		try {
			const pc = this.peerConnection;
			pc.setConfiguration({ ...pc.getConfiguration(), iceServers });
		} catch (error) {
			console.warn(`could not renew ICE servers for ${this.remotePeerId}`, error);
		}
	}

	/** Sends an app message on the data channel; false if the channel is not open. */
	send(message: string): boolean {
		if (this.#state !== 'connected') return false;
		this.#peer.send(message);
		return true;
	}

	stats(): Promise<Stat[]> {
		return statsOf(this.peerConnection);
	}

	async quality(now: number) {
		return this.#sampler.sample(this.remotePeerId, await this.stats(), now);
	}

	/** Closes the peer connection. Idempotent. */
	close(): void {
		this.#stopLiveness?.();
		if (this.#state === 'closed') return;
		this.#peer.destroy();
		this.#setState('closed');
	}

	#setState(state: MeshConnectionState): void {
		if (this.#state === state || this.#state === 'closed') return;
		if (state === 'closed' || state === 'failed') this.#stopLiveness?.();
		this.#state = state;
		this.emit('state', state);
	}
}

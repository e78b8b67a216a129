import { EventEmitter } from 'eventemitter3';
import type { ConnectionQuality, IceServer, MeshSignal } from '../../../core/protocol/index.js';
import type { Stat } from '../media/QualitySampler.js';
import { MeshConnection, type MeshConnectionState } from './MeshConnection.js';

export type MeshSessionEvents = {
	remotestream: [peerId: string, stream: MediaStream];
	remoteclosed: [peerId: string];
	connectionstate: [peerId: string, state: MeshConnectionState];
	data: [peerId: string, message: string];
};

export interface MeshSessionOptions {
	selfId: string;
	localStream: MediaStream | undefined;
	iceServers: IceServer[];
	iceTransportPolicy: RTCIceTransportPolicy;
	/** Relays a signal to a remote peer over the signaling channel. */
	sendSignal: (to: string, signal: MeshSignal) => void;
}

/** Each pair's offerer is the peer with the smaller id: both ends compute the same answer, so there is no glare. */
export function isOfferer(selfId: string, remoteId: string): boolean {
	return selfId < remoteId;
}

/**
 * A full mesh: one MeshConnection per remote participant. Media goes peer to
 * peer (or through TURN); the server only relays signals.
 */
export class MeshSession extends EventEmitter<MeshSessionEvents> {
	readonly #options: MeshSessionOptions;
	readonly #connections = new Map<string, MeshConnection>();
	#iceServers: IceServer[];
	#closed = false;

	constructor(options: MeshSessionOptions) {
		super();
		this.#options = options;
		this.#iceServers = options.iceServers;
	}

	/** Renewed TURN credentials: for connections made from now on, and for the ICE gathering (restarts) of those open. */
	updateIceServers(iceServers: IceServer[]): void {
		this.#iceServers = iceServers;
		for (const connection of this.#connections.values()) connection.updateIceServers(iceServers);
	}

	get remotePeerIds(): string[] {
		return [...this.#connections.keys()];
	}

	/** Connects to a remote participant (idempotent). */
	addPeer(peerId: string): MeshConnection {
		const existing = this.#connections.get(peerId);
		if (existing) return existing;
		if (this.#closed) throw new Error('MeshSession closed');
		const connection = new MeshConnection({
			remotePeerId: peerId,
			initiator: isOfferer(this.#options.selfId, peerId),
			localStream: this.#options.localStream,
			iceServers: this.#iceServers,
			iceTransportPolicy: this.#options.iceTransportPolicy,
		});
		connection.on('signal', (signal) => this.#options.sendSignal(peerId, signal));
		connection.on('stream', (stream) => this.emit('remotestream', peerId, stream));
		connection.on('data', (message) => this.emit('data', peerId, message));
		connection.on('state', (state) => {
			this.emit('connectionstate', peerId, state);
			if (state === 'closed') this.removePeer(peerId);
		});
		this.#connections.set(peerId, connection);
		return connection;
	}

	removePeer(peerId: string): void {
		const connection = this.#connections.get(peerId);
		if (!connection) return;
		this.#connections.delete(peerId);
		connection.close();
		this.emit('remoteclosed', peerId);
	}

	/** A signal from `from`: the answerer side may learn of the pair from its first offer. */
	handleSignal(from: string, signal: MeshSignal): void {
		if (this.#closed) return;
		this.addPeer(from).handleSignal(signal);
	}

	/** Mute or unmute without renegotiation: the track keeps its sender and sends silence/black. */
	setTrackEnabled(kind: 'audio' | 'video', enabled: boolean): void {
		for (const track of this.#options.localStream?.getTracks() ?? []) {
			if (track.kind === kind) track.enabled = enabled;
		}
	}

	/** Camera or microphone switch: replaces the track on every connection, no renegotiation. */
	replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack): void {
		const stream = this.#options.localStream;
		if (!stream) throw new Error('no local stream to replace a track in');
		for (const connection of this.#connections.values()) connection.replaceTrack(oldTrack, newTrack, stream);
		stream.removeTrack(oldTrack);
		stream.addTrack(newTrack);
	}

	/** Sends an app message to one peer, or to all; returns how many channels took it. */
	sendData(message: string, peerId?: string): number {
		let sent = 0;
		for (const [id, connection] of this.#connections) {
			if ((peerId === undefined || id === peerId) && connection.send(message)) sent++;
		}
		return sent;
	}

	async stats(): Promise<Array<{ peerId: string; state: MeshConnectionState; descriptionCount: number; stats: Stat[] }>> {
		return Promise.all(
			[...this.#connections].map(async ([peerId, c]) => ({
				peerId,
				state: c.state,
				descriptionCount: c.descriptionCount,
				stats: await c.stats(),
			})),
		);
	}

	async quality(now: number): Promise<ConnectionQuality[]> {
		const connected = [...this.#connections.values()].filter((c) => c.state === 'connected');
		return Promise.all(connected.map((c) => c.quality(now)));
	}

	/** Closes every connection. Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const peerId of [...this.#connections.keys()]) this.removePeer(peerId);
		this.removeAllListeners();
	}
}

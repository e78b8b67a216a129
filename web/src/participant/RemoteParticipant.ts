import type { ConnectionQuality, IceServer, MeshSignal, Topology } from '../../../core/protocol/index.js';
import type { Stat } from '../media/QualitySampler.js';
import type { MeshConnectionEvents, MeshConnectionState, MeshLinkHealth } from '../mesh/MeshConnection.js';
import { Emitter } from '../util/Emitter.js';
import { displayStep, initialDisplay, type DisplayInput, type DisplayState } from './display.js';
import { Repairer, type RepairEffect, type RepairPolicy } from './repair.js';

/** One connection of a mesh pair, as the participant uses it (MeshConnection; a fake in tests). */
export interface MeshLink {
	readonly generation: number;
	on<E extends keyof MeshConnectionEvents>(event: E, listener: (...args: MeshConnectionEvents[E]) => void): unknown;
	handleSignal(signal: MeshSignal): void;
	replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack, stream: MediaStream): void;
	updateIceServers(iceServers: IceServer[]): void;
	send(message: string): boolean;
	readonly descriptionCount: number;
	stats(): Promise<Stat[]>;
	quality(now: number): Promise<ConnectionQuality>;
	readonly state: MeshConnectionState;
	close(): void;
}

/** A repair step taken (or given up) on one of this client's media paths; the call counts and reports them. */
export interface RepairRecord {
	path: Topology;
	action: 'ice-restart' | 'recreate' | 'rebuild' | 'recovered' | 'gave-up';
	/** The other end of a mesh pair. */
	peerId?: string;
	at: number;
}

export type RemoteParticipantEvents = {
	/** Show this stream on the participant's tile (swap its tracks in place). */
	show: [stream: MediaStream, path: Topology];
	/** The tile has nothing to show any more. */
	hidden: [];
	repair: [record: RepairRecord];
	/** The newest mesh connection failed (ICE failed, a negotiation error, or no connection in time). */
	linkFailed: [];
	data: [message: string];
};

export interface RemoteParticipantOptions {
	peerId: string;
	/** This pair's offerer: it makes (and re-makes) the connection; the other end follows its generation. */
	offerer: boolean;
	heading: Topology;
	videoMuted: boolean;
	/** Makes one connection of the pair. */
	createLink: (generation: number, initiator: boolean) => MeshLink;
	/** Relays one of the pair's signals, tagged with the connection's generation. */
	sendSignal: (signal: MeshSignal, generation: number) => void;
	repairPolicy: () => RepairPolicy;
	/** Resolves once `track` (from `path`) rendered a few frames off screen; false when `timeoutMs` passed first. */
	probe: (track: MediaStreamTrack, path: Topology, timeoutMs: number) => Promise<boolean>;
	/** How long a new source may take to render before the tile swaps anyway (a migration's deadline shortens it). */
	renderTimeoutMs: () => number;
	now?: () => number;
}

/** A new mesh connection that has not connected by then counts as failed (an offer lost on the way never fails by itself). */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * One remote participant: its mesh connection (re-made by the pair's
 * offerer when it fails), the stream the SFU delivers for it, which of the
 * two its tile shows (the `display` model), and its mesh repair (the
 * `repair` model). The tile keeps showing the old source, frozen at worst,
 * until the new one renders.
 */
export class RemoteParticipant extends Emitter<RemoteParticipantEvents> {
	readonly peerId: string;
	readonly #options: RemoteParticipantOptions;
	#display: DisplayState;
	/** The pair's connections by generation: the newest, and the one the tile still shows while a new one comes up. */
	readonly #links = new Map<number, MeshLink>();
	readonly #streams = new Map<string, MediaStream>();
	readonly #repair: Repairer;
	#generation = -1;
	#connectTimer: ReturnType<typeof setTimeout> | undefined;
	#closed = false;

	constructor(options: RemoteParticipantOptions) {
		super();
		this.peerId = options.peerId;
		this.#options = options;
		this.#display = initialDisplay(options.heading, options.videoMuted);
		this.#repair = new Repairer({
			policy: options.repairPolicy,
			onEffect: (effect) => this.#onRepair(effect),
			...(options.now ? { now: options.now } : {}),
		});
	}

	/** The path the tile shows, if any. */
	get shownPath(): Topology | undefined {
		return this.#display.shown?.path;
	}

	/** The newest mesh connection's generation (-1 before any). */
	get generation(): number {
		return this.#generation;
	}

	/** Open mesh connections (the newest and, during a repair, the one still shown). */
	get linkCount(): number {
		return this.#links.size;
	}

	get meshLost(): boolean {
		return this.#repair.state.phase === 'gaveUp';
	}

	/** Connects the pair over the mesh (idempotent); the answerer waits for the offerer's first signal. */
	openMesh(): void {
		if (this.#closed || this.#links.size > 0 || !this.#options.offerer) return;
		this.#addLink(this.#generation + 1);
	}

	/** A signal from the other end for its connection `generation`: the answerer follows a newer generation. */
	handleSignal(signal: MeshSignal, generation: number): void {
		if (this.#closed) return;
		// An offer while the pair has no connection at all: the offerer's side was re-made and counts from 0 again.
		const restarted = !this.#options.offerer && this.#links.size === 0 && signal.kind === 'description' && signal.description.type === 'offer';
		if (generation < this.#generation && !restarted) return; // a connection already replaced
		if (generation > this.#generation || restarted) {
			if (this.#options.offerer) return; // only the offerer makes generations
			// Like the offerer: keep only the connection the tile shows (its frozen frame) beside the new one.
			this.#dropLinksBut(this.#display.shown?.path === 'mesh' ? this.#display.shown.gen : undefined);
			this.#addLink(generation);
		}
		this.#links.get(generation)?.handleSignal(signal);
	}

	/** Leaves the mesh: every connection of the pair closes. */
	closeMesh(): void {
		clearTimeout(this.#connectTimer);
		const links = [...this.#links.values()];
		this.#links.clear(); // detached first: their 'closed' is not an outage to repair
		for (const link of links) link.close();
		for (const key of [...this.#streams.keys()]) if (key.startsWith('mesh:')) this.#streams.delete(key);
		this.#repair.reset();
		this.#step({ type: 'sourceClosed', path: 'mesh' });
	}

	/** The SFU delivers (or its tracks changed). */
	setSfuStream(stream: MediaStream): void {
		this.#streams.set('sfu:0', stream);
		this.#step({ type: 'source', path: 'sfu', gen: 0, video: stream.getVideoTracks().length > 0, audio: stream.getAudioTracks().length > 0 });
	}

	sfuClosed(): void {
		this.#streams.delete('sfu:0');
		this.#step({ type: 'sourceClosed', path: 'sfu' });
	}

	heading(path: Topology): void {
		this.#step({ type: 'heading', path });
	}

	settle(path: Topology): void {
		this.#step({ type: 'settle', path });
	}

	setVideoMuted(muted: boolean): void {
		this.#step({ type: 'videoMuted', muted });
	}

	replaceTrack(oldTrack: MediaStreamTrack, newTrack: MediaStreamTrack, stream: MediaStream): void {
		for (const link of this.#links.values()) link.replaceTrack(oldTrack, newTrack, stream);
	}

	updateIceServers(iceServers: IceServer[]): void {
		for (const link of this.#links.values()) link.updateIceServers(iceServers);
	}

	send(message: string): boolean {
		return this.#links.get(this.#generation)?.send(message) ?? false;
	}

	/** The newest mesh connection: its stats, and how many descriptions it exchanged. */
	async meshStats(): Promise<{ generation: number; descriptionCount: number; stats: Stat[] } | undefined> {
		const link = this.#links.get(this.#generation);
		if (!link) return undefined;
		return { generation: link.generation, descriptionCount: link.descriptionCount, stats: await link.stats() };
	}

	async meshQuality(now: number): Promise<ConnectionQuality | undefined> {
		const link = this.#links.get(this.#generation);
		return link?.state === 'connected' ? link.quality(now) : undefined;
	}

	/** Closes the pair's connections and stops repairing. Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		clearTimeout(this.#connectTimer);
		const links = [...this.#links.values()];
		this.#links.clear();
		for (const link of links) link.close();
		this.#repair.close();
		this.#streams.clear();
		this.removeAllListeners();
	}

	#addLink(generation: number): void {
		const initiator = this.#options.offerer;
		const link = this.#options.createLink(generation, initiator);
		this.#generation = generation;
		this.#links.set(generation, link);
		clearTimeout(this.#connectTimer);
		this.#connectTimer = setTimeout(() => {
			if (this.#links.get(generation) === link && link.state !== 'connected') this.#onHealth(generation, 'failed');
		}, CONNECT_TIMEOUT_MS);
		link.on('signal', (signal) => this.#options.sendSignal(signal, generation));
		link.on('stream', (stream) => {
			if (this.#closed || !this.#links.has(generation)) return;
			this.#streams.set(`mesh:${generation}`, stream);
			this.#step({ type: 'source', path: 'mesh', gen: generation, video: stream.getVideoTracks().length > 0, audio: stream.getAudioTracks().length > 0 });
		});
		link.on('data', (message) => this.emit('data', message));
		// A connection no longer the pair's (closed, replaced) says nothing about it: a getStats() in flight may still answer.
		link.on('health', (health) => {
			if (this.#links.get(generation) === link) this.#onHealth(generation, health);
		});
		link.on('state', (state) => {
			// A connection that closed by itself (simple-peer destroys a failed one): its frozen frame stays
			// on the tile while a newer one comes up; it is forgotten here.
			if (state === 'closed' && this.#links.get(generation) === link) {
				this.#links.delete(generation);
				if (generation === this.#generation && this.#repair.state.phase === 'healthy') this.#onHealth(generation, 'failed');
			}
		});
	}

	/** Any live connection of the pair makes it healthy; only the newest can make it unhealthy. */
	#onHealth(generation: number, health: MeshLinkHealth): void {
		if (this.#closed || (health !== 'connected' && generation !== this.#generation)) return;
		if (health === 'failed') this.emit('linkFailed');
		this.#repair.connection(health);
	}

	#onRepair(effect: RepairEffect): void {
		if (this.#closed) return;
		const at = Date.now();
		if (effect.type === 'repair') {
			// The offerer re-makes the connection; the answerer's repair is following the offerer's new generation.
			if (!this.#options.offerer) return;
			this.emit('repair', { path: 'mesh', action: 'recreate', peerId: this.peerId, at });
			// Keep the connection the tile shows (its frozen frame) until the new one renders; drop any other.
			const shown = this.#display.shown?.path === 'mesh' ? this.#display.shown.gen : undefined;
			this.#dropLinksBut(shown);
			this.#addLink(this.#generation + 1);
		} else if (effect.type === 'recovered') {
			this.emit('repair', { path: 'mesh', action: 'recovered', peerId: this.peerId, at });
		} else {
			this.emit('repair', { path: 'mesh', action: 'gave-up', peerId: this.peerId, at });
		}
	}

	#step(input: DisplayInput): void {
		if (this.#closed) return;
		const { state, effects } = displayStep(this.#display, input);
		this.#display = state;
		for (const effect of effects) {
			const stream = this.#streams.get(`${effect.path}:${effect.gen}`);
			if (effect.type === 'show') {
				if (stream) this.emit('show', stream, effect.path);
				if (effect.path === 'mesh') this.#dropOlderLinks(effect.gen);
			} else {
				const video = stream?.getVideoTracks()[0];
				const done = () => this.#step({ type: 'probed', path: effect.path, gen: effect.gen });
				if (!video) done();
				else void this.#options.probe(video, effect.path, this.#options.renderTimeoutMs()).then(done, done);
			}
		}
		if (!this.#display.shown && input.type === 'sourceClosed') this.emit('hidden');
	}

	/** The tile shows mesh generation `gen`: connections before it are done with. */
	#dropOlderLinks(gen: number): void {
		for (const [g, link] of [...this.#links]) {
			if (g < gen) {
				this.#links.delete(g); // detached first: its 'closed' is not an outage to repair
				link.close();
				this.#streams.delete(`mesh:${g}`);
			}
		}
	}

	/** Closes every connection of the pair but generation `keep` (the one the tile shows, its frozen frame). */
	#dropLinksBut(keep: number | undefined): void {
		for (const [g, link] of [...this.#links]) {
			if (g !== keep) {
				this.#links.delete(g);
				link.close();
			}
		}
	}
}

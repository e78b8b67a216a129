import { createActor, type Actor } from 'xstate';
import type { TopologyConfig } from '../../core/config/index.js';
import {
	ErrorCode,
	Notification,
	SignalingError,
	type NotificationData,
	type QualityReport,
	type RoomSettings,
	type Topology,
	type TopologyState,
} from '../../core/protocol/index.js';
import {
	assessQuality,
	returnHoldMs,
	topologyForNewcomer,
	topologyMachine,
	topologyState,
	usesSfu,
	type TopologyEmitted,
	type TopologyThresholds,
} from '../../core/topology/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/Metrics.js';

/** What the room's topology actor does to the world. */
export interface TopologyEffects {
	/** Sends a notification to every peer of the room. */
	broadcast<N extends Notification>(method: N, data: NotificationData<N>): void;
	/** A move to the SFU begins: take the room's router now. */
	prepareSfu(): void;
	/** Drops the room's SFU side (every router, transport, producer, consumer). */
	closeSfu(): void;
}

/**
 * One room's topology actor, running the machine of core/topology, and the
 * glue to the rest of the server: membership and quality reports go in, the
 * machine's prepare/commit/abort come out as `topology.*` notifications,
 * metrics, and, once a room is back on the mesh (or never got there), the
 * closing of its SFU side.
 */
export class RoomTopology {
	readonly #actor: Actor<typeof topologyMachine>;
	readonly #config: TopologyConfig;
	readonly #effects: TopologyEffects;
	readonly #metrics: Metrics | undefined;
	readonly #logger: Logger;
	/** When the migration in flight was decided (ms since the epoch), for its duration. */
	#decidedAt = 0;
	#closed = false;

	constructor(options: {
		settings: RoomSettings;
		config: TopologyConfig;
		effects: TopologyEffects;
		metrics?: Metrics;
		logger: Logger;
	}) {
		this.#config = options.config;
		this.#effects = options.effects;
		this.#metrics = options.metrics;
		this.#logger = options.logger.child({ module: 'RoomTopology' });
		const { meshMaxPeers, meshMinPeers, deescalateCooldownMs } = options.settings;
		this.#actor = createActor(topologyMachine, {
			input: { thresholds: this.#thresholds({ meshMaxPeers, meshMinPeers, deescalateCooldownMs }) },
		});
		this.#actor.on('*', (event) => this.#onEmitted(event));
		this.#actor.start();
	}

	/** mesh, escalating, sfu or deescalating. */
	get state(): TopologyState {
		return topologyState(this.#actor.getSnapshot());
	}

	get epoch(): number {
		return this.#actor.getSnapshot().context.epoch;
	}

	/** Where a peer (re)joining now puts its media, and the room's state and epoch: what join and resume answers carry. */
	get placement(): { mediaMode: Topology; topology: { state: TopologyState; epoch: number } } {
		const state = this.state;
		return { mediaMode: topologyForNewcomer(state), topology: { state, epoch: this.epoch } };
	}

	/** A peer joins: tells the machine (which may start a migration), and says where the newcomer's media goes. */
	peerJoined(peerId: string): RoomTopology['placement'] {
		this.#actor.send({ type: 'peer.joined', peerId });
		return this.placement;
	}

	peerLeft(peerId: string): void {
		this.#actor.send({ type: 'peer.left', peerId });
	}

	/** A broadcast's audience is now `size` viewers (any puts the room on the SFU); says where a viewer's media goes. */
	audienceChanged(size: number): RoomTopology['placement'] {
		this.#actor.send({ type: 'audience.changed', size });
		return this.placement;
	}

	/** A peer's quality report, read against the escalation thresholds. */
	qualityReport(peerId: string, report: QualityReport, participants: number, at: number): void {
		const pressure = assessQuality(report, participants, this.#config);
		this.#actor.send({ type: 'quality.report', peerId, at, pressure });
	}

	ready(peerId: string, epoch: number): void {
		this.#checkEpoch(epoch);
		this.#actor.send({ type: 'client.ready', peerId, epoch });
	}

	failed(peerId: string, epoch: number, reason: string): void {
		this.#checkEpoch(epoch);
		this.#logger.warn({ peerId, epoch, reason }, 'client could not build the new path');
		this.#actor.send({ type: 'client.failed', peerId, epoch, reason });
	}

	/** The room's settings changed (claimed through the room API): its thresholds apply from now on. */
	updateSettings(settings: RoomSettings): void {
		const { meshMaxPeers, meshMinPeers, deescalateCooldownMs } = settings;
		this.#actor.send({ type: 'thresholds.changed', thresholds: this.#thresholds({ meshMaxPeers, meshMinPeers, deescalateCooldownMs }) });
	}

	/** SFU requests are served while the room has, or is building, an SFU side. */
	get allowsSfu(): boolean {
		return usesSfu(this.state);
	}

	/** Stops the actor (and its timers). Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#actor.stop();
	}

	#thresholds(room: Pick<RoomSettings, 'meshMaxPeers' | 'meshMinPeers' | 'deescalateCooldownMs'>): TopologyThresholds {
		return { ...room, migrationTimeoutMs: this.#config.migrationTimeoutMs, qualityWindowMs: this.#config.qualityWindowMs };
	}

	/** After a return to the mesh rolled back: how long the room now holds on the SFU before it tries again. */
	#logReturnBackoff(): void {
		const { thresholds, failedReturns } = this.#actor.getSnapshot().context;
		if (failedReturns === 0) return;
		this.#logger.info({ failedReturns, holdMs: returnHoldMs(thresholds.deescalateCooldownMs, failedReturns) }, 'return to the mesh failed; backing off');
	}

	#checkEpoch(epoch: number): void {
		const state = this.state;
		if (epoch !== this.epoch || (state !== 'escalating' && state !== 'deescalating')) {
			throw new SignalingError(ErrorCode.StaleEpoch, `migration ${epoch} is not in progress (room at ${state}, epoch ${this.epoch})`);
		}
	}

	#onEmitted(event: TopologyEmitted): void {
		if (this.#closed) return;
		const direction = (target: Topology) => (target === 'sfu' ? 'escalate' : 'deescalate');
		switch (event.type) {
			case 'prepare': {
				this.#decidedAt = Date.now();
				const { thresholds, failedReturns } = this.#actor.getSnapshot().context;
				this.#logger.info({ epoch: event.epoch, target: event.target, reason: event.reason, failedReturns }, 'migration decided');
				if (event.target === 'sfu') this.#effects.prepareSfu();
				this.#effects.broadcast(Notification.TopologyPrepare, {
					epoch: event.epoch,
					target: event.target,
					reason: event.reason,
					decidedAt: this.#decidedAt,
					// The machine's own deadline for this migration: commit or roll back then.
					timeoutMs: thresholds.migrationTimeoutMs,
				});
				return;
			}
			case 'commit': {
				const seconds = (Date.now() - this.#decidedAt) / 1000;
				this.#metrics?.migrations.inc({ direction: direction(event.topology), result: 'committed' });
				this.#metrics?.migrationDuration.observe({ direction: direction(event.topology) }, seconds);
				if (event.stragglers.length > 0) this.#metrics?.migrationStragglers.inc(event.stragglers.length);
				this.#logger.info({ epoch: event.epoch, topology: event.topology, seconds, stragglers: event.stragglers }, 'migration committed');
				this.#effects.broadcast(Notification.TopologyCommit, { epoch: event.epoch, topology: event.topology, stragglers: event.stragglers });
				// Back on the mesh: the room costs the server no media from here on.
				if (event.topology === 'mesh') this.#effects.closeSfu();
				return;
			}
			case 'abort': {
				const target = event.topology === 'mesh' ? 'sfu' : 'mesh';
				this.#metrics?.migrations.inc({ direction: direction(target), result: 'aborted' });
				this.#logger.warn({ epoch: event.epoch, topology: event.topology, reason: event.reason }, 'migration rolled back');
				if (event.topology === 'sfu') this.#logReturnBackoff();
				this.#effects.broadcast(Notification.TopologyAbort, { epoch: event.epoch, topology: event.topology, reason: event.reason });
				if (event.topology === 'mesh') this.#effects.closeSfu();
				return;
			}
		}
	}
}

import { and, assign, emit, not, or, setup, type SnapshotFrom } from 'xstate';
import { MigrationReason, type Topology, type TopologyState } from '../protocol/index.js';
import type { QualityPressure } from './EscalationPolicy.js';

/**
 * The topology machine: one actor per room decides whether the room's media
 * travels peer to peer (mesh) or through the SFU, and drives each migration
 * between them make-before-break:
 *
 *   mesh ──(too many peers, or sustained quality pressure)──▶ escalating ──(everyone ready)──▶ sfu
 *    ▲                                                           │ (failed / nobody ready)
 *    └───────────────────────────── abort ◀──────────────────────┘
 *   sfu ──(few peers, no pressure, for the cooldown)──▶ deescalating ──(everyone ready)──▶ mesh
 *
 * A broadcast room adds an audience: viewers who only receive, and only
 * through the SFU. They are not among `peers` (they do not migrate and are
 * not waited for); while there is any, the room goes to the SFU at once
 * and does not return to the mesh (reason `audience`).
 *
 * A return to the mesh that fails (a client's `client.failed`, or nobody
 * ready by the timeout) leaves the room on the SFU, and each such failure in
 * a row doubles the hold before the next try: the room must stay eligible
 * for deescalateCooldownMs x 2^failedReturns, at most MAX_RETURN_BACKOFF
 * (16) cooldowns, so a pair whose mesh connection cannot work is not torn
 * through a failing migration every cooldown. `failedReturns` (in the
 * context) goes back to 0 when a return to the mesh commits, including the
 * one of a room that emptied, which commits at once. A return superseded
 * by joins (or an audience) did not fail: it neither counts nor resets.
 *
 * Each migration has an epoch; clients answer `client.ready` or
 * `client.failed` for it and stale epochs are ignored. The machine is pure:
 * it emits `prepare`, `commit` and `abort`, and the server turns them into
 * notifications (server/topology/RoomTopology.ts). Time enters only through
 * named delays and the `at` of quality reports, so tests drive it with a
 * simulated clock.
 */

/** A return to the mesh that keeps failing waits at most this many cooldowns before the next try. */
export const MAX_RETURN_BACKOFF = 16;

/**
 * How long a room on the SFU must stay eligible for the mesh before it
 * tries to return: the cooldown, doubled for each return in a row that
 * failed (deescalateCooldownMs x 2^failedReturns), capped at
 * MAX_RETURN_BACKOFF cooldowns.
 */
export function returnHoldMs(deescalateCooldownMs: number, failedReturns: number): number {
	return deescalateCooldownMs * Math.min(2 ** failedReturns, MAX_RETURN_BACKOFF);
}

export interface TopologyThresholds {
	meshMaxPeers: number;
	meshMinPeers: number;
	deescalateCooldownMs: number;
	migrationTimeoutMs: number;
	qualityWindowMs: number;
}

export interface TopologyContext {
	thresholds: TopologyThresholds;
	/** Everyone whose media migrates (in a broadcast: the stage), in join order. */
	peers: string[];
	/** Viewers of a broadcast, receiving through the SFU only. */
	audience: number;
	/** The current (or last) migration's number; 0 before the first. */
	epoch: number;
	/** Peers that confirmed the current migration's new path renders. */
	ready: string[];
	/** Per peer: since when, until when (its own report times) and why its reports argue for the SFU. */
	pressure: Record<string, { since: number; last: number; kind: QualityPressure }>;
	/** The latest report time seen: the machine's notion of "now" for quality windows. */
	reportClock: number;
	/** Returns to the mesh that failed in a row since the last one that committed: each doubles the next hold (returnHoldMs). */
	failedReturns: number;
}

export type TopologyEvent =
	| { type: 'peer.joined'; peerId: string }
	| { type: 'peer.left'; peerId: string }
	/** A broadcast's audience grew or shrank to `size`. */
	| { type: 'audience.changed'; size: number }
	| { type: 'quality.report'; peerId: string; at: number; pressure: QualityPressure | null }
	| { type: 'client.ready'; peerId: string; epoch: number }
	| { type: 'client.failed'; peerId: string; epoch: number; reason: string }
	/** The room's settings changed (the room API claimed it): the new thresholds apply from now on. */
	| { type: 'thresholds.changed'; thresholds: TopologyThresholds };

export type TopologyEmitted =
	| { type: 'prepare'; epoch: number; target: Topology; reason: MigrationReason }
	| { type: 'commit'; epoch: number; topology: Topology; stragglers: string[] }
	| { type: 'abort'; epoch: number; topology: Topology; reason: string };

/** A peer whose own reports have shown pressure for the whole window, without a break. */
function sustained(context: TopologyContext): QualityPressure | null {
	for (const { since, last, kind } of Object.values(context.pressure)) {
		if (last - since >= context.thresholds.qualityWindowMs) return kind;
	}
	return null;
}

function escalationReason(context: TopologyContext): MigrationReason | null {
	if (context.audience > 0) return MigrationReason.Audience;
	if (context.peers.length > context.thresholds.meshMaxPeers) return MigrationReason.Participants;
	return sustained(context);
}

export const topologyMachine = setup({
	types: {
		context: {} as TopologyContext,
		events: {} as TopologyEvent,
		emitted: {} as TopologyEmitted,
		input: {} as { thresholds: TopologyThresholds },
	},
	guards: {
		/** meshMaxPeers 0: the room never uses the mesh. */
		sfuOnly: ({ context }) => context.thresholds.meshMaxPeers === 0,
		shouldEscalate: ({ context }) => escalationReason(context) !== null,
		/** More than twice meshMaxPeers, or an audience: too many for a mesh even while the room holds still after a migration. */
		farTooManyForMesh: ({ context }) =>
			context.audience > 0 || (context.thresholds.meshMaxPeers > 0 && context.peers.length > 2 * context.thresholds.meshMaxPeers),
		tooManyForMesh: ({ context }) => context.peers.length > context.thresholds.meshMaxPeers,
		/** Nobody to migrate (an audience does not migrate: it is on the SFU already). */
		roomEmpty: ({ context }) => context.peers.length === 0,
		hasAudience: ({ context }) => context.audience > 0,
		/** Few enough peers, and nobody's reports argue for the SFU right now. */
		mayDeescalate: ({ context }) =>
			context.thresholds.meshMaxPeers > 0 &&
			context.audience === 0 &&
			context.peers.length <= context.thresholds.meshMinPeers &&
			Object.keys(context.pressure).length === 0,
		isCurrentEpoch: ({ context, event }) => 'epoch' in event && event.epoch === context.epoch,
		isMember: ({ context, event }) => 'peerId' in event && context.peers.includes(event.peerId),
		everyoneReady: ({ context }) => context.peers.length > 0 && context.peers.every((p) => context.ready.includes(p)),
		anyoneReady: ({ context }) => context.ready.length > 0,
	},
	delays: {
		migrationTimeout: ({ context }) => context.thresholds.migrationTimeoutMs,
		deescalateCooldown: ({ context }) => context.thresholds.deescalateCooldownMs,
		/** On the SFU, before a return to the mesh: the cooldown, doubled per failed return. */
		returnHold: ({ context }) => returnHoldMs(context.thresholds.deescalateCooldownMs, context.failedReturns),
	},
	actions: {
		addPeer: assign({
			peers: ({ context, event }) =>
				event.type === 'peer.joined' && !context.peers.includes(event.peerId) ? [...context.peers, event.peerId] : context.peers,
		}),
		removePeer: assign(({ context, event }) => {
			if (event.type !== 'peer.left') return {};
			const { [event.peerId]: _gone, ...pressure } = context.pressure;
			return {
				peers: context.peers.filter((p) => p !== event.peerId),
				ready: context.ready.filter((p) => p !== event.peerId),
				pressure,
			};
		}),
		trackPressure: assign(({ context, event }) => {
			if (event.type !== 'quality.report' || !context.peers.includes(event.peerId)) return {};
			const reportClock = Math.max(context.reportClock, event.at);
			const { [event.peerId]: previous, ...others } = context.pressure;
			// A peer that stopped reporting for a whole window no longer counts (a background tab, a dropped socket).
			const fresh = Object.fromEntries(
				Object.entries(others).filter(([, p]) => reportClock - p.last <= context.thresholds.qualityWindowMs),
			);
			if (event.pressure === null) return { reportClock, pressure: fresh };
			// A run of pressure keeps its start; a different kind keeps it too (still a reason).
			const entry = { since: previous?.since ?? event.at, last: event.at, kind: event.pressure };
			return { reportClock, pressure: { ...fresh, [event.peerId]: entry } };
		}),
		setAudience: assign({ audience: ({ context, event }) => (event.type === 'audience.changed' ? event.size : context.audience) }),
		setThresholds: assign({
			thresholds: ({ context, event }) => (event.type === 'thresholds.changed' ? event.thresholds : context.thresholds),
		}),
		beginMigration: assign({ epoch: ({ context }) => context.epoch + 1, ready: () => [] }),
		countFailedReturn: assign({ failedReturns: ({ context }) => context.failedReturns + 1 }),
		resetFailedReturns: assign({ failedReturns: 0 }),
		markReady: assign({
			ready: ({ context, event }) =>
				event.type === 'client.ready' && !context.ready.includes(event.peerId) ? [...context.ready, event.peerId] : context.ready,
		}),
		announceEscalation: emit(({ context }) => ({
			type: 'prepare' as const,
			epoch: context.epoch,
			target: 'sfu' as const,
			reason: escalationReason(context) ?? MigrationReason.Participants,
		})),
		announceDeescalation: emit(({ context }) => ({
			type: 'prepare' as const,
			epoch: context.epoch,
			target: 'mesh' as const,
			reason: MigrationReason.ParticipantsLow,
		})),
		announceCommit: emit(({ context }, params: { topology: Topology }) => ({
			type: 'commit' as const,
			epoch: context.epoch,
			topology: params.topology,
			stragglers: context.peers.filter((p) => !context.ready.includes(p)),
		})),
		announceAbort: emit(({ context }, params: { topology: Topology; reason: string }) => ({
			type: 'abort' as const,
			epoch: context.epoch,
			topology: params.topology,
			reason: params.reason,
		})),
	},
}).createMachine({
	id: 'topology',
	context: ({ input }) => ({
		thresholds: input.thresholds,
		peers: [],
		audience: 0,
		epoch: 0,
		ready: [],
		pressure: {},
		reportClock: 0,
		failedReturns: 0,
	}),
	initial: 'deciding',
	on: {
		'peer.joined': { actions: 'addPeer' },
		'peer.left': { actions: 'removePeer' },
		'quality.report': { actions: 'trackPressure' },
		'audience.changed': { actions: 'setAudience' },
		'thresholds.changed': { actions: 'setThresholds' },
	},
	states: {
		deciding: {
			always: [{ guard: 'sfuOnly', target: 'sfu' }, { target: 'mesh' }],
		},
		mesh: {
			initial: 'steady',
			states: {
				steady: {
					always: { guard: 'shouldEscalate', target: '#topology.escalating' },
				},
				/**
				 * Just back from the SFU (or a failed escalation): hold still for the
				 * cooldown, so the room cannot flap; only a room grown past twice
				 * meshMaxPeers leaves at once.
				 */
				settling: {
					always: { guard: 'farTooManyForMesh', target: '#topology.escalating' },
					after: { deescalateCooldown: 'steady' },
				},
			},
		},
		escalating: {
			entry: ['beginMigration', 'announceEscalation'],
			on: {
				'client.ready': { guard: and(['isCurrentEpoch', 'isMember']), actions: 'markReady' },
				// With an audience the room cannot go back to the mesh (its viewers receive only through the SFU):
				// a stage member that failed is a straggler of the commit, not a reason to roll back.
				'client.failed': {
					guard: and(['isCurrentEpoch', 'isMember', not('hasAudience')]),
					target: 'mesh.settling',
					actions: { type: 'announceAbort', params: ({ event }) => ({ topology: 'mesh' as const, reason: `client failed: ${event.reason}` }) },
				},
			},
			always: [
				// An audience with nobody on stage to move: the room is on the SFU at once.
				{ guard: and(['roomEmpty', 'hasAudience']), target: 'sfu', actions: { type: 'announceCommit', params: { topology: 'sfu' } } },
				{ guard: 'roomEmpty', target: 'mesh.settling', actions: { type: 'announceAbort', params: { topology: 'mesh', reason: 'room emptied' } } },
				{ guard: 'everyoneReady', target: 'sfu', actions: { type: 'announceCommit', params: { topology: 'sfu' } } },
			],
			after: {
				migrationTimeout: [
					{ guard: or(['anyoneReady', 'hasAudience']), target: 'sfu', actions: { type: 'announceCommit', params: { topology: 'sfu' } } },
					{ target: 'mesh.settling', actions: { type: 'announceAbort', params: { topology: 'mesh', reason: 'timeout: nobody ready' } } },
				],
			},
		},
		sfu: {
			initial: 'steady',
			states: {
				steady: {
					always: { guard: 'mayDeescalate', target: 'cooling' },
				},
				/** Eligible for the mesh; it must stay so for the whole hold (hysteresis): the cooldown, doubled per failed return. */
				cooling: {
					always: { guard: not('mayDeescalate'), target: 'steady' },
					after: { returnHold: '#topology.deescalating' },
				},
			},
		},
		deescalating: {
			entry: ['beginMigration', 'announceDeescalation'],
			on: {
				'client.ready': { guard: and(['isCurrentEpoch', 'isMember']), actions: 'markReady' },
				// A failed return: the next one waits twice as long (returnHold).
				'client.failed': {
					guard: and(['isCurrentEpoch', 'isMember']),
					target: 'sfu',
					actions: [
						{ type: 'announceAbort', params: ({ event }) => ({ topology: 'sfu' as const, reason: `client failed: ${event.reason}` }) },
						'countFailedReturn',
					],
				},
			},
			always: [
				// Joins during the move brought an audience, or took the room past meshMaxPeers: it stays on the SFU (not a failure).
				{ guard: 'hasAudience', target: 'sfu', actions: { type: 'announceAbort', params: { topology: 'sfu', reason: 'superseded: an audience joined' } } },
				{ guard: 'tooManyForMesh', target: 'sfu', actions: { type: 'announceAbort', params: { topology: 'sfu', reason: 'superseded: participants over meshMaxPeers' } } },
				// Nobody left to move: the room is back on the mesh at once (it holds nothing there).
				{ guard: 'roomEmpty', target: 'mesh.settling', actions: [{ type: 'announceCommit', params: { topology: 'mesh' } }, 'resetFailedReturns'] },
				{ guard: 'everyoneReady', target: 'mesh.settling', actions: [{ type: 'announceCommit', params: { topology: 'mesh' } }, 'resetFailedReturns'] },
			],
			after: {
				migrationTimeout: [
					{ guard: 'anyoneReady', target: 'mesh.settling', actions: [{ type: 'announceCommit', params: { topology: 'mesh' } }, 'resetFailedReturns'] },
					{ target: 'sfu', actions: [{ type: 'announceAbort', params: { topology: 'sfu', reason: 'timeout: nobody ready' } }, 'countFailedReturn'] },
				],
			},
		},
	},
});

export type TopologySnapshot = SnapshotFrom<typeof topologyMachine>;

/** The top-level state: mesh, escalating, sfu or deescalating. */
export function topologyState(snapshot: TopologySnapshot): TopologyState {
	const value = snapshot.value;
	const top = typeof value === 'string' ? value : Object.keys(value)[0];
	if (top === 'escalating' || top === 'sfu' || top === 'deescalating') return top;
	return 'mesh';
}

/** Where a peer joining now should put its media: the target of a migration in flight, else the current topology. */
export function topologyForNewcomer(state: TopologyState): Topology {
	return state === 'escalating' || state === 'sfu' ? 'sfu' : 'mesh';
}

/** Whether the room has (or is building) an SFU side: SFU requests are allowed. */
export function usesSfu(state: TopologyState): boolean {
	return state !== 'mesh';
}

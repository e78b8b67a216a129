import { and, assign, emit, not, or, setup, type SnapshotFrom } from 'xstate';
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
 * Each migration has an epoch; clients answer `client.ready` or
 * `client.failed` for it and stale epochs are ignored. The machine is pure:
 * it emits `prepare`, `commit` and `abort`, and the server turns them into
 * notifications (server/topology/RoomTopology.ts). Time enters only through
 * named delays and the `at` of quality reports, so tests drive it with a
 * simulated clock.
 */

export type Topology = 'mesh' | 'sfu';
export type TopologyStateName = 'mesh' | 'escalating' | 'sfu' | 'deescalating';

/** What started a migration. */
export type MigrationReason = 'participants' | 'audience' | QualityPressure | 'participants-low';

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
	if (context.audience > 0) return 'audience';
	if (context.peers.length > context.thresholds.meshMaxPeers) return 'participants';
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
		markReady: assign({
			ready: ({ context, event }) =>
				event.type === 'client.ready' && !context.ready.includes(event.peerId) ? [...context.ready, event.peerId] : context.ready,
		}),
		announceEscalation: emit(({ context }) => ({
			type: 'prepare' as const,
			epoch: context.epoch,
			target: 'sfu' as const,
			reason: escalationReason(context) ?? 'participants',
		})),
		announceDeescalation: emit(({ context }) => ({
			type: 'prepare' as const,
			epoch: context.epoch,
			target: 'mesh' as const,
			reason: 'participants-low' as const,
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
	context: ({ input }) => ({ thresholds: input.thresholds, peers: [], audience: 0, epoch: 0, ready: [], pressure: {}, reportClock: 0 }),
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
				/** Eligible for the mesh; it must stay so for the whole cooldown (hysteresis). */
				cooling: {
					always: { guard: not('mayDeescalate'), target: 'steady' },
					after: { deescalateCooldown: '#topology.deescalating' },
				},
			},
		},
		deescalating: {
			entry: ['beginMigration', 'announceDeescalation'],
			on: {
				'client.ready': { guard: and(['isCurrentEpoch', 'isMember']), actions: 'markReady' },
				'client.failed': {
					guard: and(['isCurrentEpoch', 'isMember']),
					target: 'sfu',
					actions: { type: 'announceAbort', params: ({ event }) => ({ topology: 'sfu' as const, reason: `client failed: ${event.reason}` }) },
				},
			},
			always: [
				// Joins during the move brought an audience, or took the room past meshMaxPeers: it stays on the SFU.
				{ guard: 'hasAudience', target: 'sfu', actions: { type: 'announceAbort', params: { topology: 'sfu', reason: 'superseded: an audience joined' } } },
				{ guard: 'tooManyForMesh', target: 'sfu', actions: { type: 'announceAbort', params: { topology: 'sfu', reason: 'superseded: participants over meshMaxPeers' } } },
				// Nobody left to move: the room is back on the mesh at once (it holds nothing there).
				{ guard: 'roomEmpty', target: 'mesh.settling', actions: { type: 'announceCommit', params: { topology: 'mesh' } } },
				{ guard: 'everyoneReady', target: 'mesh.settling', actions: { type: 'announceCommit', params: { topology: 'mesh' } } },
			],
			after: {
				migrationTimeout: [
					{ guard: 'anyoneReady', target: 'mesh.settling', actions: { type: 'announceCommit', params: { topology: 'mesh' } } },
					{ target: 'sfu', actions: { type: 'announceAbort', params: { topology: 'sfu', reason: 'timeout: nobody ready' } } },
				],
			},
		},
	},
});

export type TopologySnapshot = SnapshotFrom<typeof topologyMachine>;

/** The top-level state: mesh, escalating, sfu or deescalating. */
export function topologyState(snapshot: TopologySnapshot): TopologyStateName {
	const value = snapshot.value;
	const top = typeof value === 'string' ? value : Object.keys(value)[0];
	if (top === 'escalating' || top === 'sfu' || top === 'deescalating') return top;
	return 'mesh';
}

/** Where a peer joining now should put its media: the target of a migration in flight, else the current topology. */
export function topologyForNewcomer(state: TopologyStateName): Topology {
	return state === 'escalating' || state === 'sfu' ? 'sfu' : 'mesh';
}

/** Whether the room has (or is building) an SFU side: SFU requests are allowed. */
export function usesSfu(state: TopologyStateName): boolean {
	return state !== 'mesh';
}

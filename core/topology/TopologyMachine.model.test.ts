import { beforeAll, describe, expect, it } from 'vitest';
import { createActor, SimulatedClock, type AnyStateMachine, type AnyStateNode, type AnyTransitionDefinition } from 'xstate';
import { getAdjacencyMap, getShortestPaths, type AdjacencyMap } from 'xstate/graph';
import { topologyMachine, topologyState, type TopologyEmitted, type TopologyEvent, type TopologySnapshot, type TopologyThresholds } from './TopologyMachine.js';

/**
 * Model-based tests: xstate/graph walks the machine over a small world
 * (three possible peers, one of them able to report pressure, and a
 * broadcast's audience that comes and goes) and every
 * state and every transition of the machine is then driven on a real actor
 * with a simulated clock, checking the invariants of each state on the way.
 * Every delayed transition is timed against the model's own delays: it must
 * not fire a millisecond early, and must fire on time. The hold before a
 * return to the mesh is the model's cooldown x 2^(failed returns in a row,
 * read from what the machine emitted), capped at 16 cooldowns.
 */

const thresholds: TopologyThresholds = {
	meshMaxPeers: 2,
	meshMinPeers: 2,
	deescalateCooldownMs: 3000,
	migrationTimeoutMs: 1000,
	qualityWindowMs: 2000,
};
/** A smaller room, so three peers also reach twice meshMaxPeers. */
const tiny: TopologyThresholds = { ...thresholds, meshMaxPeers: 1, meshMinPeers: 1 };
/** The other kind of room: on the SFU from its first participant. */
const sfuOnly: TopologyThresholds = { ...thresholds, meshMaxPeers: 0, meshMinPeers: 0 };
const universe = ['a', 'b', 'c'];
/** The model's cap on the return hold, in cooldowns. */
const RETURN_BACKOFF_CAP = 16;
/** The walk tells apart rooms with up to this many failed returns in a row (one past the cap, to see it hold). */
const FAILED_RETURNS_SEEN = 5;

/**
 * The model's count of returns to the mesh that failed in a row, read from
 * what the machine said: an abort back to the SFU that was not superseded
 * counts one, a commit to the mesh starts over.
 */
function failedReturnsIn(emitted: TopologyEmitted[]): number {
	let failed = 0;
	for (const e of emitted) {
		if (e.type === 'commit' && e.topology === 'mesh') failed = 0;
		else if (e.type === 'abort' && e.topology === 'sfu' && !e.reason.startsWith('superseded')) failed++;
	}
	return failed;
}

/** How long the model says a delayed transition waits. */
function modelDelayMs(delay: string, world: TopologyThresholds, failedReturns: number): number {
	switch (delay) {
		case 'migrationTimeout':
			return world.migrationTimeoutMs;
		case 'deescalateCooldown':
			return world.deescalateCooldownMs;
		case 'returnHold':
			return world.deescalateCooldownMs * Math.min(2 ** failedReturns, RETURN_BACKOFF_CAP);
		default:
			throw new Error(`the model knows no delay "${delay}"`);
	}
}

/** Delayed transitions appear to the graph as their internal events; on a live actor they are time passing. */
const afterEvents = [
	'xstate.after.deescalateCooldown.topology.mesh.settling',
	'xstate.after.returnHold.topology.sfu.cooling',
	'xstate.after.migrationTimeout.topology.escalating',
	'xstate.after.migrationTimeout.topology.deescalating',
].map((type) => ({ type }) as unknown as TopologyEvent);

function eventsFor(snapshot: TopologySnapshot): TopologyEvent[] {
	const { peers, epoch, reportClock } = snapshot.context;
	const events: TopologyEvent[] = [];
	for (const peerId of universe) {
		events.push(peers.includes(peerId) ? { type: 'peer.left', peerId } : { type: 'peer.joined', peerId });
	}
	for (const peerId of peers) events.push({ type: 'client.ready', peerId, epoch });
	if (peers[0]) events.push({ type: 'client.failed', peerId: peers[0], epoch, reason: 'test' });
	if (peers.includes('a')) {
		events.push({ type: 'quality.report', peerId: 'a', at: reportClock + thresholds.qualityWindowMs, pressure: 'uplink' });
		events.push({ type: 'quality.report', peerId: 'a', at: reportClock + 1, pressure: null });
	}
	// A broadcast's audience arrives or empties.
	events.push({ type: 'audience.changed', size: snapshot.context.audience > 0 ? 0 : 1 });
	// A claim through the room API re-sends the thresholds; the walk keeps its world's own.
	events.push({ type: 'thresholds.changed', thresholds: snapshot.context.thresholds });
	return [...events, ...afterEvents];
}

/**
 * What distinguishes states for the walk (epochs and report times grow
 * without bound; they are left out, and failed returns count up to one past
 * the cap).
 */
function serialize(snapshot: TopologySnapshot): string {
	const { peers, ready, pressure, audience, failedReturns } = snapshot.context;
	return JSON.stringify([
		snapshot.value,
		[...peers].sort(),
		[...ready].sort(),
		Object.keys(pressure).sort(),
		audience,
		Math.min(failedReturns, FAILED_RETURNS_SEEN),
	]);
}


function allStateNodes(node: AnyStateNode): AnyStateNode[] {
	return [node, ...Object.values(node.states).flatMap(allStateNodes)];
}

function allTransitions(): AnyTransitionDefinition[] {
	return allStateNodes(topologyMachine.root).flatMap((node) => [...[...node.transitions.values()].flat(), ...(node.always ?? [])]);
}

/** A return hold that ran out: after how many failed returns in a row, and how long it was. */
interface ReturnHold {
	failedReturns: number;
	ms: number;
}

/**
 * Runs `events` on a live actor with a simulated clock; returns the
 * transitions it took and the return holds that ran out. A delayed
 * transition is the model's delay passing: nothing happens a millisecond
 * before it, and the transition is taken at it.
 */
function replay(
	thresholds: TopologyThresholds,
	events: TopologyEvent[],
): { snapshot: TopologySnapshot; emitted: TopologyEmitted[]; taken: Set<AnyTransitionDefinition>; holds: ReturnHold[] } {
	const clock = new SimulatedClock();
	const holds: ReturnHold[] = [];
	const taken = new Set<AnyTransitionDefinition>();
	const emitted: TopologyEmitted[] = [];
	const actor = createActor(topologyMachine, {
		clock,
		input: { thresholds },
		inspect: (e) => {
			if (e.type === '@xstate.microstep') for (const t of (e as unknown as { _transitions: AnyTransitionDefinition[] })._transitions) taken.add(t);
		},
	});
	actor.on('*', (e) => emitted.push(e));
	actor.start();
	for (const event of events) {
		const delay = /^xstate\.after\.(\w+)\./.exec(event.type)?.[1];
		if (!delay) {
			actor.send(event);
			continue;
		}
		// Time passes; the delayed transition fires only if the machine still waits for it.
		if (topologyMachine.getTransitionData(actor.getSnapshot(), event).length === 0) continue;
		const failedReturns = failedReturnsIn(emitted);
		const ms = modelDelayMs(delay, thresholds, failedReturns);
		const before = { state: serialize(actor.getSnapshot()), emitted: emitted.length };
		clock.increment(ms - 1);
		expect({ state: serialize(actor.getSnapshot()), emitted: emitted.length }, `${delay} fired before ${ms} ms`).toEqual(before);
		clock.increment(1);
		// Fired: the state moved on, or the machine spoke (a timeout that rolls back into a new migration at once does both).
		expect({ state: serialize(actor.getSnapshot()), emitted: emitted.length }, `${delay} had not fired at ${ms} ms`).not.toEqual(before);
		if (delay === 'returnHold') {
			holds.push({ failedReturns, ms });
			// The hold ends in the next try: a prepare back to the mesh, at once (an empty room's commits with it).
			expect(emitted[before.emitted]).toMatchObject({ type: 'prepare', target: 'mesh', reason: 'participants-low' });
		}
	}
	return { snapshot: actor.getSnapshot(), emitted, taken, holds };
}

/** Invariants each state must satisfy, whatever path led there. */
function checkInvariants(snapshot: TopologySnapshot, emitted: TopologyEmitted[]): void {
	const state = topologyState(snapshot);
	const { epoch, ready, peers, failedReturns } = snapshot.context;
	const last = emitted.at(-1);
	// The machine counts failed returns as the model does (what snapshots show).
	expect(failedReturns).toBe(failedReturnsIn(emitted));
	const prepares = emitted.filter((e) => e.type === 'prepare');
	// Epochs count prepares, one each, in order.
	expect(prepares.map((e) => e.epoch)).toEqual(prepares.map((_, i) => i + 1));
	expect(epoch).toBe(prepares.length);
	// Every prepare but the one in flight ended in exactly one commit or abort.
	const ends = emitted.filter((e) => e.type !== 'prepare');
	const migrating = state === 'escalating' || state === 'deescalating';
	expect(ends.length).toBe(prepares.length - (migrating ? 1 : 0));
	if (migrating) {
		expect(last).toMatchObject({ type: 'prepare', epoch, target: state === 'escalating' ? 'sfu' : 'mesh' });
		expect(ready.every((p) => peers.includes(p))).toBe(true);
	} else if (last) {
		expect(last.type).not.toBe('prepare');
		// The room is where the last word put it.
		expect(last.type === 'commit' || last.type === 'abort' ? last.topology : undefined).toBe(state);
	}
}

/**
 * Walks one kind of room: every edge of the adjacency map is replayed on a
 * live actor (shortest path to its source, then its event), checking that
 * the actor lands where the graph says and keeps the invariants.
 */
function walk(thresholds: TopologyThresholds): { taken: Set<AnyTransitionDefinition>; visited: Set<string>; edges: number; holds: ReturnHold[] } {
	// The graph helpers' generics do not follow a machine with typed emitted events: walk it as any machine.
	const logic = topologyMachine as unknown as AnyStateMachine;
	const options = {
		input: { thresholds },
		events: (s: TopologySnapshot) => eventsFor(s),
		serializeState: (s: TopologySnapshot) => serialize(s),
	} as unknown as Parameters<typeof getAdjacencyMap<TopologySnapshot, TopologyEvent, unknown>>[1];
	const adjacency = getAdjacencyMap(logic, options) as AdjacencyMap<TopologySnapshot, TopologyEvent>;
	const pathTo = new Map(
		getShortestPaths(logic, options).map((p) => [serialize(p.state as TopologySnapshot), p.steps.map((s) => s.event as TopologyEvent)]),
	);
	const taken = new Set<AnyTransitionDefinition>();
	const visited = new Set<string>();
	const holds: ReturnHold[] = [];
	let edges = 0;
	for (const [key, { transitions }] of Object.entries(adjacency)) {
		const prefix = pathTo.get(key);
		expect(prefix, `no path to ${key}`).toBeDefined();
		for (const { event, state } of Object.values(transitions) as Array<{ event: TopologyEvent; state: TopologySnapshot }>) {
			const run = replay(thresholds, [...prefix!, event]);
			expect(serialize(run.snapshot)).toBe(serialize(state));
			checkInvariants(run.snapshot, run.emitted);
			for (const t of run.taken) {
				taken.add(t);
				visited.add(t.source.id);
				for (const target of t.target ?? []) visited.add(target.id);
			}
			for (const node of run.snapshot._nodes) visited.add(node.id);
			holds.push(...run.holds);
			edges++;
		}
	}
	return { taken, visited, edges, holds };
}

describe('topology machine, model-based (xstate/graph)', () => {
	let worlds: Array<ReturnType<typeof walk>> = [];
	beforeAll(() => {
		worlds = [walk(thresholds), walk(tiny), walk(sfuOnly)];
	});

	it('drives a live actor through every state node of the machine', () => {
		const visited = new Set(worlds.flatMap((w) => [...w.visited]));
		const ids = allStateNodes(topologyMachine.root).map((n) => n.id);
		expect(ids.filter((id) => !visited.has(id))).toEqual([]);
		expect(ids).toEqual(expect.arrayContaining(['topology.mesh.settling', 'topology.sfu.cooling', 'topology.escalating', 'topology.deescalating']));
	});

	it('takes every transition, landing where the graph says and keeping the invariants on the way', () => {
		const taken = new Set(worlds.flatMap((w) => [...w.taken]));
		const missing = allTransitions().filter((t) => !taken.has(t));
		expect(missing.map((t) => `${t.source.id} --${t.eventType}--> ${t.target?.map((n) => n.id).join(',') ?? '(self)'}`)).toEqual([]);
		expect(worlds[0]!.edges).toBeGreaterThan(100);
	});

	it('times a return to the mesh after k failed returns in a row at cooldown x 2^k, capped at 16 cooldowns', () => {
		// Each k the walk reached, with every hold it timed there (replay checked each to the millisecond).
		const seen = new Map<number, Set<number>>();
		for (const { failedReturns, ms } of worlds.flatMap((w) => w.holds)) seen.set(failedReturns, (seen.get(failedReturns) ?? new Set()).add(ms));
		const cooldown = thresholds.deescalateCooldownMs;
		expect([...seen.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
		expect(Object.fromEntries([...seen].map(([k, ms]) => [k, [...ms]]))).toEqual({
			0: [cooldown],
			1: [2 * cooldown],
			2: [4 * cooldown],
			3: [8 * cooldown],
			4: [16 * cooldown],
			// Past the cap the hold grows no more.
			5: [16 * cooldown],
		});
	});
});

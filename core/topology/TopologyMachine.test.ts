import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { MAX_RETURN_BACKOFF, returnHoldMs, topologyMachine, topologyState, type TopologyEmitted, type TopologyThresholds } from './TopologyMachine.js';

const defaults: TopologyThresholds = {
	meshMaxPeers: 2,
	meshMinPeers: 2,
	deescalateCooldownMs: 3000,
	migrationTimeoutMs: 1000,
	qualityWindowMs: 4000,
};

/** A room's topology actor on a simulated clock, with what it emitted. */
function room(thresholds: Partial<TopologyThresholds> = {}) {
	const clock = new SimulatedClock();
	const actor = createActor(topologyMachine, { clock, input: { thresholds: { ...defaults, ...thresholds } } });
	const emitted: Array<TopologyEmitted & { at: number }> = [];
	actor.on('*', (event) => emitted.push({ ...event, at: clock.now() }));
	actor.start();
	const api = {
		actor,
		clock,
		emitted,
		get state() {
			return topologyState(actor.getSnapshot());
		},
		get epoch() {
			return actor.getSnapshot().context.epoch;
		},
		join: (...ids: string[]) => ids.forEach((peerId) => actor.send({ type: 'peer.joined', peerId })),
		leave: (...ids: string[]) => ids.forEach((peerId) => actor.send({ type: 'peer.left', peerId })),
		ready: (...ids: string[]) => ids.forEach((peerId) => actor.send({ type: 'client.ready', peerId, epoch: api.epoch })),
		/** Everyone present confirms the migration in flight. */
		allReady: () => api.ready(...actor.getSnapshot().context.peers),
		advance: (ms: number) => clock.increment(ms),
		audience: (size: number) => actor.send({ type: 'audience.changed', size }),
	};
	return api;
}

/** A room of three that moved to the SFU, lost its third, and after the cooldown is on its way back (epoch 2). */
function returningToMesh() {
	const r = room();
	r.join('a', 'b', 'c');
	r.allReady();
	r.leave('c');
	r.advance(3000);
	expect(r.state).toBe('deescalating');
	return r;
}

describe('topology machine', () => {
	it('new thresholds (a room claimed through the API) apply at once: a mesh of 3 with meshMaxPeers lowered to 0 escalates', () => {
		const r = room({ meshMaxPeers: 4 });
		r.join('a', 'b', 'c');
		expect(r.state).toBe('mesh');
		r.actor.send({ type: 'thresholds.changed', thresholds: { ...defaults, meshMaxPeers: 0, meshMinPeers: 0 } });
		expect(r.state).toBe('escalating');
		expect(r.emitted).toEqual([expect.objectContaining({ type: 'prepare', target: 'sfu', reason: 'participants' })]);
		r.allReady();
		r.leave('b', 'c');
		r.advance(60_000);
		// meshMaxPeers 0: it never returns to the mesh.
		expect(r.state).toBe('sfu');
	});

	it('starts on the mesh, and on the SFU when meshMaxPeers is 0', () => {
		expect(room().state).toBe('mesh');
		const sfuOnly = room({ meshMaxPeers: 0 });
		expect(sfuOnly.state).toBe('sfu');
		sfuOnly.join('a');
		sfuOnly.advance(60_000);
		expect(sfuOnly.state).toBe('sfu');
		expect(sfuOnly.emitted).toEqual([]);
	});

	it('escalates when participants exceed meshMaxPeers, and commits once everyone renders the SFU path', () => {
		const r = room();
		r.join('a', 'b');
		expect(r.state).toBe('mesh');
		r.join('c');
		expect(r.state).toBe('escalating');
		expect(r.emitted).toEqual([{ type: 'prepare', epoch: 1, target: 'sfu', reason: 'participants', at: 0 }]);
		r.ready('a', 'b');
		expect(r.state).toBe('escalating');
		r.ready('c');
		expect(r.state).toBe('sfu');
		expect(r.emitted[1]).toEqual({ type: 'commit', epoch: 1, topology: 'sfu', stragglers: [], at: 0 });
	});

	it('ignores confirmations for another epoch and from strangers', () => {
		const r = room();
		r.join('a', 'b', 'c');
		r.actor.send({ type: 'client.ready', peerId: 'a', epoch: 0 });
		r.actor.send({ type: 'client.ready', peerId: 'b', epoch: 7 });
		r.actor.send({ type: 'client.ready', peerId: 'zed', epoch: 1 });
		expect(r.actor.getSnapshot().context.ready).toEqual([]);
		r.actor.send({ type: 'client.failed', peerId: 'a', epoch: 0, reason: 'old news' });
		expect(r.state).toBe('escalating');
	});

	it('on timeout commits with the stragglers named when someone is ready', () => {
		const r = room();
		r.join('a', 'b', 'c');
		r.ready('a');
		r.advance(999);
		expect(r.state).toBe('escalating');
		r.advance(1);
		expect(r.state).toBe('sfu');
		expect(r.emitted.at(-1)).toMatchObject({ type: 'commit', topology: 'sfu', stragglers: ['b', 'c'] });
	});

	it('rolls back when nobody is ready in time, and holds off for the cooldown before trying again', () => {
		const r = room();
		r.join('a', 'b', 'c');
		r.advance(1000);
		expect(r.state).toBe('mesh');
		expect(r.emitted.at(-1)).toMatchObject({ type: 'abort', epoch: 1, topology: 'mesh', reason: 'timeout: nobody ready' });
		r.join('d');
		r.advance(2999);
		expect(r.state).toBe('mesh');
		r.advance(1);
		expect(r.state).toBe('escalating');
		expect(r.emitted.at(-1)).toMatchObject({ type: 'prepare', epoch: 2, target: 'sfu' });
	});

	it('rolls back at once when a client cannot build the new path, saying why', () => {
		const r = room();
		r.join('a', 'b', 'c');
		r.ready('a');
		r.actor.send({ type: 'client.failed', peerId: 'b', epoch: 1, reason: 'ICE failed' });
		expect(r.state).toBe('mesh');
		expect(r.emitted.at(-1)).toEqual({ type: 'abort', epoch: 1, topology: 'mesh', reason: 'client failed: ICE failed', at: 0 });
	});

	it('a peer leaving mid-migration no longer holds it up', () => {
		const r = room();
		r.join('a', 'b', 'c');
		r.ready('a', 'b');
		r.leave('c');
		expect(r.state).toBe('sfu');
		expect(r.emitted.at(-1)).toMatchObject({ type: 'commit', stragglers: [] });
	});

	it('returns to the mesh only after the count stays at meshMinPeers or below for the whole cooldown', () => {
		const r = room({ meshMinPeers: 1 });
		r.join('a', 'b', 'c');
		r.allReady();
		r.leave('c');
		expect(r.state).toBe('sfu'); // 2 > meshMinPeers 1
		r.leave('b');
		r.advance(2000);
		r.join('b'); // above the threshold again: the cooldown restarts
		r.advance(2000);
		r.leave('b');
		r.advance(2999);
		expect(r.state).toBe('sfu');
		r.advance(1);
		expect(r.state).toBe('deescalating');
		expect(r.emitted.at(-1)).toMatchObject({ type: 'prepare', epoch: 2, target: 'mesh', reason: 'participants-low' });
		r.allReady();
		expect(r.state).toBe('mesh');
		expect(r.emitted.at(-1)).toMatchObject({ type: 'commit', epoch: 2, topology: 'mesh' });
	});

	it('a failed return to the mesh stays on the SFU and retries only after twice the cooldown', () => {
		const r = returningToMesh();
		r.advance(1000);
		expect(r.state).toBe('sfu');
		expect(r.emitted.at(-1)).toMatchObject({ type: 'abort', topology: 'sfu' });
		expect(r.actor.getSnapshot().context.failedReturns).toBe(1);
		r.advance(5999);
		expect(r.state).toBe('sfu');
		r.advance(1);
		expect(r.state).toBe('deescalating');
	});

	it('returns to the mesh that keep failing back off: cooldown x 2^k after k failures in a row, at most 16 cooldowns, until one commits', () => {
		const r = returningToMesh();
		const holds: number[] = [];
		for (let k = 1; k <= 6; k++) {
			// Failing by a client's topology.failed or by nobody ready in time counts the same.
			if (k % 2 === 0) r.actor.send({ type: 'client.failed', peerId: 'a', epoch: r.epoch, reason: 'ICE failed' });
			else r.advance(1000);
			expect(r.state).toBe('sfu');
			expect(r.actor.getSnapshot().context.failedReturns).toBe(k);
			const abortedAt = r.clock.now();
			r.advance(returnHoldMs(3000, k) - 1);
			expect(r.state).toBe('sfu');
			r.advance(1);
			expect(r.state).toBe('deescalating');
			holds.push(r.clock.now() - abortedAt);
		}
		expect(MAX_RETURN_BACKOFF).toBe(16);
		expect(holds).toEqual([6000, 12_000, 24_000, 48_000, 48_000, 48_000]);
		// This time it works: the count starts over, and the next return waits one cooldown.
		r.allReady();
		expect(r.state).toBe('mesh');
		expect(r.actor.getSnapshot().context.failedReturns).toBe(0);
		r.join('c');
		r.advance(3000); // the mesh holds still for the cooldown after a migration
		expect(r.state).toBe('escalating');
		r.allReady();
		r.leave('c');
		const back = r.clock.now();
		r.advance(3000);
		expect(r.state).toBe('deescalating');
		expect(r.clock.now() - back).toBe(3000);
	});

	it('a return superseded by joins is not a failure: it neither doubles the next hold nor resets the count', () => {
		const r = returningToMesh();
		r.advance(1000); // one failed return
		r.advance(6000);
		expect(r.state).toBe('deescalating');
		r.join('c');
		expect(r.emitted.at(-1)).toMatchObject({ type: 'abort', reason: 'superseded: participants over meshMaxPeers' });
		expect(r.actor.getSnapshot().context.failedReturns).toBe(1);
		r.leave('c');
		r.advance(5999);
		expect(r.state).toBe('sfu');
		r.advance(1);
		expect(r.state).toBe('deescalating');
	});

	it('escalates on quality pressure only when it lasts the whole window, and an interruption restarts the window', () => {
		const r = room({ meshMaxPeers: 4 });
		r.join('a', 'b');
		const report = (at: number, pressure: 'uplink' | 'loss' | null) => r.actor.send({ type: 'quality.report', peerId: 'a', at, pressure });
		report(0, 'uplink');
		report(2000, 'uplink');
		report(3000, null);
		report(4000, 'loss');
		report(7999, 'loss');
		expect(r.state).toBe('mesh');
		report(8000, 'loss');
		expect(r.state).toBe('escalating');
		expect(r.emitted.at(-1)).toMatchObject({ type: 'prepare', target: 'sfu', reason: 'loss' });
	});

	it('does not return to the mesh while anyone reports pressure', () => {
		const r = room({ meshMinPeers: 2 });
		r.join('a', 'b', 'c');
		r.allReady();
		r.actor.send({ type: 'quality.report', peerId: 'a', at: 100, pressure: 'uplink' });
		r.leave('c');
		r.advance(10_000);
		expect(r.state).toBe('sfu');
		r.actor.send({ type: 'quality.report', peerId: 'a', at: 10_100, pressure: null });
		r.advance(3000);
		expect(r.state).toBe('deescalating');
	});

	it('a join/leave storm around the threshold does not make the room flap', () => {
		const r = room({ meshMaxPeers: 2, meshMinPeers: 2, deescalateCooldownMs: 3000 });
		r.join('a', 'b');
		// A third participant joins and leaves every 700 ms for a minute (shorter than the cooldown).
		for (let t = 0; t < 60_000; t += 700) {
			if (r.actor.getSnapshot().context.peers.includes('c')) r.leave('c');
			else r.join('c');
			r.allReady();
			r.advance(700);
		}
		const migrations = r.emitted.filter((e) => e.type === 'prepare');
		expect(migrations).toHaveLength(1);
		expect(r.state).toBe('sfu');
		// When the storm stops the room settles back on the mesh after one cooldown.
		if (r.actor.getSnapshot().context.peers.includes('c')) r.leave('c');
		r.advance(3000);
		r.allReady();
		expect(r.state).toBe('mesh');
	});

	it('never migrates twice within a cooldown, whatever the storm', () => {
		const r = room({ meshMaxPeers: 2, meshMinPeers: 2, deescalateCooldownMs: 3000 });
		r.join('a', 'b');
		// Joins and leaves with irregular spacing, some longer than the cooldown.
		const steps = [100, 3500, 200, 4000, 50, 50, 3100, 2900, 6000, 10, 3200, 100, 8000];
		for (const ms of steps) {
			if (r.actor.getSnapshot().context.peers.includes('c')) r.leave('c');
			else r.join('c');
			r.allReady();
			r.advance(ms);
			r.allReady();
		}
		const ends = r.emitted.filter((e) => e.type === 'commit' || e.type === 'abort').map((e) => e.at);
		const starts = r.emitted.filter((e) => e.type === 'prepare').map((e) => e.at);
		expect(starts.length).toBeGreaterThanOrEqual(2);
		for (let i = 1; i < starts.length; i++) {
			expect(starts[i]! - ends[i - 1]!).toBeGreaterThanOrEqual(3000);
		}
	});

	it('holding still after a migration, it still leaves the mesh at once past twice meshMaxPeers', () => {
		const r = room();
		r.join('a', 'b', 'c');
		r.advance(1000); // nobody ready: rolled back, settling
		expect(r.state).toBe('mesh');
		r.join('d');
		expect(r.state).toBe('mesh'); // 4 = 2 x meshMaxPeers: waits out the cooldown
		r.join('e');
		expect(r.state).toBe('escalating');
		expect(r.emitted.at(-1)).toMatchObject({ type: 'prepare', epoch: 2, target: 'sfu', reason: 'participants' });
	});

	it('a return to the mesh that joins take past meshMaxPeers is rolled back: the room stays on the SFU', () => {
		const r = returningToMesh();
		r.join('c');
		expect(r.state).toBe('sfu'); // 3 > meshMaxPeers 2: no mesh for three
		expect(r.emitted.at(-1)).toMatchObject({ type: 'abort', topology: 'sfu', reason: 'superseded: participants over meshMaxPeers' });
	});

	it('a peer that reported pressure once and then fell silent does not escalate the room', () => {
		const r = room({ meshMaxPeers: 4 });
		r.join('a', 'b');
		r.actor.send({ type: 'quality.report', peerId: 'a', at: 0, pressure: 'loss' });
		// Only b keeps reporting, healthy; the room clock moves on well past the window.
		for (let at = 2000; at <= 20_000; at += 2000) r.actor.send({ type: 'quality.report', peerId: 'b', at, pressure: null });
		expect(r.state).toBe('mesh');
		expect(r.actor.getSnapshot().context.pressure).toEqual({});
	});

	it('a migration whose room empties ends: an escalation rolls back, a return to the mesh completes', () => {
		const up = room();
		up.join('a', 'b', 'c');
		up.leave('a', 'b', 'c');
		expect(up.state).toBe('mesh');
		expect(up.emitted.at(-1)).toMatchObject({ type: 'abort', reason: 'room emptied' });
		const down = room({ meshMinPeers: 1 });
		down.join('a', 'b', 'c');
		down.allReady();
		down.leave('b', 'c');
		down.advance(3000);
		expect(down.state).toBe('deescalating');
		down.leave('a');
		expect(down.state).toBe('mesh');
		expect(down.emitted.at(-1)).toMatchObject({ type: 'commit', topology: 'mesh', stragglers: [] });
	});

	describe('a broadcast audience', () => {
		it('a host alone on the mesh escalates at the first viewer (reason audience), and only the stage is waited for', () => {
			const r = room();
			r.join('host');
			expect(r.state).toBe('mesh');
			r.audience(1);
			expect(r.state).toBe('escalating');
			expect(r.emitted.at(-1)).toMatchObject({ type: 'prepare', target: 'sfu', reason: 'audience' });
			r.ready('host');
			expect(r.state).toBe('sfu');
			expect(r.emitted.at(-1)).toMatchObject({ type: 'commit', topology: 'sfu', stragglers: [] });
		});

		it('an audience with nobody on stage is on the SFU at once', () => {
			const r = room();
			r.audience(3);
			expect(r.state).toBe('sfu');
			expect(r.emitted.map((e) => e.type)).toEqual(['prepare', 'commit']);
		});

		it('keeps the room on the SFU while any audience is there, and lets it return after', () => {
			const r = room();
			r.join('host');
			r.audience(2);
			r.ready('host');
			r.advance(60_000);
			expect(r.state).toBe('sfu');
			r.audience(0);
			r.advance(3000);
			expect(r.state).toBe('deescalating');
			r.ready('host');
			expect(r.state).toBe('mesh');
		});

		it('a viewer arriving during the return to the mesh rolls it back; one arriving while the room settles escalates at once', () => {
			const r = room();
			r.join('host');
			r.audience(1);
			r.ready('host');
			r.audience(0);
			r.advance(3000);
			expect(r.state).toBe('deescalating');
			r.audience(1);
			expect(r.state).toBe('sfu');
			expect(r.emitted.at(-1)).toMatchObject({ type: 'abort', topology: 'sfu', reason: 'superseded: an audience joined' });

			const s = room();
			s.join('host');
			s.audience(1);
			s.ready('host');
			s.audience(0);
			s.advance(3000);
			s.ready('host');
			expect(s.actor.getSnapshot().matches({ mesh: 'settling' })).toBe(true);
			s.audience(1);
			expect(s.state).toBe('escalating');
		});

		it('with an audience, a stage member that fails or never answers does not take the room off the SFU', () => {
			const failing = room();
			failing.join('host');
			failing.audience(1);
			failing.actor.send({ type: 'client.failed', peerId: 'host', epoch: failing.epoch, reason: 'no camera' });
			expect(failing.state).toBe('escalating');
			const silent = room();
			silent.join('host');
			silent.audience(1);
			silent.advance(1000);
			expect(silent.state).toBe('sfu');
			expect(silent.emitted.at(-1)).toMatchObject({ type: 'commit', topology: 'sfu', stragglers: ['host'] });
		});
	});
});

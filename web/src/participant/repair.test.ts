import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { HEALTHY, RETRY_DELAYS_MS, repairStep, wakeAt, type RepairEffect, type RepairInput, type RepairPolicy, type RepairState } from './repair.js';

const policy: RepairPolicy = { disconnectedGraceMs: 2000, giveUpMs: 20_000 };

/** Runs the model on a simulated clock the way Repairer does: a tick exactly at each wakeAt. */
class Driver {
	now = 0;
	state: RepairState = HEALTHY;
	readonly log: Array<{ at: number; from: RepairState; input: RepairInput; to: RepairState; effects: RepairEffect[] }> = [];

	constructor(readonly policy: RepairPolicy) {}

	input(input: RepairInput): RepairEffect[] {
		const { state, effects } = repairStep(this.policy, this.state, input);
		this.log.push({ at: this.now, from: this.state, input, to: state, effects });
		this.state = state;
		return effects;
	}

	connection(type: 'connected' | 'disconnected' | 'failed'): RepairEffect[] {
		return this.input({ type, now: this.now });
	}

	advance(ms: number): void {
		const until = this.now + ms;
		for (let wake = wakeAt(this.policy, this.state); wake !== undefined && wake <= until; wake = wakeAt(this.policy, this.state)) {
			this.now = Math.max(this.now, wake);
			this.input({ type: 'tick', now: this.now });
		}
		this.now = until;
	}

	effects(type: RepairEffect['type']): Array<{ at: number; effect: RepairEffect }> {
		return this.log.flatMap((entry) => entry.effects.filter((e) => e.type === type).map((effect) => ({ at: entry.at, effect })));
	}
}

describe('repair model', () => {
	it('leaves a blink alone: disconnected, then connected within the grace (its recovery is still reported)', () => {
		const d = new Driver(policy);
		d.connection('disconnected');
		d.advance(1999);
		expect(d.connection('connected')).toEqual([{ type: 'recovered', attempts: 0, downMs: 1999 }]);
		d.advance(60_000);
		expect(d.state).toEqual(HEALTHY);
		expect(d.effects('repair')).toEqual([]);
	});

	it('repairs a path still disconnected when the grace ends, then on the backoff, and gives up at giveUpMs', () => {
		const d = new Driver(policy);
		d.advance(1000);
		d.connection('disconnected');
		d.advance(60_000);
		const attempts = d.effects('repair').map(({ at, effect }) => [at, (effect as { attempt: number }).attempt]);
		// 3000, then +2000, +2700, +4800, +7000 (the last delay repeats) while under 1000 + 20000.
		expect(attempts).toEqual([
			[3000, 1],
			[5000, 2],
			[7700, 3],
			[12_500, 4],
			[19_500, 5],
		]);
		expect(d.effects('gaveUp')).toEqual([{ at: 21_000, effect: { type: 'gaveUp', attempts: 5 } }]);
		expect(d.state).toEqual({ phase: 'gaveUp', since: 1000 });
	});

	it('repairs a failed path at once, and reports the recovery with its attempts and downtime', () => {
		const d = new Driver(policy);
		d.advance(500);
		expect(d.connection('failed')).toEqual([{ type: 'repair', attempt: 1 }]);
		d.advance(2500); // attempt 2 at 2500
		expect(d.connection('connected')).toEqual([{ type: 'recovered', attempts: 2, downMs: 2500 }]);
		expect(d.state).toEqual(HEALTHY);
	});

	it('keeps counting while an attempt’s own connection fails: its time is not up yet', () => {
		const d = new Driver(policy);
		d.connection('failed');
		d.advance(100);
		expect(d.connection('failed')).toEqual([]);
		expect(d.connection('disconnected')).toEqual([]);
		expect(d.state).toMatchObject({ phase: 'repairing', attempt: 1, nextAt: RETRY_DELAYS_MS[0] });
	});

	it('comes back from a give-up when the path connects by itself (the other end re-made it)', () => {
		const d = new Driver({ disconnectedGraceMs: 0, giveUpMs: 1000 });
		d.connection('failed');
		d.advance(5000);
		expect(d.state.phase).toBe('gaveUp');
		expect(d.connection('connected')).toEqual([{ type: 'recovered', attempts: 0, downMs: 5000 }]);
	});

	it('does nothing once closed', () => {
		const d = new Driver(policy);
		d.connection('failed');
		d.input({ type: 'close' });
		expect(wakeAt(policy, d.state)).toBeUndefined();
		for (const type of ['connected', 'disconnected', 'failed', 'tick'] as const) expect(d.input({ type, now: 99_999 })).toEqual([]);
		expect(d.state).toEqual({ phase: 'closed' });
	});
});

/** Every transition of the model, as `from --input--> to` on phases. */
const TRANSITIONS = [
	'healthy --disconnected--> disconnected',
	'healthy --failed--> repairing',
	'healthy --close--> closed',
	'disconnected --connected--> healthy',
	'disconnected --failed--> repairing',
	'disconnected --tick--> repairing',
	'disconnected --tick--> gaveUp',
	'disconnected --close--> closed',
	'repairing --connected--> healthy',
	'repairing --tick--> repairing',
	'repairing --tick--> gaveUp',
	'repairing --close--> closed',
	'gaveUp --connected--> healthy',
	'gaveUp --close--> closed',
];

describe('repair model, model-based', () => {
	const seen = new Set<string>();
	afterAll(() => {
		// Every state and every transition was reached by the walks.
		expect([...seen].filter((t) => !t.startsWith('closed')).sort()).toEqual([...TRANSITIONS].sort());
	});

	const command = fc.oneof(
		fc.constantFrom('connected', 'disconnected', 'failed', 'close').map((type) => ({ type }) as const),
		fc.integer({ min: 0, max: 8000 }).map((ms) => ({ type: 'advance', ms }) as const),
	);
	const policies = fc.record({ disconnectedGraceMs: fc.integer({ min: 0, max: 5000 }), giveUpMs: fc.integer({ min: 1000, max: 30_000 }) });

	it('repairs only a path that is down, on its schedule, gives up on time, and is silent once closed', () => {
		fc.assert(
			fc.property(policies, fc.array(command, { maxLength: 40 }), (p, commands) => {
				const d = new Driver(p);
				for (const c of commands) {
					if (c.type === 'advance') d.advance(c.ms);
					else if (c.type === 'close') d.input({ type: 'close' });
					else d.connection(c.type);
				}
				// Walk the log as outages: each from the first down input to `connected` (or close).
				let down: { since: number; firstRepairAt?: number; viaFailed: boolean; attempt: number; lastAt: number; gaveUp: boolean } | undefined;
				let closed = false;
				for (const entry of d.log) {
					// A transition: the phase changes, or something is done (a self-loop with no effect is no transition).
					if (entry.from.phase !== entry.to.phase || entry.effects.length > 0) seen.add(`${entry.from.phase} --${entry.input.type}--> ${entry.to.phase}`);
					if (closed) expect(entry.effects).toEqual([]);
					if (entry.input.type === 'close') {
						closed = true;
						down = undefined;
						continue;
					}
					const wasUp = entry.from.phase === 'healthy';
					if (wasUp && (entry.input.type === 'disconnected' || entry.input.type === 'failed')) {
						down = { since: entry.at, viaFailed: entry.input.type === 'failed', attempt: 0, lastAt: entry.at, gaveUp: false };
					} else if (down && entry.input.type === 'failed' && down.attempt === 0) {
						down.viaFailed = true;
					}
					for (const effect of entry.effects) {
						expect(down, `${effect.type} with the path up`).toBeDefined();
						if (!down) continue;
						if (effect.type === 'repair') {
							expect(down.gaveUp).toBe(false);
							expect(effect.attempt).toBe(down.attempt + 1);
							if (down.attempt === 0) {
								// The first attempt: at once after a failure, else exactly when the grace ends.
								if (!down.viaFailed) expect(entry.at).toBe(down.since + p.disconnectedGraceMs);
							} else {
								const delay = RETRY_DELAYS_MS[Math.min(down.attempt - 1, RETRY_DELAYS_MS.length - 1)] as number;
								expect(entry.at).toBe(down.lastAt + delay);
							}
							expect(entry.at).toBeLessThan(down.since + p.giveUpMs);
							down.attempt = effect.attempt;
							down.lastAt = entry.at;
						} else if (effect.type === 'gaveUp') {
							expect(entry.at).toBe(down.since + p.giveUpMs);
							expect(down.gaveUp).toBe(false);
							expect(effect.attempts).toBe(down.attempt);
							down.gaveUp = true;
						} else {
							expect(entry.input.type).toBe('connected');
							expect(effect.downMs).toBe(entry.at - down.since);
							expect(effect.attempts).toBe(down.gaveUp ? 0 : down.attempt);
							// Within the grace, nothing was tried.
							if (entry.from.phase === 'disconnected') expect(effect.attempts).toBe(0);
						}
					}
					if (entry.to.phase === 'healthy') down = undefined;
				}
				if (closed) expect(wakeAt(p, d.state)).toBeUndefined();
			}),
			// A fixed seed: the coverage check after the walks must not depend on luck.
			{ numRuns: 1000, seed: 20_261_127 },
		);
	});
});

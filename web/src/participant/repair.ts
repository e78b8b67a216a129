/**
 * The repair of one media path (a mesh pair, or an SFU transport), as a
 * pure model: connection states and clock ticks in, a new state and the
 * effects to carry out. No timers of its own: the owner asks `wakeAt()`
 * when to tick it next, so tests run it on a simulated clock.
 *
 *   healthy       ─disconnected─▶ disconnected   ─failed─▶ repairing (attempt 1 at once)
 *   healthy       ─failed───────▶ repairing
 *   disconnected  ─connected────▶ healthy        (a blink: it came back by itself, recovered with 0 attempts)
 *   disconnected  ─tick (grace)─▶ repairing      (or gaveUp, if the grace outlasts giveUpMs)
 *   repairing     ─tick (nextAt)▶ repairing      (the next attempt, after the backoff delay)
 *   repairing     ─tick (giveUp)▶ gaveUp
 *   repairing     ─connected────▶ healthy        (recovered)
 *   gaveUp        ─connected────▶ healthy        (it came back by itself, or the other end re-made it)
 *   any           ─close────────▶ closed
 *
 * A path that only blinks (`disconnected`, then `connected` within the
 * grace) is left alone: ICE recovers by itself (its recovery is still
 * reported: an SFU path that was down restarts its pictures from key frames). One that fails, or stays
 * disconnected past the grace, is repaired at once, then again after each
 * delay of the backoff, until `giveUpMs` after it went down.
 */

export interface RepairPolicy {
	/** How long a `disconnected` path is left to recover by itself. */
	disconnectedGraceMs: number;
	/** How long after the path went down repairing stops (the user is told). */
	giveUpMs: number;
}

/**
 * Time given to each attempt before the next one starts: a new connection
 * made while the network is still cut keeps checking by itself, and
 * connects soon after the network comes back, so attempts are not rushed.
 * The last delay repeats.
 */
export const RETRY_DELAYS_MS: readonly number[] = [2000, 2700, 4800, 7000];

export type RepairState =
	| { phase: 'healthy' }
	| { phase: 'disconnected'; since: number }
	/** Attempt `attempt` is in flight; the next one starts at `nextAt`; the path has been down since `since`. */
	| { phase: 'repairing'; since: number; attempt: number; nextAt: number }
	| { phase: 'gaveUp'; since: number }
	| { phase: 'closed' };

export type RepairInput =
	| { type: 'connected'; now: number }
	| { type: 'disconnected'; now: number }
	| { type: 'failed'; now: number }
	| { type: 'tick'; now: number }
	| { type: 'close' };

export type RepairEffect =
	/** Start attempt `attempt` (1-based). */
	| { type: 'repair'; attempt: number }
	/** The path works again, after `attempts` attempts (0: it came back by itself, within the grace or after a give-up). */
	| { type: 'recovered'; attempts: number; downMs: number }
	/** Repairing stopped: the path stays down until the user rejoins (or it comes back by itself). */
	| { type: 'gaveUp'; attempts: number };

export interface RepairStep {
	state: RepairState;
	effects: RepairEffect[];
}

export const HEALTHY: RepairState = { phase: 'healthy' };

function delayAfter(attempt: number): number {
	return RETRY_DELAYS_MS[Math.min(attempt - 1, RETRY_DELAYS_MS.length - 1)] as number;
}

function startRepair(since: number, now: number): RepairStep {
	return { state: { phase: 'repairing', since, attempt: 1, nextAt: now + delayAfter(1) }, effects: [{ type: 'repair', attempt: 1 }] };
}

export function repairStep(policy: RepairPolicy, state: RepairState, input: RepairInput): RepairStep {
	const same: RepairStep = { state, effects: [] };
	if (state.phase === 'closed') return same;
	if (input.type === 'close') return { state: { phase: 'closed' }, effects: [] };
	const { now } = input;
	switch (state.phase) {
		case 'healthy':
			if (input.type === 'disconnected') return { state: { phase: 'disconnected', since: now }, effects: [] };
			if (input.type === 'failed') return startRepair(now, now);
			return same;
		case 'disconnected':
			if (input.type === 'connected') return { state: HEALTHY, effects: [{ type: 'recovered', attempts: 0, downMs: now - state.since }] };
			if (input.type === 'failed') return startRepair(state.since, now);
			if (input.type === 'tick' && now >= state.since + policy.giveUpMs) {
				// A grace longer than the give-up: never repaired.
				return { state: { phase: 'gaveUp', since: state.since }, effects: [{ type: 'gaveUp', attempts: 0 }] };
			}
			if (input.type === 'tick' && now >= state.since + policy.disconnectedGraceMs) return startRepair(state.since, now);
			return same;
		case 'repairing':
			if (input.type === 'connected') {
				return { state: HEALTHY, effects: [{ type: 'recovered', attempts: state.attempt, downMs: now - state.since }] };
			}
			if (input.type !== 'tick') return same; // an attempt's own connection going down: its time is not up yet
			if (now >= state.since + policy.giveUpMs) {
				return { state: { phase: 'gaveUp', since: state.since }, effects: [{ type: 'gaveUp', attempts: state.attempt }] };
			}
			if (now >= state.nextAt) {
				const attempt = state.attempt + 1;
				return { state: { ...state, attempt, nextAt: now + delayAfter(attempt) }, effects: [{ type: 'repair', attempt }] };
			}
			return same;
		case 'gaveUp':
			if (input.type === 'connected') return { state: HEALTHY, effects: [{ type: 'recovered', attempts: 0, downMs: now - state.since }] };
			return same;
	}
}

/** When the owner should tick the model next (undefined: only connection changes move it). */
export function wakeAt(policy: RepairPolicy, state: RepairState): number | undefined {
	switch (state.phase) {
		case 'disconnected':
			return state.since + Math.min(policy.disconnectedGraceMs, policy.giveUpMs);
		case 'repairing':
			return Math.min(state.nextAt, state.since + policy.giveUpMs);
		default:
			return undefined;
	}
}

/**
 * A repair model with its timer: the stateful shell the media code uses.
 * `onEffect` carries out what the model decides; close() stops the timer.
 */
export class Repairer {
	readonly #policy: () => RepairPolicy;
	readonly #onEffect: (effect: RepairEffect) => void;
	readonly #now: () => number;
	#state: RepairState = HEALTHY;
	#timer: ReturnType<typeof setTimeout> | undefined;

	constructor(options: { policy: () => RepairPolicy; onEffect: (effect: RepairEffect) => void; now?: () => number }) {
		this.#policy = options.policy;
		this.#onEffect = options.onEffect;
		this.#now = options.now ?? (() => Date.now());
	}

	get state(): RepairState {
		return this.#state;
	}

	/** The path's connection state, as its RTCPeerConnection (or transport) reports it. */
	connection(state: 'connected' | 'disconnected' | 'failed'): void {
		this.#step({ type: state, now: this.#now() });
	}

	/** The path was closed on purpose (it may open again later): forget any outage, stop the timer. */
	reset(): void {
		if (this.#state.phase === 'closed') return;
		clearTimeout(this.#timer);
		this.#timer = undefined;
		this.#state = HEALTHY;
	}

	close(): void {
		this.#step({ type: 'close' });
	}

	#step(input: RepairInput): void {
		const { state, effects } = repairStep(this.#policy(), this.#state, input);
		this.#state = state;
		clearTimeout(this.#timer);
		this.#timer = undefined;
		const at = wakeAt(this.#policy(), state);
		if (at !== undefined) this.#timer = setTimeout(() => this.#step({ type: 'tick', now: this.#now() }), Math.max(0, at - this.#now()));
		for (const effect of effects) this.#onEffect(effect);
	}
}

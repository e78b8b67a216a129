import { selectedCandidatePair, type Stat } from './QualitySampler.js';

/**
 * Everything the path in use has received so far: media bytes and the
 * connectivity checks of both ends (a path whose media is all paused still
 * answers those). Undefined before a pair is selected.
 */
export function receivedCount(stats: Stat[]): number | undefined {
	const pair = selectedCandidatePair(stats);
	if (!pair) return undefined;
	const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
	return n(pair.bytesReceived) + n(pair.packetsReceived) + n(pair.responsesReceived) + n(pair.requestsReceived);
}

/** How long a path may receive nothing at all before it counts as down. */
export const STALL_MS = 2500;
const POLL_MS = 500;

/**
 * Watches a connection for silence. Chrome reports ICE `disconnected` only
 * after about 5 s without packets, and a cut shorter than that then heals
 * with a frozen picture and no repair; here a path that received nothing
 * (no media, no connectivity check) for STALL_MS is `stalled`, and `alive`
 * again as soon as anything arrives. Returns the function that stops it.
 */
export function watchLiveness(getStats: () => Promise<Stat[]>, onChange: (alive: boolean) => void, now: () => number = () => performance.now()): () => void {
	let last: number | undefined;
	let changedAt = now();
	let stalled = false;
	let busy = false;
	const timer = setInterval(() => {
		if (busy) return;
		busy = true;
		getStats()
			.then((stats) => {
				const count = receivedCount(stats);
				const at = now();
				if (count === undefined) return;
				if (count !== last) {
					last = count;
					changedAt = at;
					if (stalled) {
						stalled = false;
						onChange(true);
					}
				} else if (!stalled && at - changedAt >= STALL_MS) {
					stalled = true;
					onChange(false);
				}
			})
			.catch(() => undefined)
			.finally(() => {
				busy = false;
			});
	}, POLL_MS);
	return () => clearInterval(timer);
}

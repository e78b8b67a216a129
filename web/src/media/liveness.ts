import { selectedCandidatePair, type Stat } from './QualitySampler.js';

/** What the path in use has received so far: media (RTP, RTCP, data) and connectivity checks, apart. */
export interface Received {
	media: number;
	checks: number;
}

/**
 * What the selected candidate pair has received: media bytes and packets,
 * and the connectivity checks of both ends (a path whose media is all
 * paused still answers those). Undefined before a pair is selected.
 */
export function receivedCount(stats: Stat[]): Received | undefined {
	const pair = selectedCandidatePair(stats);
	if (!pair) return undefined;
	const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
	return { media: n(pair.bytesReceived) + n(pair.packetsReceived), checks: n(pair.responsesReceived) + n(pair.requestsReceived) };
}

/** How long a path whose media flowed may receive nothing at all before it counts as down. */
export const STALL_MS = 2500;
/**
 * The same for a path with no media (all of it paused, or none to carry):
 * only connectivity checks arrive, about every 2.5 s (Chrome's ping interval
 * on a stable connection), so silence means something only well past that.
 */
export const IDLE_STALL_MS = 6000;
const POLL_MS = 500;

/**
 * Watches a connection for silence. Chrome reports ICE `disconnected` only
 * after about 5 s without packets, and a cut shorter than that then heals
 * with a frozen picture and no repair; here a path whose media flowed and
 * that received nothing (no media, no connectivity check) for STALL_MS is
 * `stalled` (IDLE_STALL_MS for a path carrying no media), and `alive` again
 * as soon as anything arrives. Returns the function that stops it.
 */
export function watchLiveness(getStats: () => Promise<Stat[]>, onChange: (alive: boolean) => void, now: () => number = () => performance.now()): () => void {
	let last: Received | undefined;
	let changedAt = now();
	/** The last thing received was media (not only a connectivity check). */
	let mediaFlowed = false;
	let stalled = false;
	let busy = false;
	const timer = setInterval(() => {
		if (busy) return;
		busy = true;
		getStats()
			.then((stats) => {
				const count = receivedCount(stats);
				const at = now();
				if (!count) return;
				if (!last || count.media !== last.media || count.checks !== last.checks) {
					mediaFlowed = last !== undefined && count.media !== last.media;
					last = count;
					changedAt = at;
					if (stalled) {
						stalled = false;
						onChange(true);
					}
				} else if (!stalled && at - changedAt >= (mediaFlowed ? STALL_MS : IDLE_STALL_MS)) {
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

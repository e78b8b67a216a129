import type { Stat } from './QualitySampler.js';

/** How long a getStats() may take before it counts as unanswered. */
export const STATS_TIMEOUT_MS = 3000;

/**
 * The entries of `source.getStats()` (a peer connection, a mediasoup-client
 * transport or consumer), or none if it does not answer in `timeoutMs`.
 * Always settles: Firefox (ESR 153) leaves a getStats() pending for good
 * when its peer connection closes before answering (seen in the Firefox
 * e2e: a migration closing a connection under a stats poll), and one
 * pending read must not stall the stats panel, a quality report or a
 * liveness watch.
 */
export async function statsOf(source: { getStats(): Promise<RTCStatsReport> }, timeoutMs = STATS_TIMEOUT_MS): Promise<Stat[]> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const unanswered = new Promise<undefined>((resolve) => {
		timer = setTimeout(() => resolve(undefined), timeoutMs);
	});
	try {
		const report = await Promise.race([source.getStats(), unanswered]);
		const out: Stat[] = [];
		report?.forEach((s: Stat) => out.push(s));
		return out;
	} finally {
		clearTimeout(timer);
	}
}

import type { ConnectionQuality } from '../../../core/protocol/index.js';

/** How a tile's connection is doing; `unknown` until the first quality report measured it. */
export type QualityLevel = 'good' | 'fair' | 'poor' | 'unknown';

/**
 * The thresholds, from what people notice in a call: below 2% loss and
 * 150 ms round trip a call feels live; at 8% loss video freezes and audio
 * breaks up, and from 400 ms people talk over each other.
 */
export const QUALITY_THRESHOLDS = {
	good: { maxLoss: 0.02, maxRttMs: 150 },
	poor: { minLoss: 0.08, minRttMs: 400 },
} as const;

export interface QualityVerdict {
	level: QualityLevel;
	/** What the level is based on, for people: "RTT 420 ms, loss 9.1%". */
	reason: string;
}

/**
 * The level of one connection from its last report: poor when loss or RTT
 * is at the poor threshold, good when both are under the good one, fair in
 * between. A missing measurement (null) does not count against it; with
 * neither measured, or no report yet, it is unknown.
 */
export function qualityOf(report: ConnectionQuality | undefined): QualityVerdict {
	const rtt = report?.rttMs ?? null;
	const loss = report?.packetLoss ?? null;
	if (rtt === null && loss === null) return { level: 'unknown', reason: 'Not measured yet' };
	const parts = [rtt === null ? 'RTT unknown' : `RTT ${Math.round(rtt)} ms`, loss === null ? 'loss unknown' : `loss ${(loss * 100).toFixed(1)}%`];
	const reason = parts.join(', ');
	const { good, poor } = QUALITY_THRESHOLDS;
	if ((loss !== null && loss >= poor.minLoss) || (rtt !== null && rtt >= poor.minRttMs)) return { level: 'poor', reason };
	if ((loss === null || loss < good.maxLoss) && (rtt === null || rtt < good.maxRttMs)) return { level: 'good', reason };
	return { level: 'fair', reason };
}

/**
 * The report entry that says how `peerId`'s media reaches this client: the
 * mesh pair's own entry, or the SFU's on the SFU. While the call is on the
 * SFU (`mode`) the SFU's entry wins; otherwise the pair's, then the SFU's.
 */
export function reportFor(reports: readonly ConnectionQuality[], peerId: string, mode: 'mesh' | 'sfu' | undefined): ConnectionQuality | undefined {
	const pair = reports.find((r) => r.remotePeerId === peerId);
	const sfu = reports.find((r) => r.remotePeerId === 'sfu');
	return mode === 'sfu' ? (sfu ?? pair) : (pair ?? sfu);
}

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
	return { level: levelOf(rtt, loss), reason: rtt === null && loss === null ? 'Not measured yet' : `${rttText(rtt)}, ${lossText(loss)}` };
}

/**
 * The level of one remote's tile on the SFU: this client's own link to the
 * SFU gives the RTT, the remote's own consumers the loss (`remoteLoss`, see
 * inboundLoss). The link's loss is left out: it adds up every remote's
 * consumers, so one lossy sender would colour every tile. The reason says
 * which is which: "your link: RTT 40 ms; from Ben: loss 9.0%".
 */
export function sfuQualityOf(link: ConnectionQuality | undefined, remoteLoss: number | null, name: string): QualityVerdict {
	const rtt = link?.rttMs ?? null;
	if (rtt === null && remoteLoss === null) return { level: 'unknown', reason: 'Not measured yet' };
	return { level: levelOf(rtt, remoteLoss), reason: `your link: ${rttText(rtt)}; from ${name}: ${lossText(remoteLoss)}` };
}

/** The cumulative inbound-rtp counters of one remote's media at this client (its consumers' packetsLost, packetsReceived). */
export interface InboundPackets {
	lost: number;
	received: number;
}

/** The loss between two samples of one remote's counters; null without an earlier sample, with nothing received since, or when either counter went back (they restarted: new consumers). */
export function inboundLoss(before: InboundPackets | undefined, now: InboundPackets): number | null {
	if (!before) return null;
	const lost = now.lost - before.lost;
	const received = now.received - before.received;
	if (lost < 0 || received < 0 || lost + received === 0) return null;
	return Math.min(1, lost / (lost + received));
}

function levelOf(rtt: number | null, loss: number | null): QualityLevel {
	if (rtt === null && loss === null) return 'unknown';
	const { good, poor } = QUALITY_THRESHOLDS;
	if ((loss !== null && loss >= poor.minLoss) || (rtt !== null && rtt >= poor.minRttMs)) return 'poor';
	if ((loss === null || loss < good.maxLoss) && (rtt === null || rtt < good.maxRttMs)) return 'good';
	return 'fair';
}

const rttText = (rtt: number | null) => (rtt === null ? 'RTT unknown' : `RTT ${Math.round(rtt)} ms`);
const lossText = (loss: number | null) => (loss === null ? 'loss unknown' : `loss ${(loss * 100).toFixed(1)}%`);

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

import type { TopologyConfig } from '../config/index.js';
import type { MigrationReason, QualityReport } from '../protocol/index.js';

/** Why a peer's connections argue for the SFU: the quality reasons of a migration. */
export type QualityPressure = Extract<MigrationReason, 'uplink' | 'loss' | 'rtt'>;

export type QualityThresholds = Pick<TopologyConfig, 'uplinkHeadroom' | 'maxPacketLoss' | 'maxRttMs'>;

/**
 * Reads one peer's quality report: does it show a reason to carry this room
 * through the SFU? Pure; the topology machine decides whether the reason
 * lasts long enough to act on.
 *
 * - uplink: in a mesh of n participants a peer sends n-1 copies of its
 *   stream. (n-1) x its per-stream bitrate (what it sends per connection
 *   now), x uplinkHeadroom, must fit under the uplink its congestion
 *   controllers measure: the sum of the per-connection estimates (each
 *   pair's controller gets its share of the one uplink), or the SFU
 *   connection's estimate, which is what a mesh would have to share. The
 *   measured per-stream bitrate, not a nominal one: a sender with a small
 *   source sends little, and its estimate (which only grows as far as it is
 *   probed) stays low without any shortage. A connection without an
 *   estimate yet leaves the answer open (no pressure).
 * - loss / rtt: any connection past maxPacketLoss or maxRttMs.
 */
export function assessQuality(report: QualityReport, participants: number, thresholds: QualityThresholds): QualityPressure | null {
	const connections = report.connections;
	if (connections.length === 0) return null;
	if (thresholds.maxPacketLoss < 1 && connections.some((c) => c.packetLoss !== null && c.packetLoss > thresholds.maxPacketLoss)) {
		return 'loss';
	}
	if (thresholds.maxRttMs > 0 && connections.some((c) => c.rttMs !== null && c.rttMs > thresholds.maxRttMs)) {
		return 'rtt';
	}
	if (thresholds.uplinkHeadroom > 0 && participants >= 2) {
		const estimates = connections.map((c) => c.availableOutgoingBitrateBps);
		if (estimates.every((e): e is number => e !== null)) {
			const uplink = estimates.reduce((a, b) => a + b, 0);
			const perStream = connections.reduce((sum, c) => sum + c.outboundBitrateBps, 0) / connections.length;
			if ((participants - 1) * perStream * thresholds.uplinkHeadroom > uplink) return 'uplink';
		}
	}
	return null;
}

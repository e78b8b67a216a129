import type { ConnectionQuality } from '../../../core/protocol/index.js';

/** One entry of an RTCStatsReport, as a plain object. */
export type Stat = { type: string; id: string } & Record<string, unknown>;

interface Totals {
	at: number;
	bytesSent: number;
	packetsLost: number;
	packetsReceived: number;
}

function num(value: unknown): number | undefined {
	return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The candidate pair in use: the transport's selected one, else the nominated succeeded one. */
export function selectedCandidatePair(stats: Stat[]): Stat | undefined {
	const byId = new Map(stats.map((s) => [s.id, s]));
	for (const s of stats) {
		if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') {
			const pair = byId.get(s.selectedCandidatePairId);
			if (pair) return pair;
		}
	}
	return stats.find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded');
}

/** `relay` when either end of the selected pair is a TURN relay candidate. */
export function pathOf(stats: Stat[]): { path: 'direct' | 'relay'; localCandidateType?: string; remoteCandidateType?: string } {
	const pair = selectedCandidatePair(stats);
	const byId = new Map(stats.map((s) => [s.id, s]));
	const local = pair && byId.get(String(pair.localCandidateId));
	const remote = pair && byId.get(String(pair.remoteCandidateId));
	const localType = typeof local?.candidateType === 'string' ? local.candidateType : undefined;
	const remoteType = typeof remote?.candidateType === 'string' ? remote.candidateType : undefined;
	return {
		path: localType === 'relay' || remoteType === 'relay' ? 'relay' : 'direct',
		...(localType ? { localCandidateType: localType } : {}),
		...(remoteType ? { remoteCandidateType: remoteType } : {}),
	};
}

/**
 * Turns successive getStats() snapshots of one peer connection into the
 * protocol's ConnectionQuality: rates and loss are deltas since the
 * previous sample, the first since the counters started (the connection
 * was made): a new link's first report is its whole report for an
 * interval, and a 0 there drew a new call's links at 0 kb/s while video flowed.
 */
export class QualitySampler {
	/** The last sample's totals; before any, the counters' start (nothing sent or received). */
	#previous: Totals;

	/** `startedAt`: when the connection was made (its counters were zero), on the clock of sample()'s `now`. */
	constructor(startedAt: number) {
		this.#previous = { at: startedAt, bytesSent: 0, packetsLost: 0, packetsReceived: 0 };
	}

	sample(remotePeerId: string, stats: Stat[], now: number): ConnectionQuality {
		// No entries at all (a read that went unanswered, see statsOf) says nothing: the next sample compares with the last real one.
		if (stats.length === 0) return { remotePeerId, path: pathOf(stats).path, outboundBitrateBps: 0, availableOutgoingBitrateBps: null, rttMs: null, packetLoss: null };
		const totals: Totals = { at: now, bytesSent: 0, packetsLost: 0, packetsReceived: 0 };
		for (const s of stats) {
			if (s.type === 'outbound-rtp') totals.bytesSent += (num(s.bytesSent) ?? 0) + (num(s.headerBytesSent) ?? 0);
			if (s.type === 'inbound-rtp') {
				totals.packetsLost += Math.max(0, num(s.packetsLost) ?? 0);
				totals.packetsReceived += num(s.packetsReceived) ?? 0;
			}
		}
		const prev = this.#previous;
		this.#previous = totals;
		const seconds = (now - prev.at) / 1000;
		const outboundBitrateBps = seconds > 0 ? Math.max(0, ((totals.bytesSent - prev.bytesSent) * 8) / seconds) : 0;
		const lost = totals.packetsLost - prev.packetsLost;
		const received = totals.packetsReceived - prev.packetsReceived;
		const pair = selectedCandidatePair(stats);
		const rtt = num(pair?.currentRoundTripTime);
		return {
			remotePeerId,
			path: pathOf(stats).path,
			outboundBitrateBps: Math.round(outboundBitrateBps),
			availableOutgoingBitrateBps: num(pair?.availableOutgoingBitrate) ?? null,
			rttMs: rtt === undefined ? null : Math.round(rtt * 1000 * 10) / 10,
			packetLoss: lost + received > 0 ? Math.max(0, Math.min(1, lost / (lost + received))) : null,
		};
	}
}

import type { Topology } from '../../../core/protocol/index.js';
import { pathOf, type Stat } from '../media/QualitySampler.js';

/** What the call knows of one remote participant's connection, from getStats(). */
export interface RemoteConnectionStats {
	peerId: string;
	framesDecoded: number;
	bytesReceived: number;
	audioPacketsReceived: number;
	/** Sum of decoded audio energy: stops growing when the sender mutes. */
	audioEnergy: number;
	/** How long ago (at the stats' own timestamp) the last audio packet arrived; null before any. */
	audioLastPacketAgoMs: number | null;
	/** Audio and video packets received and lost so far (cumulative: a tile's loss is the change between two reads). */
	packetsReceived: number;
	packetsLost: number;
	path: 'direct' | 'relay' | 'sfu';
	/** Which of the call's media paths the numbers come from (both appear during a migration). */
	via: Topology;
	localCandidateType?: string;
	/** Offers and answers exchanged: 2 is one negotiation. */
	descriptionCount: number;
	/** Which connection of the path: a mesh pair's re-creations, or the SFU session's ICE restarts and rebuilds. */
	generation: number;
	framesPerSecond: number;
	frameWidth: number;
	frameHeight: number;
}

function sum(stats: Stat[], type: string, kind: string, field: string): number {
	let total = 0;
	for (const s of stats) {
		if (s.type === type && s.kind === kind && typeof s[field] === 'number') total += s[field] as number;
	}
	return total;
}

/** One remote participant's numbers from the getStats() entries of its connection (or its consumers). */
function summarizeOne(
	peerId: string,
	via: Topology,
	stats: Stat[],
	path: { path: RemoteConnectionStats['path']; localCandidateType?: string },
	descriptionCount: number,
	generation: number,
): RemoteConnectionStats {
	const video = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
	const n = (v: unknown) => (typeof v === 'number' ? v : 0);
	let audioLastPacketAgoMs: number | null = null;
	for (const a of stats) {
		if (a.type !== 'inbound-rtp' || a.kind !== 'audio' || typeof a.lastPacketReceivedTimestamp !== 'number') continue;
		const ago = Math.max(0, n(a.timestamp) - a.lastPacketReceivedTimestamp);
		audioLastPacketAgoMs = audioLastPacketAgoMs === null ? ago : Math.min(audioLastPacketAgoMs, ago);
	}
	return {
		peerId,
		via,
		framesDecoded: sum(stats, 'inbound-rtp', 'video', 'framesDecoded'),
		bytesReceived: sum(stats, 'inbound-rtp', 'video', 'bytesReceived'),
		audioPacketsReceived: sum(stats, 'inbound-rtp', 'audio', 'packetsReceived'),
		audioEnergy: sum(stats, 'inbound-rtp', 'audio', 'totalAudioEnergy'),
		audioLastPacketAgoMs,
		packetsReceived: sum(stats, 'inbound-rtp', 'audio', 'packetsReceived') + sum(stats, 'inbound-rtp', 'video', 'packetsReceived'),
		packetsLost: Math.max(0, sum(stats, 'inbound-rtp', 'audio', 'packetsLost') + sum(stats, 'inbound-rtp', 'video', 'packetsLost')),
		path: path.path,
		...(path.localCandidateType ? { localCandidateType: path.localCandidateType } : {}),
		descriptionCount,
		generation,
		framesPerSecond: n(video?.framesPerSecond),
		frameWidth: n(video?.frameWidth),
		frameHeight: n(video?.frameHeight),
	};
}

/** The call's numbers per remote participant and media path, from the paths' getStats() entries. */
export function summarize(entries: Array<{ peerId: string; path: Topology; descriptionCount: number; generation: number; stats: Stat[] }>): RemoteConnectionStats[] {
	return entries.map(({ peerId, path, descriptionCount, generation, stats }) =>
		summarizeOne(peerId, path, stats, path === 'sfu' ? { path: 'sfu' } : pathOf(stats), descriptionCount, generation),
	);
}

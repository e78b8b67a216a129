import type { ConnectionQuality, MigrationReason, Role, RoomInspection, Topology, TopologyState } from '../../../core/protocol/index.js';
import type { MigrationRecord } from '../topology/MigrationRecord.js';

/**
 * What the topology inspector draws, from what the server and this browser
 * already have: every participant's latest quality report (`room.inspect`)
 * and this client's own live links (its media paths' getStats()). Pure: the
 * Inspector renders it.
 */

/** How a link carries media: directly, through TURN, or through the SFU. */
export type Route = 'direct' | 'relay' | 'sfu';

export interface InspectorNode {
	peerId: string;
	displayName: string;
	role: Role;
	/** This client. */
	self: boolean;
}

export interface InspectorLink {
	/** `mesh:<a>|<b>` (the pair, in participant order) or `sfu:<peer>`. */
	key: string;
	/** Which media path the link belongs to: during a migration a participant has links on both. */
	path: Topology;
	from: string;
	/** A peer id, or `sfu`. */
	to: string;
	route: Route;
	/** Both directions' outbound bitrate, added (one, when only one side reported it); null when neither did. */
	bitrateBps: number | null;
	/** The reports' round-trip time (their mean when both sides gave one); null when none did. */
	rttMs: number | null;
}

export interface InspectorGraph {
	topology: { state: TopologyState; epoch: number };
	nodes: InspectorNode[];
	links: InspectorLink[];
	/** Participants the server left out (past its cap). */
	truncated: number;
}

/** One of this client's live links, from its media paths: to a mesh peer, or to the SFU. */
export interface LocalLink {
	/** A peer id, or `sfu`. */
	remote: string;
	route: Route;
}

/** A report older than this many of its intervals is stale: its links are dropped. */
export const STALE_AFTER_INTERVALS = 3;

interface Side {
	bitrateBps?: number;
	rttMs?: number | null;
	route?: Route;
}

interface Pending {
	path: Topology;
	from: string;
	to: string;
	/** What each end says, by its peer id (the SFU says nothing). */
	sides: Map<string, Side>;
}

/**
 * Merges the room's reports and this client's live links into nodes and
 * links. A mesh pair is one link whichever side (or both) reported it; a
 * participant's SFU link is one link to the `sfu` node. This client's own
 * links are the live ones in `local` (so they switch path as its migration
 * goes, link by link), its numbers from `localQuality`. A stale report, or a
 * participant that left, drops its links.
 */
export function buildGraph(input: {
	inspection: RoomInspection;
	selfId: string;
	local: readonly LocalLink[];
	localQuality: readonly ConnectionQuality[];
}): InspectorGraph {
	const { inspection, selfId } = input;
	const order = new Map(inspection.participants.map((p, i) => [p.peerId, i]));
	const nodes = inspection.participants.map((p) => ({ peerId: p.peerId, displayName: p.displayName, role: p.role, self: p.peerId === selfId }));
	const links = new Map<string, Pending>();

	const linkOf = (a: string, b: string): Pending => {
		if (b === 'sfu') {
			const key = `sfu:${a}`;
			const link = links.get(key) ?? { path: 'sfu', from: a, to: 'sfu', sides: new Map() };
			links.set(key, link);
			return link;
		}
		const [from, to] = (order.get(a) ?? 0) <= (order.get(b) ?? 0) ? [a, b] : [b, a];
		const key = `mesh:${from}|${to}`;
		const link = links.get(key) ?? { path: 'mesh', from, to, sides: new Map() };
		links.set(key, link);
		return link;
	};
	const known = (id: string) => id === 'sfu' || order.has(id);

	// Everyone else's links, from their reports: a fresh report's connections to this room.
	const reported = new Map<string, Map<string, { route: Route; bitrateBps: number; rttMs: number | null }>>();
	for (const p of inspection.participants) {
		const q = p.quality;
		if (!q || inspection.now - q.receivedAt > STALE_AFTER_INTERVALS * q.intervalMs) continue;
		const byRemote = new Map(q.connections.filter((c) => known(c.remotePeerId) && c.remotePeerId !== p.peerId).map((c) => [c.remotePeerId, { route: c.path, bitrateBps: c.outboundBitrateBps, rttMs: c.rttMs }]));
		reported.set(p.peerId, byRemote);
	}
	for (const [peerId, byRemote] of reported) {
		if (peerId === selfId) continue;
		for (const [remote, side] of byRemote) {
			// Whether a link of this client's exists is for its own live links to say.
			if (remote === selfId) continue;
			linkOf(peerId, remote).sides.set(peerId, side);
		}
	}

	// This client's links: the live ones, with its latest numbers and what the other end says of it.
	if (order.has(selfId)) {
		const mine = new Map(input.localQuality.map((q) => [q.remotePeerId, q]));
		for (const { remote, route } of input.local) {
			if (!known(remote) || remote === selfId) continue;
			const link = linkOf(selfId, remote);
			const q = mine.get(remote);
			const numbers = q ? { bitrateBps: q.outboundBitrateBps, rttMs: q.rttMs } : reported.get(selfId)?.get(remote);
			link.sides.set(selfId, { route, bitrateBps: numbers?.bitrateBps, rttMs: numbers?.rttMs ?? null });
			const theirs = remote === 'sfu' ? undefined : reported.get(remote)?.get(selfId);
			if (theirs) link.sides.set(remote, theirs);
		}
	}

	return {
		topology: inspection.topology,
		nodes,
		links: [...links].map(([key, link]) => finish(key, link)),
		truncated: inspection.truncated.participants,
	};
}

function finish(key: string, link: Pending): InspectorLink {
	const sides = [...link.sides.values()];
	const bitrates = sides.map((s) => s.bitrateBps).filter((b): b is number => b !== undefined);
	const rtts = sides.map((s) => s.rttMs).filter((r): r is number => typeof r === 'number');
	const route: Route = link.path === 'sfu' ? 'sfu' : sides.some((s) => s.route === 'relay') ? 'relay' : 'direct';
	return {
		key,
		path: link.path,
		from: link.from,
		to: link.to,
		route,
		bitrateBps: bitrates.length > 0 ? bitrates.reduce((a, b) => a + b, 0) : null,
		rttMs: rtts.length > 0 ? Math.round((rtts.reduce((a, b) => a + b, 0) / rtts.length) * 10) / 10 : null,
	};
}

/** This client's live links, from its per-remote, per-path stats: one per mesh peer, and one to the SFU when any remote comes through it. */
export function localLinks(stats: ReadonlyArray<{ peerId: string; via: Topology; path: Route }>): LocalLink[] {
	const links: LocalLink[] = [];
	const seen = new Set<string>();
	for (const s of stats) {
		const remote = s.via === 'sfu' ? 'sfu' : s.peerId;
		if (seen.has(remote)) continue;
		seen.add(remote);
		links.push({ remote, route: s.via === 'sfu' ? 'sfu' : s.path });
	}
	return links;
}

/** One migration of the timeline. */
export interface TimelineRow {
	epoch: number;
	target: Topology;
	/** Unknown for a migration this client joined into (it got no prepare). */
	reason: MigrationReason | undefined;
	outcome: 'committed' | 'aborted' | 'in progress';
	/** From this client's prepare to the old path closed here (both this browser's clock: the server's decision time is another's); null while in progress. */
	durationMs: number | null;
	/** The largest interval between rendered frames across this client's tiles during it; null when not measured. */
	largestFrameGapMs: number | null;
}

/** The migrations this client lived, newest first, at most `limit`. */
export function timelineRows(records: readonly MigrationRecord[], gaps: ReadonlyMap<number, number>, limit = 5): TimelineRow[] {
	return records
		.slice(-limit)
		.reverse()
		.map((r) => {
			const end = r.oldClosedAt ?? r.endedAt;
			return {
				epoch: r.epoch,
				target: r.target,
				reason: r.reason,
				outcome: r.result ?? 'in progress',
				durationMs: end === undefined ? null : Math.max(0, end - r.preparedAt),
				largestFrameGapMs: gaps.get(r.epoch) ?? null,
			};
		});
}

/** `1.2 Mb/s`, `340 kb/s`, or `–`. */
export function formatBitrate(bps: number | null): string {
	if (bps === null) return '–';
	return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mb/s` : `${Math.round(bps / 1e3)} kb/s`;
}

/** A link's label: its route, bitrate and RTT. */
export function linkLabel(link: InspectorLink): string {
	return `${link.route} · ${formatBitrate(link.bitrateBps)} · ${link.rttMs === null ? '–' : `${Math.round(link.rttMs)} ms`}`;
}

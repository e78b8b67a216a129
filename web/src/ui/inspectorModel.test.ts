import { describe, expect, it } from 'vitest';
import type { ConnectionQuality, InspectedConnection, RoomInspection } from '../../../core/protocol/index.js';
import type { MigrationRecord } from '../topology/MigrationRecord.js';
import { buildGraph, linkLabel, localLinks, timelineRows, type InspectorGraph } from './inspectorModel.js';

const NOW = 100_000;

const conn = (remotePeerId: string, path: InspectedConnection['path'], outboundBitrateBps: number, rttMs: number | null = null): InspectedConnection => ({
	remotePeerId,
	path,
	outboundBitrateBps,
	rttMs,
	packetLoss: 0,
});

/** A participant whose report arrived `ageMs` before the answer (undefined: none yet). */
const participant = (peerId: string, connections?: InspectedConnection[], ageMs = 500) => ({
	peerId,
	displayName: peerId.toUpperCase(),
	role: 'participant' as const,
	quality: connections ? { receivedAt: NOW - ageMs, intervalMs: 2000, connections } : null,
});

const inspection = (participants: RoomInspection['participants'], state: RoomInspection['topology']['state'] = 'mesh'): RoomInspection => ({
	roomKind: 'meeting',
	topology: { state, epoch: 1 },
	now: NOW,
	qualityReportIntervalMs: 2000,
	participants,
	truncated: { participants: 0, connections: 0 },
});

const q = (remotePeerId: string, path: ConnectionQuality['path'], outboundBitrateBps: number, rttMs: number | null): ConnectionQuality => ({
	remotePeerId,
	path,
	outboundBitrateBps,
	availableOutgoingBitrateBps: null,
	rttMs,
	packetLoss: 0,
});

/** Links as `path from-to route`, sorted. */
const shape = (graph: InspectorGraph) => graph.links.map((l) => `${l.path} ${l.from}-${l.to} ${l.route}`).sort();
const perNode = (graph: InspectorGraph, id: string, path: 'mesh' | 'sfu') => graph.links.filter((l) => l.path === path && (l.from === id || l.to === id)).length;

describe('buildGraph()', () => {
	it('a mesh of four: each pair once, whichever side reported it; 3 mesh links per participant', () => {
		const ids = ['a', 'b', 'c', 'd'];
		// Only some sides report some pairs: a-b from both, c-d from d only, b-d from b only.
		const graph = buildGraph({
			inspection: inspection([
				participant('a', [conn('b', 'direct', 300_000, 20), conn('c', 'direct', 1), conn('d', 'direct', 1)]),
				participant('b', [conn('a', 'direct', 200_000, 30), conn('c', 'direct', 1), conn('d', 'direct', 1)]),
				participant('c', [conn('a', 'direct', 1), conn('b', 'direct', 1)]),
				participant('d', [conn('a', 'direct', 1), conn('c', 'relay', 1)]),
			]),
			selfId: 'nobody',
			local: [],
			localQuality: [],
		});
		expect(graph.nodes.map((n) => n.peerId)).toEqual(ids);
		expect(graph.links).toHaveLength(6);
		for (const id of ids) expect(perNode(graph, id, 'mesh')).toBe(3);
		const ab = graph.links.find((l) => l.key === 'mesh:a|b');
		// Both directions' outbound, added; the reports' RTTs, averaged.
		expect(ab).toMatchObject({ from: 'a', to: 'b', bitrateBps: 500_000, rttMs: 25, route: 'direct' });
		// Relay when either side says so; from/to in participant order whoever reported.
		expect(graph.links.find((l) => l.key === 'mesh:c|d')).toMatchObject({ from: 'c', to: 'd', route: 'relay' });
		expect(linkLabel(ab as NonNullable<typeof ab>)).toBe('direct · 500 kb/s · 25 ms');
	});

	it('on the SFU: a star, one link per participant to the sfu node, with that participant\'s numbers', () => {
		const graph = buildGraph({
			inspection: inspection([participant('a', [conn('sfu', 'sfu', 800_000, 12)]), participant('b', [conn('sfu', 'sfu', 1_200_000, 14)])], 'sfu'),
			selfId: 'nobody',
			local: [],
			localQuality: [],
		});
		expect(shape(graph)).toEqual(['sfu a-sfu sfu', 'sfu b-sfu sfu']);
		expect(graph.links.find((l) => l.from === 'b')).toMatchObject({ bitrateBps: 1_200_000, rttMs: 14 });
		expect(linkLabel(graph.links[1] as InspectorGraph['links'][0])).toBe('sfu · 1.2 Mb/s · 14 ms');
	});

	it('a stale report (older than 3 intervals) drops its links; so does a participant that left', () => {
		const graph = buildGraph({
			inspection: inspection([
				participant('a', [conn('b', 'direct', 1), conn('left', 'direct', 1)]),
				participant('b', [conn('c', 'direct', 1)], 6_001),
				participant('c', [conn('b', 'direct', 1)], 5_999),
			]),
			selfId: 'nobody',
			local: [],
			localQuality: [],
		});
		// b's report is stale: only what a and c say of b remain.
		expect(shape(graph)).toEqual(['mesh a-b direct', 'mesh b-c direct']);
		expect(graph.links.find((l) => l.key === 'mesh:b|c')?.bitrateBps).toBe(1);
	});

	it('during a migration a participant shows both paths; this client\'s own links are its live ones, switching link by link', () => {
		const reports = inspection(
			[
				participant('me', [conn('b', 'direct', 100, 10), conn('c', 'direct', 100, 10)]),
				participant('b', [conn('me', 'direct', 300, 30), conn('c', 'direct', 1), conn('sfu', 'sfu', 500, 5)]),
				participant('c', [conn('me', 'direct', 1), conn('b', 'direct', 1)]),
			],
			'escalating',
		);
		// This client swapped b to the SFU already, c not yet: its server report (older) still says mesh to both.
		const graph = buildGraph({
			inspection: reports,
			selfId: 'me',
			local: [
				{ remote: 'c', route: 'direct' },
				{ remote: 'sfu', route: 'sfu' },
			],
			localQuality: [q('c', 'direct', 400, 16), q('sfu', 'sfu', 900, 8)],
		});
		expect(shape(graph)).toEqual(['mesh b-c direct', 'mesh me-c direct', 'sfu b-sfu sfu', 'sfu me-sfu sfu']);
		expect(graph.nodes.find((n) => n.self)?.peerId).toBe('me');
		// Its numbers are its own latest, and what c says of it.
		expect(graph.links.find((l) => l.key === 'mesh:me|c')).toMatchObject({ bitrateBps: 401, rttMs: 16 });
		expect(graph.links.find((l) => l.key === 'sfu:me')).toMatchObject({ bitrateBps: 900, rttMs: 8 });
		// Then its last mesh link goes: no mesh link of its own remains, whatever the others' reports say.
		const later = buildGraph({ inspection: reports, selfId: 'me', local: [{ remote: 'sfu', route: 'sfu' }], localQuality: [] });
		expect(perNode(later, 'me', 'mesh')).toBe(0);
		expect(perNode(later, 'me', 'sfu')).toBe(1);
		expect(later.links.find((l) => l.key === 'sfu:me')?.bitrateBps).toBeNull();
	});

	it('this client\'s numbers fall back to its own report on the server before its first local sample', () => {
		const graph = buildGraph({
			inspection: inspection([participant('me', [conn('b', 'relay', 700, 40)]), participant('b')]),
			selfId: 'me',
			local: [{ remote: 'b', route: 'relay' }],
			localQuality: [],
		});
		expect(graph.links).toEqual([{ key: 'mesh:me|b', path: 'mesh', from: 'me', to: 'b', route: 'relay', bitrateBps: 700, rttMs: 40 }]);
	});
});

describe('localLinks()', () => {
	it('one link per mesh peer and one to the SFU however many remotes come through it', () => {
		const links = localLinks([
			{ peerId: 'b', via: 'mesh', path: 'relay' },
			{ peerId: 'b', via: 'sfu', path: 'sfu' },
			{ peerId: 'c', via: 'sfu', path: 'sfu' },
			{ peerId: 'd', via: 'mesh', path: 'direct' },
		]);
		expect(links).toEqual([
			{ remote: 'b', route: 'relay' },
			{ remote: 'sfu', route: 'sfu' },
			{ remote: 'd', route: 'direct' },
		]);
	});
});

describe('timelineRows()', () => {
	const record = (epoch: number, extra: Partial<MigrationRecord>): MigrationRecord => ({ epoch, target: 'sfu', decidedAt: 1_000, preparedAt: 1_050, swappedAt: {}, ...extra });

	it('newest first, at most `limit`: reason, outcome, duration from the prepare to the old path closed, and the measured gap', () => {
		const rows = timelineRows(
			[
				record(1, { reason: 'participants', endedAt: 3_000, oldClosedAt: 3_100, result: 'committed' }),
				record(2, { target: 'mesh', reason: 'participants-low', decidedAt: 10_000, preparedAt: 10_020, endedAt: 11_000, result: 'aborted' }),
				record(3, { decidedAt: 0, preparedAt: 20_000, joinedDuring: true }),
			],
			new Map([[1, 240]]),
			2,
		);
		expect(rows).toEqual([
			{ epoch: 3, target: 'sfu', reason: undefined, outcome: 'in progress', durationMs: null, largestFrameGapMs: null },
			{ epoch: 2, target: 'mesh', reason: 'participants-low', outcome: 'aborted', durationMs: 980, largestFrameGapMs: null },
		]);
		expect(timelineRows([record(1, { reason: 'rtt', oldClosedAt: 3_100, result: 'committed' })], new Map([[1, 240]]))).toEqual([
			{ epoch: 1, target: 'sfu', reason: 'rtt', outcome: 'committed', durationMs: 2_050, largestFrameGapMs: 240 },
		]);
	});

	it('is timed on this browser\'s clock only: the server\'s decision time (another clock, or none for a migration joined during it) is not used', () => {
		// A server clock 5 s ahead of this browser's would make the decision-based duration negative.
		const [ahead] = timelineRows([record(4, { decidedAt: 10_000, preparedAt: 5_000, oldClosedAt: 6_500, result: 'committed' })], new Map());
		expect(ahead?.durationMs).toBe(1_500);
		const [joined] = timelineRows([record(5, { decidedAt: 0, preparedAt: 5_000, oldClosedAt: 6_500, result: 'committed', joinedDuring: true })], new Map());
		expect(joined?.durationMs).toBe(1_500);
	});
});

import { describe, expect, it } from 'vitest';
import {
	MAX_INSPECTED_CONNECTIONS,
	MAX_INSPECTED_PARTICIPANTS,
	MAX_MESSAGE_BYTES,
	RoomInspectionSchema,
	encodeOk,
	type ConnectionQuality,
} from '../../core/protocol/index.js';
import { InspectionCache, inspectRoom, type InspectedPeer } from './RoomInspection.js';

const link = (remotePeerId: string, extra: Partial<ConnectionQuality> = {}): ConnectionQuality => ({
	remotePeerId,
	path: remotePeerId === 'sfu' ? 'sfu' : 'direct',
	outboundBitrateBps: 512_345.678,
	availableOutgoingBitrateBps: 2_000_000,
	rttMs: 12.345,
	packetLoss: 0.012345,
	...extra,
});

const peer = (id: string, connections: ConnectionQuality[] | undefined, displayName = `Name ${id}`): InspectedPeer => ({
	id,
	displayName,
	role: 'participant',
	quality: connections ? { report: { intervalMs: 2000, connections }, receivedAt: 1_000 } : undefined,
});

const inspect = (stage: InspectedPeer[]) =>
	inspectRoom({ kind: 'meeting', topology: { state: 'mesh', epoch: 0 }, stage, qualityReportIntervalMs: 2000, now: 5_000 });

describe('inspectRoom()', () => {
	it('lists every stage member with its latest report, numbers rounded, and the room topology', () => {
		const answer = inspect([peer('a', [link('b')]), peer('b', [link('a', { path: 'relay' })]), peer('c', undefined)]);
		expect(RoomInspectionSchema.parse(answer)).toEqual(answer);
		expect(answer).toMatchObject({ roomKind: 'meeting', topology: { state: 'mesh', epoch: 0 }, now: 5_000, truncated: { participants: 0, connections: 0 } });
		expect(answer.participants.map((p) => p.peerId)).toEqual(['a', 'b', 'c']);
		expect(answer.participants[0]?.quality).toEqual({
			receivedAt: 1_000,
			intervalMs: 2000,
			connections: [{ remotePeerId: 'b', path: 'direct', outboundBitrateBps: 512_346, rttMs: 12.3, packetLoss: 0.0123 }],
		});
		expect(answer.participants[1]?.quality?.connections[0]).toMatchObject({ remotePeerId: 'a', path: 'relay' });
		expect(answer.participants[2]?.quality).toBeNull();
	});

	it('keeps only connections to another listed member or to the SFU', () => {
		const answer = inspect([peer('a', [link('b'), link('sfu'), link('a'), link('someone-who-left'), link('x'.repeat(64))]), peer('b', [])]);
		expect(answer.participants[0]?.quality?.connections.map((c) => c.remotePeerId)).toEqual(['b', 'sfu']);
	});

	it(`caps participants at ${MAX_INSPECTED_PARTICIPANTS} and connections at ${MAX_INSPECTED_CONNECTIONS}, counting what it left out`, () => {
		const ids = Array.from({ length: 80 }, (_, i) => `p${i}`);
		const answer = inspect(ids.map((id) => peer(id, ids.filter((other) => other !== id).map((other) => link(other)))));
		expect(answer.participants).toHaveLength(MAX_INSPECTED_PARTICIPANTS);
		expect(answer.truncated.participants).toBe(30);
		const listed = answer.participants.reduce((n, p) => n + (p.quality?.connections.length ?? 0), 0);
		expect(listed).toBe(MAX_INSPECTED_CONNECTIONS);
		// Each listed member reports the 49 others listed.
		expect(answer.truncated.connections).toBe(MAX_INSPECTED_PARTICIPANTS * (MAX_INSPECTED_PARTICIPANTS - 1) - MAX_INSPECTED_CONNECTIONS);
		expect(RoomInspectionSchema.safeParse(answer).success).toBe(true);
	});

	it('fits in one signaling frame at its worst: 50 members with names that escape to 6 bytes a character, 200 connections with 36-character ids and long numbers', () => {
		const ids = Array.from({ length: 60 }, (_, i) => `${String(i).padStart(4, '0')}aaaa-bbbb-cccc-dddd-eeeeeeeeeeee`.slice(0, 36));
		const worst = (remotePeerId: string) =>
			link(remotePeerId, { path: 'direct', outboundBitrateBps: 123_456_789_012.5, rttMs: 123_456.789, packetLoss: 0.123456789 });
		const answer = inspect(ids.map((id) => peer(id, ids.filter((o) => o !== id).map(worst), '\u0001'.repeat(64))));
		const bytes = Buffer.byteLength(encodeOk(2 ** 31, answer));
		expect(bytes).toBeLessThan(MAX_MESSAGE_BYTES);
	});
});

describe('InspectionCache', () => {
	const answerAt = (now: number) => inspectRoom({ kind: 'meeting', topology: { state: 'mesh', epoch: 0 }, stage: [peer('a', [])], qualityReportIntervalMs: 2000, now });

	it('answers every asker in a room with the same answer for under maxAgeMs, then walks the room again', () => {
		const cache = new InspectionCache<object>(1000);
		const room = {};
		let walks = 0;
		const inspect = (now: number) => cache.get(room, now, () => (walks++, answerAt(now)));
		const first = inspect(10_000);
		expect(inspect(10_999)).toBe(first);
		expect(walks).toBe(1);
		const later = inspect(11_000);
		expect(later).not.toBe(first);
		expect(later.now).toBe(11_000);
		expect(walks).toBe(2);
		expect(inspect(11_500)).toBe(later);
	});

	it('keeps one answer per room, and a clock that stepped back gets a fresh one', () => {
		const cache = new InspectionCache<object>(1000);
		const [one, two] = [{}, {}];
		const a = cache.get(one, 5_000, () => answerAt(5_000));
		const b = cache.get(two, 5_100, () => answerAt(5_100));
		expect(b).not.toBe(a);
		expect(cache.get(one, 5_200, () => answerAt(5_200))).toBe(a);
		expect(cache.get(one, 4_000, () => answerAt(4_000)).now).toBe(4_000);
	});
});

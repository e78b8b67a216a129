import { describe, expect, it } from 'vitest';
import type { ConnectionQuality } from '../protocol/index.js';
import { assessQuality, type QualityThresholds } from './EscalationPolicy.js';

const thresholds: QualityThresholds = { uplinkHeadroom: 1.2, maxPacketLoss: 0.1, maxRttMs: 400 };

function connection(partial: Partial<ConnectionQuality> = {}): ConnectionQuality {
	return {
		remotePeerId: 'x',
		path: 'direct',
		outboundBitrateBps: 400_000,
		availableOutgoingBitrateBps: 2_000_000,
		rttMs: 20,
		packetLoss: 0,
		...partial,
	};
}

const report = (...connections: ConnectionQuality[]) => ({ intervalMs: 2000, connections });

describe('assessQuality()', () => {
	it('sees no pressure on a healthy mesh, nor without any connection', () => {
		expect(assessQuality(report(connection(), connection()), 3, thresholds)).toBeNull();
		expect(assessQuality(report(), 3, thresholds)).toBeNull();
	});

	it('says uplink when (n-1) streams at the rate sent, with headroom, need more than the summed estimates', () => {
		// 3 participants, 2 connections sending 500 kb/s each: 2 x 500 x 1.2 = 1.2 Mb/s needed, 2 x 550 kb/s available.
		const tight = connection({ outboundBitrateBps: 500_000, availableOutgoingBitrateBps: 550_000 });
		expect(assessQuality(report(tight, tight), 3, thresholds)).toBe('uplink');
		expect(assessQuality(report(tight, tight), 3, { ...thresholds, uplinkHeadroom: 1 })).toBeNull();
	});

	it('does not mistake a small sender (estimate only probed up to what it sends) for a thin uplink', () => {
		// What Chromium reports for a 320x180 camera: 75 kb/s sent, an estimate of 150 kb/s.
		const small = connection({ path: 'sfu', remotePeerId: 'sfu', outboundBitrateBps: 75_000, availableOutgoingBitrateBps: 150_000 });
		expect(assessQuality(report(small), 2, thresholds)).toBeNull();
	});

	it('leaves the uplink open while a connection has no estimate yet', () => {
		const unknown = connection({ availableOutgoingBitrateBps: null });
		const tight = connection({ availableOutgoingBitrateBps: 100_000 });
		expect(assessQuality(report(unknown, tight), 3, thresholds)).toBeNull();
	});

	it('weighs the SFU connection estimate against what a mesh of this size would need (it blocks a return)', () => {
		const sfu = connection({ path: 'sfu', remotePeerId: 'sfu', outboundBitrateBps: 400_000, availableOutgoingBitrateBps: 800_000 });
		expect(assessQuality(report(sfu), 2, thresholds)).toBeNull();
		expect(assessQuality(report(sfu), 3, thresholds)).toBe('uplink');
	});

	it('says loss or rtt past their limits, and each limit can be turned off', () => {
		expect(assessQuality(report(connection({ packetLoss: 0.2 })), 2, thresholds)).toBe('loss');
		expect(assessQuality(report(connection({ rttMs: 900 })), 2, thresholds)).toBe('rtt');
		const off = { uplinkHeadroom: 0, maxPacketLoss: 1, maxRttMs: 0 };
		const bad = connection({ packetLoss: 0.9, rttMs: 5000, availableOutgoingBitrateBps: 1 });
		expect(assessQuality(report(bad), 5, off)).toBeNull();
	});
});

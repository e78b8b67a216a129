import { describe, expect, it } from 'vitest';
import type { ConnectionQuality } from '../../../core/protocol/index.js';
import { inboundLoss, qualityOf, reportFor, sfuQualityOf } from './connectionQuality.js';

const report = (rttMs: number | null, packetLoss: number | null, remotePeerId = 'p1'): ConnectionQuality => ({
	remotePeerId,
	path: remotePeerId === 'sfu' ? 'sfu' : 'direct',
	outboundBitrateBps: 300_000,
	availableOutgoingBitrateBps: null,
	rttMs,
	packetLoss,
});

describe('qualityOf', () => {
	it('is unknown before any report, or with nothing measured', () => {
		expect(qualityOf(undefined)).toEqual({ level: 'unknown', reason: 'Not measured yet' });
		expect(qualityOf(report(null, null)).level).toBe('unknown');
	});

	it('is good under 2% loss and 150 ms, with the numbers as the reason', () => {
		expect(qualityOf(report(40, 0.005))).toEqual({ level: 'good', reason: 'RTT 40 ms, loss 0.5%' });
		expect(qualityOf(report(149, null))).toEqual({ level: 'good', reason: 'RTT 149 ms, loss unknown' });
	});

	it('is fair between the thresholds: 2% loss, or 150 ms', () => {
		expect(qualityOf(report(40, 0.02)).level).toBe('fair');
		expect(qualityOf(report(150, 0)).level).toBe('fair');
		expect(qualityOf(report(399, 0.079)).level).toBe('fair');
	});

	it('is poor from 8% loss or 400 ms, whichever the other is', () => {
		expect(qualityOf(report(420, 0.091))).toEqual({ level: 'poor', reason: 'RTT 420 ms, loss 9.1%' });
		expect(qualityOf(report(10, 0.08)).level).toBe('poor');
		expect(qualityOf(report(400, null))).toEqual({ level: 'poor', reason: 'RTT 400 ms, loss unknown' });
	});
});

describe('reportFor', () => {
	const reports = [report(30, 0, 'p1'), report(200, 0.01, 'sfu')];
	it('takes the mesh pair\'s entry on the mesh, the SFU\'s on the SFU', () => {
		expect(reportFor(reports, 'p1', 'mesh')?.remotePeerId).toBe('p1');
		expect(reportFor(reports, 'p1', 'sfu')?.remotePeerId).toBe('sfu');
		expect(reportFor(reports, 'p2', 'mesh')?.remotePeerId).toBe('sfu');
		expect(reportFor([], 'p1', 'mesh')).toBeUndefined();
	});
});

describe('sfuQualityOf', () => {
	const link = report(40, 0.09, 'sfu');
	it('gives each remote on the SFU its own level: the link\'s RTT, that remote\'s loss (not the link\'s, which sums every remote)', () => {
		expect(sfuQualityOf(link, 0.09, 'Ben')).toEqual({ level: 'poor', reason: 'your link: RTT 40 ms; from Ben: loss 9.0%' });
		expect(sfuQualityOf(link, 0.001, 'Cai')).toEqual({ level: 'good', reason: 'your link: RTT 40 ms; from Cai: loss 0.1%' });
		expect(sfuQualityOf(report(420, 0, 'sfu'), 0, 'Cai').level).toBe('poor');
	});

	it('counts what is measured: no loss yet from a remote leaves the RTT; nothing at all is unknown', () => {
		expect(sfuQualityOf(link, null, 'Dee')).toEqual({ level: 'good', reason: 'your link: RTT 40 ms; from Dee: loss unknown' });
		expect(sfuQualityOf(undefined, 0.03, 'Dee')).toEqual({ level: 'fair', reason: 'your link: RTT unknown; from Dee: loss 3.0%' });
		expect(sfuQualityOf(undefined, null, 'Dee')).toEqual({ level: 'unknown', reason: 'Not measured yet' });
	});
});

describe('inboundLoss', () => {
	it('is the share of packets lost between two reads of a remote\'s counters', () => {
		expect(inboundLoss({ lost: 10, received: 1000 }, { lost: 19, received: 1091 })).toBeCloseTo(0.09);
		expect(inboundLoss({ lost: 10, received: 1000 }, { lost: 10, received: 1200 })).toBe(0);
	});

	it('is null without an earlier read, with nothing received since, or when the counters restarted (new consumers)', () => {
		expect(inboundLoss(undefined, { lost: 5, received: 100 })).toBeNull();
		expect(inboundLoss({ lost: 5, received: 100 }, { lost: 5, received: 100 })).toBeNull();
		expect(inboundLoss({ lost: 5, received: 100 }, { lost: 0, received: 20 })).toBeNull();
		// New consumers that already received more than the old ones had, but lost less: still a restart, not 0% loss.
		expect(inboundLoss({ lost: 50, received: 100 }, { lost: 2, received: 5000 })).toBeNull();
	});
});

import { describe, expect, it } from 'vitest';
import { ConnectionQualitySchema } from '../../../core/protocol/index.js';
import { QualitySampler, pathOf, type Stat } from './QualitySampler.js';

function snapshot(o: { bytesSent: number; lost: number; received: number; localType?: string }): Stat[] {
	return [
		{ type: 'transport', id: 'T', selectedCandidatePairId: 'CP1' },
		{ type: 'candidate-pair', id: 'CP1', localCandidateId: 'L', remoteCandidateId: 'R', currentRoundTripTime: 0.0123, availableOutgoingBitrate: 1_500_000 },
		{ type: 'candidate-pair', id: 'CP2', localCandidateId: 'L2', remoteCandidateId: 'R', nominated: true, state: 'succeeded' },
		{ type: 'local-candidate', id: 'L', candidateType: o.localType ?? 'host' },
		{ type: 'local-candidate', id: 'L2', candidateType: 'relay' },
		{ type: 'remote-candidate', id: 'R', candidateType: 'host' },
		{ type: 'outbound-rtp', id: 'O1', kind: 'video', bytesSent: o.bytesSent * 0.9, headerBytesSent: 0 },
		{ type: 'outbound-rtp', id: 'O2', kind: 'audio', bytesSent: o.bytesSent * 0.1, headerBytesSent: 0 },
		{ type: 'inbound-rtp', id: 'I1', kind: 'video', packetsLost: o.lost, packetsReceived: o.received },
	];
}

describe('QualitySampler', () => {
	it('reports bitrate, loss and RTT as deltas between samples, valid for the protocol', () => {
		const sampler = new QualitySampler(0);
		const first = sampler.sample('p2', snapshot({ bytesSent: 0, lost: 0, received: 0 }), 0);
		expect(first).toEqual({
			remotePeerId: 'p2',
			path: 'direct',
			outboundBitrateBps: 0,
			availableOutgoingBitrateBps: 1_500_000,
			rttMs: 12.3,
			packetLoss: null,
		});
		// 250 kB in 2 s = 1 Mbit/s; 10 lost of 200 = 5 %.
		const second = sampler.sample('p2', snapshot({ bytesSent: 250_000, lost: 10, received: 190 }), 2000);
		expect(second.outboundBitrateBps).toBe(1_000_000);
		expect(second.packetLoss).toBeCloseTo(0.05);
		expect(ConnectionQualitySchema.parse(second)).toEqual(second);
	});

	it('measures the first sample from when the counters started: a new connection that already sent reports its bitrate, not 0', () => {
		// Made at 1000 ms, first sampled at 3000 ms with 100 kB sent: 400 kbit/s (a mesh pair's first quality report in a new call).
		const sampler = new QualitySampler(1000);
		const first = sampler.sample('p2', snapshot({ bytesSent: 100_000, lost: 2, received: 98 }), 3000);
		expect(first.outboundBitrateBps).toBe(400_000);
		expect(first.packetLoss).toBeCloseTo(0.02);
		// Then from that sample on: 50 kB more in 2 s = 200 kbit/s.
		expect(sampler.sample('p2', snapshot({ bytesSent: 150_000, lost: 2, received: 198 }), 5000).outboundBitrateBps).toBe(200_000);
	});

	it('an unanswered read (no entries) reports nothing and leaves the deltas to the last real sample', () => {
		const sampler = new QualitySampler(0);
		sampler.sample('p2', snapshot({ bytesSent: 100_000, lost: 0, received: 100 }), 0);
		const empty = sampler.sample('p2', [], 2000);
		expect(empty).toMatchObject({ outboundBitrateBps: 0, availableOutgoingBitrateBps: null, rttMs: null, packetLoss: null });
		expect(ConnectionQualitySchema.parse(empty)).toEqual(empty);
		// 4 s after the first real sample: 200 kB more = 400 kbit/s; 5 lost of the 100 packets since = 5 %.
		const next = sampler.sample('p2', snapshot({ bytesSent: 300_000, lost: 5, received: 195 }), 4000);
		expect(next.outboundBitrateBps).toBe(400_000);
		expect(next.packetLoss).toBeCloseTo(0.05);
	});

	it('uses the transport\'s selected pair, and says relay when that pair uses a TURN candidate', () => {
		expect(pathOf(snapshot({ bytesSent: 0, lost: 0, received: 0 })).path).toBe('direct');
		expect(pathOf(snapshot({ bytesSent: 0, lost: 0, received: 0, localType: 'relay' }))).toEqual({
			path: 'relay',
			localCandidateType: 'relay',
			remoteCandidateType: 'host',
		});
	});

	it('falls back to the nominated succeeded pair when no transport stat names one', () => {
		const stats = snapshot({ bytesSent: 0, lost: 0, received: 0 }).filter((s) => s.type !== 'transport');
		expect(pathOf(stats).path).toBe('relay');
	});
});

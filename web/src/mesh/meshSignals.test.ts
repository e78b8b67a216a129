import { describe, expect, it } from 'vitest';
import { MeshSignalSchema } from '../../../core/protocol/index.js';
import { fromMeshSignal, toMeshSignal } from './meshSignals.js';

describe('mesh signal mapping', () => {
	it('round-trips every kind simple-peer emits, through the protocol schema', () => {
		const samples = [
			{ type: 'offer', sdp: 'v=0 offer' },
			{ type: 'answer', sdp: 'v=0 answer' },
			{ type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
			{ type: 'renegotiate', renegotiate: true },
			{ type: 'transceiverRequest', transceiverRequest: { kind: 'video' } },
		] as const;
		for (const data of samples) {
			const signal = toMeshSignal(data as never);
			expect(signal).not.toBeNull();
			// What goes on the wire passes the schema the server enforces.
			expect(MeshSignalSchema.parse(signal)).toEqual(signal);
			expect(fromMeshSignal(signal as never)).toMatchObject(data);
		}
	});

	it('drops shapes the protocol does not carry', () => {
		expect(toMeshSignal({ type: 'pranswer', sdp: 'x' } as never)).toBeNull();
		expect(toMeshSignal({ transceiverRequest: { kind: 'application' } } as never)).toBeNull();
	});
});

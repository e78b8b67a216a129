import { EventEmitter } from 'eventemitter3';
import type { types } from 'mediasoup-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RepairRecord } from '../participant/RemoteParticipant.js';
import type { SignalingSession } from '../signaling/SignalingSession.js';
import { SfuRepair } from './SfuRepair.js';

class FakeTransport extends EventEmitter {
	closed = false;
	readonly observer = new EventEmitter();
	constructor(readonly id: string) {
		super();
	}
	async getStats() {
		return new Map();
	}
	async restartIce() {}
	close() {
		this.closed = true;
		this.observer.emit('close');
	}
}

describe('SfuRepair', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it('a transport ICE never started on (a send transport with no camera) does not hold the recovery up: a restart that works is recovered, no rebuild', async () => {
		const send = new FakeTransport('send'); // publish: true, but no camera: nothing produced, ICE never starts
		const recv = new FakeTransport('recv');
		const records: RepairRecord[] = [];
		const signaling = { request: async () => ({ iceParameters: {} }) } as unknown as SignalingSession;
		let rebuilds = 0;
		const repair = new SfuRepair({
			signaling,
			policy: () => ({ disconnectedGraceMs: 1000, giveUpMs: 20_000 }),
			transports: () => [send, recv] as unknown as types.Transport[],
			enqueue: (op) => op(),
			rebuild: async () => {
				rebuilds++;
			},
			onRecord: (r) => records.push(r),
		});
		repair.watch(send as unknown as types.Transport);
		repair.watch(recv as unknown as types.Transport);
		recv.emit('connectionstatechange', 'connected');
		recv.emit('connectionstatechange', 'disconnected'); // a short cut
		await vi.advanceTimersByTimeAsync(1000); // grace over: ICE restart
		recv.emit('connectionstatechange', 'connected'); // the ICE restart worked: media flows again
		await vi.advanceTimersByTimeAsync(25_000);
		repair.close();
		expect({ actions: records.map((r) => r.action), rebuilds }).toEqual({ actions: ['ice-restart', 'recovered'], rebuilds: 0 });
	});
});

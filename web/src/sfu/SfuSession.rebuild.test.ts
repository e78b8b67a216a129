import { EventEmitter } from 'eventemitter3';
import type { Device } from 'mediasoup-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SignalingSession } from '../signaling/SignalingSession.js';
import { SfuSession } from './SfuSession.js';

class FakeTransport extends EventEmitter {
	closed = false;
	readonly observer = new EventEmitter();
	constructor(
		readonly id: string,
		readonly direction: string,
	) {
		super();
	}
	async getStats() {
		return new Map();
	}
	async restartIce() {}
	readonly consumed: string[] = [];
	async consume(o: { id: string; kind: string }) {
		this.consumed.push(o.id);
		return { id: o.id, kind: o.kind, track: { kind: o.kind }, pause() {}, resume() {}, close() {} };
	}
	close() {
		this.closed = true;
		this.observer.emit('close');
	}
}

/** A signaling session whose requests can be held (the socket is reconnecting), over a fake SFU that allows one transport per direction. */
function fakeSignaling() {
	let gate: Promise<void> | undefined;
	let open!: () => void;
	const server = new Map<string, string>(); // transportId -> direction
	let n = 0;
	const handlers = new Map<string, (data: unknown) => void>();
	const signaling = {
		handlers,
		subscribe: (event: string, handler: (data: unknown) => void) => {
			handlers.set(event, handler);
			return () => undefined;
		},
		async request(method: string, data: { direction?: string; transportId?: string }) {
			if (gate) await gate;
			switch (method) {
				case 'sfu.createTransport': {
					if ([...server.values()].includes(data.direction as string)) throw new Error(`a ${data.direction} transport exists already`);
					const transportId = `t${++n}`;
					server.set(transportId, data.direction as string);
					return { transportId, iceParameters: {}, iceCandidates: [], dtlsParameters: {} };
				}
				case 'sfu.closeTransport':
					server.delete(data.transportId as string);
					return {};
				case 'sfu.restartIce':
					if (!server.has(data.transportId as string)) throw new Error('not found');
					return { iceParameters: {} };
				default:
					return {};
			}
		},
	};
	return {
		signaling: signaling as unknown as SignalingSession,
		server,
		handlers,
		hold: () => {
			gate = new Promise((resolve) => (open = resolve));
		},
		release: () => {
			gate = undefined;
			open();
		},
	};
}

describe('SfuSession repair while signaling is down', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it('attempts that pile up make one rebuild: one receive transport, the one the server has, takes the consumers; nothing stays open after close', async () => {
		const { signaling, server, handlers, hold, release } = fakeSignaling();
		vi.stubGlobal('MediaStream', class { #t: unknown[] = []; getTracks() { return this.#t; } addTrack(t: unknown) { this.#t.push(t); } removeTrack() {} });
		const made: FakeTransport[] = [];
		const device = {
			rtpCapabilities: {},
			canProduce: () => true,
			createRecvTransport: (o: { id: string }) => {
				const t = new FakeTransport(o.id, 'recv');
				made.push(t);
				return t;
			},
			createSendTransport: (o: { id: string }) => {
				const t = new FakeTransport(o.id, 'send');
				made.push(t);
				return t;
			},
		} as unknown as Device;
		const session = new SfuSession({
			signaling,
			localStream: undefined,
			publish: false, // a viewer: one recv transport, enough to show it
			device: async () => device,
			repairPolicy: () => ({ disconnectedGraceMs: 1000, giveUpMs: 60_000 }),
		});
		await session.start();
		const first = made[0] as FakeTransport;
		first.emit('connectionstatechange', 'connected');

		// The network drops: ICE fails, and the signaling socket is reconnecting (requests wait).
		hold();
		first.emit('connectionstatechange', 'failed'); // attempt 1: ICE restart, waits on signaling
		await vi.advanceTimersByTimeAsync(2000); // attempt 2: rebuild
		await vi.advanceTimersByTimeAsync(2700); // attempt 3: rebuild
		await vi.advanceTimersByTimeAsync(4800); // attempt 4: rebuild
		release(); // signaling back
		await vi.advanceTimersByTimeAsync(50);

		// The server's consumers for the new recv transport are announced: which local transport takes them?
		handlers.get('sfu.newConsumer')?.({ consumerId: 'c1', producerId: 'p1', peerId: 'bob', kind: 'video', rtpParameters: {}, producerPaused: false });
		await vi.advanceTimersByTimeAsync(10);
		const live = made.filter((t) => !t.closed);
		const liveOnServer = live.filter((t) => server.has(t.id));
		// One recv transport open here, it is the one the server has, and it took the consumer.
		expect({ openHere: live.map((t) => t.id), onServer: [...server.keys()], openHereAndOnServer: liveOnServer.map((t) => t.id) }).toEqual({
			openHere: [expect.any(String)],
			onServer: [live[0]?.id],
			openHereAndOnServer: [live[0]?.id],
		});
		expect(live[0]?.consumed).toEqual(['c1']);
		session.close();
		expect(made.filter((t) => !t.closed)).toEqual([]);
		vi.unstubAllGlobals();
	});
});

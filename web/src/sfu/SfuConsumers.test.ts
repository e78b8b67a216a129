import type { types } from 'mediasoup-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SignalingSession } from '../signaling/SignalingSession.js';
import { SfuConsumers } from './SfuConsumers.js';

/** A signaling session that records every request and lets the test deliver notifications; `refuse` makes layer requests fail. */
function fakeSignaling() {
	const handlers = new Map<string, (data: unknown) => void>();
	const requests: Array<{ method: string; data: Record<string, unknown> }> = [];
	const state = { refuse: false };
	const signaling = {
		subscribe: (event: string, handler: (data: unknown) => void) => {
			handlers.set(event, handler);
			return () => undefined;
		},
		async request(method: string, data: Record<string, unknown>) {
			requests.push({ method, data });
			if (state.refuse && method === 'sfu.setConsumerPreferredLayers') throw new Error('RATE_LIMITED');
			return {};
		},
	};
	return { signaling: signaling as unknown as SignalingSession, handlers, requests, state };
}

const transport = {
	closed: false,
	async consume(o: { id: string; kind: string }) {
		return { id: o.id, kind: o.kind, track: { kind: o.kind }, pause() {}, resume() {}, close() {} };
	},
} as unknown as types.Transport;

describe('SfuConsumers layer requests', () => {
	beforeEach(() => {
		vi.stubGlobal('MediaStream', class { #t: Array<{ kind: string }> = []; getTracks() { return this.#t; } addTrack(t: { kind: string }) { this.#t.push(t); } removeTrack() {} });
	});
	afterEach(() => vi.unstubAllGlobals());

	async function consuming(preferredWidth?: number) {
		const fake = fakeSignaling();
		const consumers = new SfuConsumers({
			signaling: fake.signaling,
			recvTransport: async () => transport,
			isClosed: () => false,
			preferredWidth: () => preferredWidth,
			onStream: () => undefined,
			onPeerClosed: () => undefined,
		});
		for (const kind of ['video', 'audio']) {
			fake.handlers.get('sfu.newConsumer')?.({ consumerId: `c-${kind}`, producerId: `p-${kind}`, peerId: 'ben', kind, rtpParameters: {}, producerPaused: false });
		}
		await vi.waitFor(() => expect(fake.requests.filter((r) => r.method === 'sfu.resumeConsumer')).toHaveLength(2));
		const layers = () => fake.requests.filter((r) => r.method === 'sfu.setConsumerPreferredLayers').map((r) => r.data);
		return { consumers, fake, layers };
	}

	it('setRemoteVideoWidth() asks only when the layer changes: a resize animation within one layer sends nothing more', async () => {
		const { consumers, layers } = await consuming();
		expect(layers()).toEqual([]);
		// A tile growing from 200 to 700 px in 50 steps crosses into layer 1 and layer 2 once each.
		for (let width = 200; width <= 700; width += 10) await consumers.setRemoteVideoWidth('ben', width);
		expect(layers()).toEqual([
			{ consumerId: 'c-video', spatialLayer: 0 },
			{ consumerId: 'c-video', spatialLayer: 1 },
			{ consumerId: 'c-video', spatialLayer: 2 },
		]);
		// Back down to a small tile: one more; another peer's consumers are not asked.
		await consumers.setRemoteVideoWidth('ben', 100);
		await consumers.setRemoteVideoWidth('ben', 120);
		await consumers.setRemoteVideoWidth('cai', 100);
		expect(layers()).toHaveLength(4);
		expect(layers()[3]).toEqual({ consumerId: 'c-video', spatialLayer: 0 });
	});

	it('the layer asked for when the consumer was made counts: the same width asks nothing again', async () => {
		const { consumers, layers } = await consuming(640);
		expect(layers()).toEqual([{ consumerId: 'c-video', spatialLayer: 2 }]);
		await consumers.setRemoteVideoWidth('ben', 600);
		expect(layers()).toHaveLength(1);
	});

	it('a refused request is forgotten: the next resize asks for that layer again', async () => {
		const { consumers, fake, layers } = await consuming();
		fake.state.refuse = true;
		await expect(consumers.setRemoteVideoWidth('ben', 300)).rejects.toThrow('RATE_LIMITED');
		fake.state.refuse = false;
		await consumers.setRemoteVideoWidth('ben', 310);
		expect(layers()).toEqual([
			{ consumerId: 'c-video', spatialLayer: 1 },
			{ consumerId: 'c-video', spatialLayer: 1 },
		]);
	});
});

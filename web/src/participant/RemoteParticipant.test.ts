import { EventEmitter } from 'eventemitter3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MeshSignal } from '../../../core/protocol/index.js';
import type { MeshConnectionEvents, MeshConnectionState } from '../mesh/MeshConnection.js';
import { RemoteParticipant, type MeshLink, type RepairRecord } from './RemoteParticipant.js';
import type { RepairPolicy } from './repair.js';

/** A mesh connection without a network: the test says when it delivers, connects or fails. */
class FakeLink extends EventEmitter<MeshConnectionEvents> implements MeshLink {
	state: MeshConnectionState = 'connecting';
	closed = false;
	readonly signals: MeshSignal[] = [];
	constructor(
		readonly generation: number,
		readonly initiator: boolean,
	) {
		super();
	}
	handleSignal(signal: MeshSignal): void {
		this.signals.push(signal);
	}
	replaceTrack(): void {}
	updateIceServers(): void {}
	send(): boolean {
		return this.state === 'connected';
	}
	readonly descriptionCount = 2;
	async stats() {
		return [];
	}
	async quality() {
		return { remotePeerId: 'x', path: 'direct' } as never;
	}
	/** Like MeshConnection: says 'closed' synchronously, once. */
	close(): void {
		if (this.closed) return;
		this.closed = true;
		this.state = 'closed';
		this.emit('state', 'closed');
	}
	deliver(): MediaStream {
		const track = (kind: string) => ({ kind }) as MediaStreamTrack;
		const stream = { id: `s${this.generation}`, getVideoTracks: () => [track('video')], getAudioTracks: () => [track('audio')] } as unknown as MediaStream;
		this.emit('stream', stream);
		return stream;
	}
	health(health: 'connected' | 'disconnected' | 'failed'): void {
		if (health === 'connected') this.state = 'connected';
		this.emit('health', health);
	}
}

const policy: RepairPolicy = { disconnectedGraceMs: 1000, giveUpMs: 10_000 };

function make(offerer: boolean) {
	const links: FakeLink[] = [];
	const shown: Array<{ stream: MediaStream; path: string }> = [];
	const repairs: RepairRecord[] = [];
	/** Probes in flight: resolve one to say its frames rendered. */
	const probes: Array<() => void> = [];
	const participant = new RemoteParticipant({
		peerId: 'bob',
		offerer,
		heading: 'mesh',
		videoMuted: false,
		createLink: (generation, initiator) => {
			const link = new FakeLink(generation, initiator);
			links.push(link);
			return link;
		},
		sendSignal: () => undefined,
		repairPolicy: () => policy,
		probe: () => new Promise<boolean>((resolve) => probes.push(() => resolve(true))),
		renderTimeoutMs: () => 6000,
	});
	participant.on('show', (stream, path) => shown.push({ stream, path }));
	participant.on('repair', (record) => repairs.push(record));
	return { participant, links, shown, repairs, probes };
}

const offer: MeshSignal = { kind: 'description', description: { type: 'offer', sdp: 'v=0' } };
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('RemoteParticipant', () => {
	beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
	afterEach(() => vi.useRealTimers());

	it('the offerer re-makes a failed pair, keeps the frozen frame until the new one renders, then drops the old one', async () => {
		const { participant, links, shown, repairs, probes } = make(true);
		participant.openMesh();
		expect(links.map((l) => [l.generation, l.initiator])).toEqual([[0, true]]);
		const first = links[0] as FakeLink;
		const firstStream = first.deliver();
		first.health('connected');
		expect(shown).toEqual([{ stream: firstStream, path: 'mesh' }]);

		first.health('disconnected');
		vi.advanceTimersByTime(999);
		expect(links).toHaveLength(1); // a blink is left alone
		vi.advanceTimersByTime(1);
		expect(links).toHaveLength(2);
		const second = links[1] as FakeLink;
		expect(second.generation).toBe(1);
		expect(repairs.map((r) => r.action)).toEqual(['recreate']);
		expect(first.closed).toBe(false); // its frozen frame stays on the tile

		second.deliver();
		second.health('connected');
		expect(repairs.map((r) => r.action)).toEqual(['recreate', 'recovered']);
		expect(shown).toHaveLength(1); // not before it rendered
		probes.shift()?.();
		await flush();
		expect(shown.map((s) => (s.stream as unknown as { id: string }).id)).toEqual(['s0', 's1']);
		expect(first.closed).toBe(true);
		expect(participant.linkCount).toBe(1);
		participant.close();
		expect(links.every((l) => l.closed)).toBe(true);
	});

	it('the answerer follows the offerer’s new generation and drops signals of the old one', () => {
		const { participant, links } = make(false);
		participant.openMesh();
		expect(links).toHaveLength(0); // it waits for the offer
		participant.handleSignal(offer, 0);
		participant.handleSignal(offer, 1);
		expect(links.map((l) => l.generation)).toEqual([0, 1]);
		participant.handleSignal(offer, 0);
		expect((links[0] as FakeLink).signals).toHaveLength(1);
		expect((links[1] as FakeLink).signals).toHaveLength(1);
		// The answerer never makes a generation itself, even when its side fails.
		(links[1] as FakeLink).health('failed');
		vi.advanceTimersByTime(30_000);
		expect(links).toHaveLength(2);
		participant.close();
		expect(links.every((l) => l.closed)).toBe(true);
	});

	it('gives up after giveUpMs, says so, and says so again when the pair comes back', () => {
		const { participant, links, repairs } = make(true);
		participant.openMesh();
		(links[0] as FakeLink).health('failed');
		vi.advanceTimersByTime(10_000);
		expect(repairs.at(-1)?.action).toBe('gave-up');
		expect(participant.meshLost).toBe(true);
		const attempts = links.length;
		vi.advanceTimersByTime(60_000);
		expect(links).toHaveLength(attempts); // no attempt after the give-up
		(links.at(-1) as FakeLink).health('connected');
		expect(repairs.at(-1)?.action).toBe('recovered');
		expect(participant.meshLost).toBe(false);
		participant.close();
	});

	it('leaving the mesh (a commit to the SFU) is no outage: no repair, no new connection, no timer left', () => {
		const { participant, links, repairs } = make(true);
		let failed = 0;
		participant.on('linkFailed', () => failed++);
		participant.openMesh();
		(links[0] as FakeLink).deliver();
		(links[0] as FakeLink).health('connected');
		participant.closeMesh();
		expect({ repairs: repairs.map((r) => r.action), failed, links: links.length, timers: vi.getTimerCount() }).toEqual({ repairs: [], failed: 0, links: 1, timers: 0 });
	});

	it('the answerer takes an offer that starts over at generation 0 (the other end was re-made) when it has no connection', () => {
		const { participant: answerer, links } = make(false);
		answerer.openMesh();
		answerer.handleSignal(offer, 0);
		answerer.closeMesh(); // the room went to the SFU
		answerer.openMesh(); // ... and back, and the offerer's side for this pair is new
		answerer.handleSignal(offer, 0);
		expect(links).toHaveLength(2);
		expect(links[0]?.closed).toBe(true);
	});

	it('the answerer keeps at most the connection on screen beside the newest, however many generations the offerer tries', () => {
		const { participant: answerer, links } = make(false);
		answerer.handleSignal(offer, 0);
		(links[0] as FakeLink).deliver();
		(links[0] as FakeLink).health('connected');
		for (let g = 1; g <= 5; g++) answerer.handleSignal(offer, g);
		expect(links.filter((l) => !l.closed).map((l) => l.generation)).toEqual([0, 5]);
	});

	it('leaves no connection open after close, whatever happened before (random walks)', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.boolean(),
				fc.array(
					fc.oneof(
						fc.constantFrom('connected', 'disconnected', 'failed', 'deliver', 'probe', 'closeMesh', 'openMesh', 'signal+1').map((type) => ({ type })),
						fc.integer({ min: 1, max: 5000 }).map((ms) => ({ type: 'advance', ms })),
					),
					{ maxLength: 30 },
				),
				async (offerer, ops) => {
					const { participant, links, probes } = make(offerer);
					participant.openMesh();
					for (const op of ops) {
						const newest = links.at(-1);
						if (op.type === 'advance') vi.advanceTimersByTime((op as { ms: number }).ms);
						else if (op.type === 'deliver') newest?.deliver();
						else if (op.type === 'probe') probes.shift()?.();
						else if (op.type === 'closeMesh') participant.closeMesh();
						else if (op.type === 'openMesh') participant.openMesh();
						else if (op.type === 'signal+1') participant.handleSignal(offer, participant.generation + 1);
						else newest?.health(op.type as 'connected' | 'disconnected' | 'failed');
						await flush();
						// Never more than the newest connection and the one the tile still shows.
						expect(links.filter((l) => !l.closed).length).toBeLessThanOrEqual(2);
					}
					participant.close();
					vi.advanceTimersByTime(120_000);
					expect(links.filter((l) => !l.closed)).toEqual([]);
					expect(vi.getTimerCount()).toBe(0);
				},
			),
			{ numRuns: 200, seed: 20_261_127 },
		);
	});
});

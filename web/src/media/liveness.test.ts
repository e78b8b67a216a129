import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IDLE_STALL_MS, receivedCount, STALL_MS, watchLiveness } from './liveness.js';
import type { Stat } from './QualitySampler.js';

const pair = (fields: Record<string, unknown>): Stat[] => [
	{ type: 'transport', id: 'T', selectedCandidatePairId: 'CP' },
	{ type: 'candidate-pair', id: 'CP', ...fields },
];

describe('receivedCount()', () => {
	it('counts media and connectivity checks on the selected pair, apart; nothing before one is selected', () => {
		expect(receivedCount(pair({ bytesReceived: 1000, packetsReceived: 10, responsesReceived: 3, requestsReceived: 2 }))).toEqual({ media: 1010, checks: 5 });
		expect(receivedCount([{ type: 'candidate-pair', id: 'X', bytesReceived: 5 }])).toBeUndefined();
	});
});

describe('watchLiveness()', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it('a path whose media flowed: stalled once nothing arrived for STALL_MS, alive at the first packet after', async () => {
		let media = 0;
		const changes: boolean[] = [];
		const stop = watchLiveness(async () => pair({ bytesReceived: media }), (alive) => changes.push(alive), () => Date.now());
		for (let t = 0; t < 3000; t += 500) {
			media += 100;
			await vi.advanceTimersByTimeAsync(500);
		}
		expect(changes).toEqual([]);
		await vi.advanceTimersByTimeAsync(STALL_MS - 500);
		expect(changes).toEqual([]);
		await vi.advanceTimersByTimeAsync(1000);
		expect(changes).toEqual([false]);
		await vi.advanceTimersByTimeAsync(5000);
		expect(changes).toEqual([false]); // said once
		media += 1;
		await vi.advanceTimersByTimeAsync(500);
		expect(changes).toEqual([false, true]);
		stop();
		expect(vi.getTimerCount()).toBe(0);
	});

	it('a path with no media (all paused): checks every 2.5 s keep it alive; their silence counts only past IDLE_STALL_MS', async () => {
		let checks = 0;
		const changes: boolean[] = [];
		const stop = watchLiveness(async () => pair({ bytesReceived: 500, responsesReceived: checks }), (alive) => changes.push(alive), () => Date.now());
		for (let t = 0; t < 20_000; t += 2500) {
			checks++;
			await vi.advanceTimersByTimeAsync(2500);
		}
		expect(changes).toEqual([]);
		// The last check came 2.5 s ago.
		await vi.advanceTimersByTimeAsync(IDLE_STALL_MS - 2500 - 1000);
		expect(changes).toEqual([]);
		await vi.advanceTimersByTimeAsync(1500);
		expect(changes).toEqual([false]);
		stop();
	});
});

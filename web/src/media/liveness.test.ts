import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { receivedCount, STALL_MS, watchLiveness } from './liveness.js';
import type { Stat } from './QualitySampler.js';

const pair = (fields: Record<string, unknown>): Stat[] => [
	{ type: 'transport', id: 'T', selectedCandidatePairId: 'CP' },
	{ type: 'candidate-pair', id: 'CP', ...fields },
];

describe('receivedCount()', () => {
	it('counts media and connectivity checks on the selected pair; nothing before one is selected', () => {
		expect(receivedCount(pair({ bytesReceived: 1000, packetsReceived: 10, responsesReceived: 3, requestsReceived: 2 }))).toBe(1015);
		expect(receivedCount([{ type: 'candidate-pair', id: 'X', bytesReceived: 5 }])).toBeUndefined();
	});
});

describe('watchLiveness()', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it('says stalled once nothing arrived for STALL_MS, and alive at the first packet after', async () => {
		let received = 0;
		const changes: boolean[] = [];
		const stop = watchLiveness(async () => pair({ bytesReceived: received }), (alive) => changes.push(alive), () => Date.now());
		for (let t = 0; t < 3000; t += 500) {
			received += 100;
			await vi.advanceTimersByTimeAsync(500);
		}
		expect(changes).toEqual([]);
		await vi.advanceTimersByTimeAsync(STALL_MS - 500);
		expect(changes).toEqual([]);
		await vi.advanceTimersByTimeAsync(1000);
		expect(changes).toEqual([false]);
		await vi.advanceTimersByTimeAsync(5000);
		expect(changes).toEqual([false]); // said once
		received += 1;
		await vi.advanceTimersByTimeAsync(500);
		expect(changes).toEqual([false, true]);
		stop();
		expect(vi.getTimerCount()).toBe(0);
	});
});

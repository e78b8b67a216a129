import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Batcher } from './Batcher.js';

describe('Batcher', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	const make = (intervalMs: number) => {
		const flushes: number[] = [];
		const batcher = new Batcher(intervalMs, () => flushes.push(Date.now()), () => Date.now());
		return { batcher, flushes };
	};

	it('flushes the first mark at once', () => {
		const { batcher, flushes } = make(1000);
		batcher.mark();
		expect(flushes).toHaveLength(1);
	});

	it('folds every mark within the interval into one flush at its end', () => {
		const { batcher, flushes } = make(1000);
		const start = Date.now();
		batcher.mark();
		for (let i = 0; i < 50; i++) {
			vi.advanceTimersByTime(10);
			batcher.mark();
		}
		expect(flushes).toHaveLength(1);
		vi.advanceTimersByTime(1000);
		expect(flushes).toHaveLength(2);
		expect(flushes[1]! - start).toBe(1000);
		// Nothing marked since: nothing more.
		vi.advanceTimersByTime(5000);
		expect(flushes).toHaveLength(2);
	});

	it('never flushes twice within one interval under constant marking', () => {
		const { batcher, flushes } = make(1000);
		for (let t = 0; t < 10_000; t += 7) {
			batcher.mark();
			vi.advanceTimersByTime(7);
		}
		for (let i = 1; i < flushes.length; i++) expect(flushes[i]! - flushes[i - 1]!).toBeGreaterThanOrEqual(1000);
		expect(flushes.length).toBeGreaterThanOrEqual(10);
		expect(flushes.length).toBeLessThanOrEqual(11);
	});

	it('flushes at once again after a quiet interval', () => {
		const { batcher, flushes } = make(1000);
		batcher.mark();
		vi.advanceTimersByTime(1500);
		batcher.mark();
		expect(flushes).toHaveLength(2);
	});

	it('drops a pending flush on close and ignores later marks', () => {
		const { batcher, flushes } = make(1000);
		batcher.mark();
		batcher.mark();
		batcher.close();
		batcher.close();
		vi.advanceTimersByTime(2000);
		batcher.mark();
		expect(flushes).toHaveLength(1);
	});
});

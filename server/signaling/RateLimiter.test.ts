import { describe, expect, it } from 'vitest';
import { RateLimiter } from './RateLimiter.js';

describe('RateLimiter', () => {
	it('allows a burst, then refuses until time refills the bucket', () => {
		let now = 0;
		const limiter = new RateLimiter(10, 3, () => now);
		expect([limiter.tryTake(), limiter.tryTake(), limiter.tryTake(), limiter.tryTake()]).toEqual([true, true, true, false]);
		now += 99;
		expect(limiter.tryTake()).toBe(false);
		now += 2; // 101 ms at 10/s: one token back.
		expect(limiter.tryTake()).toBe(true);
		expect(limiter.tryTake()).toBe(false);
	});

	it('never stores more than the burst', () => {
		let now = 0;
		const limiter = new RateLimiter(100, 2, () => now);
		now += 60_000;
		expect([limiter.tryTake(), limiter.tryTake(), limiter.tryTake()]).toEqual([true, true, false]);
	});
});

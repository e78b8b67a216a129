import { describe, expect, it } from 'vitest';
import { BackoffReconnectPolicy } from './ReconnectPolicy.js';

describe('BackoffReconnectPolicy', () => {
	it('doubles the delay per attempt up to the maximum', () => {
		const policy = new BackoffReconnectPolicy({ initialDelayMs: 100, maxDelayMs: 500, jitter: 0 });
		const delays = [0, 1, 2, 3, 4].map((retryCount) => policy.nextRetryDelayInMs({ retryCount, elapsedMs: 0, graceMs: 60_000 }));
		expect(delays).toEqual([100, 200, 400, 500, 500]);
	});

	it('jitter shortens the delay by up to its fraction', () => {
		const low = new BackoffReconnectPolicy({ initialDelayMs: 1000, jitter: 0.5, random: () => 0.999 });
		const high = new BackoffReconnectPolicy({ initialDelayMs: 1000, jitter: 0.5, random: () => 0 });
		expect(low.nextRetryDelayInMs({ retryCount: 0, elapsedMs: 0, graceMs: 60_000 })).toBe(500);
		expect(high.nextRetryDelayInMs({ retryCount: 0, elapsedMs: 0, graceMs: 60_000 })).toBe(1000);
	});

	it('gives up (null) when the next attempt would land after the resume grace', () => {
		const policy = new BackoffReconnectPolicy({ initialDelayMs: 1000, jitter: 0 });
		expect(policy.nextRetryDelayInMs({ retryCount: 0, elapsedMs: 8500, graceMs: 10_000 })).toBe(1000);
		expect(policy.nextRetryDelayInMs({ retryCount: 0, elapsedMs: 9500, graceMs: 10_000 })).toBeNull();
	});
});

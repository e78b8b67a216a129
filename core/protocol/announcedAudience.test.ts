import { describe, expect, it } from 'vitest';
import { announcedAudience } from './messages.js';

describe('announcedAudience', () => {
	it('is exact below 100', () => {
		for (const n of [0, 1, 3, 40, 99]) expect(announcedAudience(n)).toBe(n);
	});

	it('keeps two significant digits from 100 up', () => {
		expect(announcedAudience(100)).toBe(100);
		expect(announcedAudience(154)).toBe(150);
		expect(announcedAudience(155)).toBe(160);
		expect(announcedAudience(999)).toBe(1000);
		expect(announcedAudience(1534)).toBe(1500);
		expect(announcedAudience(12_345)).toBe(12_000);
	});

	it('changes at most once per 1% of joins past 100, so a join costs the room O(1) announcements', () => {
		let changes = 0;
		let last = announcedAudience(1000);
		for (let n = 1001; n <= 10_000; n++) {
			const shown = announcedAudience(n);
			if (shown !== last) changes++;
			last = shown;
		}
		// 9,000 joins, each announcement reaching about n peers: changes x n stays a constant multiple of the joins.
		expect(changes).toBe(90);
	});
});

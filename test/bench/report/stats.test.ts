import { describe, expect, it } from 'vitest';
import { median, quantile } from './stats.js';

describe('median() and quantile()', () => {
	it('gives the middle value, or the mean of the two middle ones, whatever the order', () => {
		expect(median([3, 1, 2])).toBe(2);
		expect(median([4, 1, 3, 2])).toBe(2.5);
		expect(median([7])).toBe(7);
	});

	it('interpolates between the nearest values', () => {
		expect(quantile([10, 20, 30, 40, 50], 0.95)).toBeCloseTo(48);
		expect(quantile([5, 1], 0)).toBe(1);
		expect(quantile([5, 1], 1)).toBe(5);
	});

	it('is NaN for no values', () => {
		expect(median([])).toBeNaN();
		expect(quantile([], 0.95)).toBeNaN();
	});
});

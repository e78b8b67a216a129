import { describe, expect, it } from 'vitest';
import { spatialLayerForWidth } from './SfuSession.js';

describe('spatialLayerForWidth()', () => {
	it('asks for the quarter, half or full layer by rendered tile width', () => {
		expect([0, 160, 239].map(spatialLayerForWidth)).toEqual([0, 0, 0]);
		expect([240, 320, 479].map(spatialLayerForWidth)).toEqual([1, 1, 1]);
		expect([480, 1280].map(spatialLayerForWidth)).toEqual([2, 2]);
	});
});

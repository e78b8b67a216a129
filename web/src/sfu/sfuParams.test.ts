import { describe, expect, it } from 'vitest';
import { spatialLayerForWidth, videoEncodings } from './sfuParams.js';

describe('spatialLayerForWidth()', () => {
	it('asks for the quarter, half or full layer by rendered tile width', () => {
		expect([0, 160, 239].map(spatialLayerForWidth)).toEqual([0, 0, 0]);
		expect([240, 320, 479].map(spatialLayerForWidth)).toEqual([1, 1, 1]);
		expect([480, 1280].map(spatialLayerForWidth)).toEqual([2, 2]);
	});
});

describe('videoEncodings()', () => {
	it('sends as many simulcast layers as the camera has pixels for, the top one at full size', () => {
		expect(videoEncodings(1280).map((e) => e.scaleResolutionDownBy)).toEqual([4, 2, 1]);
		expect(videoEncodings(640).map((e) => e.scaleResolutionDownBy)).toEqual([2, 1]);
		const single = videoEncodings(320);
		expect(single).toHaveLength(1);
		expect(single[0]?.rid).toBeUndefined();
		expect(single[0]?.scaleResolutionDownBy).toBeUndefined();
	});
});

import { describe, expect, it } from 'vitest';
import { FrameGaps } from './FrameGaps.js';

describe('FrameGaps', () => {
	it('is the largest interval between frames of any one source, not across sources', () => {
		const gaps = new FrameGaps(1000);
		gaps.live('a');
		gaps.live('b');
		for (const t of [1030, 1060, 1400, 1430]) gaps.frame('a', t);
		for (const t of [1010, 1050, 1090, 1130, 1170, 1210, 1250, 1290, 1330, 1370, 1410, 1450]) gaps.frame('b', t);
		expect(gaps.largestMs(1460)).toBe(340);
	});

	it('counts a live source from the window start, and the time since its last frame at the end', () => {
		const start = new FrameGaps(0);
		start.live('a');
		start.frame('a', 500);
		start.frame('a', 530);
		expect(start.largestMs(560)).toBe(500);

		const end = new FrameGaps(0);
		end.live('a');
		end.frame('a', 30);
		expect(end.largestMs(900)).toBe(870);
	});

	it('a source that appears during the window counts from its first frame', () => {
		const gaps = new FrameGaps(0);
		gaps.frame('late', 800);
		gaps.frame('late', 830);
		expect(gaps.largestMs(840)).toBe(30);
	});

	it('frames out of order never make a negative gap or move a source back', () => {
		const gaps = new FrameGaps(0);
		gaps.live('a');
		gaps.frame('a', 100);
		gaps.frame('a', 90);
		gaps.frame('a', 120);
		expect(gaps.largestMs(120)).toBe(100);
	});

	it('no source at all: 0', () => {
		expect(new FrameGaps(0).largestMs(1000)).toBe(0);
	});
});

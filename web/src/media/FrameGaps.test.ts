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

	it('a source that left the screen (its tile removed or hidden) counts up to then, not to the end', () => {
		const gaps = new FrameGaps(0);
		gaps.live('gone');
		gaps.live('stays');
		gaps.frame('gone', 30);
		gaps.left('gone', 130);
		for (let t = 20; t <= 2000; t += 20) gaps.frame('stays', t);
		expect(gaps.largestMs(2000)).toBe(100);
	});

	it('a source shown again counts from its next frame; leaving twice, or before any frame, adds nothing', () => {
		const gaps = new FrameGaps(0);
		gaps.left('never-seen', 500);
		gaps.live('paged');
		gaps.frame('paged', 40);
		gaps.left('paged', 60);
		gaps.left('paged', 900);
		gaps.frame('paged', 1000);
		gaps.frame('paged', 1030);
		expect(gaps.largestMs(1040)).toBe(40);
	});

	it('a source back on screen (live again from then) that stays frozen counts from when it came back', () => {
		const gaps = new FrameGaps(0);
		gaps.live('paged');
		gaps.frame('paged', 40);
		gaps.left('paged', 60);
		gaps.live('paged', 1000);
		expect(gaps.largestMs(1800)).toBe(800);
	});

		it('no source at all: 0', () => {
		expect(new FrameGaps(0).largestMs(1000)).toBe(0);
	});
});

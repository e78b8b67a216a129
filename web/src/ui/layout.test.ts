import { describe, expect, it } from 'vitest';
import { DEFAULT_LAYOUT, clampInto, cornerPosition, gridLayout, gridPages, maxPerPageFor, paginate, selfPlacement, speakerLayout, visibleShare, type Rect } from './layout.js';

const STAGES = {
	desktop: { width: 1280, height: 700 },
	phone: { width: 360, height: 600 },
} as const;

const inside = (r: Rect, width: number, height: number) => r.x >= 0 && r.y >= 0 && r.x + r.width <= width && r.y + r.height <= height && r.width > 0 && r.height > 0;
const overlap = (a: Rect, b: Rect) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('gridLayout', () => {
	it('1 tile fills the stage; 2 are side by side on a wide stage and stacked on a tall one; 4 are 2x2; 9 are 3x3', () => {
		expect(gridLayout(1, 1280, 700).rects).toEqual([{ x: 0, y: 0, width: 1280, height: 700 }]);
		expect(gridLayout(2, 1280, 700)).toMatchObject({ columns: 2, rows: 1 });
		expect(gridLayout(2, 360, 600)).toMatchObject({ columns: 1, rows: 2 });
		expect(gridLayout(4, 1280, 700)).toMatchObject({ columns: 2, rows: 2 });
		expect(gridLayout(9, 1280, 700)).toMatchObject({ columns: 3, rows: 3 });
		// A 2x2 at 1280 wide: each tile is over 600 px wide.
		for (const r of gridLayout(4, 1280, 700).rects) expect(r.width).toBeGreaterThan(600);
	});

	for (const [name, { width, height }] of Object.entries(STAGES)) {
		it(`at ${name} size (${width}x${height}), 1..25 tiles: every page covers at least 70% of the stage, inside it, without overlaps, each tile once`, () => {
			const maxPerPage = maxPerPageFor(width);
			for (let count = 1; count <= 25; count++) {
				const pages = gridPages(count, width, height, { maxPerPage });
				// Pages hold every tile exactly once.
				expect(pages.flatMap((p) => p.tiles)).toEqual(Array.from({ length: count }, (_, i) => i));
				for (const page of pages) {
					expect(page.tiles.length).toBeLessThanOrEqual(maxPerPage);
					expect(page.rects).toHaveLength(page.tiles.length);
					const covered = page.rects.reduce((sum, r) => sum + r.width * r.height, 0);
					const coverage = covered / (width * height);
					expect(coverage, `${count} tiles, a page of ${page.tiles.length} (${page.columns}x${page.rows})`).toBeGreaterThanOrEqual(0.7);
					for (const r of page.rects) {
						expect(inside(r, width, height), JSON.stringify(r)).toBe(true);
						// The crop keeps the tile within 3:4 .. 2.4:1.
						expect(r.width / r.height).toBeGreaterThanOrEqual(DEFAULT_LAYOUT.minAspect - 0.01);
						expect(r.width / r.height).toBeLessThanOrEqual(DEFAULT_LAYOUT.maxAspect + 0.01);
					}
					for (let i = 0; i < page.rects.length; i++) for (let j = i + 1; j < page.rects.length; j++) expect(overlap(page.rects[i] as Rect, page.rects[j] as Rect)).toBe(false);
				}
			}
		});
	}

	it('a phone shows 6 a page, a desktop 9; 10 tiles on a desktop are two pages of 5', () => {
		expect(maxPerPageFor(360)).toBe(6);
		expect(maxPerPageFor(1280)).toBe(9);
		expect(paginate(10, 9).map((p) => p.length)).toEqual([5, 5]);
		expect(paginate(25, 9).map((p) => p.length)).toEqual([9, 8, 8]);
		expect(paginate(0, 9)).toEqual([]);
	});

	it('an empty or zero-sized stage has no tiles', () => {
		expect(gridLayout(0, 1280, 700).rects).toEqual([]);
		expect(gridLayout(3, 0, 0).rects).toEqual([]);
	});

	it('visibleShare is 1 for the camera\'s own aspect and less when cropped', () => {
		expect(visibleShare(16 / 9, 16 / 9)).toBe(1);
		expect(visibleShare(1, 16 / 9)).toBeCloseTo(0.5625);
	});
});

describe('speakerLayout', () => {
	for (const [name, { width, height }] of Object.entries(STAGES)) {
		it(`at ${name} size: the main tile is larger than any strip tile, the strip pages hold every other tile once, all inside the stage`, () => {
			for (const others of [0, 1, 3, 8, 24]) {
				const layout = speakerLayout(others, width, height);
				expect(inside(layout.main, width, height)).toBe(true);
				expect(layout.strip.flatMap((p) => p.tiles)).toEqual(Array.from({ length: others }, (_, i) => i));
				for (const page of layout.strip) {
					for (const r of page.rects) {
						expect(inside(r, width, height)).toBe(true);
						expect(overlap(r, layout.main)).toBe(false);
						expect(r.width * r.height).toBeLessThan(layout.main.width * layout.main.height);
					}
				}
			}
			expect(speakerLayout(0, width, height).main).toEqual(gridLayout(1, width, height).rects[0]);
			expect(speakerLayout(8, width, height).strip[0]?.tiles.length).toBeGreaterThanOrEqual(3);
		});
	}
});

describe('the self view', () => {
	it('is a grid cell alone and while the call fits a page; floats in a 1:1 call, in the speaker layout and when the grid pages', () => {
		expect(selfPlacement('grid', 0, 9)).toBe('grid');
		expect(selfPlacement('speaker', 0, 9)).toBe('grid');
		expect(selfPlacement('grid', 1, 9)).toBe('floating');
		expect(selfPlacement('grid', 3, 9)).toBe('grid');
		expect(selfPlacement('grid', 8, 9)).toBe('grid');
		expect(selfPlacement('grid', 9, 9)).toBe('floating');
		expect(selfPlacement('speaker', 3, 9)).toBe('floating');
	});

	it('moves to each corner and never leaves the stage', () => {
		const stage = { width: 800, height: 500 };
		const tile = { width: 160, height: 90 };
		expect(cornerPosition('top-left', stage, tile)).toEqual({ x: 8, y: 8 });
		expect(cornerPosition('bottom-right', stage, tile)).toEqual({ x: 632, y: 402 });
		expect(clampInto({ x: -50, y: 900 }, stage, tile)).toEqual({ x: 0, y: 410 });
	});
});

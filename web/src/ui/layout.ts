/**
 * Where the call screen's tiles go: pure geometry, no DOM. The grid is
 * computed from the tile count and the stage's size; past `maxPerPage` the
 * tiles are split over pages of nearly equal size. The speaker layout puts
 * one tile large and the others in a strip below it.
 *
 * Tiles fill their cells: the video is cropped to the tile (`object-fit:
 * cover`), so a 16:9 camera fills a 3:4 phone cell. The crop is bounded:
 * a tile's aspect stays between `minAspect` and `maxAspect` (a cell outside
 * that range gets a smaller tile, centred). The grid chosen maximises the
 * stage area covered, weighted by how much of the video stays visible.
 */

export interface Rect {
	x: number;
	y: number;
	width: number;
	height: number;
}

export interface LayoutOptions {
	/** The camera's aspect (width / height). */
	aspect: number;
	/** Space between tiles, px. */
	gap: number;
	/** Most tiles on one page of the grid. */
	maxPerPage: number;
	/** Tiles are never narrower than this aspect (3:4 portrait) ... */
	minAspect: number;
	/** ... nor wider than this one. */
	maxAspect: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { aspect: 16 / 9, gap: 8, maxPerPage: 9, minAspect: 3 / 4, maxAspect: 2.4 };

/** A page of the grid: the tiles' indexes (into the whole list) and where each goes. */
export interface GridPage {
	columns: number;
	rows: number;
	/** Indexes into the tile list, in order. */
	tiles: number[];
	/** One rect per entry of `tiles`, relative to the stage. */
	rects: Rect[];
}

/** The most tiles a page holds on a stage this wide: 9 on a desktop, 6 on a phone. */
export function maxPerPageFor(stageWidth: number): number {
	return stageWidth < 600 ? 6 : 9;
}

/** Splits `count` tiles into pages of at most `maxPerPage`, as even as can be (10 over 9 → 5 + 5). */
export function paginate(count: number, maxPerPage: number): number[][] {
	if (count <= 0) return [];
	const pages = Math.ceil(count / Math.max(1, maxPerPage));
	const base = Math.floor(count / pages);
	const extra = count % pages;
	const result: number[][] = [];
	let next = 0;
	for (let p = 0; p < pages; p++) {
		const size = base + (p < extra ? 1 : 0);
		result.push(Array.from({ length: size }, (_, i) => next + i));
		next += size;
	}
	return result;
}

/** The share of a video of `aspect` that a tile of `tileAspect` shows when it crops to fill (1: nothing cropped). */
export function visibleShare(tileAspect: number, aspect: number): number {
	return Math.min(tileAspect / aspect, aspect / tileAspect);
}

/** A tile for a cell: the whole cell, unless the cell's shape is outside the allowed aspects. */
function tileIn(cellWidth: number, cellHeight: number, o: LayoutOptions): { width: number; height: number } {
	const cell = cellWidth / cellHeight;
	if (cell > o.maxAspect) return { width: cellHeight * o.maxAspect, height: cellHeight };
	if (cell < o.minAspect) return { width: cellWidth, height: cellWidth / o.minAspect };
	return { width: cellWidth, height: cellHeight };
}

/**
 * `count` tiles on a `width` × `height` stage: columns × rows and each
 * tile's rect. The block is centred, a short last row too. Chooses the
 * columns that maximise covered area × √(visible share of the video): 1 →
 * the whole stage, 2 → side by side on a wide stage and stacked on a tall
 * one, 4 → 2×2, 9 → 3×3.
 */
export function gridLayout(count: number, width: number, height: number, options: Partial<LayoutOptions> = {}): Omit<GridPage, 'tiles'> {
	const o = { ...DEFAULT_LAYOUT, ...options };
	if (count <= 0 || width <= 0 || height <= 0) return { columns: 0, rows: 0, rects: [] };
	let best: { columns: number; rows: number; tile: { width: number; height: number }; score: number } | undefined;
	for (let columns = 1; columns <= count; columns++) {
		const rows = Math.ceil(count / columns);
		// A column that only the last row would use is the same grid with a hole: skip it.
		if (columns > 1 && Math.ceil(count / (columns - 1)) === rows) continue;
		const cellWidth = (width - o.gap * (columns - 1)) / columns;
		const cellHeight = (height - o.gap * (rows - 1)) / rows;
		if (cellWidth <= 0 || cellHeight <= 0) continue;
		const tile = tileIn(cellWidth, cellHeight, o);
		const score = count * tile.width * tile.height * Math.sqrt(visibleShare(tile.width / tile.height, o.aspect));
		if (!best || score > best.score) best = { columns, rows, tile, score };
	}
	if (!best) return { columns: 0, rows: 0, rects: [] };
	const { columns, rows, tile } = best;
	const tw = Math.floor(tile.width);
	const th = Math.floor(tile.height);
	const blockHeight = rows * th + (rows - 1) * o.gap;
	const top = (height - blockHeight) / 2;
	const rects: Rect[] = [];
	for (let row = 0; row < rows; row++) {
		const inRow = Math.min(columns, count - row * columns);
		const rowWidth = inRow * tw + (inRow - 1) * o.gap;
		const left = (width - rowWidth) / 2;
		for (let col = 0; col < inRow; col++) {
			rects.push({ x: Math.floor(left + col * (tw + o.gap)), y: Math.floor(top + row * (th + o.gap)), width: tw, height: th });
		}
	}
	return { columns, rows, rects };
}

/** Every page of a grid of `count` tiles; each page is laid out for its own count. */
export function gridPages(count: number, width: number, height: number, options: Partial<LayoutOptions> = {}): GridPage[] {
	const o = { ...DEFAULT_LAYOUT, ...options };
	return paginate(count, o.maxPerPage).map((tiles) => ({ ...gridLayout(tiles.length, width, height, o), tiles }));
}

export interface SpeakerLayout {
	/** The large tile. */
	main: Rect;
	/** Pages of the strip: indexes into the other tiles, and their rects (a row below the main tile). */
	strip: Array<{ tiles: number[]; rects: Rect[] }>;
}

/** A page of the speaker layout's strip holds at least this many tiles (fewer only when there are fewer). */
const STRIP_MIN_PER_PAGE = 3;

/**
 * One tile large and `others` in a strip of 16:9 tiles below it (a fifth
 * of the stage's height, 64 to 160 px, and at least three to a page: a
 * phone's strip tiles are smaller). The strip pages when it is full.
 * With no others, the main tile has the whole stage.
 */
export function speakerLayout(others: number, width: number, height: number, options: Partial<LayoutOptions> = {}): SpeakerLayout {
	const o = { ...DEFAULT_LAYOUT, ...options };
	if (others <= 0) {
		const [main] = gridLayout(1, width, height, o).rects;
		return { main: main ?? { x: 0, y: 0, width: 0, height: 0 }, strip: [] };
	}
	// A fifth of the stage's height (64 to 160 px), narrow enough that a page of the strip holds at least three.
	const fitThree = (width - (STRIP_MIN_PER_PAGE - 1) * o.gap) / STRIP_MIN_PER_PAGE;
	const tileWidth = Math.floor(Math.min(Math.min(160, Math.max(64, height / 5)) * o.aspect, fitThree, width));
	const stripHeight = Math.floor(tileWidth / o.aspect);
	const perPage = Math.max(1, Math.floor((width + o.gap) / (tileWidth + o.gap)));
	const mainHeight = height - stripHeight - o.gap;
	const [main] = gridLayout(1, width, mainHeight, o).rects;
	const strip = paginate(others, perPage).map((tiles) => {
		const rowWidth = tiles.length * tileWidth + (tiles.length - 1) * o.gap;
		const left = (width - rowWidth) / 2;
		const rects = tiles.map((_, i) => ({ x: Math.floor(left + i * (tileWidth + o.gap)), y: Math.floor(height - stripHeight), width: tileWidth, height: stripHeight }));
		return { tiles, rects };
	});
	return { main: main ?? { x: 0, y: 0, width: 0, height: 0 }, strip };
}

/** Where the self view goes: a cell of the grid, or the small movable tile over the stage. */
export type SelfPlacement = 'grid' | 'floating';

/**
 * The self view is a grid cell while the whole call fits one page of the
 * grid (alone it is the whole stage; four people are a 2×2); it floats in
 * a 1:1 call (the other person large), in the speaker layout, and when the
 * grid pages.
 */
export function selfPlacement(mode: 'grid' | 'speaker', remotes: number, maxPerPage: number): SelfPlacement {
	if (remotes === 0) return 'grid';
	if (mode === 'speaker' || remotes === 1) return 'floating';
	return remotes + 1 <= maxPerPage ? 'grid' : 'floating';
}

/** The floating self view's size on a stage this wide: about a fifth of it, 16:9, 96 to 240 px wide. */
export function floatingSize(stageWidth: number, aspect = DEFAULT_LAYOUT.aspect): { width: number; height: number } {
	const width = Math.floor(Math.min(240, Math.max(96, stageWidth / 5)));
	return { width, height: Math.floor(width / aspect) };
}

export type Corner = 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';

/** The floating tile's position at `corner` of the stage, `margin` px in. */
export function cornerPosition(corner: Corner, stage: { width: number; height: number }, tile: { width: number; height: number }, margin = 8): { x: number; y: number } {
	const x = corner.endsWith('left') ? margin : stage.width - tile.width - margin;
	const y = corner.startsWith('top') ? margin : stage.height - tile.height - margin;
	return clampInto({ x, y }, stage, tile);
}

/** A position moved so that the tile lies inside the stage. */
export function clampInto(at: { x: number; y: number }, stage: { width: number; height: number }, tile: { width: number; height: number }): { x: number; y: number } {
	return {
		x: Math.round(Math.min(Math.max(0, at.x), Math.max(0, stage.width - tile.width))),
		y: Math.round(Math.min(Math.max(0, at.y), Math.max(0, stage.height - tile.height))),
	};
}

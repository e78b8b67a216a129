import { h } from './dom.js';
import {
	DEFAULT_LAYOUT,
	clampInto,
	cornerPosition,
	floatingSize,
	gridPages,
	maxPerPageFor,
	selfPlacement,
	speakerLayout,
	type Corner,
	type Rect,
} from './layout.js';

/** The full-screen button's icon: four corners (drawn, so it shows whatever fonts the system has). */
function fullScreenIcon(): SVGSVGElement {
	const ns = 'http://www.w3.org/2000/svg';
	const icon = document.createElementNS(ns, 'svg');
	icon.setAttribute('viewBox', '0 0 16 16');
	icon.setAttribute('width', '14');
	icon.setAttribute('height', '14');
	icon.setAttribute('aria-hidden', 'true');
	const path = document.createElementNS(ns, 'path');
	path.setAttribute('d', 'M1 6V1h5M10 1h5v5M15 10v5h-5M6 15H1v-5');
	path.setAttribute('fill', 'none');
	path.setAttribute('stroke', 'currentColor');
	path.setAttribute('stroke-width', '2');
	icon.append(path);
	return icon;
}

/** The layout the person chose: every tile the same size, or one large. */
export type LayoutMode = 'grid' | 'speaker';

/** Where the floating self view sits: a corner (moved by keyboard), or where it was dragged (fractions of the free space). */
type SelfPosition = { corner: Corner } | { fx: number; fy: number };

const ARROW_CORNERS: Record<string, (c: Corner) => Corner> = {
	ArrowLeft: (c) => (c.startsWith('top') ? 'top-left' : 'bottom-left'),
	ArrowRight: (c) => (c.startsWith('top') ? 'top-right' : 'bottom-right'),
	ArrowUp: (c) => (c.endsWith('left') ? 'top-left' : 'top-right'),
	ArrowDown: (c) => (c.endsWith('left') ? 'bottom-left' : 'bottom-right'),
};

/**
 * The call's stage: the self view and the remote tiles, placed by the pure
 * layout (web/src/ui/layout.ts) at the stage's measured size (a
 * ResizeObserver), in the grid or the speaker layout, with pages, a pinned
 * tile, full screen per tile, and the self view as a small tile that can be
 * dragged or moved to a corner with the arrow keys. It owns only the
 * placement; CallView makes the tiles.
 */
export class TileStage {
	/** The stage: the tiles are absolutely placed inside it. */
	readonly element: HTMLElement;
	/** The layout toggle and the page controls, for the call's controls bar. */
	readonly toolbar: HTMLElement;
	readonly #self: HTMLElement;
	readonly #layoutButton: HTMLButtonElement;
	readonly #pager: HTMLElement;
	readonly #pageLabel: HTMLElement;
	readonly #prev: HTMLButtonElement;
	readonly #next: HTMLButtonElement;
	readonly #resize: ResizeObserver;
	#mode: LayoutMode = 'grid';
	#pinned: string | undefined;
	#activeSpeaker: string | undefined;
	#page = 0;
	#pages = 1;
	/** Starts top right: over a corner of the large tile, not over the speaker layout's strip. */
	#selfAt: SelfPosition = { corner: 'top-right' };
	#size = { width: 0, height: 0 };
	#closed = false;

	constructor(selfTile: HTMLElement) {
		this.#self = selfTile;
		this.element = h('div', { class: 'grid stage', role: 'list', 'aria-label': 'Participants' }, selfTile);
		this.#layoutButton = h('button', { type: 'button', 'data-testid': 'layout', 'data-layout': 'grid', 'aria-pressed': 'false', title: 'Speaker view: one person large, the others in a strip' }, 'Speaker view');
		this.#layoutButton.addEventListener('click', () => {
			// Leaving the speaker layout also unpins.
			const speaker = this.layout !== 'speaker';
			this.#pinned = undefined;
			this.#mode = speaker ? 'speaker' : 'grid';
			this.#page = 0;
			this.relayout();
		});
		this.#prev = h('button', { type: 'button', 'data-testid': 'page-prev', 'aria-label': 'Previous page of participants' }, '‹');
		this.#next = h('button', { type: 'button', 'data-testid': 'page-next', 'aria-label': 'Next page of participants' }, '›');
		this.#pageLabel = h('span', { 'data-testid': 'page', 'aria-live': 'polite' }, '1 / 1');
		this.#prev.addEventListener('click', () => this.#turn(-1));
		this.#next.addEventListener('click', () => this.#turn(1));
		this.#pager = h('span', { class: 'pager', hidden: true }, this.#prev, this.#pageLabel, this.#next);
		this.toolbar = h('span', { class: 'stage-tools' }, this.#layoutButton, this.#pager);
		this.#resize = new ResizeObserver(([entry]) => {
			if (!entry) return;
			this.#size = { width: Math.floor(entry.contentRect.width), height: Math.floor(entry.contentRect.height) };
			this.relayout();
		});
		this.#resize.observe(this.element);
		this.#makeSelfMovable();
	}

	/** The layout shown now: the speaker layout while a tile is pinned. */
	get layout(): LayoutMode {
		return this.#pinned ? 'speaker' : this.#mode;
	}

	get pinned(): string | undefined {
		return this.#pinned;
	}

	/** Adds a remote tile (its pin and full-screen buttons are added here). */
	add(tile: HTMLElement, peerId: string, name: string): void {
		const pin = h('button', { type: 'button', 'data-testid': 'pin', 'data-peer-id': peerId, 'aria-pressed': 'false', 'aria-label': `Pin ${name}`, title: `Pin ${name}: shown large until unpinned` }, 'Pin');
		pin.addEventListener('click', () => this.pin(this.#pinned === peerId ? undefined : peerId));
		const full = h('button', { type: 'button', 'data-testid': 'tile-fullscreen', 'aria-label': `${name} full screen`, title: 'Full screen' }, fullScreenIcon());
		full.addEventListener('click', () => {
			if (document.fullscreenElement === tile) void document.exitFullscreen().catch(() => undefined);
			else void tile.requestFullscreen().catch(() => undefined);
		});
		tile.append(h('div', { class: 'tile-tools' }, pin, full));
		this.element.append(tile);
		this.relayout();
	}

	/** Removes a remote tile (unpinned if it was). */
	remove(peerId: string): void {
		this.#remote(peerId)?.remove();
		if (this.#pinned === peerId) this.#pinned = undefined;
		if (this.#activeSpeaker === peerId) this.#activeSpeaker = undefined;
		this.relayout();
	}

	/** Shows `peerId` large until unpinned (undefined: unpin). */
	pin(peerId: string | undefined): void {
		this.#pinned = peerId && this.#remote(peerId) ? peerId : undefined;
		this.#page = 0;
		this.relayout();
	}

	/** The active speaker (the SFU's audio level observer): the large tile of the speaker layout, unless one is pinned. */
	setActiveSpeaker(peerId: string | null): void {
		this.#activeSpeaker = peerId ?? undefined;
		for (const tile of this.#remotes()) tile.classList.toggle('active-speaker', tile.dataset.peerId === peerId);
		if (this.layout === 'speaker' && !this.#pinned) this.relayout();
	}

	/** Places every tile for the stage's size, layout, pin and page. */
	relayout(): void {
		if (this.#closed) return;
		const { width, height } = this.#size;
		const remotes = this.#remotes();
		const selfShown = !this.#self.hidden;
		const layout = this.layout;
		const maxPerPage = maxPerPageFor(width);
		const self = selfShown ? selfPlacement(layout, remotes.length, maxPerPage) : undefined;
		const placed = new Map<HTMLElement, Rect>();
		let pages: number;
		let mainTile: HTMLElement | undefined;
		if (layout === 'speaker' && remotes.length > 0) {
			const main = remotes.find((t) => t.dataset.peerId === this.#pinned) ?? remotes.find((t) => t.dataset.peerId === this.#activeSpeaker) ?? (remotes[0] as HTMLElement);
			const others = remotes.filter((t) => t !== main);
			const speaker = speakerLayout(others.length, width, height);
			placed.set(main, speaker.main);
			pages = Math.max(1, speaker.strip.length);
			this.#page = Math.min(this.#page, pages - 1);
			const strip = speaker.strip[this.#page];
			strip?.tiles.forEach((index, i) => placed.set(others[index] as HTMLElement, strip.rects[i] as Rect));
			mainTile = main;
		} else {
			const tiles = self === 'grid' ? [this.#self, ...remotes] : remotes;
			const all = gridPages(tiles.length, width, height, { maxPerPage });
			pages = Math.max(1, all.length);
			this.#page = Math.min(this.#page, pages - 1);
			const page = all[this.#page];
			page?.tiles.forEach((index, i) => placed.set(tiles[index] as HTMLElement, page.rects[i] as Rect));
		}
		for (const tile of remotes) {
			if (tile === mainTile) tile.dataset.main = 'true';
			else delete tile.dataset.main;
			const pin = tile.querySelector<HTMLButtonElement>('[data-testid=pin]');
			if (pin) {
				const pinned = tile.dataset.peerId === this.#pinned;
				pin.setAttribute('aria-pressed', String(pinned));
				pin.textContent = pinned ? 'Unpin' : 'Pin';
			}
			this.#place(tile, placed.get(tile));
		}
		if (selfShown) {
			if (self === 'floating') this.#float();
			else this.#place(this.#self, placed.get(this.#self));
		}
		this.#pages = pages;
		this.#pager.hidden = pages <= 1;
		// A live region: rewritten only when the page changes, or a relayout (a resize, a new active speaker) would be announced again.
		const label = `${this.#page + 1} / ${pages}`;
		if (this.#pageLabel.textContent !== label) this.#pageLabel.textContent = label;
		this.#prev.disabled = this.#page === 0;
		this.#next.disabled = this.#page >= pages - 1;
		this.element.dataset.layout = layout;
		this.#layoutButton.dataset.layout = layout;
		this.#layoutButton.setAttribute('aria-pressed', String(layout === 'speaker'));
	}

	close(): void {
		this.#closed = true;
		this.#resize.disconnect();
	}

	#turn(by: number): void {
		this.#page = Math.min(Math.max(0, this.#page + by), this.#pages - 1);
		this.relayout();
	}

	#remotes(): HTMLElement[] {
		return [...this.element.querySelectorAll<HTMLElement>(':scope > [data-testid=remote-tile]')];
	}

	#remote(peerId: string): HTMLElement | null {
		return this.element.querySelector<HTMLElement>(`:scope > [data-testid=remote-tile][data-peer-id="${CSS.escape(peerId)}"]`);
	}

	/** A tile at `rect`, or off the page (not shown: its video reports width 0, so the SFU sends it its smallest layer). */
	#place(tile: HTMLElement, rect: Rect | undefined): void {
		tile.classList.toggle('off-page', !rect);
		tile.classList.remove('floating');
		if (tile === this.#self) tile.removeAttribute('tabindex');
		if (!rect) return;
		Object.assign(tile.style, { left: `${rect.x}px`, top: `${rect.y}px`, width: `${rect.width}px`, height: `${rect.height}px` });
	}

	/** The self view as the small tile over the stage, where it was put. */
	#float(): void {
		const tile = this.#self;
		const size = floatingSize(this.#size.width, DEFAULT_LAYOUT.aspect);
		const at = this.#selfPoint(size);
		tile.classList.remove('off-page');
		tile.classList.add('floating');
		tile.tabIndex = 0;
		Object.assign(tile.style, { left: `${at.x}px`, top: `${at.y}px`, width: `${size.width}px`, height: `${size.height}px` });
	}

	#selfPoint(size: { width: number; height: number }): { x: number; y: number } {
		const at = this.#selfAt;
		if ('corner' in at) return cornerPosition(at.corner, this.#size, size);
		const x = at.fx * Math.max(0, this.#size.width - size.width);
		const y = at.fy * Math.max(0, this.#size.height - size.height);
		return clampInto({ x, y }, this.#size, size);
	}

	/** Pointer drag within the stage; the arrow keys move it to a corner. Only while it floats. */
	#makeSelfMovable(): void {
		const tile = this.#self;
		tile.setAttribute('aria-roledescription', 'movable video');
		tile.title = 'Your video: drag it, or focus it and use the arrow keys to move it to a corner';
		let drag: { pointerId: number; startX: number; startY: number; left: number; top: number } | undefined;
		tile.addEventListener('pointerdown', (event) => {
			if (!tile.classList.contains('floating') || (event.target as HTMLElement).closest('button')) return;
			drag = { pointerId: event.pointerId, startX: event.clientX, startY: event.clientY, left: tile.offsetLeft, top: tile.offsetTop };
			tile.setPointerCapture(event.pointerId);
			tile.classList.add('dragging');
			event.preventDefault();
		});
		tile.addEventListener('pointermove', (event) => {
			if (!drag || event.pointerId !== drag.pointerId) return;
			const size = { width: tile.offsetWidth, height: tile.offsetHeight };
			const at = clampInto({ x: drag.left + event.clientX - drag.startX, y: drag.top + event.clientY - drag.startY }, this.#size, size);
			tile.style.left = `${at.x}px`;
			tile.style.top = `${at.y}px`;
		});
		const end = (event: PointerEvent) => {
			if (!drag || event.pointerId !== drag.pointerId) return;
			drag = undefined;
			tile.classList.remove('dragging');
			const freeX = Math.max(1, this.#size.width - tile.offsetWidth);
			const freeY = Math.max(1, this.#size.height - tile.offsetHeight);
			this.#selfAt = { fx: Math.min(1, tile.offsetLeft / freeX), fy: Math.min(1, tile.offsetTop / freeY) };
		};
		tile.addEventListener('pointerup', end);
		tile.addEventListener('pointercancel', end);
		tile.addEventListener('keydown', (event) => {
			const move = ARROW_CORNERS[event.key];
			if (!move || !tile.classList.contains('floating') || event.target !== tile) return;
			event.preventDefault();
			const at = this.#selfAt;
			const from: Corner = 'corner' in at ? at.corner : `${at.fy < 0.5 ? 'top' : 'bottom'}-${at.fx < 0.5 ? 'left' : 'right'}`;
			this.#selfAt = { corner: move(from) };
			this.#float();
			tile.dataset.corner = this.#selfAt.corner;
		});
	}
}

import { ErrorCode, SignalingError, type RoomInspection } from '../../../core/protocol/index.js';
import type { Call } from '../call/Call.js';
import { FrameGapWatch } from '../media/FrameGaps.js';
import { Subscriptions } from '../util/Emitter.js';
import { h } from './dom.js';
import { buildGraph, linkLabel, localLinks, timelineRows, type InspectorGraph, type LocalLink, type TimelineRow } from './inspectorModel.js';
import './inspector.css';

/** How often the room is asked for its reports while the panel is open (they come every ~2 s). */
const POLL_MS = 2000;
/** How often this client's own links are read while the panel is open: they switch path as a migration goes. */
const LOCAL_MS = 1000;
/** Frames are watched this long past a migration's end: a freeze right after the old path closed counts. */
const GAP_TAIL_MS = 1000;

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 300;
const HEIGHT = 230;
const CENTER = { x: WIDTH / 2, y: HEIGHT / 2 };
const RADIUS = 88;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: Array<Node | string>): SVGElementTagNameMap[K] {
	const el = document.createElementNS(SVG, tag);
	for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
	el.append(...children);
	return el;
}

type PanelState =
	/** Not polling: the panel is hidden, or still up saying why the room refused it. */
	| { name: 'hidden' }
	/** Open: polling the room and reading this client's links; what was last heard of each. */
	| { name: 'open'; poll: ReturnType<typeof setInterval>; local: ReturnType<typeof setInterval>; inspection?: RoomInspection; links: LocalLink[] }
	| { name: 'closed' };

/**
 * The topology inspector: a panel any participant can open from the call
 * bar. It draws the room live as SVG (participants as nodes, a link per
 * mesh pair or a star to the SFU, each labelled with its route, bitrate and
 * RTT; both paths during a migration) and keeps a short timeline of the
 * migrations this client lived, with the largest frame gap measured on its
 * tiles. The data is what the server and this browser have already: the
 * room's quality reports (`room.inspect`, polled while open) and this
 * client's own live links (inspectorModel.ts merges them).
 */
export class Inspector {
	/** The call bar's toggle. */
	readonly toggle: HTMLButtonElement;
	/** The panel (hidden until opened). */
	readonly element: HTMLElement;
	readonly #summary: HTMLElement;
	readonly #drawing: SVGSVGElement;
	readonly #list: HTMLElement;
	readonly #timeline: HTMLElement;
	readonly #subscriptions = new Subscriptions();
	/** The largest frame gap of each migration, by epoch (only those this page could measure). */
	readonly #gaps = new Map<number, number>();
	#call: Call | undefined;
	#state: PanelState = { name: 'hidden' };
	/** A request on its way, of either kind: one at a time, even across a hide and show (its answer serves the panel open then). */
	readonly #busy = { poll: false, local: false };
	/** Frame gaps being watched: a migration in flight, or its tail. */
	#watch: { gaps: FrameGapWatch; tail?: ReturnType<typeof setTimeout> } | undefined;

	constructor() {
		this.toggle = h('button', { type: 'button', class: 'inspector-toggle', 'data-testid': 'inspector-toggle', 'aria-expanded': 'false', 'aria-controls': 'inspector' }, 'Topology');
		this.toggle.addEventListener('click', () => (this.element.hidden ? this.show() : this.hide()));
		this.#summary = h('p', { class: 'inspector-summary', 'aria-live': 'polite' }, 'Loading…');
		this.#drawing = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', class: 'inspector-graph' });
		this.#list = h('ul', { class: 'inspector-links', 'aria-label': 'Links' });
		this.#timeline = h('ol', { class: 'inspector-timeline', 'data-testid': 'inspector-timeline', 'aria-label': 'Migrations' });
		this.element = h(
			'section',
			{ id: 'inspector', class: 'inspector', 'data-testid': 'inspector', 'aria-label': 'Topology inspector', hidden: true },
			h('h2', {}, 'Topology'),
			this.#summary,
			this.#drawing,
			this.#list,
			h('h3', {}, 'Migrations'),
			this.#timeline,
		);
	}

	/** Binds to a joined call: migrations are watched for frame gaps from now on, open or not. */
	attach(call: Call): void {
		if (this.#state.name === 'closed') return;
		this.#call = call;
		this.#applyRole();
		this.#subscriptions.add(
			call.on('topology', (label) => (label === 'migrating' ? this.#watchGaps() : this.#endGaps())),
			call.on('role', () => this.#applyRole()),
		);
	}

	/** Opens the panel: polls the room and reads this client's links until hidden. */
	show(): void {
		if (this.#state.name !== 'hidden' || !this.#call) return;
		this.#state = {
			name: 'open',
			poll: setInterval(() => void this.#poll(), POLL_MS),
			local: setInterval(() => void this.#readLocal(), LOCAL_MS),
			links: [],
		};
		this.element.hidden = false;
		this.toggle.setAttribute('aria-expanded', 'true');
		void this.#poll();
		void this.#readLocal();
		this.#render();
	}

	/** Hides the panel and stops polling. */
	hide(): void {
		if (this.#state.name === 'closed') return;
		if (this.#state.name === 'open') this.#stopTimers(this.#state);
		this.#state = { name: 'hidden' };
		this.element.hidden = true;
		this.toggle.setAttribute('aria-expanded', 'false');
	}

	/** Stops everything for good: polling, frame watching, subscriptions; the panel hides (what it drew is no longer live). Idempotent. */
	close(): void {
		if (this.#state.name === 'closed') return;
		this.hide();
		this.toggle.disabled = true;
		this.#state = { name: 'closed' };
		this.#subscriptions.drop();
		clearTimeout(this.#watch?.tail);
		this.#watch?.gaps.stop();
		this.#watch = undefined;
		this.#call = undefined;
	}

	#stopTimers(state: Extract<PanelState, { name: 'open' }>): void {
		clearInterval(state.poll);
		clearInterval(state.local);
	}

	/** A broadcast's audience may not inspect the room (the server refuses it): no toggle for it. */
	#applyRole(): void {
		const call = this.#call;
		const audience = call?.roomKind === 'broadcast' && !call.canPublish;
		this.toggle.hidden = audience;
		if (audience) this.hide();
	}

	async #poll(): Promise<void> {
		const call = this.#call;
		if (this.#state.name !== 'open' || !call || this.#busy.poll) return;
		this.#busy.poll = true;
		try {
			const inspection = await call.inspect();
			const state = this.#state;
			if (state.name !== 'open') return;
			state.inspection = inspection;
			this.#render();
		} catch (error) {
			if (this.#state.name !== 'open') return;
			if (error instanceof SignalingError && error.code === ErrorCode.PermissionDenied) {
				// Refused (this client is in a broadcast's audience now): stop asking, say why; the toggle hides it, and opens it afresh later.
				this.#stopTimers(this.#state);
				this.#state = { name: 'hidden' };
				this.#say('The audience does not see the room’s connections.');
			} else {
				this.#say(`Could not read the room: ${(error as Error).message}`);
			}
		} finally {
			this.#busy.poll = false;
		}
	}

	async #readLocal(): Promise<void> {
		const call = this.#call;
		if (this.#state.name !== 'open' || !call || this.#busy.local) return;
		this.#busy.local = true;
		try {
			const links = localLinks(await call.connectionStats());
			const state = this.#state;
			if (state.name !== 'open') return;
			state.links = links;
			this.#render();
		} catch {
			// A read that failed (a path closing under it) is simply not shown; the next one is.
		} finally {
			this.#busy.local = false;
		}
	}

	/** The summary is a live region: written only when it changes, so a screen reader is not told the same every second. */
	#say(text: string): void {
		if (this.#summary.textContent !== text) this.#summary.textContent = text;
	}

	#render(): void {
		const state = this.#state;
		const call = this.#call;
		if (state.name !== 'open' || !call) return;
		this.#renderTimeline(timelineRows(call.migrations, this.#gaps));
		if (!state.inspection) return;
		const graph = buildGraph({ inspection: state.inspection, selfId: call.peerId ?? '', local: state.links, localQuality: call.lastQualityReport });
		const { state: topology, epoch } = graph.topology;
		const more = graph.truncated > 0 ? ` (${graph.truncated} more not shown)` : '';
		this.#say(`${topology}, epoch ${epoch}: ${graph.nodes.length} participant${graph.nodes.length === 1 ? '' : 's'}, ${graph.links.length} link${graph.links.length === 1 ? '' : 's'}${more}`);
		this.#drawing.dataset.state = topology;
		this.#drawGraph(graph);
	}

	#drawGraph(graph: InspectorGraph): void {
		const at = new Map<string, { x: number; y: number }>([['sfu', CENTER]]);
		graph.nodes.forEach((node, i) => {
			const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, graph.nodes.length);
			at.set(node.peerId, { x: CENTER.x + RADIUS * Math.cos(angle), y: CENTER.y + RADIUS * Math.sin(angle) });
		});
		const names = new Map(graph.nodes.map((n) => [n.peerId, n.self ? 'You' : n.displayName]));
		names.set('sfu', 'SFU');
		const links = graph.links.map((link) => {
			const a = at.get(link.from) ?? CENTER;
			const b = at.get(link.to) ?? CENTER;
			// Mesh links bow out a little, so two crossing at the centre (and the SFU's star) stay apart.
			const bow = link.path === 'mesh' ? 0.18 : 0;
			const control = { x: (a.x + b.x) / 2 - (b.y - a.y) * bow, y: (a.y + b.y) / 2 + (b.x - a.x) * bow };
			const label = { x: (a.x + 2 * control.x + b.x) / 4, y: (a.y + 2 * control.y + b.y) / 4 };
			const text = linkLabel(link);
			return svg(
				'g',
				{ class: `inspector-link ${link.path} ${link.route}`, 'data-testid': 'inspector-link', 'data-path': link.path, 'data-from': link.from, 'data-to': link.to, 'data-route': link.route },
				svg('title', {}, `${names.get(link.from) ?? link.from} – ${names.get(link.to) ?? link.to}: ${text}`),
				svg('path', { d: `M${a.x.toFixed(1)},${a.y.toFixed(1)} Q${control.x.toFixed(1)},${control.y.toFixed(1)} ${b.x.toFixed(1)},${b.y.toFixed(1)}` }),
				svg('text', { x: label.x.toFixed(1), y: label.y.toFixed(1), 'text-anchor': 'middle' }, text),
			);
		});
		const sfuShown = graph.links.some((l) => l.path === 'sfu') || graph.topology.state !== 'mesh';
		const nodes = [
			...(sfuShown ? [svg('g', { class: 'inspector-node sfu', 'data-testid': 'inspector-node', 'data-peer-id': 'sfu' }, svg('rect', { x: CENTER.x - 16, y: CENTER.y - 10, width: 32, height: 20, rx: 4 }), svg('text', { x: CENTER.x, y: CENTER.y + 4, 'text-anchor': 'middle' }, 'SFU'))] : []),
			...graph.nodes.map((node) => {
				const p = at.get(node.peerId) ?? CENTER;
				const name = names.get(node.peerId) ?? node.peerId;
				return svg(
					'g',
					{ class: `inspector-node${node.self ? ' self' : ''}`, 'data-testid': 'inspector-node', 'data-peer-id': node.peerId },
					svg('title', {}, `${node.displayName} (${node.role})`),
					svg('circle', { cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: 9 }),
					svg('text', { x: p.x.toFixed(1), y: (p.y + (p.y > CENTER.y ? 21 : -13)).toFixed(1), 'text-anchor': 'middle' }, name.length > 14 ? `${name.slice(0, 13)}…` : name),
				);
			}),
		];
		this.#drawing.setAttribute('aria-label', `${graph.nodes.length} participants, ${graph.links.length} links (${graph.topology.state})`);
		this.#drawing.replaceChildren(...links, ...nodes);
		this.#list.replaceChildren(
			...graph.links.map((link) => h('li', { class: link.path }, `${names.get(link.from) ?? link.from} – ${names.get(link.to) ?? link.to} (${link.path}): ${linkLabel(link)}`)),
		);
	}

	#renderTimeline(rows: TimelineRow[]): void {
		const seconds = (ms: number | null) => (ms === null ? '…' : `${(ms / 1000).toFixed(1)} s`);
		this.#timeline.replaceChildren(
			...rows.map((row) =>
				h(
					'li',
					{ 'data-testid': 'inspector-migration', 'data-epoch': String(row.epoch), 'data-outcome': row.outcome },
					`→ ${row.target} (${row.reason ?? 'joined during it'}): ${row.outcome}${row.outcome === 'in progress' ? '' : ` in ${seconds(row.durationMs)}`}, ${row.outcome === 'in progress' ? 'frame gaps being measured' : `largest frame gap ${row.largestFrameGapMs === null ? 'not measured' : `${row.largestFrameGapMs} ms`}`}`,
				),
			),
		);
		if (rows.length === 0) this.#timeline.append(h('li', { class: 'empty' }, 'None yet.'));
	}

	/** A migration started: watch every remote tile's frames until it ends (and a little after). */
	#watchGaps(): void {
		if (this.#watch && this.#watch.tail === undefined) return;
		if (this.#watch) this.#finishGaps();
		const tiles = [...document.querySelectorAll<HTMLElement>('[data-testid=remote-tile]')].flatMap((tile) => {
			const video = tile.querySelector('video');
			if (!video || !tile.dataset.peerId) return [];
			// Rendering now: shown, with a picture, camera on. Others count from their first frame.
			const live = video.readyState >= 2 && !video.paused && tile.dataset.videoMuted !== 'true' && video.checkVisibility();
			return [{ id: tile.dataset.peerId, video, live }];
		});
		this.#watch = { gaps: new FrameGapWatch(tiles) };
	}

	/** The migration ended: its gap is measured a little longer, then kept under its epoch. */
	#endGaps(): void {
		const watch = this.#watch;
		if (!watch || watch.tail !== undefined) return;
		watch.tail = setTimeout(() => this.#finishGaps(), GAP_TAIL_MS);
	}

	#finishGaps(): void {
		const watch = this.#watch;
		if (!watch) return;
		clearTimeout(watch.tail);
		this.#watch = undefined;
		const gap = watch.gaps.stop();
		const epoch = this.#call?.migrations.at(-1)?.epoch;
		if (gap !== null && epoch !== undefined) this.#gaps.set(epoch, gap);
		this.#render();
	}
}

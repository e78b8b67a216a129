/**
 * The benchmark report's charts, as standalone SVG text: a line chart
 * (numeric x, one polyline per series, optional shaded x ranges) and a
 * grouped bar chart (categories on x, one bar per series in each). Axes with
 * ticks, a legend, every label escaped. No DOM: strings in, a string out.
 */

export interface Point {
	x: number;
	y: number;
}

export interface LineSeries {
	label: string;
	points: readonly Point[];
	/** Drawn dashed: a baseline or a reference. */
	dashed?: boolean;
}

/** A shaded range of x, labelled (e.g. a migration window). */
export interface Shade {
	from: number;
	to: number;
	label: string;
}

export interface LineChartOptions {
	title: string;
	xLabel: string;
	yLabel: string;
	series: readonly LineSeries[];
	shaded?: readonly Shade[];
	/** Lowest y shown (default 0: most of our quantities start there). */
	yMin?: number;
	/** Lowest x shown, when the axis should reach further than the data (e.g. 0 consumers). */
	xMin?: number;
	/** Dots on every point (for sparse series). */
	markers?: boolean;
	width?: number;
	height?: number;
}

export interface BarChartOptions {
	title: string;
	yLabel: string;
	categories: readonly string[];
	/** One value per category (NaN: no bar). */
	series: ReadonlyArray<{ label: string; values: readonly number[] }>;
	width?: number;
	height?: number;
}

/** The rectangle data is drawn in, in SVG user units. */
export interface PlotArea {
	left: number;
	top: number;
	width: number;
	height: number;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const SHADE_FILL = '#f2c94c';
const FONT = 'font-family="system-ui, sans-serif"';

/** Text made safe for SVG content and attribute values. */
export function escapeXml(text: string): string {
	return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Round tick values (1, 2, 5 x 10^n steps) covering [min, max], about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
	if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
	if (max <= min) max = min + 1;
	const rough = (max - min) / Math.max(1, count);
	const magnitude = 10 ** Math.floor(Math.log10(rough));
	const step = ([1, 2, 5, 10].find((m) => m * magnitude >= rough) ?? 10) * magnitude;
	const first = Math.floor(min / step) * step;
	const ticks: number[] = [];
	// Bounded: at most count * 3 + 2 ticks whatever the rounding.
	for (let v = first, i = 0; v < max + step * 0.999 && i < count * 3 + 2; v += step, i++) ticks.push(Number(v.toPrecision(12)));
	return ticks;
}

function tickLabel(value: number): string {
	const abs = Math.abs(value);
	if (abs >= 10_000) return `${Number((value / 1000).toPrecision(4))}k`;
	return String(Number(value.toPrecision(4)));
}

/** A measured value over its bar: whole numbers from 100 up, three significant digits below. */
function valueLabel(value: number): string {
	return Math.abs(value) >= 100 ? value.toFixed(0) : String(Number(value.toPrecision(3)));
}

function plotArea(width: number, height: number, legendRows: number): PlotArea {
	const top = 36 + legendRows * 18;
	return { left: 64, top, width: width - 64 - 20, height: height - top - 52 };
}

function header(width: number, height: number, title: string): string[] {
	return [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
		`<title>${escapeXml(title)}</title>`,
		`<rect width="${width}" height="${height}" fill="#ffffff"/>`,
		`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600" ${FONT}>${escapeXml(title)}</text>`,
	];
}

/** Legend entries laid out in rows under the title; how many rows it takes. */
function legend(entries: ReadonlyArray<{ label: string; color: string; dashed?: boolean; box?: boolean }>, width: number): { svg: string[]; rows: number } {
	const svg: string[] = [];
	let x = 64;
	let row = 0;
	for (const entry of entries) {
		const span = 28 + entry.label.length * 6.5 + 16;
		if (x + span > width - 10 && x > 64) {
			row++;
			x = 64;
		}
		const y = 40 + row * 18;
		svg.push(
			entry.box
				? `<rect x="${x}" y="${y - 9}" width="20" height="10" fill="${entry.color}" fill-opacity="${entry.color === SHADE_FILL ? 0.35 : 1}"/>`
				: `<line x1="${x}" y1="${y - 4}" x2="${x + 20}" y2="${y - 4}" stroke="${entry.color}" stroke-width="2.5"${entry.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
			`<text x="${x + 26}" y="${y}" font-size="12" ${FONT}>${escapeXml(entry.label)}</text>`,
		);
		x += span;
	}
	return { svg, rows: entries.length ? row + 1 : 0 };
}

function yAxis(area: PlotArea, ticks: number[], scale: (v: number) => number, label: string): string[] {
	const svg = [`<line x1="${area.left}" y1="${area.top}" x2="${area.left}" y2="${area.top + area.height}" stroke="#333"/>`];
	for (const t of ticks) {
		const y = scale(t).toFixed(1);
		svg.push(
			`<line x1="${area.left}" y1="${y}" x2="${area.left + area.width}" y2="${y}" stroke="#e5e5e5"/>`,
			`<line x1="${area.left - 4}" y1="${y}" x2="${area.left}" y2="${y}" stroke="#333"/>`,
			`<text x="${area.left - 7}" y="${y}" dy="4" text-anchor="end" font-size="11" ${FONT}>${escapeXml(tickLabel(t))}</text>`,
		);
	}
	const cy = area.top + area.height / 2;
	svg.push(`<text x="14" y="${cy}" transform="rotate(-90 14 ${cy})" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(label)}</text>`);
	return svg;
}

function finite(values: number[], fallback: number): number[] {
	const kept = values.filter(Number.isFinite);
	return kept.length ? kept : [fallback];
}

/** A line chart as SVG text. */
export function lineChart(options: LineChartOptions): string {
	const width = options.width ?? 760;
	const height = options.height ?? 380;
	const shaded = options.shaded ?? [];
	const colors = options.series.map((_, i) => PALETTE[i % PALETTE.length] as string);
	const entries = [
		...options.series.map((s, i) => ({ label: s.label, color: colors[i] as string, dashed: s.dashed })),
		...(shaded.length ? [{ label: shaded.map((s) => s.label).join(', '), color: SHADE_FILL, box: true }] : []),
	];
	const top = legend(entries, width);
	const area = plotArea(width, height, top.rows);

	const xs = finite([...options.series.flatMap((s) => s.points.map((p) => p.x)), ...shaded.flatMap((s) => [s.from, s.to])], 0);
	const ys = finite(options.series.flatMap((s) => s.points.map((p) => p.y)), 1);
	const xTicks = niceTicks(Math.min(options.xMin ?? Infinity, ...xs), Math.max(...xs), 8);
	const yTicks = niceTicks(Math.min(options.yMin ?? 0, ...ys), Math.max(...ys), 5);
	const [x0, x1] = [xTicks[0] as number, xTicks[xTicks.length - 1] as number];
	const [y0, y1] = [yTicks[0] as number, yTicks[yTicks.length - 1] as number];
	const sx = (x: number) => area.left + ((x - x0) / (x1 - x0)) * area.width;
	const sy = (y: number) => area.top + area.height - ((y - y0) / (y1 - y0)) * area.height;
	const clampX = (x: number) => Math.min(area.left + area.width, Math.max(area.left, sx(x)));

	const svg = header(width, height, options.title);
	svg.push(...top.svg);
	svg.push(`<rect class="plot-area" x="${area.left}" y="${area.top}" width="${area.width}" height="${area.height}" fill="none"/>`);
	for (const s of shaded) {
		const from = clampX(Math.min(s.from, s.to));
		const to = clampX(Math.max(s.from, s.to));
		svg.push(
			`<rect class="shade" x="${from.toFixed(1)}" y="${area.top}" width="${Math.max(1, to - from).toFixed(1)}" height="${area.height}" fill="${SHADE_FILL}" fill-opacity="0.35"><title>${escapeXml(s.label)}</title></rect>`,
			`<text x="${((from + to) / 2).toFixed(1)}" y="${area.top + 12}" text-anchor="middle" font-size="11" ${FONT}>${escapeXml(s.label)}</text>`,
		);
	}
	svg.push(...yAxis(area, yTicks, sy, options.yLabel));
	const axisY = area.top + area.height;
	svg.push(`<line x1="${area.left}" y1="${axisY}" x2="${area.left + area.width}" y2="${axisY}" stroke="#333"/>`);
	for (const t of xTicks) {
		const x = sx(t).toFixed(1);
		svg.push(
			`<line x1="${x}" y1="${axisY}" x2="${x}" y2="${axisY + 4}" stroke="#333"/>`,
			`<text x="${x}" y="${axisY + 17}" text-anchor="middle" font-size="11" ${FONT}>${escapeXml(tickLabel(t))}</text>`,
		);
	}
	svg.push(`<text x="${area.left + area.width / 2}" y="${height - 12}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(options.xLabel)}</text>`);

	options.series.forEach((s, i) => {
		const points = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
		if (points.length === 0) return;
		const color = colors[i] as string;
		svg.push(
			`<polyline class="series" data-label="${escapeXml(s.label)}" points="${points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} stroke-linejoin="round"/>`,
		);
		if (options.markers) {
			for (const p of points) svg.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}"/>`);
		}
	});
	svg.push('</svg>');
	return `${svg.join('\n')}\n`;
}

/** A grouped bar chart as SVG text: per category, one bar per series, its value above it. */
export function barChart(options: BarChartOptions): string {
	const width = options.width ?? 760;
	const height = options.height ?? 380;
	const colors = options.series.map((_, i) => PALETTE[i % PALETTE.length] as string);
	const top = legend(
		options.series.map((s, i) => ({ label: s.label, color: colors[i] as string, box: true })),
		width,
	);
	const area = plotArea(width, height, top.rows);
	const values = finite(options.series.flatMap((s) => [...s.values]), 1);
	const yTicks = niceTicks(Math.min(0, ...values), Math.max(...values) * 1.08, 5);
	const [y0, y1] = [yTicks[0] as number, yTicks[yTicks.length - 1] as number];
	const sy = (y: number) => area.top + area.height - ((y - y0) / (y1 - y0)) * area.height;

	const svg = header(width, height, options.title);
	svg.push(...top.svg);
	svg.push(`<rect class="plot-area" x="${area.left}" y="${area.top}" width="${area.width}" height="${area.height}" fill="none"/>`);
	svg.push(...yAxis(area, yTicks, sy, options.yLabel));
	const axisY = sy(Math.max(0, y0));
	svg.push(`<line x1="${area.left}" y1="${axisY}" x2="${area.left + area.width}" y2="${axisY}" stroke="#333"/>`);
	const groupWidth = area.width / Math.max(1, options.categories.length);
	const barWidth = (groupWidth * 0.7) / Math.max(1, options.series.length);
	options.categories.forEach((category, c) => {
		const groupLeft = area.left + c * groupWidth + groupWidth * 0.15;
		options.series.forEach((s, i) => {
			const value = s.values[c];
			if (value === undefined || !Number.isFinite(value)) return;
			const x = groupLeft + i * barWidth;
			const y = Math.min(sy(value), axisY);
			svg.push(
				`<rect class="bar" data-label="${escapeXml(s.label)}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${Math.abs(axisY - sy(value)).toFixed(1)}" fill="${colors[i]}"><title>${escapeXml(`${s.label}, ${category}: ${valueLabel(value)}`)}</title></rect>`,
				`<text x="${(x + barWidth / 2 - 1).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="11" ${FONT}>${escapeXml(valueLabel(value))}</text>`,
			);
		});
		svg.push(
			`<text x="${(area.left + c * groupWidth + groupWidth / 2).toFixed(1)}" y="${area.top + area.height + 17}" text-anchor="middle" font-size="12" ${FONT}>${escapeXml(category)}</text>`,
		);
	});
	svg.push('</svg>');
	return `${svg.join('\n')}\n`;
}

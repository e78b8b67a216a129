import { describe, expect, it } from 'vitest';
import { barChart, escapeXml, lineChart, niceTicks, type LineChartOptions } from './svgChart.js';
import { binStarts, countPerBin } from './timeline.js';

/** Throws unless `svg` is well-formed XML as far as SVG text goes: balanced tags, quoted attributes, escaped text. */
function assertWellFormed(svg: string): void {
	const stack: string[] = [];
	const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
	let last = 0;
	for (let match = tag.exec(svg); match; match = tag.exec(svg)) {
		const text = svg.slice(last, match.index);
		// Between tags: no stray markup, every & an entity.
		expect(text, `text before <${match[2]}>`).not.toMatch(/[<>]|&(?!(amp|lt|gt|quot|apos);)/);
		last = tag.lastIndex;
		const [, closing, name, , selfClosing] = match;
		if (closing) expect(stack.pop(), `</${name}>`).toBe(name);
		else if (!selfClosing) stack.push(name as string);
	}
	expect(svg.slice(last).trim()).toBe('');
	expect(stack).toEqual([]);
	expect(svg.trimStart().startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
}

function plotArea(svg: string): { left: number; top: number; right: number; bottom: number } {
	const m = /<rect class="plot-area" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(svg);
	if (!m) throw new Error('no plot area');
	const [left, top, width, height] = m.slice(1).map(Number) as [number, number, number, number];
	return { left, top, right: left + width, bottom: top + height };
}

function polylinePoints(svg: string): Array<Array<[number, number]>> {
	return [...svg.matchAll(/<polyline class="series"[^>]* points="([^"]*)"/g)].map((m) =>
		(m[1] as string).split(' ').map((pair) => pair.split(',').map(Number) as [number, number]),
	);
}

const timeline: LineChartOptions = {
	title: 'Frames rendered',
	xLabel: 's',
	yLabel: 'frames',
	series: [
		{ label: 'P0 renders P1', points: [0, 1, 2, 3, 4, 5].map((x) => ({ x, y: x === 2 ? 0 : 15 })) },
		{ label: 'P1 renders P0', points: [0, 1, 2, 3, 4, 5].map((x) => ({ x, y: 14 + (x % 2) })), dashed: true },
	],
	shaded: [{ from: 1.5, to: 2.5, label: 'mesh -> sfu' }],
};

describe('lineChart', () => {
	it('is well-formed SVG with one polyline per series and a legend entry for each', () => {
		const svg = lineChart(timeline);
		assertWellFormed(svg);
		expect(polylinePoints(svg)).toHaveLength(2);
		expect(svg).toContain('>P0 renders P1</text>');
		expect(svg).toContain('stroke-dasharray="6 4"');
	});

	it('draws every point inside the plot area', () => {
		const svg = lineChart({ ...timeline, series: [{ label: 'wide', points: [{ x: -3.2, y: 0.4 }, { x: 97.5, y: 1234 }, { x: 40, y: 7 }] }] });
		const area = plotArea(svg);
		const points = polylinePoints(svg).flat();
		expect(points).toHaveLength(3);
		for (const [x, y] of points) {
			expect(x).toBeGreaterThanOrEqual(area.left);
			expect(x).toBeLessThanOrEqual(area.right);
			expect(y).toBeGreaterThanOrEqual(area.top);
			expect(y).toBeLessThanOrEqual(area.bottom);
		}
	});

	it('draws the shaded window between its x values, inside the plot area', () => {
		const svg = lineChart(timeline);
		const area = plotArea(svg);
		const shade = /<rect class="shade" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/.exec(svg);
		expect(shade).not.toBeNull();
		const [x, width] = [Number(shade?.[1]), Number(shade?.[2])];
		// x runs 0..5 over the plot's width: 1.5..2.5 is a fifth of it, starting 30% in.
		expect(x).toBeCloseTo(area.left + 0.3 * (area.right - area.left), 0);
		expect(width).toBeCloseTo(0.2 * (area.right - area.left), 0);
		expect(svg).toContain('>mesh -&gt; sfu</text>');
	});

	it('escapes labels, titles and series names', () => {
		const svg = lineChart({ ...timeline, title: 'a <b> & "c"', series: [{ label: `<script>alert('x')</script>`, points: [{ x: 0, y: 1 }] }] });
		assertWellFormed(svg);
		expect(svg).not.toContain('<script>');
		expect(svg).toContain('&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;');
		expect(svg).toContain('<title>a &lt;b&gt; &amp; &quot;c&quot;</title>');
	});

	it('still draws axes when a series has no finite point', () => {
		const svg = lineChart({ ...timeline, shaded: [], series: [{ label: 'empty', points: [{ x: Number.NaN, y: 1 }] }] });
		assertWellFormed(svg);
		expect(polylinePoints(svg)).toHaveLength(0);
	});
});

describe('barChart', () => {
	it('draws one bar per series and category, heights in proportion, labels escaped', () => {
		const svg = barChart({
			title: 'Join <ms>',
			yLabel: 'ms',
			categories: ['mesh, 2', 'sfu & 2'],
			series: [
				{ label: 'product', values: [400, 800] },
				{ label: 'baseline', values: [200, Number.NaN] },
			],
		});
		assertWellFormed(svg);
		const bars = [...svg.matchAll(/<rect class="bar" data-label="(\w+)" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/g)];
		expect(bars.map((b) => b[1])).toEqual(['product', 'baseline', 'product']);
		const heights = bars.map((b) => Number(b[3]));
		expect((heights[0] as number) / (heights[1] as number)).toBeCloseTo(2, 1);
		expect((heights[2] as number) / (heights[0] as number)).toBeCloseTo(2, 1);
		const area = plotArea(svg);
		for (const b of bars) expect(Number(b[2])).toBeGreaterThanOrEqual(area.top);
		expect(svg).toContain('>sfu &amp; 2</text>');
	});
});

describe('niceTicks and escapeXml', () => {
	it('covers the range with round steps', () => {
		const ticks = niceTicks(0, 87, 5);
		expect(ticks[0]).toBe(0);
		expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(87);
		const steps = new Set(ticks.slice(1).map((t, i) => t - (ticks[i] as number)));
		expect(steps).toEqual(new Set([20]));
	});

	it('escapes the five XML specials', () => {
		expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
	});
});

describe('frame timeline bins', () => {
	it('counts frames per bin and leaves out those outside the range', () => {
		const times = [1000, 1010, 1240, 1250, 1499, 1500, 2000];
		expect(countPerBin(times, 1000, 1500, 250)).toEqual([3, 2]);
		expect(binStarts(1000, 1500, 250, 1200)).toEqual([-200, 50]);
	});
});

// npm run bench:mesh-join [-- --runs 5 --from site|blank --json <file>]
//
// Time to join: the newcomer of a room of 2 or 3 (the others joined first)
// is timed from opening the link (the navigation) to the first rendered
// frame of every remote tile (requestVideoFrameCallback). Measured in the
// same run, interleaved: the product's mesh; the smallest possible mesh
// page (baselineMesh.ts: one WebSocket relay, a raw RTCPeerConnection per
// remote, the same fake camera); and the product's SFU join
// (MESH_MAX_PEERS=0). Printed as medians and as ratios to the baseline.
// Real Chromium, fake camera from a small Y4M clip, servers on loopback.
//
// The newcomer opens the link as a person does: from a page of another
// site (a chat, a calendar; here a blank page on 127.0.0.2), so both the
// product's page and the baseline's start in a new renderer process.
// `--from blank` opens it from about:blank instead: there the product's
// Cross-Origin-Opener-Policy header alone forces a process swap that the
// baseline page (no headers) skips, about 30 ms on this machine.

import { parseArgs } from 'node:util';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { joinAll } from '../support/call.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';
import { startBaselineServer, type BaselineServer } from './baselineMesh.js';
import { writeBenchResult } from './report/results.js';
import { median } from './report/stats.js';

const { values } = parseArgs({
	options: { runs: { type: 'string', default: '5' }, from: { type: 'string', default: 'site' }, json: { type: 'string' } },
});
const RUNS = Math.max(1, Math.min(20, Number(values.runs)));
if (values.from !== 'site' && values.from !== 'blank') throw new Error('--from site|blank');
/** Where the newcomer opens the link from (see the top): a page of another site, or about:blank. */
let launcher: string | undefined;

/** A new page that has opened `launcher` first (a page of another site), unless `--from blank`. */
async function newcomerPage(context: BrowserContext): Promise<Page> {
	const page = await context.newPage();
	if (launcher) await page.goto(launcher);
	return page;
}

/** A blank page on another site than both servers (127.0.0.2: the product is on localhost, the baseline on 127.0.0.1). */
async function startLauncher(): Promise<{ url: string; close(): Promise<void> }> {
	const server = createServer((_req, res) => {
		res.writeHead(200, { 'content-type': 'text/html' });
		res.end('<!doctype html><title>elsewhere</title>');
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
	return { url: `http://127.0.0.2:${(server.address() as AddressInfo).port}/`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** When each step of a join happened (ms since the navigation): the page's own marks (web/src/util/joinTimeline.ts; the baseline's alike). */
type Marks = Record<string, number>;
type Join = { ms: number; marks: Marks };

/** The latest of the page's first frames of `remotes` remote participants, in ms since its navigation, and the page's join marks. */
async function seesEveryone(page: Page, kind: 'product' | 'baseline', remotes: number, timeoutMs = 30_000): Promise<Join> {
	const handle = await page.waitForFunction(
		([which, n]) => {
			const w = window as unknown as { __timing?: { firstFrameAt: Record<string, number> }; __firstFrameAt?: Record<string, number> };
			const frames = Object.values((which === 'product' ? w.__timing?.firstFrameAt : w.__firstFrameAt) ?? {});
			return frames.length >= n ? Math.max(...frames) : undefined;
		},
		[kind, remotes] as const,
		{ timeout: timeoutMs, polling: 50 },
	);
	const ms = (await handle.jsonValue()) as number;
	const marks = await page.evaluate((which) => {
		const w = window as unknown as { __timing?: { marks: Record<string, number> }; __marks?: Record<string, number> };
		const own = (which === 'product' ? w.__timing?.marks : w.__marks) ?? {};
		// What the navigation itself cost: the HTML's response, and (product) the script bundle's.
		const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
		const script = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).find((e) => /\/main-[^/]*\.js$/.test(e.name));
		return { html: nav?.responseEnd ?? 0, ...(script ? { bundle: script.responseEnd } : {}), ...own };
	}, kind);
	return { ms, marks };
}


async function product(browser: Browser, server: RunningServer, size: number, room: string): Promise<Join> {
	const context = await browser.newContext();
	try {
		await joinAll(context, server.url, room, Array.from({ length: size - 1 }, (_, i) => `P${i}`));
		const newcomer = await newcomerPage(context);
		await newcomer.goto(`${server.url}/?room=${room}&name=New`);
		return await seesEveryone(newcomer, 'product', size - 1);
	} finally {
		await context.close();
	}
}

async function baseline(browser: Browser, server: BaselineServer, size: number, room: string): Promise<Join> {
	const context = await browser.newContext();
	try {
		for (let i = 0; i < size - 1; i++) {
			const page = await context.newPage();
			await page.goto(`${server.url}/?room=${room}`);
			await page.waitForFunction(() => (window as unknown as { __ready?: boolean }).__ready === true);
		}
		const newcomer = await newcomerPage(context);
		await newcomer.goto(`${server.url}/?room=${room}`);
		return await seesEveryone(newcomer, 'baseline', size - 1);
	} finally {
		await context.close();
	}
}

async function main(): Promise<void> {
	const mesh = await startServer();
	const sfu = await startServer({ MESH_MAX_PEERS: '0' });
	const bare = await startBaselineServer();
	const elsewhere = values.from === 'site' ? await startLauncher() : undefined;
	launcher = elsewhere?.url;
	const browser = await launchBrowser();
	const rows: Array<{ label: string; size: number; product: number[]; baseline: number[]; productMarks: Marks[]; baselineMarks: Marks[] }> = [
		{ label: 'mesh', size: 2, product: [], baseline: [], productMarks: [], baselineMarks: [] },
		{ label: 'mesh', size: 3, product: [], baseline: [], productMarks: [], baselineMarks: [] },
		{ label: 'sfu (MESH_MAX_PEERS=0)', size: 2, product: [], baseline: [], productMarks: [], baselineMarks: [] },
	];
	try {
		for (let run = 0; run < RUNS; run++) {
			for (const row of rows) {
				const server = row.label === 'mesh' ? mesh : sfu;
				const room = `bench-join-${row.label === 'mesh' ? 'm' : 's'}${row.size}-${run}`;
				// Interleaved, the order alternating run by run: neither side always goes first on a warm machine.
				const measure = [() => product(browser, server, row.size, room), () => baseline(browser, bare, row.size, `${room}-b`)];
				if (run % 2 === 1) measure.reverse();
				const [first, second] = [await (measure[0] as () => Promise<Join>)(), await (measure[1] as () => Promise<Join>)()];
				const [p, b] = (run % 2 === 1 ? [second, first] : [first, second]) as [Join, Join];
				row.product.push(p.ms);
				row.baseline.push(b.ms);
				row.productMarks.push(p.marks);
				row.baselineMarks.push(b.marks);
			}
		}
	} finally {
		await browser.close();
		await Promise.all([mesh.stop(), sfu.stop(), bare.close(), elsewhere?.close()]);
	}
	console.log(
		`join: opening the link (from ${launcher ? 'a page of another site' : 'about:blank'}) -> first rendered frame of every remote (the newcomer), ms; baseline: the smallest possible mesh page, same run`,
	);
	console.log('join | participants | product median (min-max) | baseline median (min-max) | ratio (medians) | product runs | baseline runs');
	for (const row of rows) {
		const range = (v: number[]) => `${median(v).toFixed(0)} (${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)})`;
		console.log(
			`${row.label} | ${row.size} | ${range(row.product)} | ${range(row.baseline)} | ${(median(row.product) / median(row.baseline)).toFixed(2)} | ${row.product.map((t) => t.toFixed(0)).join(', ')} | ${row.baseline.map((t) => t.toFixed(0)).join(', ')}`,
		);
	}
	console.log('');
	console.log('the newcomer\'s join, step by step: median ms since the navigation (product / baseline; - where the baseline has no such step)');
	const steps = ['html', 'script', 'bundle', 'app', 'socketOpen', 'joined', 'localMedia', 'mediaPaths', 'descriptionSent', 'descriptionReceived', 'remoteMedia', 'connected', 'firstFrame'];
	console.log(`join | participants | ${steps.join(' | ')}`);
	for (const row of rows) {
		const at = (marks: Marks[], step: string) => {
			const values = marks.map((m) => m[step]).filter((v): v is number => v !== undefined);
			return values.length ? median(values).toFixed(0) : '-';
		};
		console.log(`${row.label} | ${row.size} | ${steps.map((step) => `${at(row.productMarks, step)} / ${at(row.baselineMarks, step)}`).join(' | ')}`);
	}
	writeBenchResult(values.json, {
		bench: 'mesh-join',
		runs: RUNS,
		from: values.from === 'blank' ? 'blank' : 'site',
		rows: rows.map((row) => ({
			label: row.label,
			participants: row.size,
			productMs: row.product,
			baselineMs: row.baseline,
			productMedianMs: median(row.product),
			baselineMedianMs: median(row.baseline),
			ratio: median(row.product) / median(row.baseline),
		})),
	});
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});

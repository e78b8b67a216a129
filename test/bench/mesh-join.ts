// npm run bench:mesh-join [-- --runs 5]
//
// Time from joining a mesh call to seeing everyone: for rooms of 2 and 3
// participants, the last to join is timed from the start of its join (page
// script start, before getUserMedia) to the first rendered frame of every
// remote tile (requestVideoFrameCallback). Median and spread over the runs.
// Real Chromium, fake camera from a small Y4M clip, server on loopback.

import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { joinAll } from '../support/call.js';
import { startServer } from '../support/serverProcess.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Math.max(1, Math.min(20, Number(values.runs)));

async function timeToSeeEveryone(page: Page, remotes: number, timeoutMs = 30_000): Promise<number> {
	const handle = await page.waitForFunction(
		(n) => {
			const t = window.__timing;
			if (!t) return undefined;
			const frames = Object.values(t.firstFrameAt);
			return frames.length >= n ? Math.max(...frames) - t.joinStartedAt : undefined;
		},
		remotes,
		{ timeout: timeoutMs, polling: 50 },
	);
	return (await handle.jsonValue()) as number;
}

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function main(): Promise<void> {
	const server = await startServer();
	const browser = await launchBrowser();
	const results: Record<string, number[]> = {};
	try {
		for (const size of [2, 3]) {
			results[size] = [];
			for (let run = 0; run < RUNS; run++) {
				const context = await browser.newContext();
				const names = Array.from({ length: size }, (_, i) => `P${i}`);
				const pages = await joinAll(context, server.url, `bench-join-${size}-${run}`, names);
				const newcomer = pages[pages.length - 1] as Page;
				(results[size] as number[]).push(await timeToSeeEveryone(newcomer, size - 1));
				await context.close();
			}
		}
	} finally {
		await browser.close();
		await server.stop();
	}
	console.log('mesh join -> first rendered frame of every remote (newcomer), ms');
	console.log('participants | median | min | max | runs');
	for (const [size, times] of Object.entries(results)) {
		console.log(
			`${size} | ${median(times).toFixed(0)} | ${Math.min(...times).toFixed(0)} | ${Math.max(...times).toFixed(0)} | ${times.map((t) => t.toFixed(0)).join(', ')}`,
		);
	}
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});

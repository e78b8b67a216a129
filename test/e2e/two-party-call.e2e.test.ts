import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';

interface InboundVideoStat {
	peerId: string;
	framesDecoded: number;
	bytesReceived: number;
}

async function inboundVideo(page: Page): Promise<InboundVideoStat[]> {
	return page.evaluate(async () => (window.__call ? window.__call.inboundVideo() : []));
}

/** Polls until every page decoded `frames` from each of `expectedPeers` others. */
async function waitForFrames(pages: Page[], expectedPeers: number, frames: number, timeoutMs: number) {
	const deadline = Date.now() + timeoutMs;
	let last: InboundVideoStat[][] = [];
	while (Date.now() < deadline) {
		last = await Promise.all(pages.map(inboundVideo));
		const done = last.every((stats) => stats.length === expectedPeers && stats.every((s) => s.framesDecoded >= frames));
		if (done) return last;
		await new Promise((r) => setTimeout(r, 250));
	}
	return last;
}

describe('two participants in one room, through the real server', () => {
	let server: RunningServer;
	let browser: Browser;

	beforeAll(async () => {
		server = await startServer();
		browser = await launchBrowser();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.stop();
	});

	it('each page decodes at least 30 video frames from the other', async () => {
		const context = await browser.newContext();
		const alice = await context.newPage();
		const bob = await context.newPage();
		await alice.goto(`${server.url}/?room=e2e-two&name=Alice`);
		await alice.waitForFunction(() => window.__call?.peerId !== undefined);
		await bob.goto(`${server.url}/?room=e2e-two&name=Bob`);

		const stats = await waitForFrames([alice, bob], 1, 30, 45_000);
		const alicePeer = await alice.evaluate(() => window.__call?.peerId);
		const bobPeer = await bob.evaluate(() => window.__call?.peerId);

		expect(stats[0]).toHaveLength(1);
		expect(stats[1]).toHaveLength(1);
		expect(stats[0]?.[0]?.peerId).toBe(bobPeer);
		expect(stats[1]?.[0]?.peerId).toBe(alicePeer);
		expect(stats[0]?.[0]?.framesDecoded).toBeGreaterThanOrEqual(30);
		expect(stats[1]?.[0]?.framesDecoded).toBeGreaterThanOrEqual(30);

		// Each page shows one remote tile holding a playing video.
		for (const page of [alice, bob]) {
			await expect.poll(() => page.locator('[data-testid=remote-tile] video').count()).toBe(1);
		}
		await context.close();
	});
});

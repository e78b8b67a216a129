import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { remoteStats } from '../support/call.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';

async function framesFrom(page: Page): Promise<number> {
	return (await remoteStats(page))[0]?.framesDecoded ?? 0;
}

describe('signaling drops while a call runs', () => {
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

	it('media keeps flowing, the peer resumes with the same id, and the other side sees no leave', async () => {
		const context = await browser.newContext();
		const alice = await context.newPage();
		const bob = await context.newPage();

		// Alice's signaling goes through a route the test can cut, and can refuse reconnects.
		const routes: Array<{ page: WebSocketRoute; server: WebSocketRoute }> = [];
		let allowReconnect = true;
		await alice.routeWebSocket(/\/ws$/, (ws) => {
			if (!allowReconnect) {
				void ws.close({ code: 4000, reason: 'test: server unreachable' });
				return;
			}
			routes.push({ page: ws, server: ws.connectToServer() });
		});

		await alice.goto(`${server.url}/?room=e2e-reconnect&name=Alice`);
		await alice.waitForFunction(() => window.__call?.peerId !== undefined);
		await bob.goto(`${server.url}/?room=e2e-reconnect&name=Bob`);
		await expect.poll(() => framesFrom(alice), { timeout: 30_000 }).toBeGreaterThanOrEqual(30);
		await expect.poll(() => framesFrom(bob), { timeout: 30_000 }).toBeGreaterThanOrEqual(30);

		const alicePeerId = await alice.evaluate(() => window.__call?.peerId);
		// Mark Bob's tile for Alice: it must be the same element afterwards (never removed).
		await bob.evaluate(() => {
			(document.querySelector('[data-testid=remote-tile]') as HTMLElement & { __mark?: boolean }).__mark = true;
		});
		const aliceFramesAtCut = await framesFrom(alice);
		const bobFramesAtCut = await framesFrom(bob);

		allowReconnect = false;
		// Both ends see an unexpected close (4000), as with a lost network: not a leave.
		await routes[0]?.server.close({ code: 4000, reason: 'test: network drop' });
		await routes[0]?.page.close({ code: 4000, reason: 'test: network drop' });
		await alice.waitForFunction(() => window.__call?.signalingState === 'reconnecting');

		// While signaling is down, both directions keep decoding new frames.
		await alice.waitForFunction(
			async (base) => window.__call?.signalingState === 'reconnecting' && (((await window.__call?.connectionStats()) ?? [])[0]?.framesDecoded ?? 0) > base + 15,
			aliceFramesAtCut,
		);
		await expect.poll(() => framesFrom(bob), { timeout: 10_000 }).toBeGreaterThan(bobFramesAtCut + 15);
		expect(await alice.evaluate(() => window.__call?.signalingState)).toBe('reconnecting');

		allowReconnect = true;
		await alice.waitForFunction(() => window.__call?.signalingState === 'joined', undefined, { timeout: 15_000 });
		expect(await alice.evaluate(() => window.__call?.peerId)).toBe(alicePeerId);
		expect(routes.length).toBe(2);

		// Bob never saw Alice leave: same tile element, same peer id.
		const bobTile = await bob.evaluate(() => {
			const tiles = document.querySelectorAll<HTMLElement & { __mark?: boolean }>('[data-testid=remote-tile]');
			return { count: tiles.length, marked: tiles[0]?.__mark === true, peerId: tiles[0]?.dataset.peerId };
		});
		expect(bobTile).toEqual({ count: 1, marked: true, peerId: alicePeerId });
		await context.close();
	});
});

import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { expectEveryPairDecodes, joinAll, peerIdOf } from '../support/call.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';

/**
 * A page whose session the server forgot (RESUME_FAILED) joins again by
 * itself: it reloads, once per 30 s, and comes back as a new participant.
 *
 * The server forgets a session when its resume grace runs out. The page's
 * own reconnect policy stops trying once the grace has passed since *it*
 * saw the drop, so the grace can only run out under a page that is still
 * trying when the server noticed the drop first: here the route cuts the
 * server's side of the socket and leaves the page's side open but deaf (a
 * half-open connection), until the server has removed the peer; then it
 * closes the page's side, and the page's resume meets a server that no
 * longer knows it.
 */
describe('a page whose session the server forgot joins again by itself', () => {
	const GRACE_MS = 1500;
	let server: RunningServer;
	let browser: Browser;
	const contexts: BrowserContext[] = [];

	beforeAll(async () => {
		server = await startServer({ RESUME_GRACE_MS: String(GRACE_MS) });
		browser = await launchBrowser();
	});

	// Each test's participants leave with it.
	afterEach(async () => {
		for (const context of contexts.splice(0)) await context.close();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.stop();
	});

	/** One window per participant (Chromium paints only the front tab of a window). */
	async function participant(room: string, name: string, prepare?: (page: Page) => Promise<void>): Promise<Page> {
		const context = await browser.newContext();
		contexts.push(context);
		if (!prepare) return (await joinAll(context, server.url, room, [name]))[0];
		const page = await context.newPage();
		await prepare(page);
		await page.goto(`${server.url}/?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
		await page.waitForFunction(() => window.__call?.peerId !== undefined);
		return page;
	}

	/**
	 * The page's signaling sockets, through a route the test can cut: `cut()`
	 * closes the server's side of the current socket (the server sees a drop,
	 * 4000) and from then on passes nothing either way, the page's side open;
	 * `release()` closes the page's side (a drop, 4000) and lets the next
	 * sockets through untouched.
	 */
	function cuttableSignaling() {
		let current: { page: WebSocketRoute; server: WebSocketRoute; cut: boolean } | undefined;
		let sockets = 0;
		return {
			get sockets() {
				return sockets;
			},
			async install(page: Page) {
				// Every status line the page shows, kept in the tab's sessionStorage so the lines before a reload stay readable.
				await page.addInitScript(() => {
					let last: string | null | undefined;
					new MutationObserver(() => {
						const text = document.querySelector('[role=status]')?.textContent;
						if (text === undefined || text === last) return;
						last = text;
						sessionStorage.setItem('statusLog', JSON.stringify([...(JSON.parse(sessionStorage.getItem('statusLog') ?? '[]') as string[]), text]));
					}).observe(document, { subtree: true, childList: true, characterData: true });
				});
				await page.routeWebSocket(/\/ws$/, (route) => {
					sockets++;
					const server = route.connectToServer();
					const link = { page: route, server, cut: false };
					current = link;
					route.onMessage((message) => {
						if (!link.cut) server.send(message);
					});
					server.onMessage((message) => {
						if (!link.cut) route.send(message);
					});
					// Either side's close reaches the other unless this socket is cut (then the page's side stays open).
					route.onClose((code, reason) => {
						if (!link.cut) void server.close({ code, reason }).catch(() => undefined);
					});
					server.onClose((code, reason) => {
						if (!link.cut) void route.close({ code, reason }).catch(() => undefined);
					});
				});
			},
			async cut() {
				const link = current as NonNullable<typeof current>;
				link.cut = true;
				await link.server.close({ code: 4000, reason: 'test: network drop' });
			},
			async release() {
				const link = current as NonNullable<typeof current>;
				await link.page.close({ code: 4000, reason: 'test: network drop' });
			},
		};
	}

	async function roomPeerIds(room: string): Promise<string[]> {
		const response = await fetch(`${server.url}/api/rooms/${room}`);
		if (response.status === 404) return [];
		const details = (await response.json()) as { participants: Array<{ peerId: string }> };
		return details.participants.map((p) => p.peerId).sort();
	}

	const status = (page: Page) => page.locator('[role=status]').textContent();
	const statusLog = (page: Page) => page.evaluate(() => JSON.parse(sessionStorage.getItem('statusLog') ?? '[]') as string[]);
	const tileIds = (page: Page) => page.locator('[data-testid=remote-tile]').evaluateAll((tiles) => tiles.map((t) => (t as HTMLElement).dataset.peerId));

	/**
	 * Cuts `page`'s signaling until the server has removed its peer (the other
	 * page's tile for it goes, the room lists only the other), then lets the
	 * page reconnect: its resume is refused.
	 */
	async function forgetSession(signaling: ReturnType<typeof cuttableSignaling>, page: Page, other: Page, room: string): Promise<void> {
		const id = await peerIdOf(page);
		const otherId = await peerIdOf(other);
		await signaling.cut();
		await expect.poll(() => roomPeerIds(room), { timeout: GRACE_MS + 15_000 }).toEqual([otherId]);
		await expect.poll(() => tileIds(other)).not.toContain(id);
		// The page itself saw nothing yet: its socket is open and it still counts itself in.
		expect(await page.evaluate(() => window.__call?.signalingState)).toBe('joined');
		await signaling.release();
	}

	it('RESUME_FAILED: the page reloads, joins as a new peer, and both pages decode each other again; a second one within 30 s only says so', async () => {
		const room = 'rejoin-after-grace';
		const signaling = cuttableSignaling();
		const alice = await participant(room, 'Alice', (page) => signaling.install(page));
		const bob = await participant(room, 'Bob');
		await expectEveryPairDecodes([alice, bob], 10);
		const aliceId = (await peerIdOf(alice)) as string;
		const bobId = (await peerIdOf(bob)) as string;
		expect(await tileIds(bob)).toEqual([aliceId]);

		// Each load of the page sets a fresh window: the mark goes with a reload.
		await alice.evaluate(() => ((window as unknown as { __mark: boolean }).__mark = true));
		const loads: string[] = [];
		alice.on('load', () => loads.push(alice.url()));

		await forgetSession(signaling, alice, bob, room);

		// The page reloads by itself (a new window, same address) and joins again as someone new.
		await alice.waitForFunction(() => (window as unknown as { __mark?: boolean }).__mark === undefined && window.__call?.signalingState === 'joined', undefined, {
			timeout: 20_000,
		});
		await expect.poll(() => loads).toEqual([`${server.url}/?room=${room}&name=Alice`]);
		const rejoinedId = (await peerIdOf(alice)) as string;
		expect(rejoinedId).toBeDefined();
		expect(rejoinedId).not.toBe(aliceId);
		expect(await alice.evaluate(() => sessionStorage.getItem('rejoinedAt'))).not.toBeNull();
		await expect.poll(() => status(alice)).toBe(`In ${room}`);
		// What the page said on the way: the resume was refused (RESUME_FAILED: the only error that says this), then it joined anew.
		const said = await statusLog(alice);
		const movedAt = said.indexOf('The call moved to another server; joining again…');
		expect(movedAt).toBeGreaterThan(0);
		expect(said.slice(movedAt)).toEqual(['The call moved to another server; joining again…', `Joining ${room}…`, `In ${room}`]);
		// Bob is the same participant all along; the room holds him and Alice's new self.
		expect(await peerIdOf(bob)).toBe(bobId);
		expect(await roomPeerIds(room)).toEqual([bobId, rejoinedId].sort());
		await expect.poll(() => tileIds(bob)).toEqual([rejoinedId]);
		await expect.poll(() => tileIds(alice)).toEqual([bobId]);
		await expectEveryPairDecodes([alice, bob], 10);

		// The same again within 30 s: the page does not reload a second time, it says what happened.
		const rejoinedAt = await alice.evaluate(() => sessionStorage.getItem('rejoinedAt'));
		await alice.evaluate(() => ((window as unknown as { __mark: boolean }).__mark = true));
		await forgetSession(signaling, alice, bob, room);
		await alice.waitForFunction(() => window.__call?.signalingState === 'closed', undefined, { timeout: 20_000 });
		// The page decides in the same task that closes the session (a reload is scheduled there, with its own status line):
		// closed, with this status, means no reload is coming.
		expect(await status(alice)).toBe('Disconnected from the server. Reload to join again.');
		expect((await statusLog(alice)).filter((line) => line.startsWith('The call moved'))).toHaveLength(1);
		expect(await alice.evaluate(() => (window as unknown as { __mark?: boolean }).__mark)).toBe(true);
		expect(await alice.evaluate(() => sessionStorage.getItem('rejoinedAt'))).toBe(rejoinedAt);
		expect(loads).toHaveLength(1);
		expect(await roomPeerIds(room)).toEqual([bobId]);
		expect(signaling.sockets).toBe(4);
	});

	it('reconnecting gave up (the server unreachable past the grace): the page joins again by itself once the server answers', async () => {
		const room = 'rejoin-after-outage';
		let down = false;
		let refused = 0;
		const context = await browser.newContext();
		contexts.push(context);
		const alice = await context.newPage();
		// The server is out of reach for this page while `down`: its sockets and /healthz are refused.
		await alice.routeWebSocket(/\/ws$/, (route) => {
			if (down) {
				refused++;
				void route.close({ code: 4000, reason: 'test: unreachable' });
				return;
			}
			const upstream = route.connectToServer();
			route.onMessage((m) => upstream.send(m));
			upstream.onMessage((m) => {
				if (!down) route.send(m);
			});
			route.onClose((code, reason) => void upstream.close({ code, reason }).catch(() => undefined));
			upstream.onClose((code, reason) => void route.close({ code, reason }).catch(() => undefined));
			// Cut at once when the outage starts (both sides see a drop).
			const timer = setInterval(() => {
				if (!down) return;
				clearInterval(timer);
				void upstream.close({ code: 4000, reason: 'test: network drop' }).catch(() => undefined);
				void route.close({ code: 4000, reason: 'test: network drop' }).catch(() => undefined);
			}, 20);
		});
		await alice.route('**/healthz', (route) => (down ? route.abort('connectionrefused') : route.continue()));
		await alice.goto(`${server.url}/?room=${room}&name=Alice`);
		await alice.waitForFunction(() => window.__call?.signalingState === 'joined');
		const bob = await participant(room, 'Bob');
		await expectEveryPairDecodes([alice, bob], 10);
		const aliceId = (await peerIdOf(alice)) as string;
		const bobId = (await peerIdOf(bob)) as string;
		await alice.evaluate(() => ((window as unknown as { __mark: boolean }).__mark = true));

		down = true;
		// The page gives up once the grace has passed, and waits for the server to answer.
		await expect.poll(() => status(alice), { timeout: GRACE_MS + 15_000 }).toBe('Connection to the server lost; joining again when it answers…');
		expect(refused).toBeGreaterThan(0);
		await expect.poll(() => roomPeerIds(room), { timeout: GRACE_MS + 15_000 }).toEqual([bobId]);
		down = false;

		// Reachable again: it reloads and joins as a new participant, and both decode each other.
		await alice.waitForFunction(() => (window as unknown as { __mark?: boolean }).__mark === undefined && window.__call?.signalingState === 'joined', undefined, {
			timeout: 20_000,
		});
		const rejoinedId = (await peerIdOf(alice)) as string;
		expect(rejoinedId).not.toBe(aliceId);
		await expect.poll(() => roomPeerIds(room)).toEqual([bobId, rejoinedId].sort());
		await expectEveryPairDecodes([alice, bob], 10);
	});
});

import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessTokens } from '../../server/auth/AccessTokens.js';
import { launchBrowser } from '../support/browser.js';
import { joinAll, peerIdOf, remoteStats } from '../support/call.js';
import { metricSample } from '../support/metrics.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';

describe('the call app, driven through its test contract', () => {
	let server: RunningServer;
	let browser: Browser;

	beforeAll(async () => {
		server = await startServer({ ROOM_MAX_PEERS: '2' });
		browser = await launchBrowser();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.stop();
	});

	it('the lobby joins a room by name, with a camera preview', async () => {
		const context = await browser.newContext();
		const page = await context.newPage();
		await page.goto(`${server.url}/`);
		await expect.poll(() => page.locator('[data-testid=preview]').evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
		expect(await page.locator('#camera-select option').count()).toBeGreaterThan(0);
		await page.getByLabel('Room').fill('app-lobby');
		await page.getByLabel('Your name').fill('Lena');
		await page.getByRole('button', { name: 'Join' }).click();
		await expect.poll(() => page.locator('[data-testid=topology]').textContent()).toBe('mesh');
		expect(await page.locator('[data-testid=participant-count]').textContent()).toBe('1');
		expect(page.url()).toContain('room=app-lobby');
		await context.close();
	});

	it('join by URL, mute, chat and leave, as the other participant sees them', async () => {
		const context = await browser.newContext();
		const [alice, bob] = await joinAll(context, server.url, 'app-call', ['Alice', 'Bob']);
		const aliceId = await peerIdOf(alice);
		for (const page of [alice, bob]) {
			await expect.poll(() => page.locator('[data-testid=participant-count]').textContent()).toBe('2');
			expect(await page.locator('[data-testid=topology]').textContent()).toBe('mesh');
			await expect.poll(() => page.locator('[data-testid=remote-tile] video').evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
		}
		const aliceOnBob = bob.locator(`[data-testid=remote-tile][data-peer-id="${aliceId}"]`);
		expect(await aliceOnBob.locator('figcaption').textContent()).toContain('Alice');

		// Mute: the button says so, and Bob's tile for Alice shows it.
		await alice.locator('[data-testid=mute]').click();
		expect(await alice.locator('[data-testid=mute]').getAttribute('aria-pressed')).toBe('true');
		await expect.poll(() => aliceOnBob.getAttribute('data-audio-muted')).toBe('true');
		expect(await aliceOnBob.locator('[data-testid=remote-muted]').textContent()).toBe('mic off');
		await alice.locator('[data-testid=camera]').click();
		await expect.poll(() => aliceOnBob.getAttribute('data-video-muted')).toBe('true');

		// Chat, with the keyboard.
		await alice.locator('[data-testid=chat-input]').fill('hello from Alice');
		await alice.locator('[data-testid=chat-input]').press('Enter');
		// Alice's own message shows at once (sending, then sent once the server has it); Bob's page is another process: each is waited for.
		expect(await alice.locator('[data-testid=chat-message]').allTextContents()).toEqual([expect.stringContaining('hello from Alice')]);
		expect(await alice.locator('[data-testid=chat-input]').inputValue()).toBe('');
		await expect.poll(() => alice.locator('[data-testid=chat-message]').first().getAttribute('data-state')).toBe('sent');
		await expect.poll(() => bob.locator('[data-testid=chat-message]').allTextContents()).toEqual([expect.stringContaining('hello from Alice')]);
		expect(await bob.locator('[data-testid=chat-message]').first().textContent()).toContain('Alice');

		// The stats panel lists Bob's connection as direct.
		await alice.locator('summary', { hasText: 'Connection stats' }).click();
		await expect.poll(() => alice.locator('[data-testid=stats-panel] tbody tr td').last().textContent(), { timeout: 10_000 }).toBe('direct');

		// Leave: Bob sees Alice go.
		await alice.locator('[data-testid=leave]').click();
		await expect.poll(() => bob.locator('[data-testid=remote-tile]').count()).toBe(0);
		await expect.poll(() => bob.locator('[data-testid=participant-count]').textContent()).toBe('1');
		expect(await alice.getByRole('heading', { name: 'You left the call.' }).count()).toBe(1);
		await context.close();
	});

	it('a full room is explained in words', async () => {
		const context = await browser.newContext();
		await joinAll(context, server.url, 'app-full', ['One', 'Two']);
		const third = await context.newPage();
		await third.goto(`${server.url}/?room=app-full&name=Three`);
		await expect.poll(() => third.locator('[role=status]').textContent()).toContain('This room is full');
		await context.close();
	});

	it('a denied camera still lets a person join, and says so', async () => {
		const context = await browser.newContext();
		const page = await context.newPage();
		// Make getUserMedia refuse as a browser does when the user blocks it.
		await page.addInitScript(() => {
			navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
		});
		await page.goto(`${server.url}/?room=app-denied&name=Nocam`);
		await expect.poll(() => page.locator('[role=status]').textContent()).toContain('without camera and microphone');
		await expect.poll(() => page.locator('[data-testid=participant-count]').textContent()).toBe('1');
		expect(await page.locator('[data-testid=mute]').isDisabled()).toBe(true);
		await context.close();
	});
});

describe('the call app with access tokens', () => {
	const SECRET = 'e2e-token-secret-0123456789-abcdefghij';
	let server: RunningServer;
	let browser: Browser;
	const tokens = new AccessTokens(SECRET);
	/** Every CSP violation a page reports: the app must run under its own policy. */
	const violations: string[] = [];

	beforeAll(async () => {
		server = await startServer({ AUTH_TOKEN_SECRET: SECRET, AUTH_REQUIRE_TOKENS: 'true' });
		browser = await launchBrowser();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.stop();
	});

	async function open(context: BrowserContext, url: string): Promise<Page> {
		const page = await context.newPage();
		page.on('console', (message) => {
			if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
		});
		await page.goto(url);
		await page.waitForFunction(() => window.__call?.peerId !== undefined);
		return page;
	}

	it('the token in the link admits, then leaves the address bar and history; Rejoin still works', async () => {
		const context = await browser.newContext();
		const token = await tokens.sign({ roomId: 'app-token', identity: 'ann', role: 'host', displayName: 'Ann' }, 600);
		const page = await open(context, `${server.url}/?room=app-token&name=Ann&token=${token}`);
		expect(page.url()).toBe(`${server.url}/?room=app-token&name=Ann`);
		// No entry of this tab's history keeps it either (the Navigation API lists them).
		const entries = await page.evaluate(() => (window as unknown as { navigation: { entries(): Array<{ url: string }> } }).navigation.entries().map((e) => e.url));
		expect(entries.length).toBeGreaterThan(0);
		expect(entries.filter((url) => url.includes('token='))).toEqual([]);
		await page.locator('[data-testid=leave]').click();
		await page.getByRole('link', { name: 'Rejoin' }).click();
		await page.waitForFunction(() => window.__call?.peerId !== undefined);
		expect(page.url()).not.toContain('token=');
		expect(violations).toEqual([]);
		await context.close();
	});

	it('a viewer joins without sending (never asked for camera or microphone), and the host sees its tile without video', async () => {
		const context = await browser.newContext();
		const hostToken = await tokens.sign({ roomId: 'app-viewer', identity: 'hal', role: 'host', displayName: 'Hal' }, 600);
		const viewerToken = await tokens.sign({ roomId: 'app-viewer', identity: 'vic', role: 'viewer', displayName: 'Vic' }, 600);
		const host = await open(context, `${server.url}/?room=app-viewer&name=Hal&token=${hostToken}`);
		const viewer = await open(context, `${server.url}/?room=app-viewer&name=Vic&token=${viewerToken}`);
		await expect.poll(() => viewer.locator('[role=status]').textContent()).toContain('as a viewer');
		// The viewer decodes the host; the host gets no video from the viewer.
		await expect.poll(async () => (await remoteStats(viewer))[0]?.framesDecoded ?? 0).toBeGreaterThan(10);
		await expect.poll(() => host.locator('[data-testid=remote-tile]').count()).toBe(1);
		await new Promise((r) => setTimeout(r, 1000));
		expect((await remoteStats(host))[0]?.framesDecoded ?? 0).toBe(0);
		expect(await viewer.evaluate(() => window.__call?.canPublish)).toBe(false);
		expect(await viewer.locator('[data-testid=local-video]').evaluate((v: HTMLVideoElement) => v.srcObject)).toBeNull();
		expect(violations).toEqual([]);
		await context.close();
	});

	it('a viewer on the SFU receives without a send transport: the server holds only the host\'s producers', async () => {
		const created = await fetch(`${server.url}/api/rooms`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ roomId: 'app-sfu-viewer', settings: { meshMaxPeers: 0 } }),
		});
		expect(created.status).toBe(201);
		const context = await browser.newContext();
		const hostToken = await tokens.sign({ roomId: 'app-sfu-viewer', identity: 'hana', role: 'host', displayName: 'Hana' }, 600);
		const viewerToken = await tokens.sign({ roomId: 'app-sfu-viewer', identity: 'vera', role: 'viewer', displayName: 'Vera' }, 600);
		const host = await open(context, `${server.url}/?room=app-sfu-viewer&name=Hana&token=${hostToken}`);
		const viewer = await open(context, `${server.url}/?room=app-sfu-viewer&name=Vera&token=${viewerToken}`);
		await expect.poll(async () => (await remoteStats(viewer))[0]?.framesDecoded ?? 0).toBeGreaterThan(10);
		expect((await remoteStats(viewer))[0]?.path).toBe('sfu');
		expect(await viewer.locator('[data-testid=topology]').textContent()).toBe('sfu');
		const text = await (await fetch(`${server.url}/metrics`)).text();
		// The host's send and receive transports and the viewer's receive transport; the host's audio and video only.
		expect(metricSample(text, 'streaming_sfu_transports')).toBe(3);
		expect(metricSample(text, 'streaming_sfu_producers')).toBe(2);
		expect(await host.locator('[data-testid=remote-tile]').count()).toBe(1);
		await context.close();
	});
});

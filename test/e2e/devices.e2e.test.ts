import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { joinAll, peerIdOf } from '../support/call.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';

/**
 * The call app on a phone (Chromium's device emulation: a 360 px wide
 * viewport, touch, a mobile user agent), and in a browser without WebRTC.
 */
describe('phones, and browsers without WebRTC', () => {
	let server: RunningServer;
	let browser: Browser;
	const contexts: BrowserContext[] = [];

	beforeAll(async () => {
		server = await startServer();
		browser = await launchBrowser();
	});

	afterAll(async () => {
		for (const context of contexts) await context.close().catch(() => undefined);
		await browser?.close();
		await server?.stop();
	});

	/** The page is no wider than its viewport: nothing scrolls sideways. */
	const horizontalOverflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

	it('a phone at 360 px with touch joins, mutes and leaves by tapping, with nothing scrolling sideways', async () => {
		const desk = await browser.newContext({ viewport: { width: 640, height: 480 } });
		const phone = await browser.newContext({
			viewport: { width: 360, height: 740 },
			deviceScaleFactor: 2,
			isMobile: true,
			hasTouch: true,
			userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36',
		});
		contexts.push(desk, phone);
		const [dana] = await joinAll(desk, server.url, 'phone-call', ['Dana']);
		const [pat] = await joinAll(phone, server.url, 'phone-call', ['Pat']);
		const patId = await peerIdOf(pat);
		expect(await pat.evaluate(() => matchMedia('(pointer: coarse)').matches && navigator.maxTouchPoints > 0)).toBe(true);

		// Both see each other's video; the phone's page fits its width.
		for (const page of [dana, pat]) {
			await expect.poll(() => page.locator('[data-testid=remote-tile] video').evaluate((v: HTMLVideoElement) => v.videoWidth)).toBeGreaterThan(0);
		}
		expect(await horizontalOverflow(pat)).toBeLessThanOrEqual(0);
		const tile = await pat.locator('[data-testid=remote-tile]').boundingBox();
		expect(tile?.width ?? 0).toBeGreaterThan(0);
		expect((tile?.x ?? 0) + (tile?.width ?? 0)).toBeLessThanOrEqual(360);

		// Mute by tapping: Dana's tile for Pat says so.
		await pat.locator('[data-testid=mute]').tap();
		expect(await pat.locator('[data-testid=mute]').getAttribute('aria-pressed')).toBe('true');
		const patOnDana = dana.locator(`[data-testid=remote-tile][data-peer-id="${patId}"]`);
		await expect.poll(() => patOnDana.getAttribute('data-audio-muted')).toBe('true');
		// The stats panel open: still nothing sideways (its table scrolls inside itself).
		await pat.locator('summary', { hasText: 'Connection stats' }).tap();
		expect(await horizontalOverflow(pat)).toBeLessThanOrEqual(0);

		// Leave by tapping: Dana sees Pat go.
		await pat.locator('[data-testid=leave]').tap();
		await expect.poll(() => patOnDana.count()).toBe(0);
		await expect.poll(() => dana.locator('[data-testid=participant-count]').textContent()).toBe('1');
		expect(await pat.locator('h1').textContent()).toBe('You left the call.');
	});

	it('a browser without WebRTC is told so, by the link and by the lobby, and joins nobody', async () => {
		const context = await browser.newContext();
		contexts.push(context);
		await context.addInitScript('delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection;');
		const page = await context.newPage();
		await page.goto(`${server.url}/?room=no-webrtc&name=Old`);
		const message = page.locator('[data-testid=unsupported]');
		await expect.poll(() => message.isVisible()).toBe(true);
		expect(await message.textContent()).toContain('WebRTC');
		expect(await page.evaluate(() => window.__call)).toBeUndefined();
		await page.goto(`${server.url}/`);
		await expect.poll(() => message.isVisible()).toBe(true);
		// The server saw no join: no such room.
		const answer = await fetch(`${server.url}/api/rooms/no-webrtc`);
		expect(answer.status).toBe(404);
		expect(await answer.json()).toMatchObject({ error: 'ROOM_NOT_FOUND' });
	});
});

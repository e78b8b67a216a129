import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { expectEveryPairDecodes, joinAll } from '../support/call.js';
import { startCoturn, type RunningCoturn } from '../support/coturn.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';

describe('relay-only mesh call through a real coturn', () => {
	let coturn: RunningCoturn;
	let server: RunningServer;
	let browser: Browser;

	beforeAll(async () => {
		coturn = await startCoturn({ min: 49600, max: 49699 });
		server = await startServer({
			TURN_ENABLED: 'true',
			TURN_URLS: coturn.url,
			TURN_SECRET: coturn.secret,
			ICE_TRANSPORT_POLICY: 'relay',
		});
		browser = await launchBrowser();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.stop();
		await coturn?.stop();
	});

	it('media flows with iceTransportPolicy "relay", over a relay candidate pair', async () => {
		const context = await browser.newContext();
		const pages = await joinAll(context, server.url, 'relay-only', ['Alice', 'Bob']);
		const stats = await expectEveryPairDecodes(pages, 30);
		for (const perPage of stats) {
			expect(perPage).toHaveLength(1);
			expect(perPage[0]?.path).toBe('relay');
			expect(perPage[0]?.localCandidateType).toBe('relay');
		}
		// coturn really allocated for these credentials.
		expect(coturn.log()).not.toContain('Cannot find credentials');
		await context.close();
	});
});

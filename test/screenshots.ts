// npm run screenshots: the lobby and a 4-person call at 1280x800 and 375x812,
// written to docs/screenshots/ (the README shows them). Real Chromium, fake camera.

import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from './support/browser.js';
import type { Page } from 'playwright-core';
import { joinAll, remoteStats } from './support/call.js';
import { startServer } from './support/serverProcess.js';

const out = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const viewports = [
	{ name: 'desktop', width: 1280, height: 800 },
	{ name: 'phone', width: 375, height: 812 },
];

/** Waits (bounded) until every page shows frames from all three others. */
async function waitForVideo(pages: readonly Page[]): Promise<void> {
	for (let i = 0; i < 300; i++) {
		const all = await Promise.all(pages.map(remoteStats));
		if (all.every((s) => s.length === pages.length - 1 && s.every((r) => r.framesDecoded > 30))) return;
		await new Promise((r) => setTimeout(r, 200));
	}
	throw new Error('video did not start on every page');
}

async function main(): Promise<void> {
	mkdirSync(out, { recursive: true });
	const server = await startServer();
	const browser = await launchBrowser();
	try {
		for (const viewport of viewports) {
			const context = await browser.newContext({ viewport: { width: viewport.width, height: viewport.height } });
			const lobby = await context.newPage();
			await lobby.goto(`${server.url}/?room=standup`);
			await lobby.getByLabel('Your name').fill('Ann');
			await lobby.waitForFunction(() => (document.querySelector('[data-testid=preview]') as HTMLVideoElement | null)?.videoWidth);
			await lobby.screenshot({ path: `${out}lobby-${viewport.name}.png` });
			await lobby.close();

			const pages = await joinAll(context, server.url, `shots-${viewport.name}`, ['Ann', 'Ben', 'Cy', 'Di']);
			await waitForVideo(pages);
			const [first] = pages;
			await first.locator('[data-testid=chat-input]').fill('Morning all!');
			await first.locator('[data-testid=chat-input]').press('Enter');
			await first.waitForTimeout(2500); // Let the stats panel and tiles settle for the picture.
			await first.screenshot({ path: `${out}call-${viewport.name}.png`, fullPage: true });
			await context.close();
		}
	} finally {
		await browser.close();
		await server.stop();
	}
	console.log(`screenshots written to ${out}`);
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});

import type { Browser, Page } from 'playwright-core';
import type { Page as FirefoxPage } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchFirefoxIn, type NamespacedFirefox } from '../support/firefox.js';
import { createTestNetwork, SERVER_ORIGIN, type TestNetwork } from '../support/netns.js';

/**
 * Firefox ESR and Chromium in one call: mesh, then the SFU (a third joins
 * past MESH_MAX_PEERS=2), then the mesh again (the third leaves), each
 * decoding the other throughout. Firefox gathers no loopback ICE
 * candidates, so every browser and the server run in network namespaces
 * (test/support/netns.ts): Firefox in one, each Chromium page in its own.
 */

type Stat = { peerId: string; via: 'mesh' | 'sfu'; framesDecoded: number };
/** What the page's call says of itself, read the same way in both browsers. */
type CallState = { peerId?: string; topology?: string; handler?: string; stats: Stat[] };

const readCall = async (): Promise<CallState> => {
	const call = (window as unknown as { __call?: { peerId?: string; topology?: string; sfuHandlerName?: string; connectionStats(): Promise<Stat[]> } }).__call;
	return { peerId: call?.peerId, topology: call?.topology, handler: call?.sfuHandlerName, stats: (await call?.connectionStats()) ?? [] };
};

describe('Firefox and Chromium in one call, across migrations both ways', () => {
	let net: TestNetwork;
	let firefox: NamespacedFirefox;
	const chromiums: Browser[] = [];

	beforeAll(async () => {
		net = await createTestNetwork(3);
		await net.startServer({ MESH_MAX_PEERS: '2', MESH_MIN_PEERS: '2', DEESCALATE_COOLDOWN_MS: '2000' });
		firefox = await launchFirefoxIn((net.browsers[0] as { name: string }).name, SERVER_ORIGIN);
		for (const n of [2, 3]) chromiums.push(await net.launchBrowser(n));
	});

	afterAll(async () => {
		await firefox?.close();
		await net?.destroy();
	});

	it('each decodes the other on the mesh, on the SFU and on the mesh again; both name their mediasoup-client handler', async () => {
		const fox: FirefoxPage = await firefox.browser.newPage();
		await fox.goto(`${SERVER_ORIGIN}/?room=fx&name=Fox`);
		const chro: Page = await (await (chromiums[0] as Browser).newContext()).newPage();
		await chro.goto(`${SERVER_ORIGIN}/?room=fx&name=Chro`);
		const states = async () => [(await fox.evaluate(readCall)) as CallState, (await chro.evaluate(readCall)) as CallState] as const;

		/** Both have decoded `frames` more frames from the other over `via` than at `since`. */
		const decodeEachOther = async (via: 'mesh' | 'sfu', frames: number, since?: readonly CallState[]) => {
			let last: readonly CallState[] = [];
			const count = (state: CallState | undefined, other: CallState | undefined) =>
				state?.stats.find((s) => s.peerId === other?.peerId && s.via === via)?.framesDecoded ?? 0;
			await expect
				.poll(
					async () => {
						last = await states();
						const [f, c] = last;
						return (
							!!f?.peerId &&
							!!c?.peerId &&
							count(f, c) >= frames + count(since?.[0], c) &&
							count(c, f) >= frames + count(since?.[1], f)
						);
					},
					{ timeout: 45_000, interval: 250 },
				)
				.toBe(true)
				.catch((error: Error) => {
					throw new Error(`${via}: not decoding each other: ${JSON.stringify(last)}\n${error.message}`);
				});
			return last;
		};

		// 1. Mesh.
		const onMesh = await decodeEachOther('mesh', 15);
		expect(onMesh.map((s) => s.topology)).toEqual(['mesh', 'mesh']);

		// 2. A third joins past MESH_MAX_PEERS=2: the room moves to the SFU, Firefox with it.
		const third: Page = await (await (chromiums[1] as Browser).newContext()).newPage();
		await third.goto(`${SERVER_ORIGIN}/?room=fx&name=Third`);
		await expect.poll(async () => (await states()).map((s) => s.topology), { timeout: 45_000 }).toEqual(['sfu', 'sfu']);
		const onSfu = await decodeEachOther('sfu', 15);
		const handlers = onSfu.map((s) => s.handler);
		console.log(`[firefox] mediasoup-client handlers: Firefox ${handlers[0]}, Chromium ${handlers[1]}`);
		expect(handlers[0]).toMatch(/^Firefox\d+$/);
		expect(handlers[1]).toMatch(/^Chrome\d+$/);

		// 3. The third leaves: after the cooldown the room returns to the mesh.
		await third.locator('[data-testid=leave]').click();
		await expect.poll(async () => (await states()).map((s) => s.topology), { timeout: 45_000 }).toEqual(['mesh', 'mesh']);
		await decodeEachOther('mesh', 15, onMesh);
	});
});

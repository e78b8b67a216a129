import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectEveryPairDecodes, joinAll, peerIdOf, remoteStats, type RemoteStats } from '../support/call.js';
import { createTestNetwork, formatPeerConnectionLog, peerConnectionLog, recordPeerConnections, type TestNetwork } from '../support/netns.js';
import type { RunningServer } from '../support/serverProcess.js';

/**
 * Issue 15, media path repair, with the network cut for real: each browser
 * runs in its own network namespace behind a router namespace that runs the
 * server (test/support/netns.ts), and a cut drops every packet of one
 * browser's namespace at both ends of its link (the media path: UDP, and TCP
 * to mediasoup's TCP candidates) but the WebSocket signaling's, which stays
 * up.
 *
 * The contract these tests hold the call page to:
 * - `window.__call.repairs`: an array of `{ path: 'mesh' | 'sfu', action:
 *   'ice-restart' | 'recreate' | 'rebuild' | 'recovered' | 'gave-up',
 *   peerId?: string, at: number }`, one entry per repair step taken.
 * - `window.__call.connectionStats()` entries carry `generation` (a number):
 *   via 'mesh', 0 for a pair's first connection and +1 per re-creation; via
 *   'sfu', ICE restarts + rebuilds of the receive side.
 * - After a 5 s cut and its restore, video resumes: the first new frame on
 *   each side within 3 s of the restore (measured, printed), then 10+ new
 *   frames each way; nobody left the call (same peer ids).
 * - Server: REPAIR_GIVE_UP_MS, REPAIR_DISCONNECTED_GRACE_MS (env), and the
 *   counter `streaming_media_repairs_total{path, action}` on /metrics.
 * - Give-up: on the cut browser's page `[data-testid=media-lost]` becomes
 *   visible with text containing "lost" (any case; the wording is free), and
 *   `[data-testid=rejoin]`, clicked (then the network restored), joins again
 *   as a new participant (a new window.__call.peerId) whose video both pages
 *   decode.
 */

type Repair = { path: 'mesh' | 'sfu'; action: 'ice-restart' | 'recreate' | 'rebuild' | 'recovered' | 'gave-up'; peerId?: string; at: number };
type Stats = RemoteStats & { generation?: unknown };

const CUT_MS = 5_000;
/** The issue's bound: the first frame after the restore. */
const FIRST_FRAME_WITHIN_MS = 3_000;
/** After that first frame, what 10 frames may take on a busy 2-core machine (15 fps: 10 frames are ~0.7 s). */
const TEN_FRAMES_WITHIN_MS = 15_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * New frames decoded from `peerId` since `before`, per media path (`via`),
 * the best path counting. A counter that went down belongs to a new
 * connection or consumer (a re-creation or rebuild starts its
 * `framesDecoded` at 0): all of it is new. An ICE restart keeps the counter.
 */
function framesSince(before: Stats[], now: Stats[], peerId: string): number {
	let best = 0;
	for (const entry of now.filter((s) => s.peerId === peerId)) {
		const base = before.find((s) => s.peerId === peerId && s.via === entry.via)?.framesDecoded ?? 0;
		best = Math.max(best, entry.framesDecoded >= base ? entry.framesDecoded - base : entry.framesDecoded);
	}
	return best;
}

/** A Prometheus sample by name and labels (in any order; series with further labels are summed); undefined if none. */
function metricValue(text: string, name: string, labels: Record<string, string>): number | undefined {
	let sum: number | undefined;
	for (const line of text.split('\n')) {
		const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
		if (!match || match[1] !== name) continue;
		const have = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
		if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum = (sum ?? 0) + Number(match[3]);
	}
	return sum;
}

function repairsOf(page: Page): Promise<Repair[] | null> {
	return page.evaluate(() => {
		const repairs = (window.__call as unknown as { repairs?: unknown } | undefined)?.repairs;
		return (Array.isArray(repairs) ? repairs : null) as never;
	});
}

describe('media path repair under real network cuts (issue 15)', () => {
	let net: TestNetwork;
	let browsers: Browser[] = [];
	let server: RunningServer | undefined;
	const contexts: BrowserContext[] = [];

	beforeAll(async () => {
		net = await createTestNetwork(2);
		browsers = [await net.launchBrowser(1), await net.launchBrowser(2)];
	});

	// Each test's participants leave with it, the network is whole again, and its server stops.
	afterEach(async () => {
		for (const context of contexts.splice(0)) await context.close().catch(() => undefined);
		for (const b of net?.browsers ?? []) await net.restore(b).catch(() => undefined);
		await server?.stop();
		server = undefined;
	});

	// destroy() closes the browsers, stops any server left, and deletes the namespaces (also when beforeAll failed half-way).
	afterAll(async () => {
		await net?.destroy();
	});

	/** Alice in browser namespace 1, Bob in 2, one call through the server namespace; both decode 30+ frames. */
	async function aliceAndBob(room: string, env: Record<string, string>): Promise<[Page, Page]> {
		server = await net.startServer(env);
		const pages: Page[] = [];
		for (const [i, name] of ['Alice', 'Bob'].entries()) {
			const context = await (browsers[i] as Browser).newContext();
			contexts.push(context);
			await recordPeerConnections(context);
			pages.push((await joinAll(context, server.url, room, [name]))[0]);
		}
		await expectEveryPairDecodes(pages, 30);
		return pages as [Page, Page];
	}

	/** Both pages' peer connection timelines (ICE and connection states) in ms from the cut, and what each decodes and repaired. */
	async function diagnostics(pages: Page[], cutAt: number, restoredAt?: number): Promise<string> {
		const parts: string[] = [`(the cut at 0 ms${restoredAt === undefined ? '' : `, the restore at +${restoredAt - cutAt} ms`})`];
		for (const [i, page] of pages.entries()) {
			const stats = await remoteStats(page).catch(() => []);
			const repairs = await repairsOf(page).catch(() => null);
			parts.push(
				`--- ${i === 0 ? 'Alice' : 'Bob'}: stats ${JSON.stringify(stats.map((s) => ({ peerId: s.peerId, via: s.via, framesDecoded: s.framesDecoded, generation: (s as Stats).generation })))}`,
				`repairs ${JSON.stringify(repairs)}`,
				`peer connections:\n${formatPeerConnectionLog(await peerConnectionLog(page), cutAt)}`,
			);
		}
		return parts.join('\n');
	}

	/**
	 * Cuts Bob's namespace for CUT_MS (checking that media really stopped both
	 * ways), restores it, and measures from the restore: the first new frame
	 * on each side (must come within FIRST_FRAME_WITHIN_MS), then 10 new
	 * frames on each side (within TEN_FRAMES_WITHIN_MS more).
	 */
	async function cutRestoreAndExpectResume(label: string, pages: [Page, Page], cutMs = CUT_MS): Promise<{ cutAt: number; restoredAt: number }> {
		const ids = (await Promise.all(pages.map(peerIdOf))) as [string, string];
		const remoteOf = (i: number) => ids[1 - i] as string;
		const cutAt = Date.now();
		await net.cut(2);
		await sleep(cutMs - 1_500);
		const late = await Promise.all(pages.map(remoteStats));
		await sleep(cutAt + cutMs - Date.now());
		const atRestore = (await Promise.all(pages.map(remoteStats))) as [Stats[], Stats[]];
		await net.restore(2);
		const restoredAt = Date.now();

		// The last 1.5 s of the cut decoded (next to) nothing: the cut did cut the media.
		// At most one frame: one already waiting in a jitter buffer for a retransmission may still complete (seen once
		// in about ten runs); media that flows would decode about twenty.
		const duringCut = pages.map((_, i) => framesSince(late[i] as Stats[], atRestore[i] as Stats[], remoteOf(i)));
		if (duringCut.some((n) => n > 1)) {
			throw new Error(`[${label}] frames still decoded late in the cut (Alice, Bob): ${duringCut.join(', ')}: the cut did not stop the media\n${await diagnostics(pages, cutAt)}`);
		}

		const firstFrameMs: Array<number | undefined> = [undefined, undefined];
		const tenFramesMs: Array<number | undefined> = [undefined, undefined];
		const deadline = restoredAt + FIRST_FRAME_WITHIN_MS + TEN_FRAMES_WITHIN_MS;
		for (let round = 0; round < 1_000 && Date.now() < deadline && tenFramesMs.includes(undefined); round++) {
			const now = await Promise.all(pages.map(remoteStats));
			const at = Date.now() - restoredAt;
			for (const i of [0, 1]) {
				const frames = framesSince(atRestore[i] as Stats[], now[i] as Stats[], remoteOf(i));
				if (frames > 0) firstFrameMs[i] ??= at;
				if (frames >= 10) tenFramesMs[i] ??= at;
			}
			if (at > FIRST_FRAME_WITHIN_MS && firstFrameMs.includes(undefined)) break;
			await sleep(100);
		}
		const show = (ms: Array<number | undefined>) => ms.map((m, i) => `${i === 0 ? 'Alice' : 'Bob'} ${m === undefined ? 'never' : `${m} ms`}`).join(', ');
		console.log(`[${label}] after a ${cutMs} ms cut, from the restore: first new frame: ${show(firstFrameMs)}; 10 new frames: ${show(tenFramesMs)}`);
		if (firstFrameMs.some((ms) => ms === undefined || ms > FIRST_FRAME_WITHIN_MS)) {
			throw new Error(`[${label}] video did not resume within ${FIRST_FRAME_WITHIN_MS} ms of the restore (first new frame: ${show(firstFrameMs)})\n${await diagnostics(pages, cutAt, restoredAt)}`);
		}
		if (tenFramesMs.includes(undefined)) {
			throw new Error(`[${label}] video resumed but did not reach 10 new frames each way within ${FIRST_FRAME_WITHIN_MS + TEN_FRAMES_WITHIN_MS} ms (10 frames: ${show(tenFramesMs)})\n${await diagnostics(pages, cutAt, restoredAt)}`);
		}
		// Repaired in place: nobody left the call.
		expect(await Promise.all(pages.map(peerIdOf)), 'both pages keep their peer ids through the repair').toEqual(ids);
		return { cutAt, restoredAt };
	}

	it('mesh: a 5 s cut of one browser, then video resumes within 3 s of the restore over a re-created connection, same participants', async () => {
		const pages = await aliceAndBob('repair-mesh', {});
		const ids = (await Promise.all(pages.map(peerIdOf))) as [string, string];
		const { cutAt, restoredAt } = await cutRestoreAndExpectResume('mesh', pages);

		// The pair was re-created on at least one side, and its connection counts that in `generation`.
		let last: Array<{ repairs: Repair[] | null; stats: Stats[] }> = [];
		const recreated = async () => {
			last = await Promise.all(pages.map(async (page) => ({ repairs: await repairsOf(page), stats: await remoteStats(page) })));
			return last.some(({ repairs }, i) =>
				(repairs ?? []).some((r) => r.path === 'mesh' && r.action === 'recreate' && (r.peerId === undefined || r.peerId === ids[1 - i])),
			);
		};
		await expect.poll(recreated, { timeout: 5_000 }).toBe(true).catch(async (error: Error) => {
			throw new Error(`no { path: 'mesh', action: 'recreate' } in window.__call.repairs on either page\n${await diagnostics(pages, cutAt, restoredAt)}\n${error.message}`);
		});
		const meshEntries = last.map(({ stats }, i) => stats.find((s) => s.peerId === ids[1 - i] && s.via === 'mesh'));
		for (const [i, entry] of meshEntries.entries()) {
			expect(entry, `${i === 0 ? 'Alice' : 'Bob'} has a mesh connectionStats() entry for the other`).toBeDefined();
			expect(typeof entry?.generation, `connectionStats() entries carry a numeric generation: ${JSON.stringify(entry)}`).toBe('number');
		}
		expect(
			Math.max(...meshEntries.map((e) => Number(e?.generation ?? 0))),
			`the mesh entry's generation is >= 1 on at least one side: ${JSON.stringify(meshEntries)}`,
		).toBeGreaterThanOrEqual(1);
	});

	it('SFU: a 5 s cut of one browser, then video resumes within 3 s of the restore after an ICE restart (or rebuild), counted on /metrics', async () => {
		const pages = await aliceAndBob('repair-sfu', { MESH_MAX_PEERS: '0' });
		for (const page of pages) expect((await remoteStats(page)).map((s) => s.via)).toEqual(['sfu']);
		const { cutAt, restoredAt } = await cutRestoreAndExpectResume('sfu', pages);

		let repairs: Array<Repair[] | null> = [];
		await expect
			.poll(
				async () => {
					repairs = await Promise.all(pages.map(repairsOf));
					return repairs.some((list) => (list ?? []).some((r) => r.path === 'sfu' && (r.action === 'ice-restart' || r.action === 'rebuild')));
				},
				{ timeout: 5_000 },
			)
			.toBe(true)
			.catch(async (error: Error) => {
				throw new Error(`no { path: 'sfu', action: 'ice-restart' | 'rebuild' } in window.__call.repairs on either page\n${await diagnostics(pages, cutAt, restoredAt)}\n${error.message}`);
			});

		let text = '';
		await expect
			.poll(
				async () => {
					text = await net.serverGet('/metrics');
					return metricValue(text, 'streaming_media_repairs_total', { path: 'sfu', action: 'ice-restart' }) ?? 0;
				},
				{ timeout: 5_000 },
			)
			.toBeGreaterThanOrEqual(1)
			.catch((error: Error) => {
				const lines = text.split('\n').filter((l) => l.includes('streaming_media_repairs_total'));
				throw new Error(
					`/metrics: streaming_media_repairs_total{path="sfu",action="ice-restart"} is not >= 1; the series found: ${lines.length > 0 ? `\n${lines.join('\n')}` : 'none'}\npages' repairs: ${JSON.stringify(repairs)}\n${error.message}`,
				);
			});
	});

	it('SFU: a cut that outlasts the ICE restart is repaired by rebuilding the transports; video resumes within 3 s of the restore', async () => {
		const pages = await aliceAndBob('repair-sfu-rebuild', { MESH_MAX_PEERS: '0' });
		const ids = (await Promise.all(pages.map(peerIdOf))) as [string, string];
		// Down after ~2.5 s of silence plus the 1 s grace: the ICE restart at ~3.5 s, the rebuild ~2 s later, well inside 8 s.
		const { cutAt, restoredAt } = await cutRestoreAndExpectResume('sfu-rebuild', pages, 8_000);
		const bob = pages[1];
		const repairs = (await repairsOf(bob)) ?? [];
		const steps = repairs.filter((r) => r.path === 'sfu').map((r) => r.action);
		expect(steps.slice(0, 2), `Bob's SFU repair steps: ${JSON.stringify(repairs)}\n${await diagnostics(pages, cutAt, restoredAt)}`).toEqual(['ice-restart', 'rebuild']);
		// Bob's numbers come from the rebuilt consumers: two generations on (a restart, a rebuild) at least.
		const entry = (await remoteStats(bob)).find((s) => s.peerId === ids[0] && s.via === 'sfu') as Stats | undefined;
		expect(Number(entry?.generation), JSON.stringify(entry)).toBeGreaterThanOrEqual(2);
		await expect
			.poll(async () => metricValue(await net.serverGet('/metrics'), 'streaming_media_repairs_total', { path: 'sfu', action: 'rebuild' }) ?? 0, { timeout: 5_000 })
			.toBeGreaterThanOrEqual(1);
	});

	it('give-up: a cut longer than REPAIR_GIVE_UP_MS shows "media lost" and a Rejoin button; Rejoin, then the restore: a new participant, and video flows both ways', async () => {
		const pages = await aliceAndBob('repair-give-up', { REPAIR_GIVE_UP_MS: '5000', REPAIR_DISCONNECTED_GRACE_MS: '1000' });
		const [alice, bob] = pages;
		const bobIdBefore = (await peerIdOf(bob)) as string;
		const cutAt = Date.now();
		await net.cut(2);

		// Bob's (the cut browser's) page tells him, in words, that the media is lost. Bounded: 20 s from the cut.
		const lost = bob.locator('[data-testid=media-lost]');
		await expect
			.poll(() => lost.isVisible(), { timeout: 20_000, interval: 250 })
			.toBe(true)
			.catch(async (error: Error) => {
				throw new Error(`[data-testid=media-lost] not visible on the cut page within 20 s of the cut\n${await diagnostics(pages, cutAt)}\n${error.message}`);
			});
		console.log(`[give-up] media-lost shown ${Date.now() - cutAt} ms after the cut (REPAIR_GIVE_UP_MS=5000)`);
		const text = (await lost.innerText()).trim();
		expect(text, `media-lost says in words what was lost (contains "lost"): "${text}"`).toMatch(/lost/i);
		const rejoin = bob.locator('[data-testid=rejoin]');
		expect(await rejoin.isVisible(), '[data-testid=rejoin] is visible with media-lost').toBe(true);
		expect(await rejoin.isEnabled(), '[data-testid=rejoin] is enabled').toBe(true);

		// Rejoin is clicked before the restore, while the banner is certainly up: the banner hides itself once the
		// paths come back (a restore can let the old connection recover), which would race a click after it.
		await rejoin.click();
		await net.restore(2);
		// A new participant: a new peer id (the page may reload to rejoin: read it across navigations).
		let bobIdAfter: string | undefined;
		await expect
			.poll(
				async () => {
					bobIdAfter = await peerIdOf(bob).catch(() => undefined);
					return bobIdAfter !== undefined && bobIdAfter !== bobIdBefore;
				},
				{ timeout: 20_000 },
			)
			.toBe(true)
			.catch((error: Error) => {
				throw new Error(`after Rejoin, window.__call.peerId is not a new peer id (before ${bobIdBefore}, now ${String(bobIdAfter)})\n${error.message}`);
			});
		await bob.waitForFunction(() => window.__call?.mediaMode !== undefined, undefined, { timeout: 20_000 });
		await expectEveryPairDecodes([alice, bob], 15, 30_000);
	});
});

import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationRecord } from '../../web/src/topology/MigrationRecord.js';
import { launchBrowser } from '../support/browser.js';
import { expectEveryPairDecodes, joinAll, peerIdOf, remoteStats } from '../support/call.js';
import { metricSample } from '../support/metrics.js';
import { audioLog, frameLog, longestAudioSilence, measureGaps, migrations, startAudioLog, startFrameLog, windowsOver, type GapMeasurement } from '../support/migration.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';

/**
 * A room growing past MESH_MAX_PEERS=2 moves every peer to the SFU, and back
 * to the mesh when it shrinks, make-before-break: every remote tile keeps
 * rendering and audio keeps arriving through each migration. Three browsers
 * on a 2-core machine: five would stall it mid-migration.
 */

const COOLDOWN_MS = 3000;

/** Waits for this page's migration to `target` to be committed and its old path closed. */
async function committedMigration(page: Page, target: 'mesh' | 'sfu'): Promise<MigrationRecord> {
	let found: MigrationRecord | undefined;
	await expect
		.poll(
			async () => {
				found = (await migrations(page)).find((r) => r.target === target && r.oldClosedAt !== undefined);
				return found?.result;
			},
			{ timeout: 45_000, interval: 250 },
		)
		.toBe('committed');
	return found as MigrationRecord;
}

/** Each receiver's steps, in ms after its topology.prepare: where a gap fell, when one fails. */
function timeline(receiver: string, r: MigrationRecord): string {
	const at = (t: number | undefined) => (t === undefined ? '-' : String(Math.round(t - r.preparedAt)));
	return `${receiver}: built ${at(r.builtAt)} swapped ${Object.values(r.swappedAt).map(at).join('/')} ready ${at(r.readyAt)} ended ${at(r.endedAt)} closed ${at(r.oldClosedAt)}`;
}

function expectSmooth(gaps: GapMeasurement[], records: Record<string, MigrationRecord>): void {
	console.log(
		'frame gaps (ms after prepare):',
		gaps
			.map((g) => {
				const start = (records[g.receiver] as MigrationRecord).preparedAt;
				return `${g.receiver}<-${g.sender.slice(0, 4)} window ${g.windowMs} migration ${Math.round(g.migrationGapMs)} at ${Math.round(g.migrationGapAt - start)} steady ${Math.round(g.steadyGapMs)}`;
			})
			.join('; '),
		'|',
		Object.entries(records)
			.map(([receiver, r]) => timeline(receiver, r))
			.join('; '),
	);
	for (const g of gaps) {
		const limit = Math.max(750, 2 * g.steadyGapMs);
		expect(g.migrationGapMs, `${g.receiver} rendering ${g.sender}: ${JSON.stringify(g)}`).toBeLessThanOrEqual(limit);
	}
}

async function expectAudioFlowed(page: Page, receiver: string, senders: string[], record: MigrationRecord): Promise<void> {
	const samples = await audioLog(page);
	for (const sender of senders) {
		const { silenceMs, sampleSpacingMs } = longestAudioSilence(samples, sender, record.preparedAt, record.oldClosedAt as number);
		// Packets arrive every 20 ms: a torn-down path would show seconds.
		// A busy page samples late; a silence longer than the spacing cannot hide between two samples.
		expect(sampleSpacingMs, `${receiver} sampled audio through the migration`).toBeLessThanOrEqual(1500);
		expect(silenceMs, `${receiver} hearing ${sender}: no audio packet for ${silenceMs} ms`).toBeLessThanOrEqual(1000);
	}
}

async function badge(page: Page): Promise<string | null> {
	return page.locator('[data-testid=topology]').textContent();
}

/** Records every text the topology badge shows from now on. */
async function recordBadge(page: Page): Promise<void> {
	await page.evaluate(() => {
		const el = document.querySelector('[data-testid=topology]') as HTMLElement;
		const seen = [el.textContent ?? ''];
		(window as unknown as { __badges: string[] }).__badges = seen;
		new MutationObserver(() => {
			if (seen.at(-1) !== el.textContent) seen.push(el.textContent ?? '');
		}).observe(el, { childList: true, characterData: true, subtree: true });
	});
}

function badgeHistory(page: Page): Promise<string[]> {
	return page.evaluate(() => (window as unknown as { __badges: string[] }).__badges);
}

describe('topology migration in real Chromium (MESH_MAX_PEERS=2)', () => {
	let server: RunningServer;
	let browser: Browser;
	const contexts: BrowserContext[] = [];

	/** One browser window per participant: Chromium paints (and calls frame callbacks in) only the front tab of a window. */
	/** `init` runs in the page before the app does (a fault to inject). */
	async function participant(name: string, room = 'grow-shrink', on: RunningServer = server, init?: string): Promise<Page> {
		const context = await browser.newContext();
		contexts.push(context);
		if (init) await context.addInitScript(init);
		const [page] = await joinAll(context, on.url, room, [name]);
		return page;
	}

	beforeAll(async () => {
		server = await startServer({
			MESH_MAX_PEERS: '2',
			MESH_MIN_PEERS: '2',
			DEESCALATE_COOLDOWN_MS: String(COOLDOWN_MS),
			QUALITY_REPORT_INTERVAL_MS: '1000',
		});
		browser = await launchBrowser();
	});

	// Each test's participants leave with it: a call left running would starve the next test.
	afterEach(async () => {
		for (const context of contexts.splice(0)) await context.close();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.stop();
	});

	it('a third participant moves the room to the SFU, and its leaving brings it back after the cooldown, with no visible break', async () => {
		const alice = await participant('Alice');
		const bob = await participant('Bob');
		const [aliceId, bobId] = (await Promise.all([peerIdOf(alice), peerIdOf(bob)])) as [string, string];
		await Promise.all([alice, bob].map((p) => Promise.all([startFrameLog(p), startAudioLog(p)])));
		await expectEveryPairDecodes([alice, bob], 10);
		expect(await badge(alice)).toBe('mesh');
		await recordBadge(alice);
		// A steady window to compare with: the migration must not be longer than what was rendered before it.
		await expect.poll(async () => (await frameLog(alice))[bobId]?.length ?? 0, { timeout: 20_000 }).toBeGreaterThan(60);

		// --- mesh -> sfu: Carol tips the room over.
		const carol = await participant('Carol');
		const [upA, upB] = await Promise.all([committedMigration(alice, 'sfu'), committedMigration(bob, 'sfu')]);
		for (const page of [alice, bob, carol]) await expect.poll(() => badge(page), { timeout: 10_000 }).toBe('sfu');
		// Carol joined the SFU directly (no mesh connection), and confirmed it like the others.
		expect(await carol.evaluate(() => window.__call?.mediaMode)).toBe('sfu');
		expect(await migrations(carol)).toMatchObject([{ joinedDuring: true, epoch: upA.epoch, target: 'sfu', result: 'committed', stragglers: [] }]);
		const everyone = await expectEveryPairDecodes([alice, bob, carol], 10);
		for (const stats of everyone) expect(stats.every((s) => s.via === 'sfu')).toBe(true);

		await windowsOver(upA, upB);
		expectSmooth([...measureGaps('Alice', upA, await frameLog(alice), [bobId]), ...measureGaps('Bob', upB, await frameLog(bob), [aliceId])], { Alice: upA, Bob: upB });
		await expectAudioFlowed(alice, 'Alice', [bobId], upA);
		await expectAudioFlowed(bob, 'Bob', [aliceId], upB);
		let text = await (await fetch(`${server.url}/metrics`)).text();
		expect(metricSample(text, 'streaming_topology_migrations_total{direction="escalate",result="committed"}')).toBe(1);
		expect(metricSample(text, 'streaming_rooms_by_topology{topology="sfu"}')).toBe(1);

		// --- sfu -> mesh: Carol leaves; after the cooldown the two go back to peer to peer.
		const leftAt = Date.now();
		await carol.locator('[data-testid=leave]').click();
		const [downA, downB] = await Promise.all([committedMigration(alice, 'mesh'), committedMigration(bob, 'mesh')]);
		expect(downA.decidedAt - leftAt).toBeGreaterThanOrEqual(COOLDOWN_MS);
		for (const page of [alice, bob]) await expect.poll(() => badge(page), { timeout: 10_000 }).toBe('mesh');
		await expectEveryPairDecodes([alice, bob], 10);
		const back = await remoteStats(alice);
		expect(back.map((s) => s.via)).toEqual(['mesh']);

		await windowsOver(downA, downB);
		expectSmooth([...measureGaps('Alice', downA, await frameLog(alice), [bobId]), ...measureGaps('Bob', downB, await frameLog(bob), [aliceId])], { Alice: downA, Bob: downB });
		await expectAudioFlowed(alice, 'Alice', [bobId], downA);
		await expectAudioFlowed(bob, 'Bob', [aliceId], downB);

		// Back on the mesh, the room holds nothing on the SFU.
		await expect
			.poll(async () => {
				text = await (await fetch(`${server.url}/metrics`)).text();
				return [metricSample(text, 'streaming_sfu_routers'), metricSample(text, 'streaming_sfu_transports')];
			})
			.toEqual([0, 0]);
		expect(metricSample(text, 'streaming_topology_migrations_total{direction="deescalate",result="committed"}')).toBe(1);
		expect(metricSample(text, 'streaming_rooms_by_topology{topology="mesh"}')).toBe(1);
		// What Alice saw on the badge through it all.
		expect(await badgeHistory(alice)).toEqual(['mesh', 'migrating', 'sfu', 'migrating', 'mesh']);
	});

	it('a migration that cannot finish rolls back: the newcomer who joined the SFU ends up in the mesh with everyone', async () => {
		// No browser's topology.ready ever reaches the server (dropped on its way out), so nobody is
		// ready when the timeout comes and the escalation is rolled back. (Waiting on a browser being
		// too slow to get ready in time was a race: on a quiet machine one made it, and it committed.)
		const neverReady = `{
			const send = WebSocket.prototype.send;
			WebSocket.prototype.send = function (data) {
				if (typeof data === 'string' && data.includes('"method":"topology.ready"')) return;
				return send.call(this, data);
			};
		}`;
		const impatient = await startServer({ MESH_MAX_PEERS: '2', MIGRATION_TIMEOUT_MS: '1500', DEESCALATE_COOLDOWN_MS: '120000' });
		try {
			const dan = await participant('Dan', 'rollback', impatient, neverReady);
			const eve = await participant('Eve', 'rollback', impatient, neverReady);
			await expectEveryPairDecodes([dan, eve], 10);
			const fay = await participant('Fay', 'rollback', impatient, neverReady);
			// Her media paths are built once her camera is open, a moment after the join answer: wait for the record.
			await expect.poll(() => fay.evaluate(() => window.__call?.migrations[0]?.joinedDuring)).toBe(true);
			await expect.poll(async () => (await migrations(dan)).find((r) => r.target === 'sfu')?.result).toBe('aborted');
			for (const page of [dan, eve, fay]) await expect.poll(() => badge(page)).toBe('mesh');
			// Fay joined on the SFU; now every pair, hers included whichever side offers, is a mesh connection.
			const all = await expectEveryPairDecodes([dan, eve, fay], 10);
			for (const stats of all) expect(stats.map((s) => s.via)).toEqual(['mesh', 'mesh']);
			const text = await (await fetch(`${impatient.url}/metrics`)).text();
			expect(metricSample(text, 'streaming_topology_migrations_total{direction="escalate",result="aborted"}')).toBe(1);
			expect(metricSample(text, 'streaming_rooms_by_topology{topology="mesh"}')).toBe(1);
			await expect
				.poll(async () => {
					const t = await (await fetch(`${impatient.url}/metrics`)).text();
					return [metricSample(t, 'streaming_sfu_routers'), metricSample(t, 'streaming_sfu_transports')];
				})
				.toEqual([0, 0]);
		} finally {
			await impatient.stop();
		}
	});

	it('a mesh that cannot connect on the way back keeps the room on the SFU, with media flowing', async () => {
		// Once window.__failNewPeerConnections is set, Gil's new peer connections refuse every remote description.
		const fault = `{
			const Native = window.RTCPeerConnection;
			window.RTCPeerConnection = class extends Native {
				constructor(...args) {
					super(...args);
					if (window.__failNewPeerConnections) this.setRemoteDescription = () => Promise.reject(new DOMException('injected fault', 'OperationError'));
				}
			};
		}`;
		// The cooldown is long enough to look at the room between two attempts; the timeout is out of reach.
		const stubborn = await startServer({ MESH_MAX_PEERS: '2', MESH_MIN_PEERS: '2', DEESCALATE_COOLDOWN_MS: '3000', MIGRATION_TIMEOUT_MS: '60000' });
		try {
			const gil = await participant('Gil', 'stubborn', stubborn, fault);
			const hal = await participant('Hal', 'stubborn', stubborn);
			await expectEveryPairDecodes([gil, hal], 10);
			const ivy = await participant('Ivy', 'stubborn', stubborn);
			await Promise.all([committedMigration(gil, 'sfu'), committedMigration(hal, 'sfu')]);
			await gil.evaluate(() => ((window as unknown as { __failNewPeerConnections: boolean }).__failNewPeerConnections = true));
			await ivy.locator('[data-testid=leave]').click();

			// The return starts, Gil's mesh connection fails, and the room stays where it was.
			for (const page of [gil, hal]) {
				await expect.poll(async () => (await migrations(page)).find((r) => r.target === 'mesh')?.result).toBe('aborted');
			}
			const text = await (await fetch(`${stubborn.url}/metrics`)).text();
			expect(metricSample(text, 'streaming_topology_migrations_total{direction="deescalate",result="aborted"}')).toBeGreaterThanOrEqual(1);
			expect(metricSample(text, 'streaming_topology_migrations_total{direction="deescalate",result="committed"}')).toBe(0);
			// Both keep decoding each other, through the SFU.
			const sfuFrames = async (page: Page) => (await remoteStats(page)).find((s) => s.via === 'sfu')?.framesDecoded ?? 0;
			const before = await Promise.all([gil, hal].map(sfuFrames));
			for (const [i, page] of [gil, hal].entries()) await expect.poll(() => sfuFrames(page)).toBeGreaterThan((before[i] as number) + 15);
		} finally {
			await stubborn.stop();
		}
	});
});

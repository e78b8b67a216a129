// npm run bench:migration [-- --runs 5 --runs-large 3 --verbose --json <file>]
//
// Migration cost, measured in real Chromium on loopback (fake camera from a
// small Y4M clip, one browser window per participant):
//   - 3 peers -> sfu: two in a mesh, a third joins past MESH_MAX_PEERS=2;
//   - sfu -> mesh:    the third leaves, the room returns after the cooldown;
//   - 5 peers -> sfu: four in a mesh, a fifth joins past MESH_MAX_PEERS=4,
//     reported as saturated when this machine cannot keep up.
// For each: the duration from the server's decision to the last old
// connection closed on any client, and for every receiver that migrated, the
// largest frame gap of each remote tile during the migration divided by its
// largest gap in a steady window of the same length just before (1.0 is a
// perfect make-before-break). Also reported:
//   - the same ratio against a steady window of the same length after the
//     migration (the same participants as during it: for 3 peers -> sfu the
//     window before has only two browsers running);
//   - the floor: a third participant joining a mesh of two with no migration
//     at all (MESH_MAX_PEERS=3), measured the same way from the moment each
//     member learns of the newcomer. A join-triggered migration cannot score
//     below what the join alone costs this machine.
//
// --json <file>: the table as JSON too (report/results.ts), with a timeline
// of the first 3-peer run: frames rendered per receiver (each member's tile
// of the other member, in 250 ms bins) across mesh -> sfu -> mesh, and the
// two migration windows, for `npm run bench`'s chart.

import { parseArgs } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { MigrationRecord } from '../../web/src/topology/MigrationRecord.js';
import { launchBrowser } from '../support/browser.js';
import { joinAll, peerIdOf } from '../support/call.js';
import { AFTER_CLOSE_MS, frameLog, largestGap, measureGaps, migrations, startFrameLog, tileLog, windowsOver, type GapMeasurement } from '../support/migration.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';
import { writeBenchResult, type MigrationResult, type MigrationRow, type MigrationTimeline } from './report/results.js';
import { median } from './report/stats.js';
import { binStarts, countPerBin } from './report/timeline.js';

const { values } = parseArgs({
	options: {
		runs: { type: 'string', default: '5' },
		'runs-large': { type: 'string', default: '3' },
		verbose: { type: 'boolean', default: false },
		json: { type: 'string' },
	},
});
const RUNS = Math.max(1, Math.min(20, Number(values.runs)));
const RUNS_LARGE = Math.max(0, Math.min(20, Number(values['runs-large'])));
const COOLDOWN_MS = 2000;
/** Past this a migration has not finished: the machine is saturated. */
const MIGRATION_LIMIT_MS = 30_000;
/** Between the end of a migration's window and the steady window after it. */
const SETTLE_MS = 500;

interface Sample {
	durationMs: number;
	ratios: number[];
	/** The same gaps against a steady window of the same length after the migration. */
	afterRatios: number[];
	/** The migration windows measured (prepare to AFTER_CLOSE_MS past the close), per receiver. */
	windowsMs: number[];
	stragglers: number;
	/** The receivers' largest frame gap in the steady window before: how well the machine kept up before migrating. */
	steadyGapMs: number;
}

interface Outcome {
	samples: Sample[];
	failures: string[];
	/** The first run's frames across the migration and back (growAndShrink with a way down). */
	timeline?: MigrationTimeline;
}

/** Timeline bins, and how far before the first decision and after the last close it reaches. */
const TIMELINE_BIN_MS = 250;
const TIMELINE_MARGIN_MS = 3000;

/** The floor runs: each member's gap ratio around a join that migrates nothing. */
interface FloorOutcome {
	ratios: number[];
	runsDone: number;
	failures: string[];
}


class Room {
	readonly pages: Page[] = [];
	readonly #contexts: BrowserContext[] = [];

	constructor(
		readonly browser: Browser,
		readonly server: RunningServer,
		readonly id: string,
	) {}

	async add(name: string): Promise<Page> {
		const context = await this.browser.newContext();
		this.#contexts.push(context);
		const [page] = await joinAll(context, this.server.url, this.id, [name]);
		await startFrameLog(page);
		this.pages.push(page);
		return page;
	}

	async close(): Promise<void> {
		for (const context of this.#contexts) await context.close();
	}
}

/** Waits until every page in `migrating` has finished a migration to `target`; null on the time limit. */
async function finished(migrating: Page[], target: 'mesh' | 'sfu'): Promise<MigrationRecord[] | null> {
	const deadline = Date.now() + MIGRATION_LIMIT_MS;
	while (Date.now() < deadline) {
		const records = await Promise.all(migrating.map(async (p) => (await migrations(p)).find((r) => r.target === target && r.oldClosedAt !== undefined)));
		if (records.every((r) => r !== undefined)) return records as MigrationRecord[];
		await new Promise((r) => setTimeout(r, 100));
	}
	return null;
}

/** Waits until every page renders each remote tile for `ms` (the steady window to compare with). */
async function steady(pages: Page[], ms: number): Promise<boolean> {
	const ids = (await Promise.all(pages.map(peerIdOf))) as string[];
	const deadline = Date.now() + MIGRATION_LIMIT_MS;
	while (Date.now() < deadline) {
		const logs = await Promise.all(pages.map(frameLog));
		const since = Date.now() - ms;
		if (logs.every((log, i) => ids.every((id, j) => j === i || (log[id]?.[0] ?? Infinity) < since))) return true;
		await new Promise((r) => setTimeout(r, 200));
	}
	return false;
}

/** --verbose: each client's steps, in ms after the decision. */
async function timeline(label: string, pages: Page[], epoch: number, decidedAt: number): Promise<void> {
	if (!values.verbose) return;
	const rel = (t: number | undefined) => (t === undefined ? '-' : String(t - decidedAt));
	console.log(label);
	for (const page of pages) {
		const record = (await migrations(page)).find((r) => r.epoch === epoch);
		if (!record) continue;
		const swaps = Object.values(record.swappedAt).map(rel).join('/');
		console.log(
			`  ${record.joinedDuring ? 'newcomer' : 'member  '} prepared ${rel(record.preparedAt)} built ${rel(record.builtAt)} swapped ${swaps} ready ${rel(record.readyAt)} ended ${rel(record.endedAt)} closed ${rel(record.oldClosedAt)}`,
		);
	}
}

async function measure(pages: Page[], records: MigrationRecord[]): Promise<Sample> {
	await windowsOver(...records);
	// Then a steady window as long, after: wait for it to pass too.
	const longest = Math.max(...records.map((r) => (r.oldClosedAt as number) + AFTER_CLOSE_MS - r.preparedAt));
	const afterEnd = Math.max(...records.map((r) => (r.oldClosedAt as number) + AFTER_CLOSE_MS)) + SETTLE_MS + longest;
	await new Promise((r) => setTimeout(r, Math.max(0, afterEnd - Date.now() + 50)));
	const ids = (await Promise.all(pages.map(peerIdOf))) as string[];
	const gaps: GapMeasurement[] = [];
	const afterRatios: number[] = [];
	for (const [i, page] of pages.entries()) {
		const record = records[i] as MigrationRecord;
		const frames = await frameLog(page);
		const measured = measureGaps(ids[i] as string, record, frames, ids.filter((_, j) => j !== i));
		gaps.push(...measured);
		const from = (record.oldClosedAt as number) + AFTER_CLOSE_MS + SETTLE_MS;
		for (const g of measured) afterRatios.push(g.migrationGapMs / Math.max(1, largestGap(frames[g.sender] ?? [], from, from + g.windowMs)));
	}
	const decidedAt = (records[0] as MigrationRecord).decidedAt;
	if (values.verbose) {
		for (const g of gaps) {
			console.log(`  gap ${g.receiver.slice(0, 4)}<-${g.sender.slice(0, 4)}: ${Math.round(g.migrationGapMs)} ms at ${Math.round(g.migrationGapAt - decidedAt)} (steady ${Math.round(g.steadyGapMs)})`);
		}
	}
	return {
		durationMs: Math.max(...records.map((r) => r.oldClosedAt as number)) - decidedAt,
		ratios: gaps.map((g) => g.migrationGapMs / Math.max(1, g.steadyGapMs)),
		afterRatios,
		windowsMs: gaps.map((g) => g.windowMs),
		stragglers: Math.max(...records.map((r) => r.stragglers?.length ?? 0)),
		steadyGapMs: median(gaps.map((g) => g.steadyGapMs)),
	};
}

/** n-1 peers in a mesh, the n-th joins past MESH_MAX_PEERS=n-1; optionally the n-th leaves again. */
async function growAndShrink(browser: Browser, server: RunningServer, size: number, run: number, up: Outcome, down?: Outcome): Promise<void> {
	const room = new Room(browser, server, `bench-migrate-${size}-${run}`);
	let phase: 'up' | 'down' = 'up';
	try {
		const first = [];
		for (let i = 0; i < size - 1; i++) first.push(await room.add(`P${i}`));
		if (!(await steady(first, 4000))) {
			up.failures.push(`run ${run}: the mesh of ${size - 1} never rendered steadily`);
			down?.failures.push(`run ${run}: not reached`);
			return;
		}
		const newcomer = await room.add(`P${size - 1}`);
		const escalated = await finished(first, 'sfu');
		if (!escalated || escalated.some((r) => r.result !== 'committed')) {
			up.failures.push(`run ${run}: ${escalated ? 'rolled back' : `not finished within ${MIGRATION_LIMIT_MS} ms`}`);
			down?.failures.push(`run ${run}: not reached`);
			return;
		}
		up.samples.push(await measure(first, escalated));
		await timeline(`${size} peers -> sfu, run ${run}`, room.pages, escalated[0]!.epoch, escalated[0]!.decidedAt);
		if (!down) return;
		phase = 'down';
		// Let the SFU call settle, then the newcomer leaves; the cooldown follows.
		await steady(first, 3000);
		await newcomer.locator('[data-testid=leave]').click();
		const back = await finished(first, 'mesh');
		if (!back || back.some((r) => r.result !== 'committed')) {
			down.failures.push(`run ${run}: ${back ? 'rolled back' : `not finished within ${MIGRATION_LIMIT_MS} ms`}`);
			return;
		}
		down.samples.push(await measure(first, back));
		if (!down.timeline) down.timeline = await timelineOf(first, escalated, back);
		await timeline(`sfu -> mesh, run ${run}`, first, back[0]!.epoch, back[0]!.decidedAt);
	} catch (error) {
		(phase === 'up' ? up : (down as Outcome)).failures.push(`run ${run}: ${(error as Error).message.split('\n')[0]}`);
	} finally {
		await room.close();
	}
}

/**
 * Frames each member rendered of the other member's tile, per bin, from
 * before the first decision to after the way back closed, with both
 * migration windows (decision -> last old connection closed).
 */
async function timelineOf(members: Page[], up: MigrationRecord[], down: MigrationRecord[]): Promise<MigrationTimeline> {
	const origin = (up[0] as MigrationRecord).decidedAt;
	const closed = (records: MigrationRecord[]) => Math.max(...records.map((r) => r.oldClosedAt as number));
	const from = origin - TIMELINE_MARGIN_MS;
	const to = Math.min(Date.now(), closed(down) + TIMELINE_MARGIN_MS);
	const ids = (await Promise.all(members.map(peerIdOf))) as string[];
	const series: MigrationTimeline['series'] = [];
	for (const [i, page] of members.entries()) {
		const frames = await frameLog(page);
		for (const [j, sender] of ids.entries()) {
			if (j !== i) series.push({ label: `P${i} renders P${j}`, frames: countPerBin(frames[sender] ?? [], from, to, TIMELINE_BIN_MS) });
		}
	}
	return {
		binMs: TIMELINE_BIN_MS,
		startsMs: binStarts(from, to, TIMELINE_BIN_MS, origin),
		series,
		windows: [
			{ label: 'mesh -> sfu', fromMs: 0, toMs: closed(up) - origin },
			{ label: 'sfu -> mesh', fromMs: (down[0] as MigrationRecord).decidedAt - origin, toMs: closed(down) - origin },
		],
	};
}

/**
 * The floor: two in a mesh, a third joins and nothing migrates
 * (MESH_MAX_PEERS=3). Each member's largest frame gap from the other member
 * in `windowMs` after the newcomer's tile appeared, over the largest in as
 * long a window before.
 */
async function joinWithoutMigration(browser: Browser, server: RunningServer, run: number, windowMs: number, floor: FloorOutcome): Promise<void> {
	const room = new Room(browser, server, `bench-join-${run}`);
	try {
		const first = [await room.add('P0'), await room.add('P1')];
		if (!(await steady(first, 4000))) {
			floor.failures.push(`run ${run}: the mesh of 2 never rendered steadily`);
			return;
		}
		const newcomer = await room.add('P2');
		const newcomerId = (await peerIdOf(newcomer)) as string;
		const ids = (await Promise.all(first.map(peerIdOf))) as string[];
		const seen = await Promise.all(first.map(tileLog));
		const end = Math.max(...seen.map((tiles) => tiles[newcomerId] ?? Date.now())) + windowMs;
		await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now() + 50)));
		const ratios: number[] = [];
		for (const [i, page] of first.entries()) {
			const at = seen[i]?.[newcomerId];
			if (at === undefined) throw new Error(`P${i} never showed the newcomer`);
			const log = (await frameLog(page))[ids[1 - i] as string] ?? [];
			ratios.push(largestGap(log, at, at + windowMs) / Math.max(1, largestGap(log, at - windowMs, at)));
		}
		floor.runsDone++;
		floor.ratios.push(...ratios);
	} catch (error) {
		floor.failures.push(`run ${run}: ${(error as Error).message.split('\n')[0]}`);
	} finally {
		await room.close();
	}
}

/** Why a row's numbers are not the machine keeping up: saturation, unfinished runs, stragglers ('' when none). */
function notesOf(outcome: Outcome, runs: number): string {
	const { samples, failures } = outcome;
	const stragglers = samples.filter((s) => s.stragglers > 0).length;
	const steadyGap = median(samples.map((s) => s.steadyGapMs));
	// 15 fps is a frame every 67 ms: a steady gap past 250 ms means the call was starved before any migration.
	const starved = steadyGap > 250;
	return [
		starved || stragglers || failures.length ? 'SATURATED: this machine does not keep up' : '',
		starved ? `already before migrating, receivers went ${Math.round(steadyGap)} ms without a frame (median)` : '',
		failures.length ? `${failures.length}/${runs} runs did not finish (${failures.join('; ')})` : '',
		stragglers ? `${stragglers}/${samples.length} runs committed only at the timeout, with stragglers` : '',
	]
		.filter(Boolean)
		.join('; ');
}

function report(name: string, outcome: Outcome, runs: number): string {
	const { samples, failures } = outcome;
	if (samples.length === 0) return `${name} | saturated: 0/${runs} runs finished (${failures.join('; ')}) | | | | `;
	const durations = samples.map((s) => s.durationMs);
	const ratios = samples.flatMap((s) => s.ratios);
	const after = samples.flatMap((s) => s.afterRatios);
	const note = notesOf(outcome, runs);
	return [
		name,
		`${samples.length}/${runs}`,
		`${median(durations).toFixed(0)} (${Math.min(...durations).toFixed(0)}-${Math.max(...durations).toFixed(0)})`,
		median(ratios).toFixed(2),
		Math.max(...ratios).toFixed(2),
		`${median(after).toFixed(2)} / ${Math.max(...after).toFixed(2)}`,
		note || '-',
	].join(' | ');
}

/** A row as the JSON `--json` writes: the numbers behind the printed row. */
function rowOf(name: string, outcome: Outcome, runs: number): MigrationRow {
	const { samples, failures } = outcome;
	return {
		name,
		runsDone: samples.length,
		runs,
		durationMs: samples.map((s) => s.durationMs),
		gapRatios: samples.flatMap((s) => s.ratios),
		afterRatios: samples.flatMap((s) => s.afterRatios),
		failures,
		note: (samples.length === 0 ? `saturated: 0/${runs} runs finished` : notesOf(outcome, runs)) || '-',
	};
}

function reportFloor(name: string, floor: FloorOutcome, runs: number): string {
	const { ratios, runsDone, failures } = floor;
	if (runsDone === 0) return `${name} | 0/${runs} (${failures.join('; ')}) | - | | | - | `;
	const note = failures.length ? `${failures.length}/${runs} runs did not finish (${failures.join('; ')})` : '-';
	return [name, `${runsDone}/${runs}`, '-', median(ratios).toFixed(2), Math.max(...ratios).toFixed(2), '-', note].join(' | ');
}

async function main(): Promise<void> {
	const browser = await launchBrowser();
	const rows: string[] = [];
	const result: MigrationResult = { bench: 'migration', rows: [] };
	try {
		let server = await startServer({ MESH_MAX_PEERS: '2', MESH_MIN_PEERS: '2', DEESCALATE_COOLDOWN_MS: String(COOLDOWN_MS) });
		const up: Outcome = { samples: [], failures: [] };
		const down: Outcome = { samples: [], failures: [] };
		try {
			for (let run = 0; run < RUNS; run++) await growAndShrink(browser, server, 3, run, up, down);
		} finally {
			await server.stop();
		}
		rows.push(report('3 peers -> sfu', up, RUNS), report('sfu -> mesh (2 peers)', down, RUNS));
		result.rows.push(rowOf('3 peers -> sfu', up, RUNS), rowOf('sfu -> mesh (2 peers)', down, RUNS));
		if (down.timeline) result.timeline = down.timeline;
		// The floor, measured over windows as long as the escalations' were.
		const windowMs = up.samples.length ? Math.round(median(up.samples.flatMap((s) => s.windowsMs))) : 2500;
		server = await startServer({ MESH_MAX_PEERS: '3', MESH_MIN_PEERS: '2' });
		const floor: FloorOutcome = { ratios: [], runsDone: 0, failures: [] };
		try {
			for (let run = 0; run < RUNS; run++) await joinWithoutMigration(browser, server, run, windowMs, floor);
		} finally {
			await server.stop();
		}
		const floorName = `floor: a 3rd joins a mesh of 2, no migration (${windowMs} ms windows)`;
		rows.push(reportFloor(floorName, floor, RUNS));
		result.floor = { name: floorName, runsDone: floor.runsDone, runs: RUNS, ratios: floor.ratios, failures: floor.failures };
		if (RUNS_LARGE > 0) {
			server = await startServer({ MESH_MAX_PEERS: '4', MESH_MIN_PEERS: '2' });
			const large: Outcome = { samples: [], failures: [] };
			try {
				for (let run = 0; run < RUNS_LARGE; run++) await growAndShrink(browser, server, 5, run, large);
			} finally {
				await server.stop();
			}
			rows.push(report('5 peers -> sfu', large, RUNS_LARGE));
			result.rows.push(rowOf('5 peers -> sfu', large, RUNS_LARGE));
		}
	} finally {
		await browser.close();
	}
	console.log('migration: decision -> last old connection closed (ms), and per receiver the largest frame gap during the migration / in a steady window as long just before (and just after)');
	console.log('migration | runs done | duration median (min-max) | gap ratio median | gap ratio worst | vs steady after: median / worst | notes');
	for (const row of rows) console.log(row);
	writeBenchResult(values.json, result);
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});

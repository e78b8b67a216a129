// npm run bench:latency [-- --frames 300 --migration-runs 3 --verbose --json <file>]
//
// Glass-to-glass latency on one machine: every sending page's camera is a
// canvas painting Date.now() (latencyProbe.ts), every receiver reads it back
// from each rendered frame and subtracts it from its own Date.now(). Per
// path, a median and p95 over at least --frames frames (all receivers of the
// session pooled):
//   - mesh, 2 participants;
//   - SFU (MESH_MAX_PEERS=0), 2 and 4 participants;
//   - a broadcast viewer (the host on the stage, one viewer);
//   - the members of a mesh of 2 while a third joins and the room migrates
//     to the SFU (MESH_MAX_PEERS=2): every frame rendered between the
//     server's decision and the commit, against the same receivers' steady
//     median just before; beside it two floors with nothing migrating, in
//     the same run: the steady floor (the last stretch of each run's steady
//     window, as long as its migration window, at rest: one sender per
//     member, so fewer frames than the migration window, which also holds
//     the newcomer's; the frame counts are printed) and the join floor (a third joins a mesh of 2 that
//     stays a mesh, MESH_MAX_PEERS=3: every frame the members rendered in
//     a window as long as the migrations' median from the join answered;
//     a run of it after each migration run, so the load is alike); each
//     counts how many of its frames were the newcomer's;
//   - the baseline: the smallest possible mesh page (baselineMesh.ts: one
//     WebSocket relay, a raw RTCPeerConnection, no product code), 2 pages,
//     one session before each product path so the load is alike; pooled.
//     It plays its remote audio as a call page does (latencyProbe.ts); a
//     video-only row (the page as bench:mesh-join runs it) is beside it.
// Every page is a window of its own (a browser context each).
// A/V sync: the probe's microphone clicks at each whole second; each
// receiver reports, per click, (click onset - that second) - (latency of the
// first frame painted at or after that second): positive when audio lags.
// Goals printed beside the numbers: each product path within 1.2x the
// baseline's median or under 40 ms; no frame in a migration past 2x the
// steady median (the floors are printed beside it, not subtracted from it).
// Nothing is asserted: numbers are printed.

import { parseArgs } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { MigrationRecord } from '../../web/src/topology/MigrationRecord.js';
import { launchBrowser } from '../support/browser.js';
import { migrations } from '../support/migration.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';
import { startBaselineServer, type BaselineServer } from './baselineMesh.js';
import { latencyProbe, type ProbeFrame, type ProbeOnset } from './latencyProbe.js';
import { writeBenchResult, type LatencyResult, type LatencyRow, type LatencyWindows } from './report/results.js';
import { median, quantile } from './report/stats.js';

const { values } = parseArgs({
	options: { frames: { type: 'string', default: '300' }, 'migration-runs': { type: 'string', default: '3' }, verbose: { type: 'boolean', default: false }, json: { type: 'string' } },
});
const MIN_FRAMES = Math.max(50, Math.min(5000, Number(values.frames)));
const MIGRATION_RUNS = Math.max(0, Math.min(10, Number(values['migration-runs'])));
/** Frames from every sender each receiver must render before measuring (the call has settled). */
const WARMUP_FRAMES = 30;
/** Measured at least this long, so the A/V sync sees a few clicks. */
const MIN_WINDOW_MS = 6000;
const SESSION_LIMIT_MS = 60_000;
const MIGRATION_LIMIT_MS = 30_000;
const RATIO_GOAL = 1.2;
const ABSOLUTE_GOAL_MS = 40;
const MIGRATION_GOAL = 2;
/** The join floor records at least this long after the join (twice the longest migration window so far, when longer). */
const JOIN_SPAN_MIN_MS = 3000;

const PRODUCT_TILES = '[data-testid=remote-tile] video';
const BASELINE_TILES = 'video';

interface Measured {
	frames: ProbeFrame[];
	onsets: ProbeOnset[];
	misreads: number;
	/** Sender -> receiver video streams measured, and for how long: the frame rate the receivers rendered. */
	streams: number;
	seconds: number;
	/** The window measured (node's Date.now(): the pages' clock, on one machine). */
	from: number;
	to: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** --verbose: each session's start and end, on stderr. */
const progress = (line: string) => values.verbose && console.error(`${new Date().toISOString().slice(11, 23)} ${line}`);

async function probe(page: Page): Promise<Pick<Measured, 'frames' | 'onsets' | 'misreads'>> {
	return (await page.evaluate('({ frames: window.__latency.frames, onsets: window.__latency.onsets, misreads: window.__latency.misreads })')) as Pick<Measured, 'frames' | 'onsets' | 'misreads'>;
}

/** Per sender key, how many frames `page` has read. */
async function framesPerSender(page: Page, since = 0): Promise<Map<string, number>> {
	const counts = new Map<string, number>();
	for (const [key, at] of (await probe(page)).frames) if (at >= since) counts.set(key, (counts.get(key) ?? 0) + 1);
	return counts;
}

/**
 * Waits until each receiver has read WARMUP_FRAMES from each of `senders`
 * of its senders, then measures for at least MIN_WINDOW_MS and until the
 * receivers together read `minFrames` frames. Returns what they read in
 * the window (bounded by SESSION_LIMIT_MS; throws past it).
 */
async function measure(receivers: Page[], senders: number, minFrames: number): Promise<Measured> {
	const deadline = Date.now() + SESSION_LIMIT_MS;
	for (;;) {
		const counts = await Promise.all(receivers.map((p) => framesPerSender(p)));
		if (counts.every((c) => c.size >= senders && [...c.values()].every((n) => n >= WARMUP_FRAMES))) break;
		if (Date.now() > deadline) throw new Error(`receivers never rendered ${WARMUP_FRAMES} readable frames from ${senders} senders each`);
		await sleep(200);
	}
	const decodedBefore = await decodedFrames(receivers);
	const from = Date.now();
	for (;;) {
		await sleep(500);
		const total = (await Promise.all(receivers.map((p) => framesPerSender(p, from)))).reduce((sum, c) => sum + [...c.values()].reduce((a, b) => a + b, 0), 0);
		if (total >= minFrames && Date.now() - from >= MIN_WINDOW_MS) break;
		if (Date.now() > deadline) throw new Error(`only ${total} readable frames within ${SESSION_LIMIT_MS} ms`);
	}
	const to = Date.now();
	const decodedAfter = await decodedFrames(receivers);
	if (decodedBefore !== undefined && decodedAfter !== undefined) {
		progress(`  decoded ${((decodedAfter - decodedBefore) / ((to - from) / 1000) / (receivers.length * senders)).toFixed(1)} fps per stream (inbound-rtp framesDecoded)`);
	}
	const all = await Promise.all(receivers.map(probe));
	// Onsets are tagged with the receiver's index: keys (peer ids) repeat across receivers.
	return {
		frames: all.flatMap((m, i) => m.frames.filter(([, at]) => at >= from && at <= to).map(([key, at, painted]): ProbeFrame => [`${i}:${key}`, at, painted])),
		onsets: all.flatMap((m, i) => m.onsets.filter(([, at]) => at >= from && at <= to).map(([key, at]): ProbeOnset => [`${i}:${key}`, at])),
		misreads: all.reduce((sum, m) => sum + m.misreads, 0),
		streams: receivers.length * senders,
		seconds: (to - from) / 1000,
		from,
		to,
	};
}

/** --verbose, product pages: video frames the receivers decoded so far, all senders (undefined on the baseline page). */
async function decodedFrames(receivers: Page[]): Promise<number | undefined> {
	if (!values.verbose) return undefined;
	const counts = await Promise.all(receivers.map((p) => p.evaluate(async () => (window.__call ? (await window.__call.connectionStats()).reduce((sum, s) => sum + s.framesDecoded, 0) : undefined))));
	return counts.some((c) => c === undefined) ? undefined : counts.reduce((a: number, b) => a + (b as number), 0);
}

const latencies = (m: Measured) => m.frames.map(([, at, painted]) => at - painted);

/**
 * Per click heard: (onset - its whole second) - (latency of the first
 * frame from the same sender painted at or after that second).
 */
function avOffsets(m: Measured): number[] {
	const offsets: number[] = [];
	for (const [key, onset] of m.onsets) {
		const second = Math.floor(onset / 1000) * 1000;
		const frame = m.frames.filter(([k, , painted]) => k === key && painted >= second).sort((a, b) => a[2] - b[2])[0];
		if (!frame || frame[2] - second > 100) continue;
		offsets.push(onset - second - (frame[1] - frame[2]));
	}
	return offsets;
}

/** Opens `count` pages of the product in `room` (the first optionally with `&role=host`), each joined before the next. */
async function openProduct(windows: Windows, server: RunningServer, room: string, count: number, hostFirst = false): Promise<Page[]> {
	const pages: Page[] = [];
	for (let i = 0; i < count; i++) {
		const page = await windows.newPage();
		await page.goto(`${server.url}/?room=${room}&name=P${i}${hostFirst && i === 0 ? '&role=host' : ''}`);
		await page.waitForFunction(() => window.__call?.peerId !== undefined && window.__call.mediaMode !== undefined, undefined, { timeout: 30_000 });
		await page.evaluate(`window.__latency.watch(${JSON.stringify(PRODUCT_TILES)})`);
		pages.push(page);
	}
	return pages;
}

/**
 * Opens a session's pages, each in a browser context of its own: its own
 * window, as each participant has. Pages sharing a context are tabs of one
 * window: on this machine the tabs behind ran about one animation frame a
 * second, and the product's tiles there rendered a frame in several.
 */
interface Windows {
	newPage(): Promise<Page>;
}

async function withWindows<T>(browser: Browser, run: (windows: Windows) => Promise<T>, playRemoteAudio = false): Promise<T> {
	const contexts: BrowserContext[] = [];
	try {
		return await run({
			newPage: async () => {
				const context = await browser.newContext();
				contexts.push(context);
				await context.addInitScript(latencyProbe({ playRemoteAudio }));
				return context.newPage();
			},
		});
	} finally {
		for (const context of contexts) await context.close();
	}
}

function product(browser: Browser, server: RunningServer, room: string, size: number): Promise<Measured> {
	return withWindows(browser, async (windows) => measure(await openProduct(windows, server, room, size), size - 1, MIN_FRAMES));
}

/** Two baseline pages; `playRemoteAudio`: each plays the other's audio, as a call page does (see latencyProbe.ts). */
function baseline(browser: Browser, server: BaselineServer, room: string, playRemoteAudio: boolean): Promise<Measured> {
	return withWindows(browser, async (windows) => {
		const pages: Page[] = [];
		for (let i = 0; i < 2; i++) {
			const page = await windows.newPage();
			await page.goto(`${server.url}/?room=${room}`);
			await page.waitForFunction(() => (window as unknown as { __ready?: boolean }).__ready === true, undefined, { timeout: 30_000 });
			await page.evaluate(`window.__latency.watch(${JSON.stringify(BASELINE_TILES)})`);
			pages.push(page);
		}
		return measure(pages, 1, MIN_FRAMES);
	}, playRemoteAudio);
}

async function broadcastViewer(browser: Browser, server: RunningServer, room: string): Promise<Measured> {
	const created = await fetch(`${server.url}/api/rooms`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ roomId: room, settings: { kind: 'broadcast' } }),
	});
	if (created.status !== 201) throw new Error(`creating the broadcast room: HTTP ${created.status}`);
	return withWindows(browser, async (windows) => {
		const [, viewer] = await openProduct(windows, server, room, 2, true);
		return measure([viewer as Page], 1, MIN_FRAMES);
	});
}

/** The frames the members rendered in one window of one run, against their steady median before the third joined. */
interface WindowSample {
	run: number;
	/** Latencies of the frames each member rendered in the window. */
	during: number[];
	/** How many of them were the third participant's (a sender the member did not render in its steady window). */
	fromNewcomer: number;
	steadyMedianMs: number;
	windowMs: number;
	/** Where the window is not what its kind asks for. */
	note?: string;
}

/** One migration run: its window from the decision to the commit, and its steady floor. */
interface MigrationSample {
	migration: WindowSample;
	steadyFloor: WindowSample;
}

/** Two members in a mesh, measured steady; then a third opens the room's link (its join is not waited for). */
async function thirdJoins(windows: Windows, server: RunningServer, room: string): Promise<{ members: Page[]; steady: Measured; third: Page }> {
	const members = await openProduct(windows, server, room, 2);
	const steady = await measure(members, 1, MIN_FRAMES / 2);
	const third = await windows.newPage();
	await third.goto(`${server.url}/?room=${room}&name=P2`);
	return { members, steady, third };
}

/**
 * Each frame the members rendered inside their window (`window(i)` for
 * member i, both ends included), as [receivedAt, latency, the newcomer's]:
 * the newcomer's are those of a sender the member did not render while
 * `steady` was measured.
 */
async function framesIn(members: Page[], steady: Measured, window: (member: number) => [from: number, to: number]): Promise<Array<[at: number, ms: number, fromNewcomer: boolean]>> {
	const existing = new Set(steady.frames.map(([key]) => key));
	const frames: Array<[number, number, boolean]> = [];
	for (const [i, page] of members.entries()) {
		const [from, to] = window(i);
		for (const [key, at, painted] of (await probe(page)).frames) if (at >= from && at <= to) frames.push([at, at - painted, !existing.has(`${i}:${key}`)]);
	}
	return frames;
}

/** Two in a mesh, measured steady; a third joins past MESH_MAX_PEERS=2 and the room migrates to the SFU. */
async function migration(browser: Browser, server: RunningServer, room: string, run: number): Promise<MigrationSample> {
	return withWindows(browser, async (windows) => {
		const { members, steady } = await thirdJoins(windows, server, room);
		const steadyMedianMs = median(latencies(steady));
		const deadline = Date.now() + MIGRATION_LIMIT_MS;
		let records: Array<MigrationRecord | undefined> = [];
		while (Date.now() < deadline) {
			records = await Promise.all(members.map(async (p) => (await migrations(p)).find((r) => r.target === 'sfu' && r.endedAt !== undefined)));
			if (records.every((r) => r !== undefined)) break;
			await sleep(100);
		}
		if (!records.every((r) => r !== undefined)) throw new Error(`the migration did not end within ${MIGRATION_LIMIT_MS} ms`);
		if (records.some((r) => r.result !== 'committed')) throw new Error('the migration was aborted');
		// Frames rendered just before the commit may still be on their way to the page's log.
		await sleep(300);
		const ended = records as MigrationRecord[];
		const frames = await framesIn(members, steady, (i) => [(ended[i] as MigrationRecord).decidedAt, (ended[i] as MigrationRecord).endedAt as number]);
		const during = frames.map(([, ms]) => ms);
		const fromNewcomer = frames.filter(([, , newcomer]) => newcomer).length;
		const windowMs = Math.max(0, ...ended.map((r) => (r.endedAt as number) - r.decidedAt));
		return { migration: { run, during, fromNewcomer, steadyMedianMs, windowMs }, steadyFloor: steadySlice(steady, steadyMedianMs, windowMs, run) };
	});
}

/**
 * A run's steady floor: the frames of the last `windowMs` of its steady
 * measurement, so the worst of the migration window's frames is set
 * against the worst of a window as long at rest (fewer frames: the
 * newcomer's are not there; the whole steady window when it is shorter,
 * and a note saying so).
 */
function steadySlice(steady: Measured, steadyMedianMs: number, windowMs: number, run: number): WindowSample {
	const from = Math.max(steady.from, steady.to - windowMs);
	const sample: WindowSample = { run, during: steady.frames.filter(([, at]) => at >= from).map(([, at, painted]) => at - painted), fromNewcomer: 0, steadyMedianMs, windowMs: steady.to - from };
	if (steady.to - steady.from < windowMs) sample.note = `the steady window (${(steady.to - steady.from).toFixed(0)} ms) is shorter than the migration's (${windowMs.toFixed(0)} ms): used whole`;
	return sample;
}

/** A join floor run as recorded; cut to the migrations' median window once every run is done. */
interface JoinRecording {
	run: number;
	/** [receivedAt, latency, the newcomer's] of each frame the members rendered from the join answered to spanMs after it. */
	frames: Array<[at: number, ms: number, fromNewcomer: boolean]>;
	/** The third page's clock when its join was answered (the first animation frame that saw its peer id). */
	joinedAt: number;
	spanMs: number;
	steadyMedianMs: number;
}

/**
 * The join floor: two in a mesh, measured steady; a third joins and the
 * room stays a mesh (the server's MESH_MAX_PEERS is 3). Records every
 * frame the members rendered for `spanMs` after the third's join was
 * answered; throws if the room migrated anyway.
 */
async function joinWithoutMigration(browser: Browser, server: RunningServer, room: string, run: number, spanMs: number): Promise<JoinRecording> {
	return withWindows(browser, async (windows) => {
		const { members, steady, third } = await thirdJoins(windows, server, room);
		const answered = await third.waitForFunction(() => window.__call?.peerId !== undefined && Date.now(), undefined, { timeout: 30_000 });
		const joinedAt = (await answered.jsonValue()) as number;
		// Frames rendered at the end of the span may still be on their way to the page's log.
		await sleep(Math.max(0, joinedAt + spanMs - Date.now()) + 300);
		for (const page of members) if ((await migrations(page)).length > 0) throw new Error('the room migrated: the join floor needs a mesh of 3');
		const frames = await framesIn(members, steady, () => [joinedAt, joinedAt + spanMs]);
		return { run, frames, joinedAt, spanMs, steadyMedianMs: median(latencies(steady)) };
	});
}

/** How long a join floor run records: twice the longest migration window so far (JOIN_SPAN_MIN_MS at least), bounded. */
function joinSpanMs(samples: readonly MigrationSample[]): number {
	const longest = Math.max(0, ...samples.map((s) => s.migration.windowMs));
	return Math.round(Math.min(MIGRATION_LIMIT_MS, Math.max(JOIN_SPAN_MIN_MS, 2 * longest)));
}

/** A join floor run cut to `windowMs` from the join answered (all it recorded when that is shorter, or when there is no window to match). */
function joinSlice(recording: JoinRecording, windowMs: number): WindowSample {
	const usable = Number.isFinite(windowMs) ? Math.min(windowMs, recording.spanMs) : recording.spanMs;
	const inWindow = recording.frames.filter(([at]) => at <= recording.joinedAt + usable);
	const sample: WindowSample = {
		run: recording.run,
		during: inWindow.map(([, ms]) => ms),
		fromNewcomer: inWindow.filter(([, , newcomer]) => newcomer).length,
		steadyMedianMs: recording.steadyMedianMs,
		windowMs: usable,
	};
	if (!Number.isFinite(windowMs)) sample.note = `no migration window to match: all ${recording.spanMs} ms recorded`;
	else if (recording.spanMs < windowMs) sample.note = `recorded ${recording.spanMs} ms after the join, shorter than the migrations' median window (${windowMs.toFixed(0)} ms)`;
	return sample;
}

/** One kind of window over the runs: each frame, and each run's worst, against its run's steady median. */
function windowsOf(samples: readonly WindowSample[], runs: number, failures: string[]): LatencyWindows {
	const all = samples.flatMap((s) => s.during);
	const runRatios = samples.map((s) => (s.during.length ? Math.max(...s.during) / s.steadyMedianMs : NaN));
	const worst = runRatios.filter(Number.isFinite);
	return {
		runsDone: samples.length,
		runs,
		frames: all.length,
		newcomerFrames: samples.reduce((sum, s) => sum + s.fromNewcomer, 0),
		medianMs: median(all),
		p95Ms: quantile(all, 0.95),
		steadyMedianMs: median(samples.map((s) => s.steadyMedianMs)),
		windowMs: samples.map((s) => s.windowMs),
		p95Ratio: quantile(samples.flatMap((s) => s.during.map((ms) => ms / s.steadyMedianMs)), 0.95),
		runRatios,
		maxRatio: worst.length ? Math.max(...worst) : NaN,
		notes: samples.flatMap((s) => (s.note ? [`run ${s.run}: ${s.note}`] : [])),
		failures,
	};
}

interface PathOutcome {
	label: string;
	measured: Measured[];
	failures: string[];
}

function row(path: PathOutcome, baselineMedian: number): LatencyRow {
	const all = path.measured.flatMap(latencies);
	const medianMs = median(all);
	const ratio = medianMs / baselineMedian;
	return {
		path: path.label,
		frames: all.length,
		medianMs,
		p95Ms: quantile(all, 0.95),
		ratio,
		goalMet: all.length > 0 && (ratio <= RATIO_GOAL || medianMs < ABSOLUTE_GOAL_MS),
		avOffsetsMs: path.measured.flatMap(avOffsets),
		misreads: path.measured.reduce((sum, m) => sum + m.misreads, 0),
		fps: path.measured.reduce((sum, m) => sum + m.frames.length, 0) / path.measured.reduce((sum, m) => sum + m.streams * m.seconds, 0),
		failures: path.failures,
	};
}

/** The migration row and its floors: the join floor cut to the median of the migration windows. */
function migrationOf(samples: readonly MigrationSample[], joins: readonly JoinRecording[], migrationFailures: string[], joinFailures: string[]): LatencyResult['migration'] {
	const during = windowsOf(samples.map((s) => s.migration), MIGRATION_RUNS, migrationFailures);
	const steadyFloor = windowsOf(samples.map((s) => s.steadyFloor), MIGRATION_RUNS, []);
	const windowMs = median(during.windowMs);
	const joinFloor = windowsOf(joins.map((j) => joinSlice(j, windowMs)), MIGRATION_RUNS, joinFailures);
	return { ...during, goalMet: during.frames > 0 && during.maxRatio <= MIGRATION_GOAL, steadyFloor, joinFloor, vsJoinFloor: during.maxRatio / joinFloor.maxRatio };
}

function fmt(n: number, digits = 0): string {
	return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

/** The migration table: the migration, then its floors, and the goal with the floors beside it. */
function printMigration(m: LatencyResult['migration']): void {
	const line = (kind: string, w: LatencyWindows, goal: string) =>
		[
			kind,
			`${w.runsDone}/${w.runs}`,
			w.windowMs.map((ms) => fmt(ms)).join(', ') || '-',
			`${w.frames}${w.newcomerFrames ? ` (${w.newcomerFrames} the 3rd's)` : ''}`,
			fmt(w.medianMs),
			fmt(w.p95Ms),
			fmt(w.steadyMedianMs),
			fmt(w.p95Ratio, 2),
			`${fmt(w.maxRatio, 2)} (${w.runRatios.map((r) => fmt(r, 2)).join(', ') || '-'})`,
			goal,
			[...w.notes, ...w.failures].join('; ') || '-',
		].join(' | ');
	console.log('');
	console.log(`migration mesh -> sfu (2 members, a 3rd joins past MESH_MAX_PEERS=2): every frame the members rendered from the server's decision to the commit; goal: none past ${MIGRATION_GOAL}x the steady median`);
	console.log('floors, nothing migrating: steady = the last window ms of each run\'s steady measurement; join = a 3rd joins a mesh that stays a mesh (MESH_MAX_PEERS=3), every frame the members rendered in the median migration window from the join answered');
	console.log('window | runs done | window ms | frames | median ms | p95 ms | steady median ms | p95 / steady median | worst / steady median, max (per run) | goal met | notes');
	console.log(line('migration (decision -> commit)', m, m.goalMet ? 'yes' : 'NO'));
	console.log(line('steady floor', m.steadyFloor, '-'));
	console.log(line('join floor', m.joinFloor, '-'));
	console.log(
		`goal (no frame past ${MIGRATION_GOAL}x the steady median): ${m.goalMet ? 'met' : 'NOT met'}, worst ${fmt(m.maxRatio, 2)}x; with nothing migrating the worst was ${fmt(m.steadyFloor.maxRatio, 2)}x at rest and ${fmt(m.joinFloor.maxRatio, 2)}x through a join; migration worst / join floor worst: ${fmt(m.vsJoinFloor, 2)}`,
	);
}

async function main(): Promise<void> {
	const mesh = await startServer();
	const sfu = await startServer({ MESH_MAX_PEERS: '0' });
	const bare = await startBaselineServer();
	let migrating: RunningServer | undefined;
	let staying: RunningServer | undefined;
	const browser = await launchBrowser({ extraArgs: ['--autoplay-policy=no-user-gesture-required'] });
	const base: PathOutcome = { label: 'baseline (raw RTCPeerConnection, 2, audio played)', measured: [], failures: [] };
	const videoOnly: PathOutcome = { label: 'baseline, video only (audio not played)', measured: [], failures: [] };
	const paths: Array<PathOutcome & { run: (room: string) => Promise<Measured> }> = [
		{ label: 'mesh (2)', measured: [], failures: [], run: (room) => product(browser, mesh, room, 2) },
		{ label: 'sfu (2)', measured: [], failures: [], run: (room) => product(browser, sfu, room, 2) },
		{ label: 'sfu (4)', measured: [], failures: [], run: (room) => product(browser, sfu, room, 4) },
		{ label: 'broadcast viewer', measured: [], failures: [], run: (room) => broadcastViewer(browser, mesh, room) },
	];
	const samples: MigrationSample[] = [];
	const migrationFailures: string[] = [];
	const joins: JoinRecording[] = [];
	const joinFailures: string[] = [];
	const attempt = async (outcome: PathOutcome, run: () => Promise<Measured>) => {
		progress(`${outcome.label}: starting`);
		try {
			const measured = await run();
			outcome.measured.push(measured);
			progress(`${outcome.label}: ${measured.frames.length} frames, ${measured.onsets.length} clicks, ${measured.misreads} misreads`);
		} catch (error) {
			outcome.failures.push((error as Error).message.split('\n')[0] as string);
			progress(`${outcome.label}: failed: ${(error as Error).message}`);
		}
	};
	try {
		for (const [i, path] of paths.entries()) {
			// Interleaved: a baseline session before each product path, under a like load.
			await attempt(base, () => baseline(browser, bare, `bench-latency-base-${i}`, true));
			// And, every other path, the baseline as the join bench runs it: remote audio never played.
			if (i % 2 === 0) await attempt(videoOnly, () => baseline(browser, bare, `bench-latency-video-${i}`, false));
			await attempt(path, () => path.run(`bench-latency-${i}`));
		}
		migrating = await startServer({ MESH_MAX_PEERS: '2', MESH_MIN_PEERS: '2' });
		staying = await startServer({ MESH_MAX_PEERS: '3', MESH_MIN_PEERS: '2' });
		// Interleaved: a join floor run after each migration run, under a like load.
		for (let run = 0; run < MIGRATION_RUNS; run++) {
			progress(`migration run ${run}: starting`);
			try {
				samples.push(await migration(browser, migrating, `bench-latency-migrate-${run}`, run));
				progress(`migration run ${run}: ${(samples.at(-1) as MigrationSample).migration.windowMs} ms window`);
			} catch (error) {
				migrationFailures.push(`run ${run}: ${(error as Error).message.split('\n')[0]}`);
				progress(`migration run ${run}: failed: ${(error as Error).message}`);
			}
			const spanMs = joinSpanMs(samples);
			progress(`join floor run ${run}: starting (${spanMs} ms recorded after the join)`);
			try {
				joins.push(await joinWithoutMigration(browser, staying, `bench-latency-join-${run}`, run, spanMs));
			} catch (error) {
				joinFailures.push(`run ${run}: ${(error as Error).message.split('\n')[0]}`);
				progress(`join floor run ${run}: failed: ${(error as Error).message}`);
			}
		}
	} finally {
		await browser.close();
		await Promise.all([mesh.stop(), sfu.stop(), bare.close(), migrating?.stop(), staying?.stop()]);
	}

	const baseAll = base.measured.flatMap(latencies);
	const baseMedian = median(baseAll);
	const baseRow = row(base, baseMedian);
	const videoOnlyRow = row(videoOnly, baseMedian);
	const rows = paths.map((p) => row(p, baseMedian));
	console.log(`latency: glass to glass (canvas painted with Date.now() -> frame rendered at the receiver), ms; goal: within ${RATIO_GOAL}x the baseline's median or under ${ABSOLUTE_GOAL_MS} ms`);
	console.log('path | frames | median ms | p95 ms | baseline median | ratio | goal met | notes');
	for (const r of [baseRow, videoOnlyRow, ...rows]) {
		const notes = [`${fmt(r.fps)} fps rendered per stream`, r.misreads ? `${r.misreads} misread frames rejected` : '', r.failures.length ? `failed: ${r.failures.join('; ')}` : ''].filter(Boolean).join('; ') || '-';
		const goal = r === baseRow || r === videoOnlyRow ? '-' : r.goalMet ? 'yes' : 'NO';
		console.log(`${r.path} | ${r.frames} | ${fmt(r.medianMs)} | ${fmt(r.p95Ms)} | ${fmt(baseMedian)} | ${fmt(r.ratio, 2)} | ${goal} | ${notes}`);
	}

	const migrationRow = migrationOf(samples, joins, migrationFailures, joinFailures);
	printMigration(migrationRow);

	console.log('');
	console.log('A/V sync: per click, audio latency - video latency of the frame painted at that second, ms (positive: audio behind video)');
	console.log('path | clicks | median ms | min ms | max ms');
	for (const r of [baseRow, ...rows]) {
		const o = r.avOffsetsMs;
		console.log(`${r.path} | ${o.length} | ${fmt(median(o))} | ${o.length ? Math.min(...o).toFixed(0) : '-'} | ${o.length ? Math.max(...o).toFixed(0) : '-'}`);
	}

	const result: LatencyResult = { bench: 'latency', minFrames: MIN_FRAMES, baseline: baseRow, videoOnlyBaseline: videoOnlyRow, rows, migration: migrationRow };
	writeBenchResult(values.json, result);
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});

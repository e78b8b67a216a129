// npm run bench [-- --quick --no-soak --out docs]
//
// Every bench, one after the other, at moderate sizes (the whole run fits in
// about 15 minutes on 2 cores), then docs/benchmarks.md and its charts
// (docs/benchmarks/*.svg, drawn by report/svgChart.ts) from what they
// measured, with the machine they ran on. Each bench runs as its own process,
// exactly as its `npm run bench:*` script runs it, with `--json <file>`: it
// prints what it always prints (echoed here, and folded into the report) and
// writes its numbers for the report. A bench that fails is reported as
// such; the others still run.
//
// Sizes: signaling 5,000 sockets at four request rates (8 s windows);
// mesh-join 5 runs; sfu 100 to 1,000 consumers; broadcast at 500, 1,000 and
// 1,500 viewers (5 browser joins per side at the largest); migration 5 runs
// of mesh -> sfu -> mesh and 2 of 5 peers; latency 300 frames per path and
// 3 migrations; soak at its default size, 2,000
// signaling and 200 SFU cycles (--no-soak leaves it out).
// --quick: tiny sizes, for trying the report itself. --out: where
// benchmarks.md and benchmarks/ go (default docs).
//
// Needs the build (`npm run bench` runs `npm run build` first); starts
// servers and Chromium, so run it alone: `flock /tmp/browser.lock npm run bench`.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../support/serverProcess.js';
import { broadcastChart, joinChart, migrationChart, sfuChart, signalingChart, type Chart } from './report/charts.js';
import { describeMachine } from './report/machine.js';
import { renderReport, type BenchRun, type Report } from './report/markdown.js';
import type { BenchResult, BroadcastResult, LatencyResult, MeshJoinResult, MigrationResult, SfuResult, SignalingResult, SoakResult } from './report/results.js';

const { values } = parseArgs({
	options: {
		quick: { type: 'boolean', default: false },
		'no-soak': { type: 'boolean', default: false },
		out: { type: 'string', default: 'docs' },
	},
});
const QUICK = values.quick;
/** One bench process past this is stopped (its process group), and reported as failed. */
const BENCH_TIMEOUT_MS = 8 * 60_000;
/** A bench told to stop gets this long to close its servers and browsers; then whatever is left of its group is killed. */
const STOP_GRACE_MS = 10_000;

/** Each bench's arguments at this run's sizes. */
const sizes = QUICK
	? {
			signalingClients: 200,
			signalingRates: [200, 800],
			signaling: ['--seconds', '3', '--warmup', '1', '--idle-seconds', '1'],
			meshJoin: ['--runs', '1'],
			sfu: ['--step', '200', '--max', '400', '--seconds', '2'],
			broadcastViewers: [200, 400],
			broadcast: ['--seconds', '2', '--rounds', '1'],
			broadcastBrowserRuns: 1,
			migration: ['--runs', '1', '--runs-large', '0'],
			latency: ['--frames', '100', '--migration-runs', '1'],
			soak: ['--signaling', '40', '--sfu', '6', '--max-seconds', '60'],
		}
	: {
			signalingClients: 5000,
			signalingRates: [1000, 2000, 4000, 8000],
			signaling: ['--seconds', '8', '--warmup', '2', '--idle-seconds', '2'],
			meshJoin: ['--runs', '5'],
			sfu: ['--step', '100', '--max', '1000', '--seconds', '5'],
			broadcastViewers: [500, 1000, 1500],
			broadcast: ['--seconds', '5', '--rounds', '2'],
			broadcastBrowserRuns: 5,
			migration: ['--runs', '5', '--runs-large', '2'],
			latency: ['--frames', '300', '--migration-runs', '3'],
			soak: ['--signaling', '2000', '--sfu', '200', '--max-seconds', '120'],
		};

const workDir = mkdtempSync(join(tmpdir(), 'bench-all-'));
let sequence = 0;

/** A bench process and its end (its output read to the last byte). */
interface Running {
	child: ChildProcess;
	closed: Promise<number | null>;
}
/** This run: benches one after another (a Ctrl-C or SIGTERM stops the one running), or stopping (none starts then). */
let run: { state: 'running'; bench: Running | undefined } | { state: 'stopping' } = { state: 'running', bench: undefined };
/** Read through a call: a signal handler may have changed `run` across an await (the compiler's narrowing cannot see that). */
const stopping = (): boolean => run.state === 'stopping';

/** Thrown by runBench once the run is stopping: nothing after it runs, no report is written. */
class Interrupted extends Error {}

/** Sends `signal` to the bench's process group: everything it started but its browsers (those have their own group, and close on its SIGTERM). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
	try {
		process.kill(-(child.pid as number), signal);
	} catch {
		// Already gone.
	}
}

/** Stops a bench and what it started: SIGTERM, time to close its servers and browsers, then SIGKILL to whatever is left of its group. */
async function stopBench({ child, closed }: Running): Promise<void> {
	signalGroup(child, 'SIGTERM');
	let timer: ReturnType<typeof setTimeout> | undefined;
	await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))]);
	clearTimeout(timer);
	signalGroup(child, 'SIGKILL');
}

// Each bench runs in its own process group (so a timeout stops all of it), out of reach of the terminal's Ctrl-C: pass it on.
// Once stopping, a second signal (tsx relays the terminal's too) waits for the same end: at most STOP_GRACE_MS.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
	process.on(signal, () => {
		if (run.state === 'stopping') return;
		const { bench } = run;
		run = { state: 'stopping' };
		console.error(`\nbench: ${signal}, stopping${bench ? ' the bench running' : ''}`);
		void (bench ? stopBench(bench) : Promise.resolve()).finally(() => {
			rmSync(workDir, { recursive: true, force: true });
			process.exit(signal === 'SIGINT' ? 130 : 143);
		});
	});
}

/** Runs test/bench/<file> as its npm script does, echoing its output; its result file read back. */
async function runBench<R extends BenchResult>(name: string, file: string, args: string[], nodeArgs: string[] = []): Promise<BenchRun<R>> {
	if (run.state === 'stopping') throw new Interrupted();
	const jsonFile = join(workDir, `${++sequence}-${name}.json`);
	const command = `tsx test/bench/${file} ${args.join(' ')}`.trim();
	console.log(`\n=== ${name}: ${command}`);
	const started = performance.now();
	const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join('test/bench', file), ...args, '--json', jsonFile], {
		cwd: projectRoot,
		stdio: ['ignore', 'pipe', 'pipe'],
		// Its own process group: a bench past its time is stopped with everything it started.
		detached: true,
	});
	let output = '';
	child.stdout.on('data', (chunk: Buffer) => {
		process.stdout.write(chunk);
		output += chunk.toString();
	});
	child.stderr.on('data', (chunk: Buffer) => {
		process.stderr.write(chunk);
		output += chunk.toString();
	});
	// 'close', not 'exit': the last of its output is read by then.
	const running: Running = { child, closed: new Promise((resolve) => child.once('close', (code) => resolve(code))) };
	run = { state: 'running', bench: running };
	const timer = setTimeout(() => {
		output += `\n(stopped: over ${BENCH_TIMEOUT_MS / 60_000} min)\n`;
		void stopBench(running);
	}, BENCH_TIMEOUT_MS);
	const exitCode = await running.closed;
	clearTimeout(timer);
	// Stopped by a signal: no report from a part of the run (this may have been the last bench).
	if (stopping()) throw new Interrupted();
	run = { state: 'running', bench: undefined };
	let result: R | undefined;
	try {
		result = JSON.parse(readFileSync(jsonFile, 'utf8')) as R;
	} catch {
		result = undefined;
	}
	return { name, command, seconds: (performance.now() - started) / 1000, exitCode, result, output };
}

/** The chart, unless the bench wrote nothing to draw it from. */
function chartOf<T>(input: T | undefined, draw: (input: T) => Chart): Chart | undefined {
	return input === undefined ? undefined : draw(input);
}

async function main(): Promise<void> {
	try {
		await benchAll();
	} finally {
		rmSync(workDir, { recursive: true, force: true });
	}
}

async function benchAll(): Promise<void> {
	const started = performance.now();
	const machine = describeMachine(projectRoot);
	const meshJoin = await runBench<MeshJoinResult>('mesh-join', 'mesh-join.ts', sizes.meshJoin);
	const migration = await runBench<MigrationResult>('migration', 'migration.ts', sizes.migration);
	const latency = await runBench<LatencyResult>('latency', 'latency.ts', sizes.latency);
	const sfu = await runBench<SfuResult>('sfu', 'sfu.ts', sizes.sfu);
	const broadcast: Array<BenchRun<BroadcastResult>> = [];
	for (const [i, viewers] of sizes.broadcastViewers.entries()) {
		// The browser joins once, at the largest audience.
		const browserRuns = i === sizes.broadcastViewers.length - 1 ? sizes.broadcastBrowserRuns : 0;
		broadcast.push(await runBench('broadcast', 'broadcast.ts', ['--viewers', String(viewers), ...sizes.broadcast, '--browser-runs', String(browserRuns)]));
	}
	const signaling: Array<BenchRun<SignalingResult>> = [];
	for (const rate of sizes.signalingRates) {
		signaling.push(await runBench('signaling', 'signaling.ts', ['--clients', String(sizes.signalingClients), '--rate', String(rate), ...sizes.signaling]));
	}
	const soak = values['no-soak'] ? undefined : await runBench<SoakResult>('soak', 'soak.ts', sizes.soak, ['--expose-gc']);

	const signalingResults = signaling.map((s) => s.result).filter((r) => r !== undefined);
	const broadcastResults = broadcast.map((b) => b.result).filter((r) => r !== undefined);
	const charts: Report['charts'] = {
		migration: chartOf(migration.result?.timeline, migrationChart),
		sfu: chartOf(sfu.result, sfuChart),
		broadcast: chartOf(broadcastResults.length ? broadcastResults : undefined, broadcastChart),
		signaling: chartOf(signalingResults.length ? signalingResults : undefined, signalingChart),
		join: chartOf(meshJoin.result, joinChart),
	};
	const report: Report = { machine, totalSeconds: (performance.now() - started) / 1000, signaling, meshJoin, sfu, broadcast, migration, latency, soak, charts };

	const out = resolve(projectRoot, values.out);
	const chartDir = join(out, 'benchmarks');
	mkdirSync(chartDir, { recursive: true });
	for (const chart of Object.values(charts)) {
		if (chart) writeFileSync(join(chartDir, chart.file), chart.svg);
	}
	const results = [meshJoin, migration, latency, sfu, ...broadcast, ...signaling, ...(soak ? [soak] : [])].map(({ output: _output, ...rest }) => rest);
	writeFileSync(join(chartDir, 'results.json'), `${JSON.stringify({ machine, results }, null, 2)}\n`);
	writeFileSync(join(out, 'benchmarks.md'), renderReport(report));

	const failed = [meshJoin, migration, latency, sfu, ...broadcast, ...signaling, ...(soak ? [soak] : [])].filter((r) => r.result === undefined);
	console.log(
		`\nbench: ${relative(projectRoot, join(out, 'benchmarks.md'))} and ${Object.values(charts).filter(Boolean).length} charts written in ${(report.totalSeconds / 60).toFixed(1)} min` +
			(failed.length ? `; no result from: ${failed.map((f) => f.name).join(', ')}` : ''),
	);
	process.exitCode = failed.length ? 1 : 0;
}

main().catch((error: unknown) => {
	// Stopped by a signal: its handler exits once the bench running is down.
	if (error instanceof Interrupted) return;
	console.error(error);
	process.exit(1);
});

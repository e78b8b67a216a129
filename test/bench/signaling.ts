// npm run bench:signaling [-- --clients 5000 --rate 2000 --seconds 20 --nodes 1|2 --placement room|spread
//                            --warmup 3 --idle-seconds 5 --generators N --profile --heap-profile --profile-seconds 10
//                            --json <file>]
//
// The built server (`npm run build:server`, which the npm script runs) in a
// process of its own per node, on loopback. N WebSocket clients in rooms of
// 5 (kept on the mesh: MESH_MAX_PEERS is the room size, as `signal` is mesh
// signaling) join, then send `signal` requests at a sustained rate to random
// roommates, each answered by the server and relayed to the roommate as a
// notification. Printed for the measured window (after --warmup): the
// sockets held, round-trip p50/p90/p95/p99/max, errors, and the server's CPU
// per request answered: its processes' user + system time from
// /proc/<pid>/stat over the window, heartbeats and all, divided by the
// requests answered in it; and the same beyond what the server takes idle
// while holding the sockets (an --idle-seconds window with no requests:
// mostly the heartbeat's pings). Beside it: each node's event-loop delay and
// GC (from its own /metrics), the load generators' CPU and event-loop delay,
// Redis's CPU, and the whole machine's.
//
// --nodes 2: a redis-server on a free loopback port and two nodes sharing
// rooms through it (cluster.redisUrl, NODE_ID n0 and n1). A room lives on
// the node that claims it first; a client whose socket is on the other node
// is relayed to it over Redis pub/sub. --placement room (default): every
// client of room i connects to node i % 2, so the room's traffic stays on
// one node. --placement spread: member k of room i connects to node
// (i + k) % 2, so every room has members on both and some of its traffic is
// relayed.
//
// --profile: after the measured window, a second one of --profile-seconds
// with each node's V8 sampling profiler on (the inspector, bound to
// 127.0.0.1, over its WebSocket); prints where each node's CPU went: self
// time by area (socket syscalls, ws framing, JSON, zod, metrics, queue,
// logging, fan-out, Redis, GC, ...), time by stage (inclusive) and the top
// functions, each as a share of the samples and that share of the node's
// CPU per request; the profile is saved as a .cpuprofile (DevTools opens
// it). The profiler costs CPU itself: the measured window's numbers are the
// ones without it. --heap-profile: likewise, the JS heap allocated per
// request and where (the sampling heap profiler, collected objects counted).
//
// The clients live in load-generator processes (test/bench/signaling-load.ts),
// as many as it takes to stay under the open-file limit (or --generators),
// each holding whole rooms; they speak raw JSON (no validation) so their CPU
// stays small next to the server's. One node holds at most the open-file
// limit's worth of sockets (a little under `ulimit -n`). Loopback only;
// every loop is bounded. --json <file>: the measured window's numbers also
// as JSON (report/results.ts), for `npm run bench`.

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freeTcpPort } from '../support/ports.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { childPids, startServer, type RunningServer } from '../support/serverProcess.js';
import { machineCpuMs, processCpuMs } from './procStat.js';
import { InspectorProfiler, printProfile, summarizeHeap, summarizeProfile } from './cpuProfile.js';
import type { FromGenerator, RunResult, SocketPlan, ToGenerator } from './signaling-load.js';
import { writeBenchResult } from './report/results.js';

const { values } = parseArgs({
	options: {
		clients: { type: 'string', default: '5000' },
		rate: { type: 'string', default: '2000' },
		seconds: { type: 'string', default: '20' },
		'room-size': { type: 'string', default: '5' },
		nodes: { type: 'string', default: '1' },
		placement: { type: 'string', default: 'room' },
		warmup: { type: 'string', default: '3' },
		'idle-seconds': { type: 'string', default: '5' },
		generators: { type: 'string' },
		profile: { type: 'boolean', default: false },
		'heap-profile': { type: 'boolean', default: false },
		'profile-seconds': { type: 'string', default: '10' },
		json: { type: 'string' },
	},
});
const CLIENTS = Math.max(2, Math.min(100_000, Number(values.clients)));
const RATE = Math.max(1, Math.min(50_000, Number(values.rate)));
const SECONDS = Math.max(1, Math.min(300, Number(values.seconds)));
const WARMUP = Math.max(0, Math.min(60, Number(values.warmup)));
const IDLE_SECONDS = Math.max(0, Math.min(60, Number(values['idle-seconds'])));
const ROOM_SIZE = Math.max(2, Math.min(50, Number(values['room-size'])));
const NODES = Math.max(1, Math.min(2, Number(values.nodes)));
const PLACEMENT = values.placement === 'spread' ? 'spread' : 'room';
const PROFILE_SECONDS = Math.max(1, Math.min(120, Number(values['profile-seconds'])));
const CONNECT_BATCH = 250;


/** This process's soft open-file limit (children inherit it). */
function openFileLimit(): number {
	const line = readFileSync('/proc/self/limits', 'utf8')
		.split('\n')
		.find((l) => l.startsWith('Max open files'));
	const soft = Number(line?.split(/\s{2,}/)[1]);
	return Number.isFinite(soft) ? soft : 1024;
}



/** The server's /metrics as series -> value (`name{labels}` as printed). */
async function scrape(server: RunningServer): Promise<Map<string, number>> {
	const text = await (await fetch(`${server.url}/metrics`)).text();
	const series = new Map<string, number>();
	for (const line of text.split('\n')) {
		if (line.startsWith('#') || line === '') continue;
		const space = line.lastIndexOf(' ');
		series.set(line.slice(0, space), Number(line.slice(space + 1)));
	}
	return series;
}

/** GC time and count by kind so far (prom-client's default metrics). */
function gcOf(series: Map<string, number>): Record<string, { seconds: number; count: number }> {
	const gc: Record<string, { seconds: number; count: number }> = {};
	for (const kind of ['minor', 'major', 'incremental', 'weakcb']) {
		gc[kind] = {
			seconds: series.get(`streaming_nodejs_gc_duration_seconds_sum{kind="${kind}"}`) ?? 0,
			count: series.get(`streaming_nodejs_gc_duration_seconds_count{kind="${kind}"}`) ?? 0,
		};
	}
	return gc;
}

function percentile(sorted: Float64Array, p: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

// ---------------------------------------------------------------- load generators

interface Generator {
	child: ChildProcess;
	sockets: SocketPlan[];
	next(): Promise<FromGenerator>;
}

function startGenerator(sockets: SocketPlan[]): Generator {
	const child = fork(fileURLToPath(new URL('./signaling-load.ts', import.meta.url)), [], {
		execArgv: process.execArgv,
		serialization: 'advanced',
		stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
	});
	const inbox: FromGenerator[] = [];
	let waiting: ((m: FromGenerator) => void) | undefined;
	child.on('message', (message: FromGenerator) => {
		if (waiting) {
			const w = waiting;
			waiting = undefined;
			w(message);
		} else inbox.push(message);
	});
	child.once('exit', (code) => {
		const failed: FromGenerator = { type: 'failed', error: `load generator exited (${code})` };
		if (waiting) waiting(failed);
		else inbox.push(failed);
	});
	return {
		child,
		sockets,
		next: () => {
			const queued = inbox.shift();
			if (queued) return Promise.resolve(queued);
			return new Promise((resolve) => {
				waiting = resolve;
			});
		},
	};
}

async function ask<T extends FromGenerator['type']>(generator: Generator, message: ToGenerator, expect: T): Promise<Extract<FromGenerator, { type: T }>> {
	generator.child.send(message);
	const answer = await generator.next();
	if (answer.type === 'failed') throw new Error(`load generator: ${answer.error}`);
	if (answer.type !== expect) throw new Error(`load generator answered ${answer.type}, not ${expect}`);
	return answer as Extract<FromGenerator, { type: T }>;
}

/** Runs every generator for `seconds` at its share of RATE; their results. */
function runAll(generators: Generator[], seconds: number): Promise<RunResult[]> {
	return Promise.all(generators.map((g) => ask(g, { type: 'run', seconds, rate: (RATE * g.sockets.length) / CLIENTS }, 'ran')));
}

// ---------------------------------------------------------------- a window

interface Window {
	requests: number;
	responses: number;
	errors: number;
	unanswered: number;
	notifications: number;
	held: number;
	wallSeconds: number;
	rtts: Float64Array;
	nodesCpuMs: Array<{ user: number; system: number }>;
	generatorsCpuMs: number;
	generatorLoopDelayP99Ms: number;
	generatorLoopDelayMaxMs: number;
	redisCpuMs: number | undefined;
	machineBusyMs: number;
	machineTotalMs: number;
	/** Per node: its event-loop delay over the window (prom-client's monitor, 10 ms resolution), and GC ms by kind (count). */
	nodesLoopDelayMs: Array<{ p99: number; max: number }>;
	nodesGc: Array<Record<string, string>>;
}

async function measure(generators: Generator[], nodes: RunningServer[], redisPid: number | undefined, seconds: number): Promise<Window> {
	// A scrape resets the servers' event-loop delay histograms: the next one covers the window.
	const gcBefore = (await Promise.all(nodes.map(scrape))).map(gcOf);
	const nodesBefore = nodes.map((n) => processCpuMs(n.process.pid as number));
	const redisBefore = redisPid === undefined ? undefined : processCpuMs(redisPid);
	const machineBefore = machineCpuMs();
	const results = await runAll(generators, seconds);
	const machineAfter = machineCpuMs();
	const redisAfter = redisPid === undefined ? undefined : processCpuMs(redisPid);
	const nodesCpuMs = nodes.map((n, i) => {
		const after = processCpuMs(n.process.pid as number);
		const before = nodesBefore[i] as { user: number; system: number };
		return { user: after.user - before.user, system: after.system - before.system };
	});
	const after = await Promise.all(nodes.map(scrape));
	const nodesLoopDelayMs = after.map((series) => ({
		p99: (series.get('streaming_nodejs_eventloop_lag_p99_seconds') ?? Number.NaN) * 1000,
		max: (series.get('streaming_nodejs_eventloop_lag_max_seconds') ?? Number.NaN) * 1000,
	}));
	const nodesGc = after.map((series, i) => {
		const now = gcOf(series);
		const before = gcBefore[i] as ReturnType<typeof gcOf>;
		return Object.fromEntries(
			Object.entries(now)
				.map(([kind, v]) => [kind, { ms: (v.seconds - (before[kind]?.seconds ?? 0)) * 1000, count: v.count - (before[kind]?.count ?? 0) }] as const)
				.filter(([, v]) => v.count > 0)
				.map(([kind, v]) => [kind, `${v.ms.toFixed(0)} ms (${v.count})`]),
		);
	});
	const rtts = new Float64Array(results.reduce((sum, r) => sum + r.rtts.length, 0));
	let offset = 0;
	for (const r of results) {
		rtts.set(r.rtts, offset);
		offset += r.rtts.length;
	}
	rtts.sort();
	const sum = (f: (r: RunResult) => number) => results.reduce((total, r) => total + f(r), 0);
	return {
		requests: sum((r) => r.sent),
		responses: rtts.length,
		errors: sum((r) => r.errors),
		unanswered: sum((r) => r.unanswered),
		notifications: sum((r) => r.notifications),
		held: sum((r) => r.held),
		wallSeconds: Math.max(...results.map((r) => r.wallMs)) / 1000,
		rtts,
		nodesCpuMs,
		generatorsCpuMs: sum((r) => r.cpuMs),
		generatorLoopDelayP99Ms: Math.max(...results.map((r) => r.loopDelayP99Ms)),
		generatorLoopDelayMaxMs: Math.max(...results.map((r) => r.loopDelayMaxMs)),
		redisCpuMs: redisBefore && redisAfter ? redisAfter.user + redisAfter.system - redisBefore.user - redisBefore.system : undefined,
		machineBusyMs: machineAfter.busy - machineBefore.busy,
		machineTotalMs: machineAfter.total - machineBefore.total,
		nodesLoopDelayMs,
		nodesGc,
	};
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
	const limit = openFileLimit();
	// Each socket is a file descriptor in the generator and one in the node that holds it; keep room for the rest.
	const perProcess = limit - 200;
	const perNode = Math.ceil(CLIENTS / NODES);
	if (perNode > perProcess) {
		throw new Error(
			`${perNode} sockets on one node, but a process may hold about ${perProcess} (open-file limit ${limit}; ` +
				`raise it with "ulimit -n", or use --nodes 2 or fewer --clients)`,
		);
	}
	const rooms = Math.ceil(CLIENTS / ROOM_SIZE);
	const generatorCount = Math.max(1, Math.min(rooms, Number(values.generators ?? Math.ceil(CLIENTS / perProcess))));
	if (CLIENTS / generatorCount > perProcess) throw new Error(`--generators ${generatorCount}: more than ${perProcess} sockets each`);

	let redis: RunningRedis | undefined;
	let redisPid: number | undefined;
	const nodes: RunningServer[] = [];
	const generators: Generator[] = [];
	const inspectPorts: number[] = [];
	try {
		if (NODES > 1) {
			redis = await startRedis();
			redisPid = childPids(process.pid).find((pid) => {
				try {
					return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'redis-server';
				} catch {
					return false;
				}
			});
		}
		for (let n = 0; n < NODES; n++) {
			const inspect = values.profile || values['heap-profile'] ? await freeTcpPort() : undefined;
			if (inspect !== undefined) inspectPorts.push(inspect);
			nodes.push(
				await startServer({
					LOG_LEVEL: 'info',
					// Every bench client comes from 127.0.0.1: lift the per-address, socket and room limits above the bench's size.
					MAX_CONNECTIONS_PER_ADDRESS: String(CLIENTS + 100),
					MAX_CONNECTIONS: String(Math.max(10_000, CLIENTS + 100)),
					MAX_ROOMS: String(Math.max(5000, rooms + 100)),
					// `signal` is mesh signaling: rooms stay on the mesh (no SFU migration, no routers) whatever their size.
					MESH_MAX_PEERS: String(ROOM_SIZE),
					...(redis ? { REDIS_URL: redis.url, NODE_ID: `n${n}` } : {}),
					...(inspect !== undefined ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:${inspect}`.trim() } : {}),
					...(process.env.BENCH_SERVER_ENV ? (JSON.parse(process.env.BENCH_SERVER_ENV) as Record<string, string>) : {}),
				}),
			);
		}

		// Whole rooms per generator (contiguous blocks); each member's node by the placement.
		const plans: SocketPlan[][] = Array.from({ length: generatorCount }, () => []);
		for (let index = 0; index < CLIENTS; index++) {
			const room = Math.floor(index / ROOM_SIZE);
			const member = index % ROOM_SIZE;
			const node = (PLACEMENT === 'room' ? room : room + member) % NODES;
			(plans[Math.floor((room * generatorCount) / rooms)] as SocketPlan[]).push({
				url: `ws://127.0.0.1:${(nodes[node] as RunningServer).port}/ws`,
				room,
				index,
			});
		}
		for (const sockets of plans) generators.push(startGenerator(sockets));
		const connectStart = performance.now();
		const connected = await Promise.all(generators.map((g) => ask(g, { type: 'connect', sockets: g.sockets, batch: CONNECT_BATCH }, 'connected')));
		const connectSeconds = (performance.now() - connectStart) / 1000;
		const held = connected.reduce((sum, c) => sum + c.held, 0);
		const serverConnections = (await Promise.all(nodes.map(scrape))).map((series) => series.get('streaming_signaling_connections') ?? Number.NaN);
		console.log(
			`${held} sockets joined in ${connectSeconds.toFixed(1)} s (${NODES} node(s)${NODES > 1 ? `, placement ${PLACEMENT}` : ''}, ` +
				`${generatorCount} load generator(s)); connections per node: ${serverConnections.join(', ')}`,
		);

		// Holding the sockets, no requests: what the heartbeat and timers cost, to tell apart from the requests' own cost.
		let idleCpuMsPerSecond = 0;
		if (IDLE_SECONDS > 0) {
			await new Promise((r) => setTimeout(r, 1000));
			const before = nodes.map((n) => processCpuMs(n.process.pid as number));
			const idleStart = performance.now();
			await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
			const idleMs = performance.now() - idleStart;
			idleCpuMsPerSecond = nodes.reduce((sum, n, i) => {
				const after = processCpuMs(n.process.pid as number);
				const b = before[i] as { user: number; system: number };
				return sum + (after.user + after.system - b.user - b.system);
			}, 0) / (idleMs / 1000);
		}
		if (WARMUP > 0) await runAll(generators, WARMUP);
		const w = await measure(generators, nodes, redisPid, SECONDS);

		const fmt = (n: number) => Number(n.toFixed(2));
		const nodeCpu = w.nodesCpuMs.map((c) => c.user + c.system);
		const serverCpuMs = nodeCpu.reduce((a, b) => a + b, 0);
		const perRequestUs = (ms: number) => Number(((ms * 1000) / Math.max(1, w.responses)).toFixed(1));
		const pctOfCore = (ms: number) => Number(((ms / (w.wallSeconds * 1000)) * 100).toFixed(1));
		const report = {
			clients: CLIENTS,
			roomSize: ROOM_SIZE,
			nodes: NODES,
			...(NODES > 1 ? { placement: PLACEMENT } : {}),
			loadGenerators: generatorCount,
			socketsHeld: w.held,
			serverConnections,
			connectAndJoinSeconds: fmt(connectSeconds),
			windowSeconds: fmt(w.wallSeconds),
			targetRate: RATE,
			achievedRate: Math.round(w.requests / SECONDS),
			requests: w.requests,
			responses: w.responses,
			errors: w.errors,
			unanswered: w.unanswered,
			notificationsReceived: w.notifications,
			rttMs: {
				p50: fmt(percentile(w.rtts, 50)),
				p90: fmt(percentile(w.rtts, 90)),
				p95: fmt(percentile(w.rtts, 95)),
				p99: fmt(percentile(w.rtts, 99)),
				max: fmt(w.rtts[w.rtts.length - 1] ?? Number.NaN),
			},
			serverCpuUsPerRequest: perRequestUs(serverCpuMs),
			...(IDLE_SECONDS > 0
				? {
						serverIdleCpuPercentOfOneCore: Number((idleCpuMsPerSecond / 10).toFixed(1)),
						serverCpuUsPerRequestBeyondIdle: perRequestUs(serverCpuMs - idleCpuMsPerSecond * w.wallSeconds),
					}
				: {}),
			serverCpuPercentOfOneCore: nodeCpu.map(pctOfCore),
			serverCpuUserSystemUsPerRequest: w.nodesCpuMs.map((c) => [perRequestUs(c.user), perRequestUs(c.system)]),
			serverLoopDelayMs: w.nodesLoopDelayMs.map((d) => ({ p99: fmt(d.p99), max: fmt(d.max) })),
			serverGc: w.nodesGc,
			loadGeneratorCpuUsPerRequest: perRequestUs(w.generatorsCpuMs),
			loadGeneratorCpuPercentOfOneCore: pctOfCore(w.generatorsCpuMs),
			loadGeneratorLoopDelayMs: { p99: fmt(w.generatorLoopDelayP99Ms), max: fmt(w.generatorLoopDelayMaxMs) },
			...(w.redisCpuMs !== undefined ? { redisCpuUsPerRequest: perRequestUs(w.redisCpuMs), redisCpuPercentOfOneCore: pctOfCore(w.redisCpuMs) } : {}),
			machineCores: cpus().length,
			machineBusyPercentOfAllCores: Number(((w.machineBusyMs / Math.max(1, w.machineTotalMs)) * 100).toFixed(1)),
		};
		console.log(JSON.stringify(report, null, 2));
		console.log(
			`\nsignaling bench: ${w.held} sockets on ${NODES} node(s); ${report.achievedRate} req/s for ${SECONDS} s: ` +
				`p50 ${report.rttMs.p50} ms, p99 ${report.rttMs.p99} ms; server CPU ${report.serverCpuUsPerRequest} µs/request ` +
				`(${report.serverCpuPercentOfOneCore.join(' + ')} % of a core${IDLE_SECONDS > 0 ? `; ${report.serverCpuUsPerRequestBeyondIdle} µs/request beyond the ${report.serverIdleCpuPercentOfOneCore} % it takes idle` : ''}); ` +
				`errors ${w.errors}, unanswered ${w.unanswered}`,
		);
		writeBenchResult(values.json, {
			bench: 'signaling',
			clients: CLIENTS,
			nodes: NODES,
			targetRate: RATE,
			achievedRate: report.achievedRate,
			windowSeconds: report.windowSeconds,
			requests: w.requests,
			responses: w.responses,
			errors: w.errors,
			unanswered: w.unanswered,
			rttMs: report.rttMs,
			serverCpuUsPerRequest: report.serverCpuUsPerRequest,
			serverCpuPercentOfOneCore: report.serverCpuPercentOfOneCore,
			...(report.serverIdleCpuPercentOfOneCore !== undefined ? { serverIdleCpuPercentOfOneCore: report.serverIdleCpuPercentOfOneCore } : {}),
			loadGeneratorCpuPercentOfOneCore: report.loadGeneratorCpuPercentOfOneCore,
		});

		if (values.profile) {
			const profilers = await Promise.all(inspectPorts.map((port) => InspectorProfiler.connect(port)));
			try {
				await Promise.all(profilers.map((p) => p.start()));
				const pw = await measure(generators, nodes, redisPid, PROFILE_SECONDS);
				const profiles = await Promise.all(profilers.map((p) => p.stop()));
				const cpu = pw.nodesCpuMs.map((c) => c.user + c.system);
				console.log(
					`\nprofiled window (${PROFILE_SECONDS} s, profiler on): ${Math.round(pw.requests / PROFILE_SECONDS)} req/s, ` +
						`p50 ${fmt(percentile(pw.rtts, 50))} ms, p99 ${fmt(percentile(pw.rtts, 99))} ms; server CPU ` +
						`${((cpu.reduce((a, b) => a + b, 0) * 1000) / Math.max(1, pw.responses)).toFixed(1)} µs/request ` +
						`(user ${pw.nodesCpuMs.map((c) => ((c.user * 1000) / Math.max(1, pw.responses)).toFixed(1)).join(' + ')}, ` +
						`system ${pw.nodesCpuMs.map((c) => ((c.system * 1000) / Math.max(1, pw.responses)).toFixed(1)).join(' + ')} µs/request; ` +
						`the main thread's samples below cover user time and the system time of its own syscalls)`,
				);
				profiles.forEach((profile, n) => {
					const file = join(tmpdir(), `bench-signaling-n${n}.cpuprofile`);
					writeFileSync(file, JSON.stringify(profile));
					printProfile(`node n${n} profile (${file})`, summarizeProfile(profile), cpu[n] as number, pw.responses);
				});
			} finally {
				for (const p of profilers) p.close();
			}
		}
		if (values['heap-profile']) {
			const profilers = await Promise.all(inspectPorts.map((port) => InspectorProfiler.connect(port)));
			try {
				await Promise.all(profilers.map((p) => p.startHeapSampling()));
				const hw = await measure(generators, nodes, redisPid, PROFILE_SECONDS);
				const heads = await Promise.all(profilers.map((p) => p.stopHeapSampling()));
				heads.forEach((head, n) => {
					const { totalBytes, top } = summarizeHeap(head);
					const perRequest = (bytes: number) => `${(bytes / Math.max(1, hw.responses)).toFixed(0).padStart(6)} B/req`;
					console.log(
						`\nnode n${n} JS heap allocations (${PROFILE_SECONDS} s, sampled): ${(totalBytes / 1e6).toFixed(0)} MB for ${hw.responses} requests = ${perRequest(totalBytes).trim()}; GC ${JSON.stringify(hw.nodesGc[n])}`,
					);
					for (const { fn, via, bytes } of top) console.log(`  ${perRequest(bytes)}  ${fn}  <  ${via}`);
				});
			} finally {
				for (const p of profilers) p.close();
			}
		}
	} finally {
		for (const g of generators) {
			if (g.child.connected) g.child.send({ type: 'close' } satisfies ToGenerator);
		}
		await Promise.all(
			generators.map(
				(g) =>
					new Promise<void>((resolve) => {
						if (g.child.exitCode !== null || g.child.signalCode !== null) return resolve();
						const timer = setTimeout(() => g.child.kill('SIGKILL'), 5000);
						g.child.once('exit', () => {
							clearTimeout(timer);
							resolve();
						});
					}),
			),
		);
		await Promise.all(nodes.map((n) => n.stop()));
		await redis?.stop();
	}
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});

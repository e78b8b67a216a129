import type { Chart } from './charts.js';
import type { Machine } from './machine.js';
import type { BroadcastResult, LatencyResult, LatencyWindows, MeshJoinResult, MigrationResult, SfuResult, SignalingResult, SoakResult } from './results.js';
import { median } from './stats.js';

/** One bench process of the run: what ran, how it ended, what it wrote and printed. */
export interface BenchRun<R> {
	name: string;
	command: string;
	seconds: number;
	exitCode: number | null;
	result: R | undefined;
	output: string;
}

/** Everything docs/benchmarks.md is written from. */
export interface Report {
	machine: Machine;
	totalSeconds: number;
	signaling: Array<BenchRun<SignalingResult>>;
	meshJoin: BenchRun<MeshJoinResult>;
	sfu: BenchRun<SfuResult>;
	broadcast: Array<BenchRun<BroadcastResult>>;
	migration: BenchRun<MigrationResult>;
	latency: BenchRun<LatencyResult>;
	soak: BenchRun<SoakResult> | undefined;
	charts: Record<'migration' | 'sfu' | 'broadcast' | 'signaling' | 'join', Chart | undefined>;
}

const f0 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(0));
const f1 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(1));
const f2 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(2));


/** Markdown table cells must not break the table. */
function cell(text: string): string {
	return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(head: string[], rows: string[][]): string {
	return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

function chart(c: Chart | undefined): string {
	return c ? `![${c.alt}](benchmarks/${c.file})` : '_(no chart: the bench wrote no result)_';
}

/** How a bench process went, and what it printed, folded. */
function ran<R>(runs: ReadonlyArray<BenchRun<R>>): string {
	const lines = runs.map((r) => `- \`${r.command}\`: ${f0(r.seconds)} s${r.exitCode === 0 ? '' : `, **exit code ${r.exitCode}**`}${r.result ? '' : ', **no result written**'}`);
	const output = runs.map((r) => `$ ${r.command}\n${r.output.trim()}`).join('\n\n');
	return `${lines.join('\n')}\n\n<details><summary>What the bench printed</summary>\n\n\`\`\`text\n${output.replace(/```/g, "'''")}\n\`\`\`\n\n</details>`;
}

/** The few numbers the README shows, each beside its baseline where it has one. */
export function headlines(report: Report): string[] {
	const lines: string[] = [];
	const join = report.meshJoin.result?.rows;
	for (const row of join ?? []) {
		lines.push(`Join (${row.label}, ${row.participants} people): ${f0(row.productMedianMs)} ms to every remote's first frame, against ${f0(row.baselineMedianMs)} ms for the smallest possible mesh page (ratio ${f2(row.ratio)})`);
	}
	const latency = report.latency.result;
	for (const row of latency?.rows ?? []) {
		if (row.frames === 0) continue;
		lines.push(`Glass-to-glass latency, ${row.path}: ${f0(row.medianMs)} ms median (p95 ${f0(row.p95Ms)}), against ${f0(latency?.baseline.medianMs)} ms for a raw RTCPeerConnection page (ratio ${f2(row.ratio)})`);
	}
	const migration = report.migration.result;
	for (const row of migration?.rows ?? []) {
		if (row.runsDone === 0) continue;
		lines.push(`Migration ${row.name}: ${f0(median(row.durationMs))} ms from decision to the old path closed; largest frame gap ${f2(median(row.gapRatios))}x a steady window's (median of receivers)`);
	}
	if (migration?.floor && migration.floor.runsDone > 0) lines.push(`Floor for that ratio (a join with no migration): ${f2(median(migration.floor.ratios))}`);
	const sfu = report.sfu.result;
	if (sfu) lines.push(`SFU: ${sfu.bestConsumers} video consumers on one worker under 80% of a core with no loss`);
	const biggest = [...report.broadcast].map((b) => b.result).filter((r) => r !== undefined).sort((a, b) => (b.runs[0]?.viewers ?? 0) - (a.runs[0]?.viewers ?? 0))[0];
	const product = biggest?.runs.find((r) => r.label === 'product');
	const raw = biggest?.runs.find((r) => r.label === 'raw engine');
	if (product && raw) {
		lines.push(
			`Broadcast: ${product.viewers} viewers on ${product.workers.length} workers at ${f2(product.cpuPer100Viewers)}% of a core per 100 viewers, against ${f2(raw.cpuPer100Viewers)}% for the bare engine (ratio ${f2(biggest?.ratio)}); ${product.missing} packets lost`,
		);
	}
	const signaling = report.signaling.map((s) => s.result).filter((r) => r !== undefined);
	const top = signaling.filter((r) => r.errors === 0 && r.unanswered === 0).sort((a, b) => b.achievedRate - a.achievedRate)[0];
	if (top) lines.push(`Signaling: ${top.achievedRate} requests/s over ${top.clients} sockets on one node: p50 ${f1(top.rttMs.p50)} ms, p99 ${f1(top.rttMs.p99)} ms, ${f1(top.serverCpuUsPerRequest)} µs of server CPU per request`);
	return lines;
}

function signalingSection(report: Report): string {
	const rows = report.signaling
		.map((s) => s.result)
		.filter((r) => r !== undefined)
		.map((r) => [
			String(r.targetRate),
			String(r.achievedRate),
			f2(r.rttMs.p50),
			f2(r.rttMs.p90),
			f2(r.rttMs.p99),
			f2(r.rttMs.max),
			`${r.errors} / ${r.unanswered}`,
			f1(r.serverCpuUsPerRequest),
			r.serverCpuPercentOfOneCore.map(f1).join(' + '),
		]);
	return [
		'## Signaling: round trip against request rate',
		'',
		'The built server on loopback; N WebSocket clients in rooms of 5 (on the mesh) send `signal` requests to random roommates at a fixed rate, each answered and relayed as a notification. One run per rate; the window follows a warm-up. No baseline of its own: the numbers are absolute, for this machine.',
		'',
		table(['target req/s', 'achieved req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors / unanswered', 'server CPU µs/request', 'server CPU % of a core'], rows),
		'',
		chart(report.charts.signaling),
		'',
		ran(report.signaling),
	].join('\n');
}

function joinSection(report: Report): string {
	const r = report.meshJoin.result;
	const rows = (r?.rows ?? []).map((row) => [
		row.label,
		String(row.participants),
		`${f0(row.productMedianMs)} (${row.productMs.map(f0).join(', ')})`,
		`${f0(row.baselineMedianMs)} (${row.baselineMs.map(f0).join(', ')})`,
		f2(row.ratio),
	]);
	return [
		'## Join time: product against the smallest possible mesh page',
		'',
		`The newcomer of a room (the others joined first), timed from opening the link (from a page of another site) to the first rendered frame of every remote tile, in real Chromium. Baseline, measured in the same run and interleaved: one HTML page with a raw RTCPeerConnection per remote and a WebSocket relay (test/bench/baselineMesh.ts). ${r ? `${r.runs} runs per row.` : ''}`,
		'',
		table(['join', 'participants', 'product median ms (runs)', 'baseline median ms (runs)', 'ratio'], rows),
		'',
		chart(report.charts.join),
		'',
		ran([report.meshJoin]),
	].join('\n');
}

function sfuSection(report: Report): string {
	const r = report.sfu.result;
	const rows = (r?.rows ?? []).map((row) => [String(row.consumers), f1(row.cpuPercent), `${f2(row.lossInWorker * 100)}%`, `${f1(row.sinkDelivery * 100)}%`]);
	return [
		'## SFU: one worker, CPU against consumers',
		'',
		'One mediasoup worker fans one hand-made VP8 stream out to N SRTP PlainTransport consumers (the router\'s full RTP capabilities) sending to a UDP sink on loopback. Worker CPU from getResourceUsage over each window; loss counted inside the worker from consumer stats. This is the bare engine: the product\'s own fan-out is the broadcast bench below.',
		'',
		r ? `Largest count under 80% of a core with no loss: **${r.bestConsumers}**.` : '',
		'',
		table(['consumers', 'worker CPU % of a core', 'loss in worker', 'sink got'], rows),
		'',
		chart(report.charts.sfu),
		'',
		ran([report.sfu]),
	].join('\n');
}

function broadcastSection(report: Report): string {
	const rows: string[][] = [];
	const browser: string[] = [];
	for (const b of report.broadcast) {
		const r = b.result;
		if (!r) continue;
		for (const run of r.runs) {
			rows.push([
				String(r.runs.find((x) => x.label === 'product')?.viewers ?? run.viewers),
				run.label,
				String(run.workers.length),
				String(run.viewers),
				run.workers.map((w) => f1(w.cpuPercent)).join(' + '),
				f2(run.cpuPer100Viewers),
				`${run.missing}/${run.expected}`,
				run.label === 'product' ? f2(r.ratio) : '1 (baseline)',
			]);
		}
		if (r.browser) {
			const v = median(r.browser.viewerMs);
			const m = median(r.browser.meetingMs);
			browser.push(
				`Browser joins (real Chromium, ${r.browser.runs} per side, taking turns): a broadcast viewer sees the host's first frame in ${f0(v)} ms (median; ${r.browser.viewerMs.map(f0).join(', ')}), a meeting participant on the SFU (the baseline) in ${f0(m)} ms (${r.browser.meetingMs.map(f0).join(', ')}): ratio ${f2(v / m)}.${r.browser.failures.length ? ` Failures: ${r.browser.failures.join('; ')}.` : ''}${r.browser.error ? ` The phase stopped: ${r.browser.error}.` : ''}`,
			);
		}
	}
	return [
		'## Broadcast fan-out: the product against the raw engine',
		'',
		'A stage publisher sends hand-made VP8 (300 kbit/s, 30 fps, simulcast layer 0) to an audience of SRTP PlainTransport viewers with full RTP capabilities (NACK, RTX). The product (the real server in the bench\'s process, a broadcast room, every viewer joining over WebSocket; one worker per core) is measured against the raw engine (one worker, one router, no product code, as many viewers as one product worker gets), in windows that take turns. One bench run per audience size.',
		'',
		table(['audience', 'run', 'workers', 'viewers', 'CPU per worker, % of a core', 'CPU % per 100 viewers', 'missing / expected packets', 'ratio to raw'], rows),
		'',
		...browser.map((line) => `${line}\n`),
		chart(report.charts.broadcast),
		'',
		ran(report.broadcast),
	].join('\n');
}

function migrationSection(report: Report): string {
	const r = report.migration.result;
	const rows = (r?.rows ?? []).map((row) => [
		row.name,
		`${row.runsDone}/${row.runs}`,
		row.durationMs.length ? `${f0(median(row.durationMs))} (${f0(Math.min(...row.durationMs))}-${f0(Math.max(...row.durationMs))})` : '-',
		f2(median(row.gapRatios)),
		row.gapRatios.length ? f2(Math.max(...row.gapRatios)) : '-',
		row.afterRatios.length ? `${f2(median(row.afterRatios))} / ${f2(Math.max(...row.afterRatios))}` : '-',
		[row.note === '-' ? '' : row.note, ...row.failures].filter(Boolean).join('; ') || '-',
	]);
	if (r?.floor) {
		const fl = r.floor;
		rows.push([fl.name, `${fl.runsDone}/${fl.runs}`, '-', f2(median(fl.ratios)), fl.ratios.length ? f2(Math.max(...fl.ratios)) : '-', '-', fl.failures.join('; ') || '-']);
	}
	const t = r?.timeline;
	return [
		'## Migration: mesh -> SFU -> mesh',
		'',
		'Real Chromium on loopback, one window per participant, fake camera at 15 fps. Two peers in a mesh; a third joins past MESH_MAX_PEERS=2 (the room moves to the SFU), then leaves (it moves back after the cooldown). Duration: the server\'s decision to the last old connection closed on any client. Gap ratio: per receiver and remote tile, the largest frame gap during the migration over the largest in a steady window as long just before (1.0 is a perfect make-before-break); the floor row is what a join alone costs this machine, with nothing migrating.',
		'',
		table(['migration', 'runs done', 'duration ms, median (min-max)', 'gap ratio median', 'gap ratio worst', 'vs steady after: median / worst', 'notes'], rows),
		'',
		t
			? `The timeline below is the first run: frames each staying member rendered of the other's tile (requestVideoFrameCallback), counted in ${t.binMs} ms bins and shown per second; shaded, each migration from the decision to the last old connection closed.`
			: '',
		'',
		chart(report.charts.migration),
		'',
		ran([report.migration]),
	].join('\n');
}

/**
 * bench:latency's migration row: the goal (no frame past 2x the steady
 * median) and, beside it, the two floors measured in the same run with
 * nothing migrating, so a reader sees how much of the excess a join alone
 * gives.
 */
export function latencyMigrationText(m: LatencyResult['migration']): string {
	const worst = (w: LatencyWindows) => `${f2(w.maxRatio)} (${w.runRatios.map(f2).join(', ') || '-'})`;
	const line = (kind: string, w: LatencyWindows, goal: string) => [
		kind,
		`${w.runsDone}/${w.runs}`,
		w.windowMs.map(f0).join(', ') || '-',
		`${w.frames}${w.newcomerFrames ? ` (${w.newcomerFrames} the 3rd's)` : ''}`,
		f0(w.medianMs),
		f0(w.p95Ms),
		f0(w.steadyMedianMs),
		f2(w.p95Ratio),
		worst(w),
		goal,
		[...w.notes, ...w.failures].join('; ') || '-',
	];
	const goal = m.goalMet ? 'met' : '**not met**';
	return [
		`During a mesh -> SFU migration (${m.runsDone}/${m.runs} runs, every frame the members rendered from the decision to the commit): ${m.frames} frames, median ${f0(m.medianMs)} ms, p95 ${f0(m.p95Ms)} ms; the worst frame was ${f2(m.maxRatio)}x the steady median of ${f0(m.steadyMedianMs)} ms (goal: at most 2x): ${goal}. With nothing migrating, in the same run, the worst frame of as long a window was ${f2(m.steadyFloor.maxRatio)}x at rest (the members' steady window) and ${f2(m.joinFloor.maxRatio)}x while a third joined a mesh that stays a mesh (from the join answered); the migration's worst was ${f2(m.vsJoinFloor)}x the join's.${m.failures.length ? ` Failures: ${m.failures.join('; ')}.` : ''}`,
		'',
		table(
			['window', 'runs done', 'window ms', 'frames', 'median ms', 'p95 ms', 'steady median ms', 'p95 / steady median', 'worst / steady median, max (per run)', 'goal met', 'notes'],
			[
				line('migration: decision -> commit', m, m.goalMet ? 'yes' : '**no**'),
				line('steady floor: the last window ms of the steady measurement', m.steadyFloor, '-'),
				line('join floor: a 3rd joins, no migration (MESH_MAX_PEERS=3)', m.joinFloor, '-'),
			],
		),
	].join('\n');
}

function latencySection(report: Report): string {
	const r = report.latency.result;
	const rows = r
		? [r.baseline, r.videoOnlyBaseline, ...r.rows].map((row) => [
				row.path,
				String(row.frames),
				f0(row.fps),
				f0(row.medianMs),
				f0(row.p95Ms),
				f0(r.baseline.medianMs),
				f2(row.ratio),
				row === r.baseline || row === r.videoOnlyBaseline ? '-' : row.goalMet ? 'yes' : '**no**',
				row.avOffsetsMs.length ? `${f0(median(row.avOffsetsMs))} (${row.avOffsetsMs.length} clicks)` : '-',
			])
		: [];
	const m = r?.migration;
	return [
		'## Glass-to-glass latency',
		'',
		'`npm run bench:latency`: each sender\'s camera is a canvas painting `Date.now()` as black and white blocks (test/bench/latencyProbe.ts); each receiver reads them back from every rendered frame and subtracts them from its own clock (one machine, one clock). Baseline, in the same run, a session before each product path: a raw RTCPeerConnection page with a WebSocket relay (test/bench/baselineMesh.ts) that plays its remote audio, as a call page does (so a lip-sync delay would apply to both); the video-only row is the same page not playing audio, for comparison. Goal: within 1.2x the baseline\'s median or under 40 ms. A/V: per click (the probe\'s microphone clicks each second), audio latency minus the latency of the frame painted at that second; positive when audio lags.',
		'',
		table(['path', 'frames', 'fps per stream', 'median ms', 'p95 ms', 'baseline median ms', 'ratio', 'goal met', 'A/V offset ms, median'], rows),
		'',
		m ? latencyMigrationText(m) : '',
		'',
		ran([report.latency]),
	].join('\n');
}

function soakSection(report: Report): string {
	const s = report.soak;
	if (!s) return '## Soak\n\nNot run (`npm run bench -- --no-soak`). `npm run bench:soak` runs it at full size.';
	const r = s.result;
	return [
		'## Soak: leaks after join/leave cycles',
		'',
		'`npm run bench:soak`: the server in the bench\'s process goes through signaling and SFU join/leave cycles (leave, close, drop, drop and resume, room deleted), then every object count (rooms, peers, sockets, resume tokens, routers, transports, producers, consumers) must return to its baseline, and the heap is compared after forced GC.',
		'',
		r
			? table(
					['signaling cycles', 'sfu cycles', 'errors', 'seconds', 'object counts back to baseline', 'heap change after GC, MB'],
					[[String(r.signalingCycles), String(r.sfuCycles), String(r.errors), f1(r.seconds), r.flat ? 'yes' : '**NO**', f1(r.heapDeltaMb)]],
				)
			: '',
		'',
		ran([s]),
	].join('\n');
}

/** docs/benchmarks.md. */
export function renderReport(report: Report): string {
	const m = report.machine;
	return [
		'# Benchmarks',
		'',
		`Written by \`npm run bench\` (test/bench/all.ts) on ${m.date}; do not edit by hand. Every number below was measured in that one run, on the machine described here, with each baseline measured in the same run. The whole run took ${f0(report.totalSeconds / 60)} min (${f0(report.totalSeconds)} s). Each bench also runs alone with its own \`npm run bench:*\` script and larger default sizes.`,
		'',
		'## The machine',
		'',
		table(
			['', ''],
			[
				['CPU', m.cpu],
				['cores', String(m.cores)],
				['RAM', `${m.ramGiB} GiB`],
				['OS', m.os],
				['Node', m.node],
				['Chromium', m.chromium],
				['mediasoup', m.mediasoup],
				['commit', m.commit],
				['date', m.date],
			],
		),
		'',
		'Everything runs on this one machine, on loopback: the servers, the load generators and the browsers share its cores, so the ratios against a baseline measured alongside say more than the absolute numbers.',
		'',
		'## Headlines',
		'',
		...headlines(report).map((line) => `- ${line}`),
		'',
		joinSection(report),
		'',
		migrationSection(report),
		'',
		latencySection(report),
		'',
		sfuSection(report),
		'',
		broadcastSection(report),
		'',
		signalingSection(report),
		'',
		soakSection(report),
		'',
	].join('\n');
}

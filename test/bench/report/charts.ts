import type { BroadcastResult, MeshJoinResult, MigrationTimeline, SfuResult, SignalingResult } from './results.js';
import { barChart, lineChart } from './svgChart.js';

/** A chart of the report: its file name under docs/benchmarks/, its SVG text, and what it shows. */
export interface Chart {
	file: string;
	svg: string;
	alt: string;
}

/** Frames rendered per receiver across mesh -> sfu -> mesh, the migration windows shaded. */
export function migrationChart(timeline: MigrationTimeline): Chart {
	const perSecond = 1000 / timeline.binMs;
	return {
		file: 'migration-frames.svg',
		alt: 'Frames rendered per receiver across a mesh to SFU to mesh migration',
		svg: lineChart({
			title: 'Frames rendered per receiver: mesh -> sfu -> mesh (3 peers, 2 stay)',
			xLabel: `seconds since the mesh -> sfu decision (${timeline.binMs} ms bins)`,
			yLabel: 'frames rendered per second',
			series: timeline.series.map((s) => ({
				label: s.label,
				points: s.frames.map((n, i) => ({ x: ((timeline.startsMs[i] as number) + timeline.binMs / 2) / 1000, y: n * perSecond })),
			})),
			shaded: timeline.windows.map((w) => ({ from: w.fromMs / 1000, to: w.toMs / 1000, label: w.label })),
		}),
	};
}

/** Worker CPU against consumers on one worker (bench:sfu). */
export function sfuChart(result: SfuResult): Chart {
	return {
		file: 'sfu-worker-cpu.svg',
		alt: 'mediasoup worker CPU against video consumers on one worker',
		svg: lineChart({
			title: `SFU: one worker's CPU against video consumers (${result.srtp ? 'SRTP' : 'RTP'})`,
			xLabel: `consumers on the worker (one VP8 stream, ${result.packetsPerSecond} packets/s of ${result.packetBytes} B)`,
			yLabel: 'worker CPU, % of one core',
			xMin: 0,
			markers: true,
			series: [{ label: 'bench:sfu, bare router', points: result.rows.map((r) => ({ x: r.consumers, y: r.cpuPercent })) }],
		}),
	};
}

/** Worker CPU against viewers per worker, the product against the raw engine, one point per audience size (bench:broadcast). */
export function broadcastChart(results: readonly BroadcastResult[]): Chart {
	const side = (label: string) =>
		results
			.map((r) => r.runs.find((run) => run.label === label))
			.filter((run) => run !== undefined)
			.map((run) => ({ x: run.viewers / Math.max(1, run.workers.length), y: run.cpuPercent / Math.max(1, run.workers.length) }))
			.sort((a, b) => a.x - b.x);
	return {
		file: 'broadcast-worker-cpu.svg',
		alt: 'Broadcast fan-out: worker CPU against viewers per worker, product and raw engine',
		svg: lineChart({
			title: 'Broadcast fan-out: worker CPU against viewers per worker',
			xLabel: 'viewers per worker (VP8 at 300 kbit/s, SRTP, NACK + RTX)',
			yLabel: 'CPU per worker, % of one core',
			xMin: 0,
			markers: true,
			series: [
				{ label: 'product (mean of its workers)', points: side('product') },
				{ label: 'raw engine, 1 worker (baseline)', points: side('raw engine'), dashed: true },
			],
		}),
	};
}

/** Signaling round trip p50 / p99 against the achieved request rate (bench:signaling, one run per rate). */
export function signalingChart(results: readonly SignalingResult[]): Chart {
	const sorted = [...results].sort((a, b) => a.achievedRate - b.achievedRate);
	const line = (label: string, pick: (r: SignalingResult) => number, dashed = false) => ({
		label,
		dashed,
		points: sorted.map((r) => ({ x: r.achievedRate, y: pick(r) })),
	});
	return {
		file: 'signaling-latency.svg',
		alt: 'Signaling round trip p50 and p99 against request rate',
		svg: lineChart({
			title: `Signaling round trip against request rate (${sorted[0]?.clients ?? '?'} sockets, 1 node)`,
			xLabel: 'requests per second (achieved)',
			yLabel: 'round trip, ms',
			xMin: 0,
			markers: true,
			series: [line('p50', (r) => r.rttMs.p50), line('p99', (r) => r.rttMs.p99, true)],
		}),
	};
}

/** Join time, product against the smallest possible mesh page, per join kind (bench:mesh-join). */
export function joinChart(result: MeshJoinResult): Chart {
	return {
		file: 'join-time.svg',
		alt: 'Join time to first rendered frame, product against baseline',
		svg: barChart({
			title: 'Join: link opened -> every remote\'s first frame (median)',
			yLabel: 'ms',
			categories: result.rows.map((r) => `${r.label}, ${r.participants} people`),
			series: [
				{ label: 'product', values: result.rows.map((r) => r.productMedianMs) },
				{ label: 'baseline: smallest possible mesh page', values: result.rows.map((r) => r.baselineMedianMs) },
			],
		}),
	};
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * What each bench writes with `--json <file>`, beside what it prints: the
 * same numbers, typed, for the report (test/bench/all.ts). A bench prints
 * exactly what it printed before; the file is extra.
 */

/** bench:signaling: one load window at one request rate. */
export interface SignalingResult {
	bench: 'signaling';
	clients: number;
	nodes: number;
	targetRate: number;
	achievedRate: number;
	windowSeconds: number;
	requests: number;
	responses: number;
	errors: number;
	unanswered: number;
	rttMs: { p50: number; p90: number; p95: number; p99: number; max: number };
	serverCpuUsPerRequest: number;
	serverCpuPercentOfOneCore: number[];
	/** Present when an idle window ran (--idle-seconds > 0). */
	serverIdleCpuPercentOfOneCore?: number;
	loadGeneratorCpuPercentOfOneCore: number;
}

/** One row of bench:mesh-join: a join kind and room size, the product against the smallest possible mesh page. */
export interface MeshJoinRow {
	label: string;
	participants: number;
	productMs: number[];
	baselineMs: number[];
	productMedianMs: number;
	baselineMedianMs: number;
	/** productMedianMs / baselineMedianMs. */
	ratio: number;
}

export interface MeshJoinResult {
	bench: 'mesh-join';
	runs: number;
	from: 'site' | 'blank';
	rows: MeshJoinRow[];
}

/** bench:sfu: worker CPU at each consumer count. */
export interface SfuResult {
	bench: 'sfu';
	srtp: boolean;
	discard: boolean;
	packetsPerSecond: number;
	packetBytes: number;
	rows: Array<{ consumers: number; cpuPercent: number; lossInWorker: number; sinkDelivery: number }>;
	/** The largest consumer count under 80% of a core with no loss (0: none). */
	bestConsumers: number;
}

/** One side of bench:broadcast: the raw engine or the product. */
export interface BroadcastRun {
	label: string;
	viewers: number;
	workers: Array<{ pid: number; viewers: number; cpuPercent: number; missing: number; expected: number }>;
	/** Sum over the workers, % of a core. */
	cpuPercent: number;
	/** % of a core per 100 viewers. */
	cpuPer100Viewers: number;
	missing: number;
	expected: number;
	/** Median time to add 100 viewers, ms. */
	batchMedianMs: number;
	/** Median plain-viewer join -> first RTP packet at its sink, ms. */
	firstPacketMedianMs: number;
}

export interface BroadcastResult {
	bench: 'broadcast';
	seconds: number;
	rounds: number;
	runs: BroadcastRun[];
	/** product cpuPer100Viewers / raw cpuPer100Viewers, when both ran. */
	ratio?: number;
	/** The browser phase, when it ran: join -> first rendered frame of the host, ms. */
	browser?: { runs: number; viewerMs: number[]; meetingMs: number[]; failures: string[]; error?: string };
}

/** One bench:migration row (a kind of migration over its runs). */
export interface MigrationRow {
	name: string;
	runsDone: number;
	runs: number;
	durationMs: number[];
	/** Per receiver and tile: largest gap during / largest gap in a steady window before. */
	gapRatios: number[];
	afterRatios: number[];
	failures: string[];
	/** The printed row's notes ('-' when none). */
	note: string;
}

/** Frames rendered per receiver over one mesh -> sfu -> mesh run, in fixed bins, times relative to the first decision. */
export interface MigrationTimeline {
	binMs: number;
	/** Start of each bin, ms since the mesh -> sfu decision. */
	startsMs: number[];
	/** One series per receiver <- sender tile: frames rendered in each bin. */
	series: Array<{ label: string; frames: number[] }>;
	/** Each migration's window (decision -> last old connection closed), ms since the first decision. */
	windows: Array<{ label: string; fromMs: number; toMs: number }>;
}

export interface MigrationResult {
	bench: 'migration';
	rows: MigrationRow[];
	floor?: { name: string; runsDone: number; runs: number; ratios: number[]; failures: string[] };
	timeline?: MigrationTimeline;
}

/** bench:soak: join/leave cycles and whether every object count returned to its baseline. */
export interface SoakResult {
	bench: 'soak';
	signalingCycles: number;
	sfuCycles: number;
	errors: number;
	seconds: number;
	flat: boolean;
	heapDeltaMb: number;
}

/** One bench:latency path: glass-to-glass latency of every frame its receivers read. */
export interface LatencyRow {
	path: string;
	frames: number;
	medianMs: number;
	p95Ms: number;
	/** medianMs / the baseline's median (same run). */
	ratio: number;
	/** Within 1.2x the baseline's median, or under 40 ms. */
	goalMet: boolean;
	/** Per click heard: audio latency - video latency of the frame painted at that second (positive: audio behind). */
	avOffsetsMs: number[];
	/** Frames whose blocks did not pass the check (rejected, not counted). */
	misreads: number;
	/** Frames the receivers rendered per second, per sender -> receiver stream (the canvas paints 30). */
	fps: number;
	failures: string[];
}

export interface LatencyResult {
	bench: 'latency';
	minFrames: number;
	/** The ratios' baseline: a raw RTCPeerConnection page that plays its remote audio (so lip sync applies, as in the product). */
	baseline: LatencyRow;
	/** The same page rendering video only, as bench:mesh-join runs it: no audio playout for lip sync to wait for. */
	videoOnlyBaseline: LatencyRow;
	rows: LatencyRow[];
	/** Frames rendered between a mesh -> sfu migration's decision and its commit, beside two floors with nothing migrating. */
	migration: LatencyWindows & {
		/** No frame past 2x the steady median. */
		goalMet: boolean;
		/** Per migration run, the last windowMs of the members' steady window (the frames before the third joined): a window as long, at rest (fewer frames: none of the newcomer's). */
		steadyFloor: LatencyWindows;
		/** A third joins a mesh of 2 that stays a mesh (MESH_MAX_PEERS=3): every frame the members rendered in a window as long as the migrations' median, from the join answered. Interleaved with the migration runs. */
		joinFloor: LatencyWindows;
		/** maxRatio / joinFloor.maxRatio: how much worse the worst migration frame was than the worst a join alone gave. */
		vsJoinFloor: number;
	};
}

/** Frames the members rendered in one kind of window over the runs, each frame against its run's steady median. */
export interface LatencyWindows {
	runsDone: number;
	runs: number;
	frames: number;
	/** How many of the frames were the joining third's (none in the steady floor). */
	newcomerFrames: number;
	medianMs: number;
	p95Ms: number;
	/** Median of the runs' steady medians. */
	steadyMedianMs: number;
	/** Each run's window. */
	windowMs: number[];
	/** p95 of (a frame's latency / its run's steady median). */
	p95Ratio: number;
	/** Per run done: its worst frame / its steady median (NaN for a run with no frame in the window). */
	runRatios: number[];
	/** The worst of runRatios. */
	maxRatio: number;
	/** Where a window is not what its kind asks for (e.g. a steady window shorter than the migration's). */
	notes: string[];
	failures: string[];
}

export type BenchResult = SignalingResult | MeshJoinResult | SfuResult | BroadcastResult | MigrationResult | SoakResult | LatencyResult;

/** Writes a bench's result as JSON (creating the directory), when the bench was given `--json <file>`. */
export function writeBenchResult(file: string | undefined, result: BenchResult): void {
	if (!file) return;
	mkdirSync(dirname(file), { recursive: true });
	writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}

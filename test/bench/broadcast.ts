// npm run bench:broadcast [-- --viewers 1500 --seconds 10 --rounds 2 --browser-runs 5 --json <file>]
//
// A broadcast's audience on the SFU, against the bare engine as the ceiling.
//
// One stage publisher sends hand-made VP8 RTP (about 300 kbit/s, 30 fps, a
// key frame every 2 s and on PLI/FIR, as an encoder would) on the first of
// three simulcast SSRCs. The audience is N viewers, each an SRTP
// PlainTransport consumer with the router's full RTP capabilities (NACK and
// RTX on, like browsers), sending to UDP sinks on loopback: a few sockets
// that never read (a child process holds them, small receive buffers), and
// one viewer in 100 to a socket of its own that this process reads, to show
// real delivery.
//
//   raw      the engine alone: one mediasoup worker, one router, no product
//            code, as many viewers as one worker gets in the product run.
//   product  the real server in this process (Server.start, one worker per
//            core): a broadcast room made through POST /api/rooms (with
//            meshMaxPeers 0, so the stage is on the SFU before its
//            audience comes), the host and every viewer joining over
//            WebSocket (join, sfu.join, sfu.resumeConsumer on the announced
//            sfu.newConsumer); the media transports are PlainTransports
//            handed to SfuRoom.attachTransport on the router the room picks.
//
// Both are set up first (the time to add 100 viewers, and for the product
// the signaling frames per viewer join, are measured then), then measured in
// windows that take turns (raw, product, product, raw, ...), one stream at a
// time, so load from elsewhere on the machine falls on both alike. Per
// window: each worker's CPU (/proc/<pid>/stat), loss inside the workers
// (each consumer's packet count against the producer's layer-0 count, read
// while the publisher pauses for well under mediasoup's 1.5 s inactivity
// check, so they are exact), delivery to the sampled sinks, and the PLI/FIR
// that reach the publisher. A plain viewer's join -> first RTP packet is
// measured too.
//
// Before all that, a browser phase (--browser-runs K, 0 to skip; needs
// `npm run build`, which the npm script runs first): the built server in a
// process of its own (as many workers as the product run), real Chromium
// with the fake camera (320x180, 15 fps). A broadcast room (kind broadcast)
// with a host on stage and one standing viewer (the first, which brings the
// stage to the SFU), and a meeting room on the SFU from the start
// (meshMaxPeers 0) with one participant publishing. Then K viewers join the
// broadcast and K participants join the meeting, taking turns (viewer,
// participant, viewer, ...), each timed from the start of its join (page
// script start) to the first rendered frame of the host's tile
// (window.__timing), and each leaving before the next joins. Chromium and
// that server are gone before the media windows start.
//
// Loopback only; every loop is bounded in count and time; every worker, the
// server and the sink process are ended at the end. Exit code 0 once the
// table is printed (--strict: 1 when a goal is missed). --json <file>: the
// main numbers as JSON too (report/results.ts), for `npm run bench`.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import WebSocket from 'ws';
import { MediasoupConfigSchema, ServerConfigSchema } from '../../core/config/index.js';
import { mediaCodecs } from '../../server/sfu/mediaCodecs.js';
import { launchBrowser } from '../support/browser.js';
import { peerIdOf } from '../support/call.js';
import { projectRoot, startServer, type RunningServer } from '../support/serverProcess.js';
import { machineCpuMs, processCpuMs as processCpuTimes } from './procStat.js';
import { writeBenchResult, type BroadcastResult } from './report/results.js';
import { median } from './report/stats.js';

const { values } = parseArgs({
	options: {
		viewers: { type: 'string', default: '1500' },
		seconds: { type: 'string', default: '10' },
		/** Measurement windows per side, taking turns. */
		rounds: { type: 'string', default: '2' },
		/** Viewers of the raw run; default: the product's viewers per worker. */
		'raw-viewers': { type: 'string' },
		/** Workers of the product run; default: the product's setting (one per core). */
		workers: { type: 'string' },
		'skip-raw': { type: 'boolean', default: false },
		'skip-product': { type: 'boolean', default: false },
		/** Browser joins per side (broadcast viewer, meeting participant on the SFU), before the media windows; 0: none. */
		'browser-runs': { type: 'string', default: '5' },
		strict: { type: 'boolean', default: false },
		'log-level': { type: 'string', default: 'warn' },
		json: { type: 'string' },
	},
});

const VIEWERS = Math.max(1, Math.min(5000, Math.floor(Number(values.viewers))));
const WINDOW_MS = Math.max(1, Math.min(120, Number(values.seconds))) * 1000;
const ROUNDS = Math.max(1, Math.min(10, Math.floor(Number(values.rounds))));
const LOG_LEVEL = values['log-level'] as string;
const BROWSER_RUNS = Math.max(0, Math.min(20, Math.floor(Number(values['browser-runs']) || 0)));
/** Whole run, whatever happens: past it the process exits (its workers follow: they watch their channel). */
const RUN_BUDGET_MS = 20 * 60_000;
const REQUEST_TIMEOUT_MS = 20_000;
const BATCH = 100;
const SAMPLE_EVERY = 100;
const SINK_SOCKETS = 8;
/** How long a viewer waits for its consumer to be announced before it sends sfu.join again. */
const ANNOUNCE_WAIT_MS = 5000;
const LOOPBACK = '127.0.0.1';

// The stream: VP8 on the lowest simulcast layer.
const FPS = 30;
const BITRATE = 300_000;
const GOP_FRAMES = 2 * FPS;
const KEY_FRAME_PACKETS = 10;
const MAX_PAYLOAD = 1100;
const RTP_HEADER = 12;
const VP8_DESCRIPTOR = 6;
const PAYLOAD_TYPE = 101;
const RTX_PAYLOAD_TYPE = 102;
/** Layer-0 SSRC first: the only one sent. */
const SSRCS = [0x1a2b0001, 0x1a2b0002, 0x1a2b0003] as const;
const LAYER0_SSRC = SSRCS[0];
const WIDTH = 320;
const HEIGHT = 180;
/** Bytes of the RTP packets of a delta frame: what is left of the bitrate after the key frame, over the other frames. */
const KEY_FRAME_BYTES = KEY_FRAME_PACKETS * (RTP_HEADER + MAX_PAYLOAD);
const DELTA_PACKET_BYTES = Math.min(RTP_HEADER + MAX_PAYLOAD, Math.round(((BITRATE / 8) * (GOP_FRAMES / FPS) - KEY_FRAME_BYTES) / (GOP_FRAMES - 1)));

// Goals (the issue).
const GOAL_VIEWERS = 1500;
const GOAL_WORKER_CPU = 85;
const GOAL_RATIO = 1.1;


const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));


function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	return Promise.race([
		promise,
		new Promise<T>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
		}),
	]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- CPU

/** CPU time (user + system) of a process so far, ms. */
function processCpuMs(pid: number): number {
	const { user, system } = processCpuTimes(pid);
	return user + system;
}

// ---------------------------------------------------------------- the publisher

/** The producer's parameters as a browser publishing three simulcast encodings by SSRC would send them. */
function publisherRtpParameters(): types.RtpParameters {
	return {
		codecs: [
			{
				mimeType: 'video/VP8',
				payloadType: PAYLOAD_TYPE,
				clockRate: 90000,
				rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
			},
			{ mimeType: 'video/rtx', payloadType: RTX_PAYLOAD_TYPE, clockRate: 90000, parameters: { apt: PAYLOAD_TYPE } },
		],
		encodings: SSRCS.map((ssrc, i) => ({
			ssrc,
			rtx: { ssrc: ssrc + 0x100 },
			maxBitrate: [BITRATE, 900_000, 2_500_000][i] as number,
			scalabilityMode: 'S1T3',
		})),
		rtcp: { cname: 'bench-stage', reducedSize: true },
	};
}

/**
 * Hand-made VP8 over RTP to a comedia PlainTransport: layer 0 only, 30 fps
 * paced by the clock, each frame split into RTP payloads of at most 1,100
 * bytes with the marker on its last packet. Every packet carries the
 * extended descriptor mediasoup 3.8.4 parses (VP8.cpp): X=1, I=1 with a
 * 15-bit picture id, L=1 (TL0PICIDX), T=1 (TID 0, Y=1); S=1 on a frame's
 * first packet, whose VP8 payload header has P=0 on key frames (then the
 * start code 9d 01 2a and the size). A key frame every 2 s, and at the next
 * frame after a PLI or FIR from the SFU. Counts the RTCP it gets back.
 */
class Vp8Publisher {
	readonly socket: Socket = createSocket('udp4');
	packetsSent = 0;
	keyFrames = 0;
	readonly pliAt: number[] = [];
	readonly firAt: number[] = [];
	nacks = 0;
	#port = 0;
	#timer: NodeJS.Timeout | undefined;
	#startedAt = 0;
	#frame = 0;
	#sinceKey = GOP_FRAMES;
	#keyRequested = false;
	#paused = false;
	#seq = randomBytes(2).readUInt16BE(0);
	readonly #ts0 = randomBytes(4).readUInt32BE(0);
	#pictureId = randomBytes(2).readUInt16BE(0) & 0x7fff;
	#tl0 = 0;

	async bind(): Promise<void> {
		await new Promise<void>((resolve) => this.socket.bind(0, LOOPBACK, resolve));
		this.socket.on('message', (packet: Buffer) => this.#onRtcp(packet));
	}

	start(port: number): void {
		this.#port = port;
		this.#startedAt = performance.now();
		this.#timer = setInterval(() => this.#tick(), 5);
	}

	/** Stops sending (the frame clock runs on); the SFU sees a gap, shorter than its 1.5 s inactivity check. */
	pause(): void {
		this.#paused = true;
	}

	resume(): void {
		this.#paused = false;
	}

	stop(): void {
		clearInterval(this.#timer);
		this.socket.close();
	}

	#tick(): void {
		const due = Math.floor(((performance.now() - this.#startedAt) * FPS) / 1000);
		// At most a few frames of catch-up per tick (bounded), the rest are skipped as a real encoder would.
		if (due - this.#frame > 3) this.#frame = due - 3;
		for (let n = 0; n < 4 && this.#frame < due; n++) {
			this.#frame++;
			if (!this.#paused) this.#sendFrame();
		}
	}

	#sendFrame(): void {
		const key = this.#keyRequested || this.#sinceKey >= GOP_FRAMES;
		this.#keyRequested = false;
		this.#sinceKey = key ? 1 : this.#sinceKey + 1;
		if (key) this.keyFrames++;
		this.#pictureId = (this.#pictureId + 1) & 0x7fff;
		this.#tl0 = (this.#tl0 + 1) & 0xff;
		const timestamp = (this.#ts0 + this.#frame * (90000 / FPS)) >>> 0;
		const packets = key ? KEY_FRAME_PACKETS : 1;
		const payloadBytes = key ? MAX_PAYLOAD : DELTA_PACKET_BYTES - RTP_HEADER;
		for (let p = 0; p < packets; p++) {
			const packet = Buffer.alloc(RTP_HEADER + payloadBytes, 0x5a);
			packet[0] = 0x80;
			packet[1] = (p === packets - 1 ? 0x80 : 0) | PAYLOAD_TYPE;
			this.#seq = (this.#seq + 1) & 0xffff;
			packet.writeUInt16BE(this.#seq, 2);
			packet.writeUInt32BE(timestamp, 4);
			packet.writeUInt32BE(LAYER0_SSRC, 8);
			const d = RTP_HEADER;
			packet[d] = p === 0 ? 0x90 : 0x80; // X=1, S on the first packet, partition 0
			packet[d + 1] = 0xe0; // I=1, L=1, T=1, K=0
			packet.writeUInt16BE(0x8000 | this.#pictureId, d + 2); // M=1: 15-bit picture id
			packet[d + 4] = this.#tl0; // TL0PICIDX
			packet[d + 5] = 0x20; // TID=0, Y=1, KEYIDX=0
			if (p === 0) {
				const h = d + VP8_DESCRIPTOR;
				// VP8 payload header: size0=0, show_frame=1, version=0, P (0: key frame).
				packet[h] = key ? 0x10 : 0x11;
				packet[h + 1] = 0x00;
				packet[h + 2] = 0x00;
				if (key) {
					packet[h + 3] = 0x9d;
					packet[h + 4] = 0x01;
					packet[h + 5] = 0x2a;
					packet.writeUInt16LE(WIDTH, h + 6);
					packet.writeUInt16LE(HEIGHT, h + 8);
				}
			}
			this.socket.send(packet, this.#port, LOOPBACK);
			this.packetsSent++;
		}
	}

	/** Compound RTCP from the SFU: PLI (206/1) and FIR (206/4) ask for a key frame; NACK (205/1) is only counted. */
	#onRtcp(packet: Buffer): void {
		let offset = 0;
		for (let n = 0; n < 32 && offset + 4 <= packet.length; n++) {
			const fmt = (packet[offset] as number) & 0x1f;
			const pt = packet[offset + 1] as number;
			if (pt === 206 && (fmt === 1 || fmt === 4)) {
				(fmt === 1 ? this.pliAt : this.firAt).push(performance.now());
				this.#keyRequested = true;
			} else if (pt === 205 && fmt === 1) {
				this.nacks++;
			}
			offset += (packet.readUInt16BE(offset + 2) + 1) * 4;
		}
	}
}

/** Key-frame requests (PLI + FIR) that reached the publisher in [from, to): how many, and the shortest gap between two in a row. */
function keyRequestsBetween(publisher: Vp8Publisher, from: number, to: number): { total: number; minGapMs: number } {
	const times = [...publisher.pliAt, ...publisher.firAt].filter((t) => t >= from && t < to).sort((a, b) => a - b);
	let minGapMs = Number.POSITIVE_INFINITY;
	for (let i = 1; i < times.length; i++) minGapMs = Math.min(minGapMs, (times[i] as number) - (times[i - 1] as number));
	return { total: times.length, minGapMs };
}

/** Key-frame requests since `from` (the first join), at the publisher and in the producer's stats. */
async function joinPhaseKeyRequests(
	publisher: Vp8Publisher,
	producer: types.Producer,
	before: { pliCount: number; firCount: number },
	from: number,
): Promise<{ total: number; minGapMs: number; seconds: number; producerStats: number }> {
	const now = performance.now();
	const after = await layer0Stats(producer);
	return { ...keyRequestsBetween(publisher, from, now), seconds: (now - from) / 1000, producerStats: after.pliCount + after.firCount - before.pliCount - before.firCount };
}

// ---------------------------------------------------------------- sinks

/** Where viewers send: sockets that never read, held by a child process (or, without python3, read here). */
class Sinks {
	readonly ports: number[] = [];
	mode = '';
	#child: ChildProcess | undefined;
	readonly #local: Socket[] = [];

	async open(): Promise<void> {
		try {
			await this.#openChild();
			this.mode = `${SINK_SOCKETS} non-reading sockets (4 KiB receive buffers) in a child process`;
		} catch (error) {
			for (let i = 0; i < SINK_SOCKETS; i++) {
				const socket = createSocket({ type: 'udp4', recvBufferSize: 4096 });
				socket.on('message', () => undefined);
				await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, resolve));
				this.#local.push(socket);
				this.ports.push(socket.address().port);
			}
			this.mode = `${SINK_SOCKETS} sockets read in this process (no python3: ${(error as Error).message})`;
		}
	}

	async #openChild(): Promise<void> {
		// Binds the sockets, prints their ports, then only waits: for stdin to close (this process ended) or the alarm.
		const script = [
			'import json, signal, socket, sys',
			`signal.alarm(${Math.ceil(RUN_BUDGET_MS / 1000) + 60})`,
			'socks = []',
			`for _ in range(${SINK_SOCKETS}):`,
			'    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
			'    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)',
			`    s.bind(("${LOOPBACK}", 0))`,
			'    socks.append(s)',
			'print(json.dumps([s.getsockname()[1] for s in socks]), flush=True)',
			'sys.stdin.read()',
		].join('\n');
		const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
		this.#child = child;
		const ports = await withTimeout(
			new Promise<number[]>((resolve, reject) => {
				child.once('error', reject);
				child.once('exit', (code) => reject(new Error(`sink process exited (${code})`)));
				child.stdout?.once('data', (data: Buffer) => resolve(JSON.parse(data.toString()) as number[]));
			}),
			10_000,
			'sink process',
		);
		this.ports.push(...ports);
	}

	close(): void {
		if (this.#child && this.#child.exitCode === null) {
			this.#child.stdin?.end();
			this.#child.kill();
		}
		for (const socket of this.#local) socket.close();
	}
}

/** One sampled viewer's sink: a socket read here; counts the consumer's media, RTX and other RTP, and RTCP. */
class SampleSink {
	readonly socket: Socket = createSocket('udp4');
	mediaSsrc = -1;
	media = 0;
	other = 0;
	rtcp = 0;
	gaps = 0;
	firstMediaAt = 0;
	#lastSeq = -1;

	async open(): Promise<number> {
		this.socket.on('message', (packet: Buffer) => {
			if (packet.length < 12) return;
			// RTCP: packet types 200-207 (the byte is not split by a marker bit).
			if ((packet[1] as number) >= 192 && (packet[1] as number) <= 223) {
				this.rtcp++;
				return;
			}
			if (packet.readUInt32BE(8) !== this.mediaSsrc) {
				this.other++;
				return;
			}
			const seq = packet.readUInt16BE(2);
			if (this.#lastSeq >= 0 && seq !== ((this.#lastSeq + 1) & 0xffff)) this.gaps++;
			this.#lastSeq = seq;
			if (this.media === 0) this.firstMediaAt = performance.now();
			this.media++;
		});
		await new Promise<void>((resolve) => this.socket.bind(0, LOOPBACK, resolve));
		return this.socket.address().port;
	}

	close(): void {
		this.socket.close();
	}
}

// ---------------------------------------------------------------- viewers and measurement

/** Consumer events that reached this process (worker -> Node channel notifications). */
const consumerEvents = { score: 0, layerschange: 0 };

function countEvents(consumer: types.Consumer): void {
	consumer.observer.on('score', () => consumerEvents.score++);
	consumer.observer.on('layerschange', () => consumerEvents.layerschange++);
}

interface Viewer {
	consumer: types.Consumer;
	workerPid: number;
	sample: SampleSink | undefined;
	joinStartedAt: number;
}

const srtpParameters = (): types.SrtpParameters => ({
	cryptoSuite: 'AES_CM_128_HMAC_SHA1_80',
	keyBase64: randomBytes(30).toString('base64'),
});

/** A viewer's transport, made on `router`: SRTP PlainTransport connected to its sink. */
async function viewerTransport(router: types.Router, sinkPort: number, appData: Record<string, unknown> = {}): Promise<types.PlainTransport> {
	const transport = await router.createPlainTransport({
		listenIp: { ip: LOOPBACK },
		rtcpMux: true,
		comedia: false,
		enableSrtp: true,
		srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80',
		appData,
	});
	await transport.connect({ ip: LOOPBACK, port: sinkPort, srtpParameters: srtpParameters() });
	return transport;
}

/** Where the i-th viewer sends: every 100th to a sampled sink of its own, the others round the non-reading sockets. */
async function sinkFor(i: number, sinks: Sinks, samples: SampleSink[]): Promise<{ port: number; sample: SampleSink | undefined }> {
	if (i % SAMPLE_EVERY === 0) {
		const sample = new SampleSink();
		samples.push(sample);
		return { port: await sample.open(), sample };
	}
	return { port: sinks.ports[i % sinks.ports.length] as number, sample: undefined };
}

/**
 * Counters at the start or end of a window. Each consumer's getStats() gives
 * its sent count and, in the same answer, the layer-0 count of the stream it
 * forwards as its own worker received it (the producer, or on another worker
 * the pipe's copy): an exact pair whatever the timing, read with the stream
 * running. The producer's count, one such stream count per worker and the
 * sampled sinks are read at a quiet point instead (the publisher paused
 * until two reads 100 ms apart agree, well under mediasoup's 1.5 s
 * inactivity check), so the pipes and the sinks can be held to the producer.
 */
interface Snapshot {
	publisherSent: number;
	producerPackets: number;
	pli: number;
	fir: number;
	nack: number;
	/** Per worker (in `workerPids` order): the layer-0 count that worker received (its producer or pipe copy), at the quiet point; -1: none there. */
	workerInbound: number[];
	sampleMedia: number[];
	/** Per viewer: packets its consumer sent, and (same answer) the packets of the stream it forwards on its worker; -1: no current stream. */
	consumerOut: number[];
	consumerIn: number[];
	pauseMs: number;
	readMs: number;
}

async function layer0Stats(producer: types.Producer): Promise<{ packetCount: number; pliCount: number; firCount: number; nackCount: number }> {
	const stats = (await producer.getStats()) as Array<{ ssrc?: number; packetCount?: number; pliCount?: number; firCount?: number; nackCount?: number }>;
	// The stage's producer has our SSRCs; its pipe copy on another worker, the ones its pipe consumer chose: layer 0 first either way.
	const ssrc = producer.rtpParameters.encodings?.[0]?.ssrc ?? LAYER0_SSRC;
	const s = stats.find((x) => x.ssrc === ssrc);
	return { packetCount: s?.packetCount ?? 0, pliCount: s?.pliCount ?? 0, firCount: s?.firCount ?? 0, nackCount: s?.nackCount ?? 0 };
}

async function consumerCounts(consumer: types.Consumer): Promise<{ out: number; in: number }> {
	const stats = (await consumer.getStats()) as Array<{ type: string; packetCount?: number }>;
	return {
		out: stats.find((s) => s.type === 'outbound-rtp')?.packetCount ?? 0,
		in: stats.find((s) => s.type === 'inbound-rtp')?.packetCount ?? -1,
	};
}

async function snapshot(side: Side): Promise<Snapshot> {
	const { publisher, producer, viewers, workerProducers } = side;
	const readQuiet = async () => {
		const [prod, inbound] = await Promise.all([
			layer0Stats(producer),
			Promise.all(workerProducers.map(async (p) => (p ? (await layer0Stats(p)).packetCount : -1))),
		]);
		const sampleMedia = viewers.map((v) => v.sample?.media ?? 0);
		return { prod, inbound, sampleMedia, sent: publisher.packetsSent, key: [prod.packetCount, ...inbound, sampleMedia.reduce((a, b) => a + b, 0)].join(',') };
	};
	publisher.pause();
	const pausedAt = performance.now();
	let quiet: Awaited<ReturnType<typeof readQuiet>>;
	try {
		await sleep(150);
		quiet = await readQuiet();
		for (let attempt = 0; attempt < 8; attempt++) {
			await sleep(100);
			const again = await readQuiet();
			const settled = again.key === quiet.key;
			quiet = again;
			if (settled) break;
		}
	} finally {
		publisher.resume();
	}
	const pauseMs = performance.now() - pausedAt;
	const t0 = performance.now();
	const pairs = await Promise.all(viewers.map((v) => consumerCounts(v.consumer)));
	return {
		publisherSent: quiet.sent,
		producerPackets: quiet.prod.packetCount,
		pli: quiet.prod.pliCount,
		fir: quiet.prod.firCount,
		nack: quiet.prod.nackCount,
		workerInbound: quiet.inbound,
		sampleMedia: quiet.sampleMedia,
		consumerOut: pairs.map((p) => p.out),
		consumerIn: pairs.map((p) => p.in),
		pauseMs,
		readMs: performance.now() - t0,
	};
}

interface WorkerRow {
	pid: number;
	viewers: number;
	cpu: number;
	/** Packets the viewers on this worker did not get (pipe and worker together), of the producer's packets times viewers. */
	missing: number;
	expected: number;
	/** The layer-0 packets this worker received (through a pipe when the producer is on another), of the producer's. */
	inbound: number;
	producerPackets: number;
}

interface RunResult {
	label: string;
	workers: WorkerRow[];
	viewers: number;
	notOnLayer0: number;
	producerPackets: number;
	publisherSent: number;
	sampled: number;
	sampledExpected: number;
	sampledGot: number;
	sampledGaps: number;
	pliFirWindow: { total: number; minGapMs: number };
	/** Key-frame requests from the first join until 2 s after the last: at the publisher, and in the producer's stats. */
	pliFirJoins: { total: number; minGapMs: number; seconds: number; producerStats: number };
	producerPliFirWindow: number;
	keyFramesWindow: number;
	nacksWindow: number;
	batchMs: number[];
	joinSeconds: number;
	firstPacketMs: number[];
	machineBusy: number;
	/** CPU of the other side's workers (their stream paused) during these windows, % of a core. */
	idleSideCpu: number;
	benchCpu: number;
	/** Longest publisher pause for a quiet point, and longest read of every consumer's counters, ms. */
	pauseMs: number;
	statsReadMs: number;
	/** Consumer score and layerschange events in the windows. */
	events: { score: number; layerschange: number };
	/** Each window's CPU per worker (% of a core). */
	windows: number[][];
	signaling?: SignalingReport;
	/** Product: worker pids of viewers whose first sfu.join announced no consumer. */
	unannounced?: number[];
}

/** Waits (bounded) for every consumer to forward layer 0; returns how many do not. */
async function waitForLayer0(viewers: Viewer[], timeoutMs: number): Promise<number> {
	const deadline = performance.now() + timeoutMs;
	let missing = viewers.length;
	while (performance.now() < deadline) {
		missing = viewers.filter((v) => v.consumer.currentLayers?.spatialLayer !== 0).length;
		if (missing === 0) break;
		await sleep(250);
	}
	return missing;
}

/** What one window measured. */
type WindowResult = Omit<RunResult, 'batchMs' | 'joinSeconds' | 'firstPacketMs' | 'pliFirJoins' | 'signaling' | 'unannounced' | 'windows'> & {
	seconds: number;
	/** CPU of the other side's workers (their stream paused) meanwhile, % of a core. */
	idleSideCpu: number;
	wireIn: number;
	wireNotifications: Record<string, number>;
};

/** One window: CPU of each worker and of the machine, loss inside the workers, sampled delivery, key-frame requests. */
async function measure(side: Side, idlePids: number[]): Promise<WindowResult> {
	const { label, publisher, viewers, workerPids } = side;
	const notOnLayer0 = await waitForLayer0(viewers, 10_000);
	await sleep(1500); // Settle after the joins: key frames, socket buffers.
	const before = await snapshot(side);
	const keysBefore = publisher.keyFrames;
	const nacksBefore = publisher.nacks;
	const cpuBefore = workerPids.map(processCpuMs);
	const idleBefore = idlePids.map(processCpuMs);
	const machineBefore = machineCpuMs();
	const benchBefore = process.cpuUsage();
	const eventsBefore = { ...consumerEvents };
	const wireBefore = wireSnapshot();
	const t0 = performance.now();
	await sleep(WINDOW_MS);
	const elapsed = performance.now() - t0;
	const cpuAfter = workerPids.map(processCpuMs);
	const idleAfter = idlePids.map(processCpuMs);
	const machineAfter = machineCpuMs();
	const bench = process.cpuUsage(benchBefore);
	const events = { score: consumerEvents.score - eventsBefore.score, layerschange: consumerEvents.layerschange - eventsBefore.layerschange };
	const wireIn = wire.in - wireBefore.in;
	const wireNotifications = notificationDelta(wireBefore.notifications);
	const t1 = performance.now();
	const after = await snapshot(side);

	const producerPackets = after.producerPackets - before.producerPackets;
	const workers: WorkerRow[] = workerPids.map((pid, i) => ({
		pid,
		viewers: 0,
		cpu: (((cpuAfter[i] as number) - (cpuBefore[i] as number)) / elapsed) * 100,
		missing: 0,
		expected: 0,
		inbound: (after.workerInbound[i] as number) - (before.workerInbound[i] as number),
		producerPackets,
	}));
	let sampled = 0;
	let sampledGot = 0;
	let sampledGaps = 0;
	let unpaired = 0;
	viewers.forEach((v, i) => {
		const w = workerPids.indexOf(v.workerPid);
		const row = workers[w];
		if (!row) return;
		row.viewers++;
		row.expected += producerPackets;
		const sent = (after.consumerOut[i] as number) - (before.consumerOut[i] as number);
		const inBefore = before.consumerIn[i] as number;
		const inAfter = after.consumerIn[i] as number;
		// Missing = what the pipe lost on the way to this worker + what the worker got but this consumer did not send.
		const pipeMissing = Math.max(0, producerPackets - row.inbound);
		if (inBefore >= 0 && inAfter >= 0) {
			row.missing += pipeMissing + Math.max(0, inAfter - inBefore - sent);
		} else {
			unpaired++;
			row.missing += Math.max(0, producerPackets - sent);
		}
		if (v.sample) {
			sampled++;
			sampledGot += (after.sampleMedia[i] as number) - (before.sampleMedia[i] as number);
			sampledGaps += v.sample.gaps;
		}
	});
	return {
		label,
		workers,
		viewers: viewers.length,
		notOnLayer0: Math.max(notOnLayer0, unpaired),
		producerPackets,
		publisherSent: after.publisherSent - before.publisherSent,
		sampled,
		sampledExpected: sampled * producerPackets,
		sampledGot,
		sampledGaps,
		pliFirWindow: keyRequestsBetween(publisher, t0, t1),
		producerPliFirWindow: after.pli + after.fir - before.pli - before.fir,
		keyFramesWindow: publisher.keyFrames - keysBefore,
		nacksWindow: publisher.nacks - nacksBefore,
		machineBusy: ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * 100,
		benchCpu: ((bench.user + bench.system) / 1000 / elapsed) * 100,
		pauseMs: Math.max(before.pauseMs, after.pauseMs),
		statsReadMs: Math.max(before.readMs, after.readMs),
		events,
		seconds: elapsed / 1000,
		idleSideCpu: (idlePids.reduce((a, _, i) => a + (idleAfter[i] as number) - (idleBefore[i] as number), 0) / elapsed) * 100,
		wireIn,
		wireNotifications,
	};
}

/** The windows of one side, together: CPU as the mean over the windows, counts summed. */
function combine(side: Side, windows: WindowResult[]): RunResult {
	const first = windows[0] as WindowResult;
	const sum = (f: (w: WindowResult) => number) => windows.reduce((a, w) => a + f(w), 0);
	const mean = (f: (w: WindowResult) => number) => sum(f) / windows.length;
	const seconds = sum((w) => w.seconds);
	const notifications: Record<string, number> = {};
	for (const w of windows) for (const [m, n] of Object.entries(w.wireNotifications)) notifications[m] = (notifications[m] ?? 0) + n;
	return {
		label: side.label,
		workers: first.workers.map((row, i) => ({
			pid: row.pid,
			viewers: row.viewers,
			cpu: mean((w) => (w.workers[i] as WorkerRow).cpu),
			missing: sum((w) => (w.workers[i] as WorkerRow).missing),
			expected: sum((w) => (w.workers[i] as WorkerRow).expected),
			inbound: sum((w) => (w.workers[i] as WorkerRow).inbound),
			producerPackets: sum((w) => (w.workers[i] as WorkerRow).producerPackets),
		})),
		windows: windows.map((w) => w.workers.map((r) => r.cpu)),
		viewers: first.viewers,
		notOnLayer0: Math.max(...windows.map((w) => w.notOnLayer0)),
		producerPackets: sum((w) => w.producerPackets),
		publisherSent: sum((w) => w.publisherSent),
		sampled: first.sampled,
		sampledExpected: sum((w) => w.sampledExpected),
		sampledGot: sum((w) => w.sampledGot),
		sampledGaps: Math.max(...windows.map((w) => w.sampledGaps)),
		pliFirWindow: { total: sum((w) => w.pliFirWindow.total), minGapMs: Math.min(...windows.map((w) => w.pliFirWindow.minGapMs)) },
		producerPliFirWindow: sum((w) => w.producerPliFirWindow),
		keyFramesWindow: sum((w) => w.keyFramesWindow),
		nacksWindow: sum((w) => w.nacksWindow),
		machineBusy: mean((w) => w.machineBusy),
		idleSideCpu: mean((w) => w.idleSideCpu),
		benchCpu: mean((w) => w.benchCpu),
		pauseMs: Math.max(...windows.map((w) => w.pauseMs)),
		statsReadMs: Math.max(...windows.map((w) => w.statsReadMs)),
		events: { score: sum((w) => w.events.score), layerschange: sum((w) => w.events.layerschange) },
		batchMs: side.batchMs,
		joinSeconds: side.joinSeconds,
		firstPacketMs: side.firstPacketMs,
		pliFirJoins: side.pliFirJoins,
		...(side.unannounced ? { unannounced: side.unannounced } : {}),
		...(side.signaling
			? { signaling: { ...side.signaling, steadyFramesPerSecond: sum((w) => w.wireIn) / seconds, steadyNotifications: notifications } }
			: {}),
	};
}

/** A set-up audience with its stage publisher, measured in windows; close() ends what it started. */
interface Side {
	label: string;
	publisher: Vp8Publisher;
	producer: types.Producer;
	viewers: Viewer[];
	workerPids: number[];
	/** Per worker: the stage's producer there, or its pipe copy (undefined: none). */
	workerProducers: Array<types.Producer | undefined>;
	batchMs: number[];
	joinSeconds: number;
	firstPacketMs: number[];
	pliFirJoins: RunResult['pliFirJoins'];
	signaling?: Omit<SignalingReport, 'steadyFramesPerSecond' | 'steadyNotifications'>;
	unannounced?: number[];
	close(): Promise<void>;
}

const firstPackets = (viewers: Viewer[]) =>
	viewers.filter((v) => v.sample && v.sample.media > 0).map((v) => (v.sample as SampleSink).firstMediaAt - v.joinStartedAt);

// ---------------------------------------------------------------- raw engine

/** The engine alone: one worker, one router, the stage producer, `viewerCount` viewers; no product code. */
async function setupRaw(viewerCount: number, sinks: Sinks): Promise<Side> {
	const settings = MediasoupConfigSchema.parse({});
	const worker = await mediasoup.createWorker({ logLevel: settings.logLevel, rtcMinPort: settings.rtcMinPort, rtcMaxPort: settings.rtcMaxPort });
	const publisher = new Vp8Publisher();
	const samples: SampleSink[] = [];
	const close = async () => {
		publisher.stop();
		for (const s of samples) s.close();
		worker.close();
		await waitForExit([worker.pid]);
	};
	try {
		const router = await worker.createRouter({ mediaCodecs });
		const ingress = await router.createPlainTransport({ listenIp: { ip: LOOPBACK }, rtcpMux: true, comedia: true });
		const producer = await ingress.produce({ kind: 'video', rtpParameters: publisherRtpParameters(), keyFrameRequestDelay: 1000 });
		await publisher.bind();
		publisher.start(ingress.tuple.localPort);
		await sleep(500);

		const viewers: Viewer[] = [];
		const batchMs: number[] = [];
		const statsBefore = await layer0Stats(producer);
		const joinsFrom = performance.now();
		for (let from = 0; from < viewerCount; from += BATCH) {
			const t0 = performance.now();
			const batch = await Promise.all(
				Array.from({ length: Math.min(BATCH, viewerCount - from) }, async (_, k): Promise<Viewer> => {
					const joinStartedAt = performance.now();
					const { port, sample } = await sinkFor(from + k, sinks, samples);
					const transport = await viewerTransport(router, port);
					const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities, paused: true });
					if (sample) sample.mediaSsrc = consumer.rtpParameters.encodings?.[0]?.ssrc ?? -1;
					countEvents(consumer);
					await consumer.resume();
					return { consumer, workerPid: worker.pid, sample, joinStartedAt };
				}),
			);
			viewers.push(...batch);
			if (batch.length === BATCH) batchMs.push(performance.now() - t0);
		}
		const joinsTo = performance.now();
		await sleep(2000);
		const pliFirJoins = await joinPhaseKeyRequests(publisher, producer, statsBefore, joinsFrom);
		return {
			label: 'raw engine',
			publisher,
			producer,
			viewers,
			workerPids: [worker.pid],
			workerProducers: [producer],
			batchMs,
			joinSeconds: (joinsTo - joinsFrom) / 1000,
			firstPacketMs: firstPackets(viewers),
			pliFirJoins,
			close,
		};
	} catch (error) {
		await close();
		throw error;
	}
}

async function waitForExit(pids: number[], timeoutMs = 5000): Promise<void> {
	const deadline = performance.now() + timeoutMs;
	const alive = (pid: number) => {
		try {
			process.kill(pid, 0);
			return true;
		} catch {
			return false;
		}
	};
	while (pids.some(alive) && performance.now() < deadline) await sleep(20);
}

// ---------------------------------------------------------------- product

interface SignalingReport {
	joins: number;
	framesIn: number;
	framesOut: number;
	responsesIn: number;
	notificationsIn: Record<string, number>;
	steadyFramesPerSecond: number;
	steadyNotifications: Record<string, number>;
}

/** Frames every bench client received and sent, by kind: the signaling cost. */
const wire = { in: 0, out: 0, responses: 0, notifications: new Map<string, number>() };

function wireSnapshot() {
	return { in: wire.in, out: wire.out, responses: wire.responses, notifications: new Map(wire.notifications) };
}

function notificationDelta(before: Map<string, number>): Record<string, number> {
	const out: Record<string, number> = {};
	for (const [method, n] of wire.notifications) {
		const d = n - (before.get(method) ?? 0);
		if (d > 0) out[method] = d;
	}
	return out;
}

/** A bare signaling client: JSON over `ws`, request/response by id, notifications to listeners; counts every frame. */
class WsClient {
	readonly #ws: WebSocket;
	#nextId = 1;
	readonly #pending = new Map<number, { resolve: (data: unknown) => void; reject: (error: Error) => void }>();
	readonly #listeners = new Map<string, (data: unknown) => void>();
	/** The methods of the notifications this client got, in order (the first 20, for error messages). */
	readonly heard: string[] = [];

	private constructor(ws: WebSocket) {
		this.#ws = ws;
		ws.on('message', (raw: Buffer) => {
			wire.in++;
			const msg = JSON.parse(raw.toString()) as { id?: number; ok?: boolean; data?: unknown; method?: string; errorCode?: string; errorReason?: string };
			if (msg.id !== undefined && msg.method === undefined) {
				wire.responses++;
				const pending = this.#pending.get(msg.id);
				if (!pending) return;
				this.#pending.delete(msg.id);
				if (msg.ok) pending.resolve(msg.data);
				else pending.reject(new Error(`${msg.errorCode}: ${msg.errorReason}`));
				return;
			}
			if (msg.method) {
				if (this.heard.length < 20) this.heard.push(msg.method);
				wire.notifications.set(msg.method, (wire.notifications.get(msg.method) ?? 0) + 1);
				this.#listeners.get(msg.method)?.(msg.data);
			}
		});
		ws.on('close', () => {
			for (const p of this.#pending.values()) p.reject(new Error('socket closed'));
			this.#pending.clear();
		});
	}

	static connect(url: string): Promise<WsClient> {
		return withTimeout(
			new Promise<WsClient>((resolve, reject) => {
				const ws = new WebSocket(url, { perMessageDeflate: false });
				ws.once('error', reject);
				ws.once('open', () => {
					ws.off('error', reject);
					ws.on('error', () => undefined);
					resolve(new WsClient(ws));
				});
			}),
			REQUEST_TIMEOUT_MS,
			'WebSocket connect',
		);
	}

	request<T = Record<string, unknown>>(method: string, data: unknown): Promise<T> {
		const id = this.#nextId++;
		const answer = new Promise<T>((resolve, reject) => this.#pending.set(id, { resolve: resolve as (d: unknown) => void, reject }));
		this.#ws.send(JSON.stringify({ id, method, data }));
		wire.out++;
		return withTimeout(answer, REQUEST_TIMEOUT_MS, method);
	}

	/** The next notification of that method (one listener per method). */
	next<T>(method: string, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> {
		return withTimeout(
			new Promise<T>((resolve) =>
				this.#listeners.set(method, (data) => {
					this.#listeners.delete(method);
					resolve(data as T);
				}),
			),
			timeoutMs,
			`notification ${method}`,
		);
	}

	terminate(): void {
		this.#ws.terminate();
	}
}

/** The product: the real server in this process, a broadcast room, the stage and `viewerCount` viewers joined over WebSocket. */
async function setupProduct(viewerCount: number, workerCount: number, sinks: Sinks): Promise<Side> {
	// Loaded here, not at the top: the raw run needs none of the product.
	const { Server } = await import('../../server/Server.js');
	const { createLogger } = await import('../../server/logger.js');
	const config = ServerConfigSchema.parse({
		port: 0,
		host: LOOPBACK,
		mediasoup: { numWorkers: workerCount, listenIp: LOOPBACK },
		// Every bench client comes from 127.0.0.1.
		limits: { maxConnectionsPerAddress: viewerCount + 100, maxConnections: Math.max(10_000, viewerCount + 100) },
	});
	const server = await Server.start(config, createLogger(LOG_LEVEL), { webRoot: '/nonexistent' });
	const workerPids = server.workers.workers.map((w) => w.pid);
	// Every producer made on each worker (the stage's, and its pipe copies on the others, which carry its id).
	const producersOn = new Map<number, types.Producer[]>(workerPids.map((pid) => [pid, []]));
	for (const worker of server.workers.workers) {
		worker.observer.on('newrouter', (router: types.Router) =>
			router.observer.on('newtransport', (transport: types.Transport) =>
				transport.observer.on('newproducer', (p: types.Producer) => producersOn.get(worker.pid)?.push(p)),
			),
		);
	}
	const roomId = 'bench-broadcast';
	const clients: WsClient[] = [];
	const publisher = new Vp8Publisher();
	const samples: SampleSink[] = [];
	const close = async () => {
		publisher.stop();
		for (const c of clients) c.terminate();
		for (const s of samples) s.close();
		await server.close();
	};
	try {
		const created = await fetch(`http://${LOOPBACK}:${server.port}/api/rooms`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			// meshMaxPeers 0: on the SFU from the first participant, so the stage is live before its audience comes.
			body: JSON.stringify({ roomId, settings: { kind: 'broadcast', meshMaxPeers: 0 } }),
			signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
		});
		if (created.status !== 201) throw new Error(`POST /api/rooms: ${created.status} ${await created.text()}`);
		const url = `ws://${LOOPBACK}:${server.port}/ws`;
		const { PROTOCOL_VERSION } = await import('../../core/protocol/index.js');
		const rtpCapabilities = server.workers.routerRtpCapabilities;

		// The stage: a host who publishes the camera on a PlainTransport the room adopts.
		const host = await WsClient.connect(url);
		clients.push(host);
		const hostJoin = await host.request<{ peerId: string }>('join', { protocolVersion: PROTOCOL_VERSION, roomId, displayName: 'stage', role: 'host' });
		await host.request('sfu.join', { rtpCapabilities });
		const room = server.sfuRooms.get(roomId);
		if (!room) throw new Error(`sfu.join answered but the server has no SFU side for room "${roomId}"`);
		let producer: types.Producer | undefined;
		const send = await room.attachTransport(hostJoin.peerId, 'send', async (router) => {
			const transport = await router.createPlainTransport({
				listenIp: { ip: LOOPBACK },
				rtcpMux: true,
				comedia: true,
				appData: { peerId: hostJoin.peerId, direction: 'send' },
			});
			transport.observer.on('newproducer', (p: types.Producer) => (producer = p));
			return transport;
		});
		await publisher.bind();
		publisher.start((send as types.PlainTransport).tuple.localPort);
		await host.request('sfu.produce', { transportId: send.id, kind: 'video', source: 'camera', rtpParameters: publisherRtpParameters() });
		if (!producer) throw new Error('sfu.produce answered but no producer was seen on the transport');
		const stageProducer: types.Producer = producer;
		await sleep(500);

		// The audience, 100 at a time: join, sfu.join, a receive transport, the announced consumer resumed.
		const viewers: Viewer[] = [];
		const batchMs: number[] = [];
		/** Worker pids of viewers whose first sfu.join brought no sfu.newConsumer (they asked again). */
		const unannounced: number[] = [];
		const statsBefore = await layer0Stats(stageProducer);
		const wireBefore = wireSnapshot();
		const joinsFrom = performance.now();
		for (let from = 0; from < viewerCount; from += BATCH) {
			const t0 = performance.now();
			const batch = await Promise.all(
				Array.from({ length: Math.min(BATCH, viewerCount - from) }, async (_, k): Promise<Viewer> => {
					const i = from + k;
					const joinStartedAt = performance.now();
					const { port, sample } = await sinkFor(i, sinks, samples);
					const client = await WsClient.connect(url);
					clients.push(client);
					const joined = await client.request<{ peerId: string; role?: string }>('join', { protocolVersion: PROTOCOL_VERSION, roomId, displayName: `v${i}` });
					let workerPid = -1;
					let consumer: types.Consumer | undefined;
					const announced = client.next<{ consumerId: string }>('sfu.newConsumer', ANNOUNCE_WAIT_MS);
					await room.attachTransport(joined.peerId, 'recv', async (router) => {
						workerPid = (router.appData as { workerPid: number }).workerPid;
						const transport = await viewerTransport(router, port, { peerId: joined.peerId, direction: 'recv' });
						transport.observer.on('newconsumer', (c: types.Consumer) => {
							consumer = c;
							countEvents(c);
							if (sample) sample.mediaSsrc = c.rtpParameters.encodings?.[0]?.ssrc ?? -1;
						});
						return transport;
					});
					await client.request('sfu.join', { rtpCapabilities });
					let news = await announced.catch(() => undefined);
					if (!news) {
						// No consumer announced: ask again, as a client would (sfu.join again: the room consumes what the peer lacks).
						unannounced.push(workerPid);
						const again = client.next<{ consumerId: string }>('sfu.newConsumer');
						await client.request('sfu.join', { rtpCapabilities });
						news = await again.catch((error: Error) => {
							throw new Error(`viewer ${i} (worker ${workerPid}): ${error.message}; it heard: ${client.heard.join(', ') || 'nothing'}`);
						});
					}
					const { consumerId } = news;
					await client.request('sfu.resumeConsumer', { consumerId });
					if (!consumer || consumer.id !== consumerId) throw new Error(`viewer ${i}: announced consumer ${consumerId} is not on its transport`);
					return { consumer, workerPid, sample, joinStartedAt };
				}),
			);
			viewers.push(...batch);
			if (batch.length === BATCH) batchMs.push(performance.now() - t0);
		}
		const joinsTo = performance.now();
		// Batched audience updates go out at most once a second: let the last of them land before counting.
		await sleep(Math.max(2000, 2 * config.broadcast.updateIntervalMs + 200));
		const pliFirJoins = await joinPhaseKeyRequests(publisher, stageProducer, statsBefore, joinsFrom);
		const joinFrames = { in: wire.in - wireBefore.in, out: wire.out - wireBefore.out, responses: wire.responses - wireBefore.responses };
		const joinNotifications = notificationDelta(wireBefore.notifications);
		return {
			label: 'product',
			publisher,
			producer: stageProducer,
			viewers,
			workerPids,
			workerProducers: workerPids.map((pid) => producersOn.get(pid)?.find((p) => p.id === stageProducer.id && !p.closed)),
			batchMs,
			joinSeconds: (joinsTo - joinsFrom) / 1000,
			firstPacketMs: firstPackets(viewers),
			pliFirJoins,
			unannounced,
			signaling: {
				joins: viewerCount,
				framesIn: joinFrames.in,
				framesOut: joinFrames.out,
				responsesIn: joinFrames.responses,
				notificationsIn: joinNotifications,
			},
			close,
		};
	} catch (error) {
		await close();
		throw error;
	}
}

// ---------------------------------------------------------------- browser: join -> first frame

/** A measured join that renders no frame of the host's tile by then is a failure. */
const BROWSER_FRAME_TIMEOUT_MS = 20_000;
/** The first viewer also brings the broadcast's stage to the SFU. */
const BROWSER_WARMUP_TIMEOUT_MS = 30_000;
const BROWSER_PAGE_TIMEOUT_MS = 20_000;
/** Past this, the phase starts no further join (the ones not run are reported). */
const BROWSER_PHASE_BUDGET_MS = 6 * 60_000;
/** After a measured page leaves: the room back to its size (bounded), then this pause before the next join. */
const BROWSER_SETTLE_MS = 500;
const BROWSER_VIEWPORT = { width: 640, height: 360 };
const WEB_INDEX = join(projectRoot, 'dist/web/index.html');
const SERVER_MAIN = join(projectRoot, 'dist/server/main.js');

interface BrowserSeries {
	/** Join start -> first rendered frame of the host's tile, ms, per measured join that rendered. */
	times: number[];
	failures: string[];
	/** The unmeasured first join of the room (ms), or why it failed. */
	warmUp: number | string;
}

interface BrowserPhase {
	workers: number;
	runs: number;
	viewer: BrowserSeries;
	meeting: BrowserSeries;
	/** Why the phase could not run at all (launch, server start). */
	error?: string;
	seconds: number;
}

const firstLine = (error: unknown) => ((error as Error).message ?? String(error)).split('\n')[0] as string;

async function createRoom(server: RunningServer, roomId: string, settings: Record<string, unknown>): Promise<void> {
	const response = await fetch(`${server.url}/api/rooms`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ roomId, settings }),
		signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
	});
	if (response.status !== 201) throw new Error(`POST /api/rooms ${roomId}: ${response.status} ${await response.text()}`);
}

async function roomState(server: RunningServer, roomId: string): Promise<{ peers: number; topology: string }> {
	const response = await fetch(`${server.url}/api/rooms/${roomId}`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
	const body = (await response.json()) as { peers?: number; topology?: { state?: string } };
	return { peers: body.peers ?? -1, topology: body.topology?.state ?? '?' };
}

/** Polls the room (bounded) until `done`; the last state either way. */
async function waitForRoom(
	server: RunningServer,
	roomId: string,
	done: (state: { peers: number; topology: string }) => boolean,
	timeoutMs = 10_000,
): Promise<{ ok: boolean; peers: number; topology: string }> {
	const deadline = performance.now() + timeoutMs;
	let state = await roomState(server, roomId);
	while (!done(state) && performance.now() < deadline) {
		await sleep(100);
		state = await roomState(server, roomId);
	}
	return { ok: done(state), ...state };
}

/** A page of its own (own context) that opens the call link. */
async function openCallPage(browser: Browser, server: RunningServer, roomId: string, name: string, role?: string): Promise<{ context: BrowserContext; page: Page }> {
	const context = await browser.newContext({ viewport: BROWSER_VIEWPORT });
	try {
		const page = await context.newPage();
		page.setDefaultTimeout(BROWSER_PAGE_TIMEOUT_MS);
		await page.goto(`${server.url}/?room=${encodeURIComponent(roomId)}&name=${encodeURIComponent(name)}${role ? `&role=${role}` : ''}`, {
			timeout: BROWSER_PAGE_TIMEOUT_MS,
		});
		return { context, page };
	} catch (error) {
		await context.close().catch(() => undefined);
		throw error;
	}
}

/** A publisher that stays: joined (its peer id known). */
async function openHost(browser: Browser, server: RunningServer, roomId: string, role?: string): Promise<{ context: BrowserContext; id: string }> {
	const { context, page } = await openCallPage(browser, server, roomId, 'Host', role);
	try {
		await page.waitForFunction(() => window.__call?.peerId !== undefined, undefined, { timeout: BROWSER_PAGE_TIMEOUT_MS, polling: 50 });
		return { context, id: (await peerIdOf(page)) as string };
	} catch (error) {
		await context.close().catch(() => undefined);
		throw error;
	}
}

/**
 * One join, timed: the page's join start (window.__timing.joinStartedAt,
 * performance.now() at its script's start) to the first rendered frame of
 * `hostId`'s tile. The page stays open (the caller closes it).
 */
async function timedJoin(
	browser: Browser,
	server: RunningServer,
	roomId: string,
	name: string,
	hostId: string,
	timeoutMs: number,
): Promise<{ context: BrowserContext; page: Page; ms: number }> {
	const { context, page } = await openCallPage(browser, server, roomId, name);
	try {
		const handle = await page.waitForFunction(
			(id) => {
				const t = window.__timing;
				const at = t?.firstFrameAt[id];
				return t && at !== undefined ? at - t.joinStartedAt : undefined;
			},
			hostId,
			{ timeout: timeoutMs, polling: 20 },
		);
		return { context, page, ms: (await handle.jsonValue()) as number };
	} catch (error) {
		// What the page shows says why (a join refused, no media path, ...).
		const status = await page
			.locator('[role=status]')
			.first()
			.textContent({ timeout: 1000 })
			.catch(() => null);
		await context.close().catch(() => undefined);
		throw new Error(`${firstLine(error)}${status ? ` (page status: "${status.trim()}")` : ''}`, { cause: error });
	}
}

/** The page leaves the call (a leave, not a drop: no resume grace), then its context closes. */
async function leave(context: BrowserContext, page: Page): Promise<void> {
	await withTimeout(
		page.evaluate(() => window.__call?.close()),
		5000,
		'leave',
	).catch(() => undefined);
	await context.close().catch(() => undefined);
}

/** One measured join into `roomId`, which then leaves; the room must be back to `peersAfter` before the next. */
async function measuredJoin(
	browser: Browser,
	server: RunningServer,
	roomId: string,
	name: string,
	hostId: string,
	peersAfter: number,
	series: BrowserSeries,
): Promise<void> {
	const before = await roomState(server, roomId).catch(() => ({ peers: -1, topology: '?' }));
	try {
		const joined = await timedJoin(browser, server, roomId, name, hostId, BROWSER_FRAME_TIMEOUT_MS);
		series.times.push(joined.ms);
		await leave(joined.context, joined.page);
	} catch (error) {
		series.failures.push(`${name} (room ${before.topology}, ${before.peers} peers before): ${firstLine(error)}`);
	}
	const after = await waitForRoom(server, roomId, (s) => s.peers === peersAfter).catch((error: unknown) => ({ ok: false, peers: -1, topology: firstLine(error) }));
	if (!after.ok) series.failures.push(`after ${name}: the room did not return to ${peersAfter} peers within 10 s (${after.peers}, ${after.topology})`);
	await sleep(BROWSER_SETTLE_MS);
}

/**
 * The browser phase: the built server in a process of its own, real
 * Chromium; broadcast viewers and meeting participants on the SFU joining
 * in turns, each timed to the host's first rendered frame. Never throws:
 * what failed is in the result.
 */
async function browserPhase(runs: number, workers: number): Promise<BrowserPhase> {
	const started = performance.now();
	const result: BrowserPhase = {
		workers,
		runs,
		viewer: { times: [], failures: [], warmUp: 'not run' },
		meeting: { times: [], failures: [], warmUp: 'not run' },
		seconds: 0,
	};
	let server: RunningServer | undefined;
	let browser: Browser | undefined;
	const standing: BrowserContext[] = [];
	try {
		server = await startServer({ MEDIASOUP_NUM_WORKERS: String(workers) });
		browser = await launchBrowser();
		const BROADCAST = 'bench-browser-broadcast';
		const MEETING = 'bench-browser-meeting';
		await createRoom(server, BROADCAST, { kind: 'broadcast' });
		await createRoom(server, MEETING, { meshMaxPeers: 0 });

		// The stages: a host in the broadcast, a participant publishing in the meeting.
		const broadcastHost = await openHost(browser, server, BROADCAST, 'host');
		standing.push(broadcastHost.context);
		const meetingHost = await openHost(browser, server, MEETING);
		standing.push(meetingHost.context);

		// Warm-ups, not in the medians: the first viewer stays (the audience that keeps the
		// broadcast on the SFU); the meeting's first joiner leaves like the measured ones.
		try {
			const first = await timedJoin(browser, server, BROADCAST, 'V0', broadcastHost.id, BROWSER_WARMUP_TIMEOUT_MS);
			standing.push(first.context);
			result.viewer.warmUp = first.ms;
		} catch (error) {
			result.viewer.warmUp = firstLine(error);
		}
		try {
			const first = await timedJoin(browser, server, MEETING, 'P0', meetingHost.id, BROWSER_WARMUP_TIMEOUT_MS);
			result.meeting.warmUp = first.ms;
			await leave(first.context, first.page);
		} catch (error) {
			result.meeting.warmUp = firstLine(error);
		}
		const onSfu = await waitForRoom(server, BROADCAST, (s) => s.topology === 'sfu' && s.peers === 2);
		if (!onSfu.ok) result.viewer.failures.push(`before the measured joins: broadcast is ${onSfu.topology} with ${onSfu.peers} peers (expected sfu, host + first viewer)`);
		const meetingReady = await waitForRoom(server, MEETING, (s) => s.topology === 'sfu' && s.peers === 1);
		if (!meetingReady.ok) result.meeting.failures.push(`before the measured joins: meeting is ${meetingReady.topology} with ${meetingReady.peers} peers (expected sfu, 1)`);
		await sleep(BROWSER_SETTLE_MS);

		// Taking turns, so load from elsewhere on the machine falls on both alike.
		for (let run = 1; run <= runs; run++) {
			if (performance.now() - started > BROWSER_PHASE_BUDGET_MS) {
				const skipped = `runs ${run}-${runs} not run: the phase's ${BROWSER_PHASE_BUDGET_MS / 60_000} min budget is spent`;
				result.viewer.failures.push(skipped);
				result.meeting.failures.push(skipped);
				break;
			}
			console.log(`  browser run ${run}/${runs}: a viewer joins the broadcast, then a participant the meeting`);
			await measuredJoin(browser, server, BROADCAST, `V${run}`, broadcastHost.id, 2, result.viewer);
			await measuredJoin(browser, server, MEETING, `P${run}`, meetingHost.id, 1, result.meeting);
		}
	} catch (error) {
		result.error = firstLine(error);
	} finally {
		for (const context of standing) await context.close().catch(() => undefined);
		await browser?.close().catch(() => undefined);
		await server?.stop().catch(() => undefined);
	}
	result.seconds = (performance.now() - started) / 1000;
	return result;
}

function reportBrowser(phase: BrowserPhase | undefined): void {
	if (!phase) {
		console.log('\nbrowser join -> first frame: skipped (--browser-runs 0)');
		return;
	}
	console.log(
		`\nbrowser join -> first rendered frame of the host's tile (real Chromium, fake camera 320x180 at 15 fps, built server with ${phase.workers} worker(s), ` +
			`${phase.runs} joins per side taking turns, each leaving before the next; ${phase.seconds.toFixed(0)} s, before the media windows):`,
	);
	if (phase.error) console.log(`  FAILED  the phase stopped: ${phase.error}`);
	const ms = (v: number | string) => (typeof v === 'number' ? `${v.toFixed(0)} ms` : `failed: ${v}`);
	const line = (label: string, s: BrowserSeries) => {
		const t = s.times;
		const spread = t.length ? `median ${median(t).toFixed(0)} ms, min ${Math.min(...t).toFixed(0)}, max ${Math.max(...t).toFixed(0)}` : 'no join rendered';
		console.log(`  ${label}: ${spread} (${t.length}/${phase.runs} rendered within ${BROWSER_FRAME_TIMEOUT_MS / 1000} s: ${t.map((x) => x.toFixed(0)).join(', ') || '-'})`);
		for (const f of s.failures) console.log(`    FAIL  ${f}`);
	};
	line('broadcast viewer                      ', phase.viewer);
	line('meeting participant on the SFU (base) ', phase.meeting);
	const v = phase.viewer.times;
	const m = phase.meeting.times;
	console.log(
		`  ratio broadcast viewer / meeting participant on the SFU (medians): ${v.length && m.length ? (median(v) / median(m)).toFixed(2) : 'n/a'}`,
	);
	console.log(
		`  first joins, not in the medians: the broadcast's first viewer (brings the stage to the SFU, stays as the audience) ${ms(phase.viewer.warmUp)}; the meeting's first participant ${ms(phase.meeting.warmUp)}`,
	);
}

// ---------------------------------------------------------------- report

const gap = (ms: number) => (Number.isFinite(ms) ? `${ms.toFixed(0)} ms` : '-');
const pct = (n: number, d: number) => (d > 0 ? `${((n / d) * 100).toFixed(3)}%` : 'n/a');

function table(rows: string[][]): string {
	const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
	return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ')).join('\n');
}

function cpuPerViewer(run: RunResult): number {
	const cpu = run.workers.reduce((a, w) => a + w.cpu, 0);
	return run.viewers > 0 ? cpu / run.viewers : Number.NaN;
}

function report(runs: RunResult[], browser: BrowserPhase | undefined): boolean {
	const rows: string[][] = [
		['run', 'worker pid', 'viewers', 'CPU % of a core', 'CPU %/100 viewers', 'layer 0 into worker', 'loss to viewers (missing/expected)', 'sampled sinks got'],
	];
	for (const run of runs) {
		for (const w of run.workers) {
			rows.push([
				run.label,
				String(w.pid),
				String(w.viewers),
				w.cpu.toFixed(1),
				w.viewers > 0 ? ((w.cpu / w.viewers) * 100).toFixed(2) : '-',
				w.viewers > 0 ? `${w.inbound}/${w.producerPackets}` : '-',
				`${w.missing}/${w.expected} (${pct(w.missing, w.expected)})`,
				'',
			]);
		}
		const missing = run.workers.reduce((a, w) => a + w.missing, 0);
		const expected = run.workers.reduce((a, w) => a + w.expected, 0);
		rows.push([
			`${run.label} total`,
			`${run.workers.length} worker(s)`,
			String(run.viewers),
			run.workers.reduce((a, w) => a + w.cpu, 0).toFixed(1),
			(cpuPerViewer(run) * 100).toFixed(2),
			'',
			`${missing}/${expected} (${pct(missing, expected)})`,
			`${run.sampledGot}/${run.sampledExpected} (${run.sampled} sinks, ${run.sampledGaps} seq gaps)`,
		]);
	}
	console.log(`\nbroadcast bench: VP8 layer 0 of 3 simulcast SSRCs, ${BITRATE / 1000} kbit/s, ${FPS} fps, key frame every ${GOP_FRAMES / FPS} s and on PLI/FIR; SRTP PlainTransport viewers with full router capabilities (NACK, RTX); ${ROUNDS} window(s) of ${WINDOW_MS / 1000} s per run, taking turns\n`);
	console.log(table(rows));
	console.log('');
	for (const run of runs) {
		const b = run.batchMs;
		const first = run.firstPacketMs;
		console.log(`${run.label}:`);
		console.log(`  worker CPU per window (% of a core): ${run.windows.map((w) => w.map((c) => c.toFixed(1)).join(' + ')).join(' | ')}`);
		console.log(`  stream: publisher sent ${run.publisherSent} packets in the windows, producer (layer 0) got ${run.producerPackets}; consumers not on layer 0 at a window's start: ${run.notOnLayer0}`);
		console.log(
			`  time to add 100 viewers: median ${median(b).toFixed(0)} ms, min ${Math.min(...b).toFixed(0)}, max ${Math.max(...b).toFixed(0)} over ${b.length} batches (all ${run.viewers} in ${run.joinSeconds.toFixed(1)} s)`,
		);
		console.log(`  plain viewer join -> first RTP packet at its sink: median ${median(first).toFixed(0)} ms, max ${Math.max(...first).toFixed(0)} (${first.length} sampled)`);
		console.log(
			`  key-frame requests (PLI+FIR) reaching the publisher: in the windows ${run.pliFirWindow.total} (producer stats: ${run.producerPliFirWindow}), shortest gap ${gap(run.pliFirWindow.minGapMs)}; ` +
				`from the first join to 2 s after the last ${run.pliFirJoins.total} in ${run.pliFirJoins.seconds.toFixed(1)} s (producer stats: ${run.pliFirJoins.producerStats}), shortest gap ${gap(run.pliFirJoins.minGapMs)}; key frames sent in the windows ${run.keyFramesWindow}; NACKs ${run.nacksWindow}`,
		);
		console.log(`  machine CPU busy ${run.machineBusy.toFixed(1)}% of all cores; the other run's idle workers ${run.idleSideCpu.toFixed(1)}% of a core; this process ${run.benchCpu.toFixed(1)}% of a core; longest publisher pause for counters ${run.pauseMs.toFixed(0)} ms, reading every consumer's counters ${run.statsReadMs.toFixed(0)} ms; consumer events in the windows: score ${run.events.score}, layerschange ${run.events.layerschange}`);
		if (run.signaling) {
			const s = run.signaling;
			const per = (n: number) => (n / s.joins).toFixed(2);
			const notes = Object.entries(s.notificationsIn)
				.sort((a, b) => b[1] - a[1])
				.map(([m, n]) => `${m} ${per(n)}`)
				.join(', ');
			console.log(
				`  signaling per viewer join (all clients, host included): received ${per(s.framesIn)} (responses ${per(s.responsesIn)}; notifications: ${notes || 'none'}), sent ${per(s.framesOut)}`,
			);
			const steady = Object.entries(s.steadyNotifications)
				.map(([m, n]) => `${m} ${n}`)
				.join(', ');
			console.log(`  signaling in steady state: ${s.steadyFramesPerSecond.toFixed(2)} frames/s to all clients (${steady || 'none'})`);
		}
		if (run.unannounced) {
			const byWorker = new Map<number, number>();
			for (const pid of run.unannounced) byWorker.set(pid, (byWorker.get(pid) ?? 0) + 1);
			const where = [...byWorker].map(([pid, n]) => `${n} on worker ${pid}`).join(', ');
			console.log(
				`  ${run.unannounced.length === 0 ? 'ok  ' : 'WARN'} viewers whose first sfu.join announced no consumer within ${ANNOUNCE_WAIT_MS / 1000} s (they sent sfu.join again): ${run.unannounced.length}${where ? ` (${where})` : ''}`,
			);
		}
	}
	reportBrowser(browser);

	const raw = runs.find((r) => r.label === 'raw engine');
	const product = runs.find((r) => r.label === 'product');
	let ok = true;
	if (product) {
		const check = (pass: boolean, text: string) => {
			ok &&= pass;
			console.log(`${pass ? 'PASS' : 'FAIL'}  ${text}`);
		};
		console.log('\ngoals:');
		const missing = product.workers.reduce((a, w) => a + w.missing, 0);
		check(product.viewers >= GOAL_VIEWERS, `at least ${GOAL_VIEWERS} viewers: ${product.viewers}`);
		check(missing === 0 && product.notOnLayer0 === 0, `no loss inside the workers (pipes included): ${missing} packets missing, ${product.notOnLayer0} consumers not on layer 0`);
		const busiest = Math.max(...product.workers.map((w) => w.cpu));
		check(busiest < GOAL_WORKER_CPU, `each worker under ${GOAL_WORKER_CPU}% of a core: busiest ${busiest.toFixed(1)}%`);
		if (raw) {
			const ratio = cpuPerViewer(product) / cpuPerViewer(raw);
			check(
				ratio <= GOAL_RATIO,
				`product CPU per viewer / raw CPU per viewer = ${(cpuPerViewer(product) * 100).toFixed(3)} / ${(cpuPerViewer(raw) * 100).toFixed(3)} (% of a core per 100 viewers) = ${ratio.toFixed(3)} (goal <= ${GOAL_RATIO})`,
			);
		}
	}
	return ok;
}

/** The numbers `report` prints, as the JSON `--json` writes. */
function resultOf(runs: RunResult[], browser: BrowserPhase | undefined): BroadcastResult {
	const sides = runs.map((run) => ({
		label: run.label,
		viewers: run.viewers,
		workers: run.workers.map((w) => ({ pid: w.pid, viewers: w.viewers, cpuPercent: w.cpu, missing: w.missing, expected: w.expected })),
		cpuPercent: run.workers.reduce((a, w) => a + w.cpu, 0),
		cpuPer100Viewers: cpuPerViewer(run) * 100,
		missing: run.workers.reduce((a, w) => a + w.missing, 0),
		expected: run.workers.reduce((a, w) => a + w.expected, 0),
		batchMedianMs: median(run.batchMs),
		firstPacketMedianMs: median(run.firstPacketMs),
	}));
	const raw = runs.find((r) => r.label === 'raw engine');
	const product = runs.find((r) => r.label === 'product');
	return {
		bench: 'broadcast',
		seconds: WINDOW_MS / 1000,
		rounds: ROUNDS,
		runs: sides,
		...(raw && product ? { ratio: cpuPerViewer(product) / cpuPerViewer(raw) } : {}),
		...(browser
			? {
					browser: {
						runs: browser.runs,
						viewerMs: browser.viewer.times,
						meetingMs: browser.meeting.times,
						failures: [...browser.viewer.failures, ...browser.meeting.failures],
						...(browser.error ? { error: browser.error } : {}),
					},
				}
			: {}),
	};
}

async function main(): Promise<void> {
	const watchdog = setTimeout(() => {
		console.error(`broadcast bench: over its ${RUN_BUDGET_MS / 60_000} min budget; exiting`);
		process.exit(2);
	}, RUN_BUDGET_MS);
	watchdog.unref();
	const workersConfigured = values.workers ? Math.max(1, Math.min(64, Number(values.workers))) : MediasoupConfigSchema.parse({}).numWorkers;
	const workerCount = workersConfigured > 0 ? workersConfigured : cpus().length;
	const rawViewers = values['raw-viewers'] ? Math.max(1, Math.min(5000, Number(values['raw-viewers']))) : Math.ceil(VIEWERS / workerCount);
	let browser: BrowserPhase | undefined;
	if (BROWSER_RUNS > 0) {
		// Before the media windows, and all gone (Chromium, its server) before they start.
		for (const built of [WEB_INDEX, SERVER_MAIN]) {
			if (!existsSync(built)) throw new Error(`${built} missing: run "npm run build" first (or --browser-runs 0 to skip the browser phase)`);
		}
		console.log(`browser phase: ${BROWSER_RUNS} broadcast viewer(s) and ${BROWSER_RUNS} meeting participant(s) on the SFU, taking turns ...`);
		browser = await browserPhase(BROWSER_RUNS, workerCount);
	}
	const sinks = new Sinks();
	await sinks.open();
	console.log(`sinks: ${sinks.mode}`);
	const sides: Side[] = [];
	const runs: RunResult[] = [];
	try {
		if (!values['skip-raw']) {
			console.log(`raw engine: 1 worker, ${rawViewers} viewers: joining ...`);
			const raw = await setupRaw(rawViewers, sinks);
			sides.push(raw);
			raw.publisher.pause();
		}
		if (!values['skip-product']) {
			console.log(`product: ${workerCount} workers, ${VIEWERS} viewers: joining ...`);
			const product = await setupProduct(VIEWERS, workerCount, sinks);
			sides.push(product);
			product.publisher.pause();
		}
		// Windows take turns (raw, product, then product, raw, ...), one stream at a time, so load from
		// elsewhere on the machine falls on both alike; the idle side's stream is paused.
		const windows = new Map<Side, WindowResult[]>(sides.map((side) => [side, []]));
		for (let round = 0; round < ROUNDS; round++) {
			const order = round % 2 === 0 ? sides : [...sides].reverse();
			for (const side of order) {
				console.log(`  window ${round + 1}/${ROUNDS}: ${side.label}`);
				side.publisher.resume();
				const idlePids = sides.filter((other) => other !== side).flatMap((other) => other.workerPids);
				(windows.get(side) as WindowResult[]).push(await measure(side, idlePids));
				side.publisher.pause();
			}
		}
		for (const side of sides) runs.push(combine(side, windows.get(side) as WindowResult[]));
	} finally {
		for (const side of sides) await side.close();
		sinks.close();
	}
	const ok = report(runs, browser);
	writeBenchResult(values.json, resultOf(runs, browser));
	clearTimeout(watchdog);
	process.exitCode = values.strict && !ok ? 1 : 0;
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});

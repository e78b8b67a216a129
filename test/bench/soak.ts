// npm run bench:soak [-- --signaling 2000 --sfu 200 --concurrency 8 --grace-ms 200 --max-seconds 600 --json <file>]
//
// Leak soak: runs the server in this process (one mediasoup worker, loopback
// only, resume grace --grace-ms), puts it through many join/leave cycles, and
// prints what it holds before and after, so anything that does not return to
// its baseline shows.
//
// - Signaling cycle (--signaling of them): two SignalingClients over `ws`
//   join a room (100 room ids, reused, so rooms are created and disposed over
//   and over); one sends the other a `signal` and a `chat`; each then goes by
//   one of: `leave` request, socket close 1000, terminate() (a drop: its place
//   expires after the grace), or terminate() then `resume` and `leave`.
// - SFU cycle (--sfu of them): a room made through POST /api/rooms with
//   meshMaxPeers 0; two clients join, sfu.join, make send and recv
//   transports; one produces Opus (and VP8 every other cycle), the other Opus;
//   each resumes the consumers it is told of (sfu.newConsumer); then they go
//   by `leave`, close 1000 or a drop, or (every tenth cycle) the room is
//   deleted under them; the room is then deleted through the API, once it
//   has no peer and (checked, as the DELETE would close it) no router left.
//
// Cycles run --concurrency at a time. A short warm-up runs before the
// baseline (first compilation and caches are not a leak). After the cycles it
// waits for the server to settle, forces GC (node --expose-gc) and compares:
// heap and RSS (flat within 5 MB), and the object counts: rooms, peers,
// signaling connections, SFU rooms, resume tokens still indexed, and
// mediasoup routers, transports, producers and consumers, both as the server
// tracks them (SfuStats) and as the worker reports them (worker.dump(),
// router.dump()). Exits 1 only when an object count did not return to its
// baseline; speed and memory are printed, never asserted. --json <file>:
// the summary line as JSON too (report/results.ts), for `npm run bench`.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { types } from 'mediasoup';
import WebSocket from 'ws';
import { ErrorCode, Method, Notification, PROTOCOL_VERSION, SignalingError } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import { SignalingClient, type SignalingClientEvents, type WebSocketLike } from '../../web/src/signaling/SignalingClient.js';
import { startInProcessServer } from '../support/inProcessServer.js';
import { writeBenchResult } from './report/results.js';

const { values } = parseArgs({
	options: {
		signaling: { type: 'string', default: '2000' },
		sfu: { type: 'string', default: '200' },
		concurrency: { type: 'string', default: '8' },
		'grace-ms': { type: 'string', default: '200' },
		'max-seconds': { type: 'string', default: '600' },
		json: { type: 'string' },
	},
});
const SIGNALING_CYCLES = Math.max(0, Math.min(20_000, Number(values.signaling)));
const SFU_CYCLES = Math.max(0, Math.min(2_000, Number(values.sfu)));
const CONCURRENCY = Math.max(1, Math.min(32, Number(values.concurrency)));
const GRACE_MS = Math.max(0, Math.min(5_000, Number(values['grace-ms'])));
/** Each phase stops starting cycles after this. */
const PHASE_SECONDS = Math.max(1, Math.min(1_800, Number(values['max-seconds'])));
const WARMUP_SIGNALING = Math.min(50, SIGNALING_CYCLES);
const WARMUP_SFU = Math.min(10, SFU_CYCLES);
const SIGNALING_ROOM_IDS = 100;
const REQUEST_TIMEOUT_MS = 5_000;
const CYCLE_TIMEOUT_MS = 20_000;
const SETTLE_TIMEOUT_MS = GRACE_MS + 10_000;
const HEAP_FLAT_BYTES = 5 * 1024 * 1024;
const MB = 1024 * 1024;

type LeaveMode = 'leave' | 'close' | 'drop' | 'drop-resume';
const SIGNALING_MODES: readonly LeaveMode[] = ['leave', 'close', 'drop', 'drop-resume'];
const SFU_MODES: readonly LeaveMode[] = ['leave', 'close', 'drop'];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- bookkeeping

const stats = {
	cycles: { signaling: 0, sfu: 0 },
	errors: { signaling: 0, sfu: 0 },
	firstErrors: [] as string[],
	leaves: { leave: 0, close: 0, drop: 0, 'drop-resume': 0, 'room deleted': 0 } as Record<LeaveMode | 'room deleted', number>,
	resumesExpired: 0,
	consumersResumed: 0,
};
let openClientSockets = 0;
/** SFU cycles whose room, once empty, still had a router or an SFU peer of its own (a leak). */
let leftInEmptyRooms = 0;
/** Resume tokens handed out; pruned of those the server forgot, so the list stays short. */
let resumeTokens: string[] = [];

function recordError(phase: 'signaling' | 'sfu', cycle: number, error: unknown): void {
	stats.errors[phase]++;
	if (stats.firstErrors.length < 10) stats.firstErrors.push(`${phase} cycle ${cycle}: ${(error as Error).message ?? String(error)}`);
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	return Promise.race([
		promise,
		new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
		}),
	]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- clients

interface Client {
	signaling: SignalingClient;
	socket: WebSocket;
	peerId: string;
	resumeToken: string;
}

async function connect(port: number): Promise<Omit<Client, 'peerId' | 'resumeToken'>> {
	let socket: WebSocket | undefined;
	const connecting = SignalingClient.connect(`ws://127.0.0.1:${port}/ws`, {
		requestTimeoutMs: REQUEST_TIMEOUT_MS,
		createSocket: (url) => {
			const ws = new WebSocket(url, { perMessageDeflate: false });
			openClientSockets++;
			ws.once('close', () => openClientSockets--);
			socket = ws;
			return ws as unknown as WebSocketLike;
		},
	});
	try {
		const signaling = await withTimeout(connecting, REQUEST_TIMEOUT_MS, 'connect');
		return { signaling, socket: socket as WebSocket };
	} catch (error) {
		socket?.terminate();
		throw error;
	}
}

async function join(port: number, roomId: string, name: string): Promise<Client & { mediaMode: string }> {
	const { signaling, socket } = await connect(port);
	try {
		const joined = await signaling.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId, displayName: name });
		resumeTokens.push(joined.resumeToken);
		return { signaling, socket, peerId: joined.peerId, resumeToken: joined.resumeToken, mediaMode: joined.mediaMode };
	} catch (error) {
		socket.terminate();
		throw error;
	}
}

/** The next `event` for which `accept` holds, or a timeout. */
function waitFor<E extends keyof SignalingClientEvents>(
	client: SignalingClient,
	event: E,
	accept: (...args: SignalingClientEvents[E]) => boolean,
	what: string,
): Promise<void> {
	return new Promise((resolve, reject) => {
		const on = client.on as (e: E, fn: (...args: SignalingClientEvents[E]) => void) => unknown;
		const off = client.off as (e: E, fn: (...args: SignalingClientEvents[E]) => void) => unknown;
		const listener = (...args: SignalingClientEvents[E]) => {
			if (!accept(...args)) return;
			clearTimeout(timer);
			off.call(client, event, listener);
			resolve();
		};
		const timer = setTimeout(() => {
			off.call(client, event, listener);
			reject(new Error(`no ${what} within ${REQUEST_TIMEOUT_MS} ms`));
		}, REQUEST_TIMEOUT_MS);
		on.call(client, event, listener);
	});
}

/** Ends a client's part in the room the way `mode` says. */
async function depart(port: number, client: Client, mode: LeaveMode): Promise<void> {
	stats.leaves[mode]++;
	switch (mode) {
		case 'leave':
			await client.signaling.request(Method.Leave, {});
			client.signaling.close();
			return;
		case 'close':
			client.signaling.close();
			return;
		case 'drop':
			client.socket.terminate();
			return;
		case 'drop-resume': {
			client.socket.terminate();
			const again = await connect(port);
			try {
				const resumed = await again.signaling.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken: client.resumeToken });
				resumeTokens.push(resumed.resumeToken);
				await again.signaling.request(Method.Leave, {});
			} catch (error) {
				// Under load the reconnect can come after the grace: the place expired, as it should.
				if (!(error instanceof SignalingError && error.code === ErrorCode.ResumeFailed)) throw error;
				stats.resumesExpired++;
			} finally {
				again.signaling.close();
			}
			return;
		}
	}
}

// ---------------------------------------------------------------- cycles

async function signalingCycle(port: number, i: number): Promise<void> {
	const roomId = `soak-sig-${i % SIGNALING_ROOM_IDS}`;
	const clients: Client[] = [];
	try {
		const a = await join(port, roomId, `a${i}`);
		clients.push(a);
		const b = await join(port, roomId, `b${i}`);
		clients.push(b);
		const gotSignal = waitFor(b.signaling, Notification.Signal, (data) => data.from === a.peerId, 'signal');
		const gotChat = waitFor(b.signaling, Notification.ChatMessage, (data) => data.from === a.peerId, 'chatMessage');
		await a.signaling.request(Method.Signal, {
			to: b.peerId,
			signal: { kind: 'candidate', candidate: { candidate: `candidate:${i} 1 udp 1 127.0.0.1 9 typ host`, sdpMid: '0' } },
		});
		await a.signaling.request(Method.Chat, { text: `hello ${i}` });
		await Promise.all([gotSignal, gotChat]);
		const modeA = SIGNALING_MODES[i % 4] as LeaveMode;
		const modeB = SIGNALING_MODES[Math.floor(i / 4) % 4] as LeaveMode;
		await Promise.all([depart(port, a, modeA), depart(port, b, modeB)]);
	} finally {
		for (const client of clients) if (!client.signaling.closed) client.socket.terminate();
	}
}

const sfuRoomId = (i: number) => `soak-sfu-${i}`;

/** One SFU participant's setup: capabilities, sfu.join, send and recv transports, its producers. */
async function sfuSetup(client: Client, cycle: number, index: number, video: boolean): Promise<number> {
	const { routerRtpCapabilities } = await client.signaling.request(Method.SfuGetRouterRtpCapabilities, {});
	await client.signaling.request(Method.SfuJoin, { rtpCapabilities: routerRtpCapabilities });
	const [send] = await Promise.all([
		client.signaling.request(Method.SfuCreateTransport, { direction: 'send' }),
		client.signaling.request(Method.SfuCreateTransport, { direction: 'recv' }),
	]);
	const ssrc = 100_000 + cycle * 10 + index * 4;
	await client.signaling.request(Method.SfuProduce, {
		transportId: send.transportId,
		kind: 'audio',
		source: 'microphone',
		rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc }] },
	});
	if (!video) return 1;
	await client.signaling.request(Method.SfuProduce, {
		transportId: send.transportId,
		kind: 'video',
		source: 'camera',
		rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }], encodings: [{ ssrc: ssrc + 1 }] },
	});
	return 2;
}

/** Resumes every consumer the server announces to `client`; `resumed(n)` resolves once n were announced and resumed. */
function consumeAll(client: Client): { resumed: (n: number) => Promise<void>; stop: () => void } {
	const pending: Array<Promise<unknown>> = [];
	const listener = (data: { consumerId: string }) => {
		pending.push(client.signaling.request(Method.SfuResumeConsumer, { consumerId: data.consumerId }));
	};
	client.signaling.on(Notification.SfuNewConsumer, listener);
	return {
		resumed: async (n) => {
			const deadline = Date.now() + REQUEST_TIMEOUT_MS;
			while (pending.length < n && Date.now() < deadline) await sleep(5);
			if (pending.length !== n) throw new Error(`${pending.length} sfu.newConsumer where ${n} were due`);
			await Promise.all(pending);
			stats.consumersResumed += n;
		},
		stop: () => client.signaling.off(Notification.SfuNewConsumer, listener),
	};
}

async function api(port: number, method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<number> {
	const res = await fetch(`http://127.0.0.1:${port}/api/rooms${path}`, {
		method,
		headers: { 'content-type': 'application/json' },
		...(body === undefined ? {} : { body: JSON.stringify(body) }),
		signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
	});
	await res.arrayBuffer();
	return res.status;
}

async function sfuCycle(i: number): Promise<void> {
	const port = server.port;
	const roomId = sfuRoomId(i);
	const clients: Client[] = [];
	let deleted = false;
	try {
		const created = await api(port, 'POST', '', { roomId, settings: { meshMaxPeers: 0 } });
		if (created !== 201) throw new Error(`POST /api/rooms: ${created}`);
		const [a, b] = await Promise.all([join(port, roomId, `a${i}`), join(port, roomId, `b${i}`)]);
		clients.push(a, b);
		if (a.mediaMode !== 'sfu' || b.mediaMode !== 'sfu') throw new Error(`joined in ${a.mediaMode}/${b.mediaMode}, not sfu`);
		const aConsumes = consumeAll(a);
		const bConsumes = consumeAll(b);
		try {
			const [fromA, fromB] = await Promise.all([sfuSetup(a, i, 0, i % 2 === 0), sfuSetup(b, i, 1, false)]);
			await Promise.all([aConsumes.resumed(fromB), bConsumes.resumed(fromA)]);
		} finally {
			aConsumes.stop();
			bConsumes.stop();
		}
		if (i % 10 === 9) {
			// The room is deleted with both inside: their sockets close with 4004.
			const closed = Promise.all(clients.map((c) => waitFor(c.signaling, 'close', (code) => code === 4004, 'close 4004')));
			const status = await api(port, 'DELETE', `/${roomId}`);
			if (status !== 204) throw new Error(`DELETE /api/rooms/${roomId}: ${status}`);
			deleted = true;
			await closed;
			stats.leaves['room deleted'] += 2;
			return;
		}
		await Promise.all([depart(port, a, SFU_MODES[i % 3] as LeaveMode), depart(port, b, SFU_MODES[(i + 1) % 3] as LeaveMode)]);
		// A dropped peer keeps its place (and its transports) for the grace; delete the room once it is empty.
		const deadline = Date.now() + GRACE_MS + REQUEST_TIMEOUT_MS;
		while ((server.rooms.get(roomId)?.size ?? 0) > 0 && Date.now() < deadline) await sleep(10);
		if ((server.rooms.get(roomId)?.size ?? 0) > 0) throw new Error(`room ${roomId} still has peers ${GRACE_MS} ms after they went`);
		// The room lives on (it was made through the API), but with no peer its SFU side must hold nothing:
		// checked here, as the DELETE below would close whatever is left and hide it from the final counts.
		const sfuRoom = server.sfuRooms.get(roomId);
		const routersLeft = [...liveRouters].filter((r) => (r.appData as { roomId?: string }).roomId === roomId).length;
		if (routersLeft > 0 || (sfuRoom?.peerIds.length ?? 0) > 0) leftInEmptyRooms++;
		const status = await api(port, 'DELETE', `/${roomId}`);
		if (status !== 204) throw new Error(`DELETE /api/rooms/${roomId}: ${status}`);
		deleted = true;
	} finally {
		for (const client of clients) if (!client.signaling.closed) client.socket.terminate();
		// A failed cycle (its error is counted already) still must not leave its room behind.
		if (!deleted) await api(port, 'DELETE', `/${roomId}`).catch(() => 0);
	}
}

/** Runs cycles [from, to) `CONCURRENCY` at a time; stops starting new ones at the phase deadline. */
async function runPhase(phase: 'signaling' | 'sfu', from: number, to: number, cycle: (i: number) => Promise<void>): Promise<number> {
	const started = performance.now();
	const deadline = started + PHASE_SECONDS * 1000;
	let next = from;
	const lane = async () => {
		while (next < to && performance.now() < deadline) {
			const i = next++;
			try {
				await withTimeout(cycle(i), CYCLE_TIMEOUT_MS, `${phase} cycle ${i}`);
				stats.cycles[phase]++;
			} catch (error) {
				recordError(phase, i, error);
			}
			if (i % 200 === 0) pruneResumeTokens();
		}
	};
	await Promise.all(Array.from({ length: CONCURRENCY }, lane));
	return (performance.now() - started) / 1000;
}

// ---------------------------------------------------------------- measuring

let server: Server;
/** Every router the worker made, as mediasoup objects, so each can be dumped; forgotten once closed. */
const liveRouters = new Set<types.Router>();

function pruneResumeTokens(): void {
	resumeTokens = resumeTokens.filter((token) => server.rooms.peerByResumeToken(token) !== undefined);
}

interface ServerCounts {
	rooms: number;
	peers: number;
	'signaling connections': number;
	'sfu rooms': number;
	'resume tokens indexed': number;
	'routers (server)': number;
	'transports (server)': number;
	'producers (server)': number;
	'consumers (server)': number;
}

interface WorkerCounts {
	'routers (worker)': number;
	'transports (worker)': number;
	'producers (worker)': number;
	'consumers (worker)': number;
	'rtp observers (worker)': number;
}

type Counts = ServerCounts & WorkerCounts;

interface Snapshot {
	counts: Counts;
	clientSockets: number;
	rss: number;
	heapUsed: number;
	external: number;
	workerRssKb: number | undefined;
	workerMaxRssKb: number | undefined;
	resources: Record<string, number>;
}

function countsNow(): ServerCounts {
	let sfuRooms = 0;
	for (let i = 0; i < SIGNALING_ROOM_IDS; i++) if (server.sfuRooms.get(`soak-sig-${i}`)) sfuRooms++;
	for (let i = 0; i < WARMUP_SFU + SFU_CYCLES; i++) if (server.sfuRooms.get(sfuRoomId(i))) sfuRooms++;
	const sfu = server.sfuStats.counts;
	return {
		rooms: server.rooms.size,
		peers: server.rooms.peerCount,
		'signaling connections': server.signaling.connectionCount,
		'sfu rooms': sfuRooms,
		'resume tokens indexed': resumeTokens.filter((token) => server.rooms.peerByResumeToken(token) !== undefined).length,
		'routers (server)': sfu.routers,
		'transports (server)': sfu.transports,
		'producers (server)': sfu.producers,
		'consumers (server)': sfu.consumers,
	};
}

/** What the worker process holds: its routers, and in each the transports, producers, consumers and RTP observers. */
async function workerCounts(worker: types.Worker): Promise<WorkerCounts> {
	const dump = (await worker.dump()) as { routerIds: string[] };
	const counts = { 'routers (worker)': dump.routerIds.length, 'transports (worker)': 0, 'producers (worker)': 0, 'consumers (worker)': 0, 'rtp observers (worker)': 0 };
	const known = new Map([...liveRouters].map((r) => [r.id, r]));
	for (const routerId of dump.routerIds) {
		const router = known.get(routerId);
		if (!router) throw new Error(`the worker holds router ${routerId}, which no live Router object stands for`);
		const r = (await router.dump()) as {
			transportIds: string[];
			rtpObserverIds: string[];
			mapProducerIdConsumerIds: Record<string, string[]>;
			mapConsumerIdProducerId: Record<string, string>;
		};
		counts['transports (worker)'] += r.transportIds.length;
		counts['producers (worker)'] += Object.keys(r.mapProducerIdConsumerIds).length;
		counts['consumers (worker)'] += Object.keys(r.mapConsumerIdProducerId).length;
		counts['rtp observers (worker)'] += r.rtpObserverIds.length;
	}
	return counts;
}

function procRssKb(pid: number): number | undefined {
	try {
		const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
		return match ? Number(match[1]) : undefined;
	} catch {
		return undefined;
	}
}

async function forceGc(): Promise<void> {
	if (typeof gc !== 'function') return;
	for (let k = 0; k < 6; k++) {
		gc();
		await sleep(100);
	}
}

async function snapshot(worker: types.Worker): Promise<Snapshot> {
	// fetch() (the room API calls) records PerformanceResourceTiming entries, up to 250: the bench's, not the server's.
	performance.clearResourceTimings();
	await forceGc();
	const memory = process.memoryUsage();
	const usage = await worker.getResourceUsage().catch(() => undefined);
	const resources: Record<string, number> = {};
	for (const name of process.getActiveResourcesInfo()) resources[name] = (resources[name] ?? 0) + 1;
	return {
		counts: { ...countsNow(), ...(await workerCounts(worker)) },
		clientSockets: openClientSockets,
		rss: memory.rss,
		heapUsed: memory.heapUsed,
		external: memory.external,
		workerRssKb: procRssKb(worker.pid),
		// getrusage's ru_maxrss: kilobytes on Linux, the largest RSS the worker ever had.
		workerMaxRssKb: usage?.ru_maxrss,
		resources,
	};
}

/** Waits (bounded) until every object count is back at `baseline`. */
async function settle(baseline: Counts, worker: types.Worker): Promise<number> {
	const started = performance.now();
	await sleep(GRACE_MS + 100);
	const deadline = Date.now() + SETTLE_TIMEOUT_MS;
	for (;;) {
		const now = { ...countsNow(), ...(await workerCounts(worker)) };
		const flat = (Object.keys(baseline) as Array<keyof Counts>).every((k) => now[k] === baseline[k]) && openClientSockets === 0;
		if (flat || Date.now() >= deadline) break;
		await sleep(100);
	}
	return (performance.now() - started) / 1000;
}

function report(before: Snapshot, after: Snapshot): boolean {
	const rows: Array<[string, string, string, string, string]> = [];
	let countsFlat = true;
	for (const key of Object.keys(before.counts) as Array<keyof Counts>) {
		const b = before.counts[key];
		const a = after.counts[key];
		if (a !== b) countsFlat = false;
		rows.push([key, String(b), String(a), signed(a - b), a === b ? 'yes' : 'NO']);
	}
	rows.push(['client sockets (bench)', String(before.clientSockets), String(after.clientSockets), signed(after.clientSockets - before.clientSockets), after.clientSockets === before.clientSockets ? 'yes' : 'NO']);
	const mb = (n: number) => (n / MB).toFixed(1);
	const heapDelta = after.heapUsed - before.heapUsed;
	rows.push(['heapUsed MB', mb(before.heapUsed), mb(after.heapUsed), signed(heapDelta / MB, 1), Math.abs(heapDelta) < HEAP_FLAT_BYTES ? 'yes (<5 MB)' : 'NO (>=5 MB)']);
	rows.push(['external MB', mb(before.external), mb(after.external), signed((after.external - before.external) / MB, 1), 'info']);
	rows.push(['process RSS MB', mb(before.rss), mb(after.rss), signed((after.rss - before.rss) / MB, 1), 'info']);
	const kbRow = (name: string, b: number | undefined, a: number | undefined, note: string) =>
		rows.push([name, b === undefined ? 'n/a' : (b / 1024).toFixed(1), a === undefined ? 'n/a' : (a / 1024).toFixed(1), a === undefined || b === undefined ? 'n/a' : signed((a - b) / 1024, 1), note]);
	kbRow('worker RSS MB (/proc)', before.workerRssKb, after.workerRssKb, 'info');
	kbRow('worker ru_maxrss MB', before.workerMaxRssKb, after.workerMaxRssKb, 'info: a high-water mark, never falls');

	const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]?.length ?? 0), ['', 'before', 'after', 'delta'][c]?.length ?? 0));
	const line = (r: readonly string[]) =>
		`${(r[0] ?? '').padEnd(widths[0] ?? 0)}  ${(r[1] ?? '').padStart(widths[1] ?? 0)}  ${(r[2] ?? '').padStart(widths[2] ?? 0)}  ${(r[3] ?? '').padStart(widths[3] ?? 0)}  ${r[4] ?? ''}`;
	console.log(line(['', 'before', 'after', 'delta', 'flat']));
	for (const row of rows) console.log(line(row));
	const resourceKeys = [...new Set([...Object.keys(before.resources), ...Object.keys(after.resources)])].sort();
	console.log(
		`\nactive handles (process.getActiveResourcesInfo, info): ` +
			resourceKeys.map((k) => `${k} ${before.resources[k] ?? 0} -> ${after.resources[k] ?? 0}`).join(', '),
	);
	return countsFlat;
}

function signed(n: number, digits = 0): string {
	const text = n.toFixed(digits);
	if (Number(text) === 0) return (0).toFixed(digits);
	return n > 0 ? `+${text}` : text;
}

// ---------------------------------------------------------------- main

/** The largest live counts seen while cycles ran (sampled every 25 ms): the run really made what it claims. */
function samplePeaks(peaks: Record<string, number>): ReturnType<typeof setInterval> {
	return setInterval(() => {
		const sfu = server.sfuStats.counts;
		const live = { rooms: server.rooms.size, peers: server.rooms.peerCount, connections: server.signaling.connectionCount, ...sfu };
		for (const [k, v] of Object.entries(live)) peaks[k] = Math.max(peaks[k] ?? 0, v);
	}, 25);
}

async function main(): Promise<void> {
	if (typeof gc !== 'function') console.warn('gc() is not exposed (run with node --expose-gc): heap numbers include garbage\n');
	const wallStart = performance.now();
	server = await startInProcessServer({ signaling: { resumeGraceMs: GRACE_MS } });
	const worker = server.workers.workers[0] as types.Worker;
	worker.observer.on('newrouter', (router: types.Router) => {
		liveRouters.add(router);
		router.observer.once('close', () => liveRouters.delete(router));
	});
	worker.on('died', (error: Error) => console.error(`mediasoup worker died: ${error.message}`));
	const port = server.port;
	let exitCode = 0;
	try {
		console.log(
			`soak: ${SIGNALING_CYCLES} signaling + ${SFU_CYCLES} sfu cycles, ${CONCURRENCY} at a time, resume grace ${GRACE_MS} ms, ` +
				`server in this process (1 mediasoup worker, pid ${worker.pid}) on 127.0.0.1:${port}`,
		);
		const zero = Object.fromEntries(Object.keys({ ...countsNow(), ...(await workerCounts(worker)) }).map((k) => [k, 0])) as unknown as Counts;
		await runPhase('signaling', 0, WARMUP_SIGNALING, (i) => signalingCycle(port, i));
		await runPhase('sfu', 0, WARMUP_SFU, (i) => sfuCycle(i));
		await settle(zero, worker);
		pruneResumeTokens();
		console.log(
			`warm-up (before the baseline): ${stats.cycles.signaling} signaling + ${stats.cycles.sfu} sfu cycles, ` +
				`${stats.errors.signaling + stats.errors.sfu} errors`,
		);
		const before = await snapshot(worker);
		stats.cycles.signaling = stats.cycles.sfu = stats.errors.signaling = stats.errors.sfu = 0;
		for (const k of Object.keys(stats.leaves) as Array<keyof typeof stats.leaves>) stats.leaves[k] = 0;
		stats.resumesExpired = stats.consumersResumed = leftInEmptyRooms = 0;

		const peaks: Record<string, number> = {};
		const sampler = samplePeaks(peaks);
		const cyclesStart = performance.now();
		const signalingSeconds = await runPhase('signaling', WARMUP_SIGNALING, WARMUP_SIGNALING + SIGNALING_CYCLES, (i) => signalingCycle(port, i));
		console.log(`signaling: ${stats.cycles.signaling}/${SIGNALING_CYCLES} cycles in ${signalingSeconds.toFixed(1)} s, ${stats.errors.signaling} errors`);
		const sfuSeconds = await runPhase('sfu', WARMUP_SFU, WARMUP_SFU + SFU_CYCLES, (i) => sfuCycle(i));
		console.log(`sfu:       ${stats.cycles.sfu}/${SFU_CYCLES} cycles in ${sfuSeconds.toFixed(1)} s, ${stats.errors.sfu} errors`);
		clearInterval(sampler);
		console.log(`peaks while cycling: ${Object.entries(peaks).map(([k, v]) => `${k} ${v}`).join(', ')}`);
		const settleSeconds = await settle(before.counts, worker);
		pruneResumeTokens();
		const after = await snapshot(worker);
		const cyclesSeconds = (performance.now() - cyclesStart) / 1000;
		console.log(
			`settle: ${settleSeconds.toFixed(1)} s after the last cycle (grace ${GRACE_MS} ms), then ${typeof gc === 'function' ? 'gc() 6 times, 100 ms apart' : 'no forced GC'}\n`,
		);
		const countsFlat = report(before, after);
		const flat = countsFlat && leftInEmptyRooms === 0;
		console.log(
			`empty API rooms whose SFU side still held a router or peer before their DELETE: ${leftInEmptyRooms} ` +
				`of ${stats.cycles.sfu - stats.leaves['room deleted'] / 2}, flat: ${leftInEmptyRooms === 0 ? 'yes' : 'NO'}`,
		);
		const migrations = (await server.metrics.migrations.get()).values.reduce((n, v) => n + v.value, 0);
		console.log(
			`\ndepartures: ${Object.entries(stats.leaves).map(([k, v]) => `${k} ${v}`).join(', ')}; ` +
				`resumes that came after the grace ${stats.resumesExpired}; consumers resumed ${stats.consumersResumed}; topology migrations ${migrations}`,
		);
		for (const error of stats.firstErrors) console.log(`error: ${error}`);
		const errors = stats.errors.signaling + stats.errors.sfu;
		console.log(
			`\nsoak bench: ${stats.cycles.signaling} signaling + ${stats.cycles.sfu} sfu cycles, ${errors} errors, ` +
				`${cyclesSeconds.toFixed(1)} s (${((performance.now() - wallStart) / 1000).toFixed(1)} s wall in all); ` +
				`object counts back to baseline: ${flat ? 'yes' : 'NO'}; heap ${signed((after.heapUsed - before.heapUsed) / MB, 1)} MB after GC`,
		);
		writeBenchResult(values.json, {
			bench: 'soak',
			signalingCycles: stats.cycles.signaling,
			sfuCycles: stats.cycles.sfu,
			errors,
			seconds: cyclesSeconds,
			flat,
			heapDeltaMb: (after.heapUsed - before.heapUsed) / MB,
		});
		if (!flat) exitCode = 1;
	} finally {
		await server.close();
	}
	process.exit(exitCode);
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});

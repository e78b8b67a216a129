// A load generator process for bench:signaling (test/bench/signaling.ts
// forks one or more of these; not meant to be run alone).
//
// It holds its share of the bench's clients (whole rooms), each a loopback
// WebSocket that joins its room, then, on each `run`, sends `signal`
// requests at its share of the rate to random roommates for a fixed time and
// reports the round trips. Several processes, because one process may hold
// only as many sockets as its open-file limit allows.
//
// Raw JSON over `ws`, no schema validation: its own CPU stays small next to
// the server's. Every loop is bounded in count or time.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '../../core/protocol/index.js';

/** One socket to open: the node's URL, and the room it joins. */
export interface SocketPlan {
	url: string;
	room: number;
	index: number;
}

export type ToGenerator =
	| { type: 'connect'; sockets: SocketPlan[]; batch: number }
	| { type: 'run'; seconds: number; rate: number }
	| { type: 'close' };

export interface RunResult {
	type: 'ran';
	sent: number;
	/** Round trips of the requests answered ok, ms. */
	rtts: Float64Array;
	errors: number;
	unanswered: number;
	notifications: number;
	/** Open sockets at the end of the run. */
	held: number;
	/** This process's CPU during the run (user + system), ms, and the run's wall time, ms. */
	cpuMs: number;
	wallMs: number;
	/** This process's event-loop delay during the run, ms. */
	loopDelayP99Ms: number;
	loopDelayMaxMs: number;
}

export type FromGenerator =
	| { type: 'connected'; held: number; seconds: number }
	| RunResult
	| { type: 'failed'; error: string };

interface Client {
	ws: WebSocket;
	peerId: string;
	room: number;
	nextId: number;
	pending: Map<number, number>;
	mates: Client[];
}

const clients: Client[] = [];
let openSockets = 0;
let pendingTotal = 0;
let rtts: number[] = [];
let errors = 0;
let notifications = 0;
let onSettled: (() => void) | undefined;

function reply(message: FromGenerator): void {
	process.send?.(message);
}

function connect(plan: SocketPlan): Promise<Client> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(plan.url, { perMessageDeflate: false });
		const client: Client = { ws, peerId: '', room: plan.room, nextId: 2, pending: new Map(), mates: [] };
		const timer = setTimeout(() => reject(new Error(`client ${plan.index}: join timed out`)), 60_000);
		ws.once('error', (error) => {
			clearTimeout(timer);
			reject(error);
		});
		ws.once('open', () => {
			openSockets++;
			ws.send(
				JSON.stringify({
					id: 1,
					method: 'join',
					data: { protocolVersion: PROTOCOL_VERSION, roomId: `bench-${plan.room}`, displayName: `c${plan.index}` },
				}),
			);
		});
		ws.on('close', () => openSockets--);
		ws.on('message', (raw: Buffer) => {
			// Notifications ({"method":...) are only counted: parsing them would load this process, not the server.
			if (raw[2] === 0x6d /* m */) {
				notifications++;
				return;
			}
			const msg = JSON.parse(raw.toString()) as { id?: number; ok?: boolean; data?: { peerId?: string } };
			if (msg.id === 1) {
				clearTimeout(timer);
				if (!msg.ok || !msg.data?.peerId) {
					reject(new Error(`client ${plan.index}: join failed ${raw.toString().slice(0, 300)}`));
					return;
				}
				client.peerId = msg.data.peerId;
				resolve(client);
				return;
			}
			if (msg.id === undefined) return;
			const sentAt = client.pending.get(msg.id);
			if (sentAt === undefined) return;
			client.pending.delete(msg.id);
			if (msg.ok) rtts.push(performance.now() - sentAt);
			else errors++;
			if (--pendingTotal === 0) onSettled?.();
		});
	});
}

async function connectAll(plans: SocketPlan[], batch: number): Promise<void> {
	const started = performance.now();
	// Bounded: plans.length / batch rounds.
	for (let i = 0; i < plans.length; i += batch) {
		clients.push(...(await Promise.all(plans.slice(i, i + batch).map(connect))));
	}
	const byRoom = new Map<number, Client[]>();
	for (const client of clients) {
		const members = byRoom.get(client.room);
		if (members) members.push(client);
		else byRoom.set(client.room, [client]);
	}
	for (const client of clients) client.mates = (byRoom.get(client.room) as Client[]).filter((c) => c !== client);
	reply({ type: 'connected', held: openSockets, seconds: (performance.now() - started) / 1000 });
}

async function run(seconds: number, rate: number): Promise<void> {
	rtts = [];
	errors = 0;
	notifications = 0;
	const senders = clients.filter((c) => c.mates.length > 0);
	const delay = monitorEventLoopDelay({ resolution: 1 });
	delay.enable();
	const cpuBefore = process.cpuUsage();
	const tickMs = 5;
	let sent = 0;
	const start = performance.now();
	const endAt = start + seconds * 1000;
	// Bounded: stops at endAt; each tick sends at most what is due by then.
	while (senders.length > 0 && performance.now() < endAt) {
		// Catch up to rate x elapsed, whatever the timer's actual tick was.
		const due = Math.floor(((performance.now() - start) / 1000) * rate);
		for (; sent < due; sent++) {
			const from = senders[Math.floor(Math.random() * senders.length)] as Client;
			const to = from.mates[Math.floor(Math.random() * from.mates.length)] as Client;
			const id = from.nextId++;
			from.pending.set(id, performance.now());
			pendingTotal++;
			from.ws.send(
				JSON.stringify({
					id,
					method: 'signal',
					data: { to: to.peerId, signal: { kind: 'candidate', candidate: { candidate: `candidate:${id} 1 udp 1 127.0.0.1 9 typ host` } } },
				}),
			);
		}
		await new Promise((r) => setTimeout(r, tickMs));
	}
	// Let the last answers land (bounded: 5 s).
	if (pendingTotal > 0) {
		await new Promise<void>((resolve) => {
			const timer = setTimeout(resolve, 5000);
			onSettled = () => {
				clearTimeout(timer);
				resolve();
			};
		});
		onSettled = undefined;
	}
	const wallMs = performance.now() - start;
	const cpu = process.cpuUsage(cpuBefore);
	delay.disable();
	let unanswered = 0;
	for (const c of clients) {
		unanswered += c.pending.size;
		c.pending.clear();
	}
	pendingTotal = 0;
	reply({
		type: 'ran',
		sent,
		rtts: Float64Array.from(rtts),
		errors,
		unanswered,
		notifications,
		held: openSockets,
		cpuMs: (cpu.user + cpu.system) / 1000,
		wallMs,
		loopDelayP99Ms: delay.percentile(99) / 1e6,
		loopDelayMaxMs: delay.max / 1e6,
	});
}

process.on('message', (message: ToGenerator) => {
	const task =
		message.type === 'connect'
			? connectAll(message.sockets, message.batch)
			: message.type === 'run'
				? run(message.seconds, message.rate)
				: Promise.resolve().then(() => {
						for (const c of clients) c.ws.terminate();
						process.disconnect?.();
					});
	task.catch((error: unknown) => {
		reply({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
	});
});

// The bench went away: so does this process.
process.on('disconnect', () => {
	for (const c of clients) c.ws.terminate();
	setTimeout(() => process.exit(0), 100).unref();
});

// npm run bench:signaling [-- --clients 5000 --rate 2000 --seconds 20]
//
// Starts the built server on loopback, opens N WebSocket clients in rooms of
// 5 (each joins), then sends `signal` requests at a sustained rate to random
// roommates for a fixed time, and prints the request round-trip percentiles
// and the most sockets held at once. Loopback only; every loop is bounded.
//
// The load generator speaks raw JSON over `ws` (no schema validation) so its
// own CPU stays small next to the server's on a 2-core machine.

import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '../../core/protocol/index.js';
import { startServer } from '../support/serverProcess.js';

const { values } = parseArgs({
	options: {
		clients: { type: 'string', default: '5000' },
		rate: { type: 'string', default: '2000' },
		seconds: { type: 'string', default: '20' },
		'room-size': { type: 'string', default: '5' },
	},
});
const CLIENTS = Math.min(15_000, Number(values.clients));
const RATE = Math.min(50_000, Number(values.rate));
const SECONDS = Math.min(300, Number(values.seconds));
const ROOM_SIZE = Number(values['room-size']);
const CONNECT_BATCH = 250;

interface Client {
	ws: WebSocket;
	peerId: string;
	room: number;
	nextId: number;
	pending: Map<number, number>;
	mates: Client[];
}

const rtts: number[] = [];
let errors = 0;
let timeouts = 0;
let notifications = 0;
let openSockets = 0;
let maxOpenSockets = 0;

function percentile(sorted: number[], p: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function connect(url: string, index: number): Promise<Client> {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(url, { perMessageDeflate: false });
		const room = Math.floor(index / ROOM_SIZE);
		const client: Client = { ws, peerId: '', room, nextId: 2, pending: new Map(), mates: [] };
		const timer = setTimeout(() => reject(new Error(`client ${index}: join timed out`)), 30_000);
		ws.once('error', (error) => {
			clearTimeout(timer);
			reject(error);
		});
		ws.once('open', () => {
			openSockets++;
			maxOpenSockets = Math.max(maxOpenSockets, openSockets);
			ws.send(
				JSON.stringify({
					id: 1,
					method: 'join',
					data: { protocolVersion: PROTOCOL_VERSION, roomId: `bench-${room}`, displayName: `c${index}` },
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
			const msg = JSON.parse(raw.toString()) as { id?: number; ok?: boolean; data?: { peerId?: string }; method?: string };
			if (msg.id === 1) {
				clearTimeout(timer);
				if (!msg.ok || !msg.data?.peerId) {
					reject(new Error(`client ${index}: join failed ${raw.toString()}`));
					return;
				}
				client.peerId = msg.data.peerId;
				resolve(client);
				return;
			}
			if (msg.id !== undefined) {
				const sentAt = client.pending.get(msg.id);
				if (sentAt === undefined) return;
				client.pending.delete(msg.id);
				if (msg.ok) rtts.push(performance.now() - sentAt);
				else errors++;
				return;
			}
			notifications++;
		});
	});
}

async function main(): Promise<void> {
	const server = await startServer({
		LOG_LEVEL: 'info',
		// Every bench client comes from 127.0.0.1: lift the per-address and total socket limits above the bench's size.
		MAX_CONNECTIONS_PER_ADDRESS: String(CLIENTS + 100),
		MAX_CONNECTIONS: String(Math.max(10_000, CLIENTS + 100)),
		...(process.env.BENCH_SERVER_ENV ? (JSON.parse(process.env.BENCH_SERVER_ENV) as Record<string, string>) : {}),
	});
	const url = `ws://127.0.0.1:${server.port}/ws`;
	const clients: Client[] = [];
	try {
		const connectStart = performance.now();
		for (let i = 0; i < CLIENTS; i += CONNECT_BATCH) {
			const batch = await Promise.all(
				Array.from({ length: Math.min(CONNECT_BATCH, CLIENTS - i) }, (_, k) => connect(url, i + k)),
			);
			clients.push(...batch);
		}
		const connectSeconds = (performance.now() - connectStart) / 1000;
		const byRoom = new Map<number, Client[]>();
		for (const client of clients) byRoom.set(client.room, [...(byRoom.get(client.room) ?? []), client]);
		for (const client of clients) client.mates = (byRoom.get(client.room) as Client[]).filter((c) => c !== client);

		const cpuBefore = await serverCpuSeconds(server.url);
		const tickMs = 5;
		let sent = 0;
		const loadStart = performance.now();
		const endAt = loadStart + SECONDS * 1000;
		// Bounded: stops at endAt, at most SECONDS * 1000 / tickMs ticks.
		while (performance.now() < endAt) {
			// Catch up to RATE x elapsed, whatever the timer's actual tick was.
			const due = Math.floor(((performance.now() - loadStart) / 1000) * RATE);
			for (; sent < due; ) {
				const from = clients[Math.floor(Math.random() * clients.length)] as Client;
				if (from.mates.length === 0) break;
				const to = from.mates[Math.floor(Math.random() * from.mates.length)] as Client;
				const id = from.nextId++;
				from.pending.set(id, performance.now());
				from.ws.send(
					JSON.stringify({
						id,
						method: 'signal',
						data: { to: to.peerId, signal: { kind: 'candidate', candidate: { candidate: `candidate:${id} 1 udp 1 127.0.0.1 9 typ host` } } },
					}),
				);
				sent++;
			}
			await new Promise((r) => setTimeout(r, tickMs));
		}
		const loadSeconds = (performance.now() - loadStart) / 1000;
		// Let the last responses land (bounded).
		const drainUntil = performance.now() + 5000;
		while (clients.some((c) => c.pending.size > 0) && performance.now() < drainUntil) {
			await new Promise((r) => setTimeout(r, 50));
		}
		for (const c of clients) timeouts += c.pending.size;
		const cpuAfter = await serverCpuSeconds(server.url);

		rtts.sort((a, b) => a - b);
		const fmt = (n: number) => n.toFixed(2);
		const report = {
			clients: CLIENTS,
			roomSize: ROOM_SIZE,
			maxConcurrentSockets: maxOpenSockets,
			connectAndJoinSeconds: Number(connectSeconds.toFixed(1)),
			targetRate: RATE,
			achievedRate: Math.round(sent / loadSeconds),
			requests: sent,
			responses: rtts.length,
			errors,
			unanswered: timeouts,
			notificationsReceived: notifications,
			rttMs: { p50: fmt(percentile(rtts, 50)), p95: fmt(percentile(rtts, 95)), p99: fmt(percentile(rtts, 99)), max: fmt(rtts[rtts.length - 1] ?? Number.NaN) },
			serverCpuPercentOfOneCore: Number((((cpuAfter - cpuBefore) / loadSeconds) * 100).toFixed(1)),
		};
		console.log(JSON.stringify(report, null, 2));
		console.log(
			`\nsignaling bench: ${maxOpenSockets} concurrent sockets; ${report.achievedRate} req/s for ${SECONDS} s: ` +
				`p50 ${report.rttMs.p50} ms, p99 ${report.rttMs.p99} ms; errors ${errors}, unanswered ${timeouts}`,
		);
	} finally {
		for (const c of clients) c.ws.terminate();
		await server.stop();
	}
}

async function serverCpuSeconds(base: string): Promise<number> {
	const text = await (await fetch(`${base}/metrics`)).text();
	const line = text.split('\n').find((l) => l.startsWith('streaming_process_cpu_seconds_total '));
	return Number(line?.split(' ')[1] ?? Number.NaN);
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});

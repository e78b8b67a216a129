// npm run bench:sfu [-- --step 100 --max 1000 --seconds 5 --json <file>]
//
// How many video consumers one mediasoup worker forwards. One VP8 producer
// (hand-made RTP: 100 packets/s of 1,112 bytes, about 0.9 Mbit/s, every
// packet a key frame so consumers never wait) is fanned out to N consumers on
// SRTP PlainTransports that send to a UDP sink on loopback (--discard: to
// port 9 instead, --no-srtp: plain RTP). N grows by
// --step; at each N the worker's CPU (getResourceUsage) and the packets the
// consumers sent versus what the producer received (consumer stats: loss
// inside the worker) are measured over a window. Prints a table and the
// largest N under 80% of a core with no loss (--json <file>: the table as
// JSON too, report/results.ts). Loopback only; bounded.

import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';
import type { types } from 'mediasoup';
import { MediasoupConfigSchema } from '../../core/config/index.js';
import { createLogger } from '../../server/logger.js';
import { WorkerPool } from '../../server/sfu/WorkerPool.js';
import { writeBenchResult } from './report/results.js';

const { values } = parseArgs({
	options: {
		step: { type: 'string', default: '100' },
		max: { type: 'string', default: '1000' },
		seconds: { type: 'string', default: '5' },
		'no-srtp': { type: 'boolean', default: false },
		discard: { type: 'boolean', default: false },
		json: { type: 'string' },
	},
});
/**
 * --discard sends consumers to the discard port (9, nothing listening) instead
 * of the counting sink: on 2 cores the sink's own CPU slows the worker, and
 * this isolates the worker's cost. Loss is counted inside the worker either way.
 */
const DISCARD = values.discard;
const SRTP = !values['no-srtp'];
const STEP = Math.max(1, Number(values.step));
const MAX = Math.min(2000, Number(values.max));
const WINDOW_MS = Math.min(60, Number(values.seconds)) * 1000;
const PACKETS_PER_SECOND = 100;
const PACKET_BYTES = 1112;
const SSRC = 22222222;
const PAYLOAD_TYPE = 101;

/** A VP8 RTP packet: extended descriptor with a 15-bit picture id, key-frame payload header. */
function vp8Packet(seq: number): Buffer {
	const packet = Buffer.alloc(PACKET_BYTES, 0x5a);
	packet[0] = 0x80;
	packet[1] = 0x80 | PAYLOAD_TYPE; // marker: one packet per frame
	packet.writeUInt16BE(seq & 0xffff, 2);
	packet.writeUInt32BE((seq * 900) >>> 0, 4);
	packet.writeUInt32BE(SSRC, 8);
	packet[12] = 0x90; // X=1, S=1 (start of partition), PID=0
	packet[13] = 0x80; // I=1: picture id present
	packet.writeUInt16BE(0x8000 | (seq & 0x7fff), 14); // M=1: 15-bit picture id
	packet[16] = 0x10; // VP8 payload header: P=0 (key frame), show_frame=1
	packet[17] = 0x02;
	packet[18] = 0x00;
	packet.writeUInt8(0x9d, 19); // key frame start code 9d 01 2a
	packet.writeUInt8(0x01, 20);
	packet.writeUInt8(0x2a, 21);
	packet.writeUInt16LE(320, 22);
	packet.writeUInt16LE(180, 24);
	return packet;
}

async function workerCpuMs(worker: types.Worker): Promise<number> {
	const usage = await worker.getResourceUsage();
	return usage.ru_utime + usage.ru_stime;
}

async function consumerPackets(consumers: types.Consumer[]): Promise<number> {
	let total = 0;
	for (const consumer of consumers) {
		const stats = (await consumer.getStats()) as Array<{ type: string; packetCount?: number }>;
		total += stats.find((s) => s.type === 'outbound-rtp')?.packetCount ?? 0;
	}
	return total;
}

async function producerPackets(producer: types.Producer): Promise<number> {
	const stats = (await producer.getStats()) as Array<{ packetCount?: number }>;
	return stats.reduce((n, s) => n + (s.packetCount ?? 0), 0);
}

async function main(): Promise<void> {
	const pool = await WorkerPool.create(MediasoupConfigSchema.parse({ numWorkers: 1, rtcMinPort: 40000, rtcMaxPort: 49999 }), createLogger('warn'));
	const worker = pool.workers[0] as types.Worker;
	const router = await pool.createRouter();
	const sink = createSocket({ type: 'udp4', recvBufferSize: 64 * 1024 * 1024 });
	let sinkPackets = 0;
	sink.on('message', () => sinkPackets++);
	await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
	const sinkPort = sink.address().port;

	const ingress = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
	const producer = await ingress.produce({
		kind: 'video',
		rtpParameters: {
			codecs: [{ mimeType: 'video/VP8', payloadType: PAYLOAD_TYPE, clockRate: 90000 }],
			encodings: [{ ssrc: SSRC }],
		},
	});
	const sender = createSocket('udp4');
	let seq = 0;
	let sending = true;
	const sendTimer = setInterval(() => {
		if (sending) sender.send(vp8Packet(++seq), ingress.tuple.localPort, '127.0.0.1');
	}, 1000 / PACKETS_PER_SECOND);
	/** Packet counters read while the stream is paused, so producer and consumer totals are exact. */
	const quietCounts = async () => {
		sending = false;
		await new Promise((r) => setTimeout(r, 300));
		const counts = { prod: await producerPackets(producer), cons: await consumerPackets(consumers), sink: sinkPackets };
		sending = true;
		return counts;
	};

	const consumers: types.Consumer[] = [];
	const rows: Array<{ consumers: number; cpu: number; lossInWorker: number; sinkDelivery: number }> = [];
	try {
		for (let n = STEP; n <= MAX; n += STEP) {
			while (consumers.length < n) {
				const transport = await router.createPlainTransport({
					listenIp: { ip: '127.0.0.1' },
					rtcpMux: true,
					comedia: false,
					enableSrtp: SRTP,
					...(SRTP ? { srtpCryptoSuite: 'AES_CM_128_HMAC_SHA1_80' as const } : {}),
				});
				await transport.connect({
					ip: '127.0.0.1',
					port: DISCARD ? 9 : sinkPort,
					...(SRTP
						? { srtpParameters: { cryptoSuite: 'AES_CM_128_HMAC_SHA1_80' as const, keyBase64: 'ZnQ3eWJraDg0d3ZoYzM5cXN1Y2pnaHU5NWxrZTVv' } }
						: {}),
				});
				consumers.push(await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities }));
			}
			await new Promise((r) => setTimeout(r, 1500)); // Settle: key frames, socket buffers.
			const before = await quietCounts();
			// CPU over a window with only forwarding going on (no stats requests inside it).
			const cpu0 = await workerCpuMs(worker);
			const t0 = performance.now();
			await new Promise((r) => setTimeout(r, WINDOW_MS));
			const cpu1 = await workerCpuMs(worker);
			const elapsed = performance.now() - t0;
			const after = await quietCounts();
			const expected = (after.prod - before.prod) * n;
			const row = {
				consumers: n,
				cpu: ((cpu1 - cpu0) / elapsed) * 100,
				lossInWorker: expected > 0 ? Math.max(0, 1 - (after.cons - before.cons) / expected) : 1,
				sinkDelivery: expected > 0 ? (after.sink - before.sink) / expected : 0,
			};
			rows.push(row);
			console.log(
				`${String(n).padStart(5)} consumers | worker CPU ${row.cpu.toFixed(1).padStart(5)}% of a core | ` +
					`loss in worker ${(row.lossInWorker * 100).toFixed(2)}% | sink got ${(row.sinkDelivery * 100).toFixed(1)}%`,
			);
			if (row.cpu > 95) break; // Saturated: more would only measure the overload.
		}
	} finally {
		clearInterval(sendTimer);
		sender.close();
		sink.close();
		await pool.closeAndWait();
	}
	const ok = rows.filter((r) => r.cpu < 80 && r.lossInWorker === 0);
	const best = ok[ok.length - 1];
	console.log(
		`\nsfu bench: ${best ? best.consumers : 0} video consumers per worker under 80% of a core with no loss ` +
			`(${PACKETS_PER_SECOND} pkt/s x ${PACKET_BYTES} B per stream)`,
	);
	writeBenchResult(values.json, {
		bench: 'sfu',
		srtp: SRTP,
		discard: DISCARD,
		packetsPerSecond: PACKETS_PER_SECOND,
		packetBytes: PACKET_BYTES,
		rows: rows.map((r) => ({ consumers: r.consumers, cpuPercent: r.cpu, lossInWorker: r.lossInWorker, sinkDelivery: r.sinkDelivery })),
		bestConsumers: best ? best.consumers : 0,
	});
}

main().catch((error: unknown) => {
	console.error(error);
	process.exit(1);
});

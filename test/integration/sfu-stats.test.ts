import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from '../../server/Server.js';
import { metricSample } from '../support/metrics.js';
import { startInProcessServer, until } from '../support/inProcessServer.js';

/** One RTP packet: version 2, the given payload type, sequence number and SSRC, 160 payload bytes. */
function rtpPacket(payloadType: number, seq: number, ssrc: number): Buffer {
	const packet = Buffer.alloc(12 + 160, 0xab);
	packet[0] = 0x80;
	packet[1] = payloadType;
	packet.writeUInt16BE(seq, 2);
	packet.writeUInt32BE(seq * 960, 4);
	packet.writeUInt32BE(ssrc, 8);
	return packet;
}

describe('SFU accounting in /metrics', () => {
	let server: Server;
	const scrape = async () => (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();

	beforeAll(async () => {
		server = await startInProcessServer();
	});

	afterAll(async () => {
		await server?.close();
	});

	it('counts RTP bytes that really go through a transport, and the objects that carry them', async () => {
		const before = await scrape();
		expect(metricSample(before, 'streaming_sfu_rtp_bytes_total{direction="in"}')).toBe(0);
		expect(metricSample(before, 'streaming_sfu_transports')).toBe(0);
		expect(metricSample(before, 'streaming_sfu_workers')).toBe(1);
		const pid = server.workers.workers[0]?.pid;
		expect(metricSample(before, `streaming_sfu_worker_cpu_seconds{pid="${pid}"}`)).toBeGreaterThan(0);

		const router = await server.workers.createRouter();
		const transport = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: true });
		const producer = await transport.produce({
			kind: 'audio',
			rtpParameters: {
				codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
				encodings: [{ ssrc: 1111 }],
			},
		});
		const counts = await scrape();
		expect(metricSample(counts, 'streaming_sfu_routers')).toBe(1);
		expect(metricSample(counts, 'streaming_sfu_transports')).toBe(1);
		expect(metricSample(counts, 'streaming_sfu_producers')).toBe(1);

		const udp = createSocket('udp4');
		for (let seq = 1; seq <= 50; seq++) {
			await new Promise<void>((resolve, reject) =>
				udp.send(rtpPacket(100, seq, 1111), transport.tuple.localPort, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
			);
		}
		udp.close();
		// mediasoup counted them (the producer saw the packets).
		await until(async () => ((await producer.getStats())[0]?.packetCount ?? 0) >= 50, 5000, 'producer to count 50 packets');
		const during = await scrape();
		const bytesIn = metricSample(during, 'streaming_sfu_rtp_bytes_total{direction="in"}') ?? 0;
		expect(bytesIn).toBeGreaterThanOrEqual(50 * 172);

		router.close();
		const after = await scrape();
		expect(metricSample(after, 'streaming_sfu_routers')).toBe(0);
		expect(metricSample(after, 'streaming_sfu_transports')).toBe(0);
		expect(metricSample(after, 'streaming_sfu_producers')).toBe(0);
		// A counter: what went through stays counted after the transport closes.
		expect(metricSample(after, 'streaming_sfu_rtp_bytes_total{direction="in"}')).toBe(bytesIn);
	});
});

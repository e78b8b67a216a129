import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediasoupConfigSchema } from '../../core/config/index.js';
import { createLogger } from '../../server/logger.js';
import { WorkerPool } from '../../server/sfu/WorkerPool.js';

describe('WorkerPool with the built mediasoup worker', () => {
	let pool: WorkerPool;

	beforeAll(async () => {
		pool = await WorkerPool.create(
			MediasoupConfigSchema.parse({ numWorkers: 2, rtcMinPort: 45000, rtcMaxPort: 45999 }),
			createLogger('silent'),
		);
	});

	afterAll(() => pool?.close());

	it('starts the configured number of worker processes', async () => {
		expect(pool.workers).toHaveLength(2);
		for (const worker of pool.workers) {
			expect(worker.pid).toBeGreaterThan(0);
			const usage = await worker.getResourceUsage();
			expect(usage.ru_maxrss).toBeGreaterThan(0);
		}
	});

	it('createRouter() offers Opus and VP8 and places routers on the least-loaded worker', async () => {
		const a = await pool.createRouter();
		const b = await pool.createRouter();
		const mimeTypes = a.rtpCapabilities.codecs?.map((c) => c.mimeType) ?? [];
		expect(mimeTypes).toContain('audio/opus');
		expect(mimeTypes).toContain('video/VP8');
		const dumpA = await pool.workers[0]?.dump();
		const dumpB = await pool.workers[1]?.dump();
		// One router per worker: the second went to the emptier worker.
		expect([dumpA?.routerIds.length, dumpB?.routerIds.length]).toEqual([1, 1]);
		a.close();
		b.close();
	});

	it('a router creates a WebRtcTransport with loopback ICE candidates in the configured range', async () => {
		const router = await pool.createRouter();
		const transport = await router.createWebRtcTransport({
			listenIps: [{ ip: '127.0.0.1' }],
			enableUdp: true,
			enableTcp: true,
			preferUdp: true,
		});
		expect(transport.iceParameters.usernameFragment.length).toBeGreaterThan(0);
		expect(transport.dtlsParameters.fingerprints.length).toBeGreaterThan(0);
		const protocols = new Set(transport.iceCandidates.map((c) => c.protocol));
		expect(protocols).toEqual(new Set(['udp', 'tcp']));
		for (const candidate of transport.iceCandidates) {
			expect(candidate.ip).toBe('127.0.0.1');
			expect(candidate.port).toBeGreaterThanOrEqual(45000);
			expect(candidate.port).toBeLessThanOrEqual(45999);
		}
		router.close();
		expect(transport.closed).toBe(true);
	});

	it('close() ends every worker process and is idempotent', async () => {
		const extra = await WorkerPool.create(MediasoupConfigSchema.parse({ numWorkers: 1 }), createLogger('silent'));
		const pid = extra.workers[0]?.pid as number;
		extra.close();
		extra.close();
		expect(extra.closed).toBe(true);
		await expect.poll(() => {
			try {
				process.kill(pid, 0);
				return true;
			} catch {
				return false;
			}
		}).toBe(false);
		await expect(extra.createRouter()).rejects.toThrow('WorkerPool closed');
	});
});

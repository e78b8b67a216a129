import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoomDetails } from '../../core/protocol/index.js';
import { launchBrowser } from '../support/browser.js';
import { metricSample } from '../support/metrics.js';
import { expectEveryPairDecodes, joinAll, peerIdOf, remoteStats } from '../support/call.js';
import { isAlive, startServer, type RunningServer } from '../support/serverProcess.js';

async function roomDetails(server: RunningServer, roomId: string): Promise<RoomDetails> {
	return (await (await fetch(`${server.url}/api/rooms/${roomId}`)).json()) as RoomDetails;
}

async function sfuCounts(server: RunningServer) {
	const text = await (await fetch(`${server.url}/metrics`)).text();
	return {
		routers: metricSample(text, 'streaming_sfu_routers'),
		transports: metricSample(text, 'streaming_sfu_transports'),
		producers: metricSample(text, 'streaming_sfu_producers'),
		consumers: metricSample(text, 'streaming_sfu_consumers'),
		rtpIn: metricSample(text, 'streaming_sfu_rtp_bytes_total{direction="in"}') ?? 0,
		workers: metricSample(text, 'streaming_sfu_workers'),
	};
}

describe('SFU rooms in real Chromium', () => {
	let server: RunningServer;
	let browser: Browser;

	beforeAll(async () => {
		server = await startServer({ MESH_MAX_PEERS: '0', MEDIASOUP_NUM_WORKERS: '2' });
		browser = await launchBrowser();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.stop();
	});

	it('four participants decode 30+ frames from every other; leaving closes everything, down to zero', async () => {
		const context = await browser.newContext();
		const pages = await joinAll(context, server.url, 'sfu-four', ['Ann', 'Ben', 'Cy', 'Di']);
		const stats = await expectEveryPairDecodes(pages, 30, 90_000);
		for (const perPage of stats) {
			expect(perPage).toHaveLength(3);
			for (const remote of perPage) expect(remote.path).toBe('sfu');
		}
		// 4 peers x (audio + video) producers; each consumes the other 3's two.
		await expect.poll(async () => (await sfuCounts(server)).consumers).toBe(24);
		expect(await sfuCounts(server)).toMatchObject({ routers: 1, transports: 8, producers: 8 });
		expect((await sfuCounts(server)).rtpIn).toBeGreaterThan(0);
		// The server watched every transport's ICE and DTLS come up (8 transports).
		const states = await (await fetch(`${server.url}/metrics`)).text();
		expect(metricSample(states, 'streaming_sfu_transport_state_changes_total{layer="ice",state="connected"}')).toBeGreaterThanOrEqual(8);
		expect(metricSample(states, 'streaming_sfu_transport_state_changes_total{layer="dtls",state="connected"}')).toBe(8);

		// Di leaves: her producers, her consumers and everyone's consumers of her close.
		const diId = await peerIdOf(pages[3]);
		await pages[3].close({ runBeforeUnload: true });
		await expect.poll(async () => (await sfuCounts(server)).consumers).toBe(12);
		expect(await sfuCounts(server)).toMatchObject({ transports: 6, producers: 6 });
		for (const page of pages.slice(0, 3)) {
			await expect.poll(() => page.locator(`[data-testid=remote-tile][data-peer-id="${diId}"]`).count()).toBe(0);
		}

		await context.close();
		await expect.poll(async () => sfuCounts(server), { timeout: 15_000 }).toMatchObject({
			routers: 0,
			transports: 0,
			producers: 0,
			consumers: 0,
		});
	});

	it('mute pauses the producer: no new RTP reaches the others; unmute: frames resume', async () => {
		const context = await browser.newContext();
		const [alice, bob] = await joinAll(context, server.url, 'sfu-mute', ['Alice', 'Bob']);
		await expectEveryPairDecodes([alice, bob], 30);
		// The fake microphone beeps: the SFU names a speaker, and Bob's page highlights that tile.
		const aliceId = await peerIdOf(alice);
		const aliceTileOnBob = bob.locator(`[data-testid=remote-tile][data-peer-id="${aliceId}"]`);
		await expect.poll(() => aliceTileOnBob.evaluate((el) => el.classList.contains('active-speaker')), { timeout: 15_000 }).toBe(true);
		await alice.evaluate(async () => {
			await window.__call?.setCameraEnabled(false);
			await window.__call?.setMicrophoneEnabled(false);
		});
		const bobSees = async () => (await remoteStats(bob))[0];
		// Let in-flight packets land, then watch a window: nothing new arrives.
		await expect
			.poll(async () => {
				const a = await bobSees();
				await new Promise((r) => setTimeout(r, 1000));
				const b = await bobSees();
				return { video: (b?.bytesReceived ?? 0) - (a?.bytesReceived ?? 0), audio: (b?.audioPacketsReceived ?? 0) - (a?.audioPacketsReceived ?? 0) };
			}, { timeout: 15_000 })
			.toEqual({ video: 0, audio: 0 });

		const framesWhileMuted = (await bobSees())?.framesDecoded ?? 0;
		await alice.evaluate(async () => {
			await window.__call?.setCameraEnabled(true);
			await window.__call?.setMicrophoneEnabled(true);
		});
		await expect.poll(async () => (await bobSees())?.framesDecoded ?? 0, { timeout: 20_000 }).toBeGreaterThan(framesWhileMuted + 30);
		await context.close();
	});

	it('a killed worker: the room moves to another worker and media resumes without anyone leaving', async () => {
		const context = await browser.newContext();
		const pages = await joinAll(context, server.url, 'sfu-crash', ['Alice', 'Bob']);
		await expectEveryPairDecodes(pages, 30);
		const before = await roomDetails(server, 'sfu-crash');
		expect(before.sfuRouters).toHaveLength(1);
		const deadPid = before.sfuRouters[0]?.workerPid as number;
		const ids = await Promise.all(pages.map(peerIdOf));

		process.kill(deadPid, 'SIGKILL');
		await expect.poll(() => isAlive(deadPid)).toBe(false);
		// A new router on a live worker; the pool replaced the dead worker.
		await expect
			.poll(
				async () => {
					const routers = (await roomDetails(server, 'sfu-crash')).sfuRouters;
					return routers.length === 1 && routers[0]?.workerPid !== deadPid && isAlive(routers[0]?.workerPid as number);
				},
				{ timeout: 20_000 },
			)
			.toBe(true);
		await expect.poll(async () => (await sfuCounts(server)).workers, { timeout: 10_000 }).toBe(2);
		// Fresh consumers decode again; the same peers, nobody left.
		await expectEveryPairDecodes(pages, 30, 60_000);
		expect(await Promise.all(pages.map(peerIdOf))).toEqual(ids);
		expect((await roomDetails(server, 'sfu-crash')).participants).toHaveLength(2);
		await context.close();
	});
});

describe('a room spanning two workers (pipeToRouter)', () => {
	let server: RunningServer;
	let browser: Browser;

	beforeAll(async () => {
		server = await startServer({ MESH_MAX_PEERS: '0', MEDIASOUP_NUM_WORKERS: '2', SFU_MAX_PEERS_PER_ROUTER: '1' });
		browser = await launchBrowser();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.stop();
	});

	it('two peers on routers of different workers still decode each other', async () => {
		const context = await browser.newContext();
		const pages = await joinAll(context, server.url, 'sfu-piped', ['Alice', 'Bob']);
		await expectEveryPairDecodes(pages, 30);
		const { sfuRouters } = await roomDetails(server, 'sfu-piped');
		expect(sfuRouters).toHaveLength(2);
		expect(new Set(sfuRouters.map((r) => r.workerPid)).size).toBe(2);
		await context.close();
	});
});

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoomDetails } from '../../core/protocol/index.js';
import { launchBrowser } from '../support/browser.js';
import { metricSample } from '../support/metrics.js';
import { expectEveryPairDecodes, joinAll, peerIdOf, remoteStats, type RemoteStats } from '../support/call.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';

describe('mesh calls in real Chromium', () => {
	let server: RunningServer;
	let browser: Browser;

	/** The SFU carries nothing and holds nothing while rooms are in mesh. */
	async function expectNoServerMedia(): Promise<void> {
		const text = await (await fetch(`${server.url}/metrics`)).text();
		expect(metricSample(text, 'streaming_sfu_rtp_bytes_total{direction="in"}')).toBe(0);
		expect(metricSample(text, 'streaming_sfu_rtp_bytes_total{direction="out"}')).toBe(0);
		expect(metricSample(text, 'streaming_sfu_routers')).toBe(0);
		expect(metricSample(text, 'streaming_sfu_transports')).toBe(0);
	}

	beforeAll(async () => {
		server = await startServer({ QUALITY_REPORT_INTERVAL_MS: '1000' });
		browser = await launchBrowser();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.stop();
	});

	it('two participants: each decodes 30+ frames from the other, data channel works, quality reaches the server', async () => {
		const context = await browser.newContext();
		const [alice, bob] = await joinAll(context, server.url, 'mesh-two', ['Alice', 'Bob']);
		await expectEveryPairDecodes([alice, bob], 30);
		const [aliceId, bobId] = await Promise.all([peerIdOf(alice), peerIdOf(bob)]);

		// One remote tile each, showing the other.
		expect(await alice.locator(`[data-testid=remote-tile][data-peer-id="${bobId}"] video`).count()).toBe(1);

		// App data over the pair's data channel.
		await bob.evaluate(() => {
			(window as unknown as { received: string[] }).received = [];
			window.__call?.on('data', (_from, message) => (window as unknown as { received: string[] }).received.push(message));
		});
		await expect.poll(() => alice.evaluate(() => window.__call?.sendData('hello bob') ?? 0)).toBe(1);
		await expect.poll(() => bob.evaluate(() => (window as unknown as { received: string[] }).received)).toEqual(['hello bob']);

		// Each client reports its connection's bitrate, RTT and path; the server keeps the latest.
		await expect
			.poll(
				async () => {
					const room = (await (await fetch(`${server.url}/api/rooms/mesh-two`)).json()) as RoomDetails;
					const alices = room.participants.find((p) => p.peerId === aliceId);
					return alices?.quality?.report.connections[0];
				},
				{ timeout: 15_000 },
			)
			.toMatchObject({ remotePeerId: bobId, path: 'direct', outboundBitrateBps: expect.any(Number) });
		const room = (await (await fetch(`${server.url}/api/rooms/mesh-two`)).json()) as RoomDetails;
		for (const participant of room.participants) {
			const [connection] = participant.quality?.report.connections ?? [];
			expect(connection?.rttMs).not.toBeNull();
			expect(connection?.path).toBe('direct');
		}

		await expectNoServerMedia();
		await context.close();
	});

	it('three participants: every participant decodes 30+ frames from every other, with no server media', async () => {
		const context = await browser.newContext();
		const pages = await joinAll(context, server.url, 'mesh-three', ['Ann', 'Ben', 'Cy']);
		const stats = await expectEveryPairDecodes(pages, 30);
		for (const perPage of stats) {
			expect(perPage).toHaveLength(2);
			for (const remote of perPage) expect(remote.path).toBe('direct');
		}
		await expectNoServerMedia();
		await context.close();
	});

	it('mute and camera switch change tracks without renegotiation', async () => {
		const context = await browser.newContext();
		const [alice, bob] = await joinAll(context, server.url, 'mesh-mute', ['Alice', 'Bob']);
		await expectEveryPairDecodes([alice, bob], 30);
		const negotiated = (await remoteStats(alice))[0]?.descriptionCount;
		expect(negotiated).toBe(2); // One offer, one answer.

		// Mute: the tracks stay on their senders (packets keep coming: silence and black frames),
		// and what Bob decodes from Alice's microphone carries no more energy.
		const bobSees = async () => (await remoteStats(bob))[0] as RemoteStats;
		const energyOver = async (ms: number) => {
			const start = (await bobSees()).audioEnergy;
			await new Promise((r) => setTimeout(r, ms));
			return (await bobSees()).audioEnergy - start;
		};
		const audible = await energyOver(2000);
		expect(audible).toBeGreaterThan(0);
		await alice.evaluate(() => {
			window.__call?.setMicrophoneEnabled(false);
			window.__call?.setCameraEnabled(false);
		});
		const muted = await alice.evaluate(() =>
			((document.querySelector('[data-testid=local-video]') as HTMLVideoElement).srcObject as MediaStream).getTracks().map((t) => t.enabled),
		);
		expect(muted).toEqual([false, false]);
		const packetsAtMute = (await bobSees()).audioPacketsReceived;
		await expect.poll(async () => (await bobSees()).audioPacketsReceived).toBeGreaterThan(packetsAtMute + 10);
		expect(await energyOver(2000)).toBeLessThan(audible / 20);
		await alice.evaluate(() => {
			window.__call?.setMicrophoneEnabled(true);
			window.__call?.setCameraEnabled(true);
		});

		// Camera switch: a new video track (a canvas) replaces the camera on the live connection.
		const framesBefore = (await remoteStats(bob))[0]?.framesDecoded ?? 0;
		await alice.evaluate(() => {
			const canvas = document.createElement('canvas');
			canvas.width = 320;
			canvas.height = 180;
			const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
			let n = 0;
			setInterval(() => {
				ctx.fillStyle = `hsl(${(n += 10) % 360} 80% 50%)`;
				ctx.fillRect(0, 0, 320, 180);
			}, 66);
			const [track] = canvas.captureStream(15).getVideoTracks();
			window.__call?.replaceVideoTrack(track as MediaStreamTrack);
		});
		await expect.poll(async () => (await remoteStats(bob))[0]?.framesDecoded ?? 0, { timeout: 20_000 }).toBeGreaterThan(framesBefore + 30);
		expect((await remoteStats(alice))[0]?.descriptionCount).toBe(2);
		expect((await remoteStats(bob))[0]?.descriptionCount).toBe(2);
		await context.close();
	});
});

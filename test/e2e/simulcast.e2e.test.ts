import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoomDetails, SfuConsumerSummary } from '../../core/protocol/index.js';
import { launchBrowser } from '../support/browser.js';
import { joinAll, peerIdOf, recordPeerConnections, remoteStats } from '../support/call.js';
import { createTestNetwork, type TestNetwork } from '../support/netns.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';

/**
 * Simulcast on the SFU, seen whole: a publisher whose camera is 1280x720
 * (a painted canvas in place of getUserMedia; the test camera clip is too
 * small for more than one layer) sends three VP8 layers, and the SFU
 * forwards each receiver the layer its tile needs, switching when the tile
 * grows. The layers forwarded are read from the server (the room details'
 * consumers, mediasoup's currentLayers), not from the receiver.
 */

/**
 * A canvas painted 15 times a second, `width` x `height`, with moving
 * blocks (so every layer has something to encode), captured at 15 fps.
 * Stands in for the camera (getUserMedia, the microphone kept) or the
 * screen (getDisplayMedia), as `replace` says.
 */
async function paintedSources(context: BrowserContext, width: number, height: number, replace: ReadonlyArray<'camera' | 'screen'>): Promise<void> {
	await context.addInitScript(
		({ w, h, camera, screen }) => {
			function paintedTrack(): MediaStreamTrack {
				const canvas = document.createElement('canvas');
				canvas.width = w;
				canvas.height = h;
				const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
				let frame = 0;
				const paint = () => {
					frame++;
					ctx.fillStyle = `hsl(${(frame * 5) % 360}, 50%, 40%)`;
					ctx.fillRect(0, 0, w, h);
					for (let i = 0; i < 8; i++) {
						ctx.fillStyle = i % 2 ? '#fff' : '#000';
						ctx.fillRect((frame * (8 + i * 3) + i * 160) % w, (i * h) / 8, w / 10, h / 10);
					}
					ctx.fillStyle = '#ff0';
					ctx.font = `${Math.round(h / 12)}px sans-serif`;
					ctx.fillText(`frame ${frame}`, w / 3, h / 2);
				};
				paint();
				setInterval(paint, 66);
				return canvas.captureStream(15).getVideoTracks()[0] as MediaStreamTrack;
			}
			const devices = navigator.mediaDevices;
			const getUserMedia = devices.getUserMedia.bind(devices);
			if (camera) {
				devices.getUserMedia = async (constraints?: MediaStreamConstraints) => {
					const stream = constraints?.audio ? await getUserMedia({ audio: constraints.audio }) : new MediaStream();
					if (constraints?.video) stream.addTrack(paintedTrack());
					return stream;
				};
			}
			if (screen) devices.getDisplayMedia = async () => new MediaStream([paintedTrack()]);
		},
		{ w: width, h: height, camera: replace.includes('camera'), screen: replace.includes('screen') },
	);
}

interface Outbound {
	rid: string | undefined;
	bytesSent: number;
	frameWidth: number | undefined;
	qualityLimitationReason: string | undefined;
}

/** The page's video outbound-rtp entries (one per simulcast layer) over its open peer connections. */
function outboundVideo(page: Page): Promise<Outbound[]> {
	return page.evaluate(async () => {
		const out: Outbound[] = [];
		for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
			if (pc.connectionState === 'closed') continue;
			for (const r of (await pc.getStats()).values()) {
				if (r.type !== 'outbound-rtp' || r.kind !== 'video') continue;
				out.push({ rid: r.rid, bytesSent: r.bytesSent ?? 0, frameWidth: r.frameWidth, qualityLimitationReason: r.qualityLimitationReason });
			}
		}
		return out.sort((a, b) => (a.rid ?? '').localeCompare(b.rid ?? ''));
	});
}

async function roomDetails(server: RunningServer, roomId: string): Promise<RoomDetails> {
	return (await (await fetch(`${server.url}/api/rooms/${roomId}`)).json()) as RoomDetails;
}

/** `receiver`'s video consumer of `publisher` in the room's details. */
function videoConsumerIn(details: RoomDetails, receiver: string, publisher: string): SfuConsumerSummary | undefined {
	return details.participants.find((p) => p.peerId === receiver)?.consumers.find((c) => c.producerPeerId === publisher && c.kind === 'video');
}

/** `receiver`'s video consumer of `publisher` as the server has it. */
async function videoConsumer(server: RunningServer, roomId: string, receiver: string, publisher: string): Promise<SfuConsumerSummary | undefined> {
	return videoConsumerIn(await roomDetails(server, roomId), receiver, publisher);
}

/** How wide `page` shows `peerId`'s video (its decoded frames), 0 before the first. */
function tileWidth(page: Page, peerId: string): Promise<number> {
	return page.evaluate((id) => document.querySelector<HTMLVideoElement>(`[data-testid=remote-tile][data-peer-id="${id}"] video`)?.videoWidth ?? 0, peerId);
}

/**
 * Reads `read` every `intervalMs` until `done` holds or `timeoutMs` passed
 * (bounded), and returns the last value read: the caller asserts on it,
 * with the stats that explain a failure.
 */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, intervalMs = 250): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let value = await read();
	while (!done(value) && Date.now() < deadline) {
		await new Promise((resolve) => setTimeout(resolve, intervalMs));
		value = await read();
	}
	return value;
}

/** One participant joined in `context` (joinAll's wait: joined, media paths built). */
async function join(context: BrowserContext, baseUrl: string, room: string, name: string): Promise<Page> {
	const [page] = await joinAll(context, baseUrl, room, [name]);
	return page;
}

describe('simulcast on the SFU in real Chromium', () => {
	let server: RunningServer;
	let browser: Browser;
	const contexts: BrowserContext[] = [];

	beforeAll(async () => {
		server = await startServer({ MESH_MAX_PEERS: '0' });
		browser = await launchBrowser();
	});

	afterAll(async () => {
		for (const context of contexts) await context.close().catch(() => undefined);
		await browser?.close();
		await server?.stop();
	});

	async function newContext(viewport: { width: number; height: number }): Promise<BrowserContext> {
		const context = await browser.newContext({ viewport });
		contexts.push(context);
		return context;
	}

	it('a 1280x720 camera sends three layers; a small tile gets the lowest, the tile pinned large the top one within 5 s', async () => {
		const room = 'simulcast';
		const publisherContext = await newContext({ width: 640, height: 400 });
		await recordPeerConnections(publisherContext);
		await paintedSources(publisherContext, 1280, 720, ['camera']);
		const viewers = await newContext({ width: 640, height: 400 });

		const publisher = await join(publisherContext, server.url, room, 'Pat');
		const receiver = await join(viewers, server.url, room, 'Rae');
		const third = await join(viewers, server.url, room, 'Cy');
		const [patId, raeId, cyId] = (await Promise.all([publisher, receiver, third].map(peerIdOf))) as [string, string, string];

		// 1. Three rids, each with bytes.
		const withBytes = (o: Outbound[]) => o.filter((x) => x.bytesSent > 0).map((x) => x.rid);
		const sent = await waitFor(() => outboundVideo(publisher), (o) => withBytes(o).length === 3, 20_000, 500);
		expect(withBytes(sent), `Pat's outbound video: ${JSON.stringify(sent)}`).toEqual(['r0', 'r1', 'r2']);

		// 2. Rae's window is small and Cy is pinned: Pat's tile is a thumbnail in the strip (under 240 px), the lowest layer.
		await receiver.locator(`[data-testid=pin][data-peer-id="${cyId}"]`).click();
		const patTile = receiver.locator(`[data-testid=remote-tile][data-peer-id="${patId}"]`);
		await expect.poll(async () => (await patTile.boundingBox())?.width ?? Infinity, { timeout: 2_000 }).toBeLessThan(240);
		const patOnRae = () => videoConsumer(server, room, raeId, patId);
		let consumer = await waitFor(patOnRae, (c) => c?.currentLayers?.spatialLayer === 0, 15_000);
		expect(consumer?.currentLayers?.spatialLayer, `Rae's consumer of Pat: ${JSON.stringify(consumer)}`).toBe(0);
		expect(consumer?.preferredLayers?.spatialLayer).toBe(0);
		// And Rae decodes it.
		const decoded = async () => (await remoteStats(receiver)).find((s) => s.peerId === patId)?.framesDecoded ?? 0;
		await expect.poll(decoded, { timeout: 15_000 }).toBeGreaterThan(10);

		// 3. A larger window, Pat pinned: the large tile (900+ px; the top layer is for 480 and up), the top layer within 5 s of the click.
		await receiver.setViewportSize({ width: 1280, height: 800 });
		await receiver.locator(`[data-testid=pin][data-peer-id="${patId}"]`).click();
		await expect.poll(async () => (await patTile.boundingBox())?.width ?? 0, { timeout: 2_000 }).toBeGreaterThanOrEqual(900);
		consumer = await waitFor(patOnRae, (c) => c?.currentLayers?.spatialLayer === 2, 5_000, 200);
		expect(consumer?.currentLayers?.spatialLayer, `Rae's consumer of Pat: ${JSON.stringify(consumer)}; Pat sends ${JSON.stringify(await outboundVideo(publisher))}`).toBe(2);
		const framesAtTop = await decoded();
		await expect.poll(decoded, { timeout: 10_000 }).toBeGreaterThan(framesAtTop + 10);
		const videoWidth = () => tileWidth(receiver, patId);
		await expect.poll(videoWidth, { timeout: 5_000 }).toBe(1280);
	});

	it('a screen shared on the SFU is sent whole: marked detail, its only encoding 1280 wide, decoded at 1280', async () => {
		const room = 'simulcast-screen';
		const presenterContext = await newContext({ width: 640, height: 400 });
		await recordPeerConnections(presenterContext);
		// The camera is the usual small clip (one layer); the screen a 1280x720 canvas.
		await paintedSources(presenterContext, 1280, 720, ['screen']);
		const presenter = await join(presenterContext, server.url, room, 'Pat');
		const viewer = await join(await newContext({ width: 1280, height: 800 }), server.url, room, 'Vi');
		const patId = (await peerIdOf(presenter)) as string;
		const shown = () => tileWidth(viewer, patId);
		await expect.poll(shown, { timeout: 20_000 }).toBe(320);

		await presenter.locator('[data-testid=screenshare]').click();
		await presenter.waitForFunction(() => window.__call?.sharing === true, undefined, { timeout: 10_000 });
		const hints = await presenter.evaluate(() =>
			(window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
				.filter((pc) => pc.connectionState !== 'closed')
				.flatMap((pc) => pc.getSenders())
				.filter((s) => s.track?.kind === 'video')
				.map((s) => s.track?.contentHint),
		);
		expect(hints).toEqual(['detail']);
		const top = (o: Outbound[]) => o.at(-1);
		const sent = await waitFor(() => outboundVideo(presenter), (o) => (top(o)?.frameWidth ?? 0) >= 1280, 15_000, 500);
		expect(top(sent)?.frameWidth, `Pat's outbound video while sharing: ${JSON.stringify(sent)}`).toBe(1280);
		await expect.poll(shown, { timeout: 10_000 }).toBe(1280);
	});
});

/**
 * A receiver whose downlink is squeezed for real: a token bucket (`tc tbf`,
 * 300 kbit/s, a 1 s buffer as an access link has) on the server
 * namespace's end of its veth pair (test/support/netns.ts), so every packet
 * the SFU sends it queues there. mediasoup picks the layer from its
 * send-side estimate of the link (transport-cc feedback from the receiver),
 * so the drop and the climb back are the SFU's own.
 *
 * What mediasoup 3.8.4 does under it, seen in the trace this test keeps:
 * it drops to the lowest or the middle layer within a few seconds, and
 * holds every spatial up-switch for 10 s after a bandwidth downgrade
 * (SimulcastConsumer's BweDowngradeConservativeMs); when a hold ends it
 * tries the next layer up, and now and then the top layer's base temporal
 * layer (a quarter of the frames, which its arithmetic says fits) for a
 * second or two before falling back. Hence "mostly below the top", and the
 * limit is lifted only once no downgrade has been seen for the length of
 * that hold: the climb is then the estimator's, not the hold. The estimate
 * comes back up by probes (GoogCC's, in the worker: every 5 s while the
 * link is underused, each up to twice the estimate): the top layer was
 * back 0.5 to 9 s after the lift in 33 of the 34 runs timed, and 13 s in
 * one (a CI run); an earlier variant was still on layer 1 10 s after. The
 * bound is 20 s (four probe periods); the test prints the time.
 */
describe('simulcast under a 300 kbit/s downlink (tc in a network namespace)', () => {
	let net: TestNetwork;
	const browsers: Browser[] = [];
	let server: RunningServer;
	const contexts: BrowserContext[] = [];
	const run = promisify(execFile);
	/** mediasoup's hold on spatial up-switches after a bandwidth downgrade, and a sample's worth of margin. */
	const HOLD_MS = 10_000;
	const QUIET_MS = HOLD_MS + 1_000;
	/** The climb's bound once the link opens: four of GoogCC's 5 s probe periods (see above). */
	const CLIMB_MS = 20_000;

	/** tc in the server namespace, on the receiver's veth end (its downlink). */
	const tc = (...args: string[]) => run('ip', ['netns', 'exec', net.serverNamespace, 'tc', ...args], { timeout: 10_000 });

	beforeAll(async () => {
		net = await createTestNetwork(2);
		server = await net.startServer({ MESH_MAX_PEERS: '0' });
		browsers.push(await net.launchBrowser(1), await net.launchBrowser(2));
	});

	afterAll(async () => {
		for (const context of contexts) await context.close().catch(() => undefined);
		await net?.destroy();
	});

	it('a receiver limited to 300 kbit/s drops to a layer that fits and keeps decoding; back to the top once the limit is lifted', async () => {
		const room = 'simulcast-squeezed';
		const publisherContext = await (browsers[0] as Browser).newContext({ viewport: { width: 640, height: 400 } });
		const receiverContext = await (browsers[1] as Browser).newContext({ viewport: { width: 1280, height: 800 } });
		contexts.push(publisherContext, receiverContext);
		await recordPeerConnections(publisherContext);
		await paintedSources(publisherContext, 1280, 720, ['camera']);
		const publisher = await join(publisherContext, server.url, room, 'Pat');
		const receiver = await join(receiverContext, server.url, room, 'Rae');
		const [patId, raeId] = (await Promise.all([publisher, receiver].map(peerIdOf))) as [string, string];
		const downlink = `vb${(net.browsers[1] as { index: number }).index}`;

		/** Rae's consumer of Pat (the server's view), Pat's frames Rae decoded, the video bytes Rae received, and the width Rae shows. */
		const sample = async () => {
			const [details, stats, width] = await Promise.all([
				net.serverGet(`/api/rooms/${room}`),
				remoteStats(receiver),
				tileWidth(receiver, patId),
			]);
			const consumer = videoConsumerIn(JSON.parse(details) as RoomDetails, raeId, patId);
			const pat = stats.find((s) => s.peerId === patId);
			return { at: Date.now(), spatial: consumer?.currentLayers?.spatialLayer, temporal: consumer?.currentLayers?.temporalLayer, frames: pat?.framesDecoded ?? 0, bytes: pat?.bytesReceived ?? 0, width };
		};
		type Sample = Awaited<ReturnType<typeof sample>>;
		/** Every sample, a line each, for a failure's message: layers, frames decoded and kbit/s since the previous one, the width shown. */
		const trace: string[] = [];
		let previous: Sample | undefined;
		/** When the forwarded spatial layer last went down (a bandwidth downgrade: the tile never asks for less here). */
		let lastDowngradeAt = 0;
		const traced = async (phase: string) => {
			const s = await sample();
			const seconds = previous ? (s.at - previous.at) / 1000 : 1;
			if (previous?.spatial !== undefined && (s.spatial === undefined || s.spatial < previous.spatial)) lastDowngradeAt = s.at;
			trace.push(
				`${phase} +${((s.at - t0) / 1000).toFixed(1)}s S${s.spatial ?? '-'}T${s.temporal ?? '-'} +${s.frames - (previous?.frames ?? 0)} frames ${Math.round(((s.bytes - (previous?.bytes ?? 0)) * 8) / 1000 / seconds)} kbit/s ${s.width}px`,
			);
			previous = s;
			return s;
		};
		const why = () => trace.join('\n');
		const t0 = Date.now();

		// Pat sends the top layer whole (Chromium adds it as its own estimate of
		// the uplink grows, and may hold it back on a busy machine), and Rae,
		// Pat large on its screen, the link open, gets it.
		const topSent = (o: Outbound[]) => o.some((x) => x.rid === 'r2' && x.bytesSent > 0 && x.frameWidth === 1280);
		const sending = await waitFor(() => outboundVideo(publisher), topSent, 45_000, 500);
		expect(topSent(sending), `Pat's outbound video: ${JSON.stringify(sending)}`).toBe(true);
		let now = await waitFor(() => traced('open'), (s) => s.spatial === 2, 30_000, 1_000);
		if (now.spatial !== 2) expect(now.spatial, `${why()}\nPat sends: ${JSON.stringify(await outboundVideo(publisher))}`).toBe(2);

		// Limited: below the top within 15 s.
		await tc('qdisc', 'replace', 'dev', downlink, 'root', 'tbf', 'rate', '300kbit', 'burst', '32kbit', 'latency', '1000ms');
		now = await waitFor(() => traced('limited'), (s) => (s.spatial ?? 2) < 2, 15_000, 500);
		expect(now.spatial, why()).toBeLessThan(2);

		// Then at least 20 s under the limit, and until no downgrade for
		// QUIET_MS with a layer below the top forwarded (so what follows is
		// a climb; bounded, 60 s): mostly below the top (it does not fit
		// whole), still decoding at 1.5 frames a second or more (the source
		// paints 15), and no more than 300 kbit/s received (the shaping
		// itself, checked).
		const from = now;
		let samples = 0;
		let atTop = 0;
		const limitDeadline = Date.now() + 60_000;
		const lowerLayer = (x: Sample) => x.spatial !== undefined && x.spatial < 2;
		while ((now.at - from.at < 20_000 || now.at - lastDowngradeAt < QUIET_MS || !lowerLayer(now)) && Date.now() < limitDeadline) {
			// Often: a layer tried and dropped between two samples would hide a downgrade (and its hold).
			await new Promise((resolve) => setTimeout(resolve, 300));
			now = await traced('limited');
			samples++;
			if (now.spatial === 2) atTop++;
		}
		const limitedSeconds = (now.at - from.at) / 1000;
		expect(atTop / samples, why()).toBeLessThanOrEqual(0.3);
		expect((now.frames - from.frames) / limitedSeconds, why()).toBeGreaterThanOrEqual(1.5);
		expect(((now.bytes - from.bytes) * 8) / 1000 / limitedSeconds, why()).toBeLessThanOrEqual(300);
		expect(now.at - lastDowngradeAt, why()).toBeGreaterThanOrEqual(QUIET_MS);
		expect(lowerLayer(now), why()).toBe(true);

		// Lifted: the top layer within CLIMB_MS (see above; a downgrade seen
		// after the lift, the buffer still draining, restarts mediasoup's
		// hold: then from that hold's end, and the trace shows it). Then
		// decoded, shown 1280 wide, frames still coming.
		// The link opens up (a gigabit, the same queue): nothing queued is dropped.
		await tc('qdisc', 'change', 'dev', downlink, 'root', 'tbf', 'rate', '1gbit', 'burst', '2mb', 'latency', '1000ms');
		const liftedAt = Date.now();
		trace.push(`lifted at +${((liftedAt - t0) / 1000).toFixed(1)}s`);
		const climbDeadline = () => Math.max(liftedAt, lastDowngradeAt + HOLD_MS) + CLIMB_MS;
		now = await traced('lifted');
		const climbLimit = liftedAt + HOLD_MS + CLIMB_MS;
		while (now.spatial !== 2 && Date.now() < Math.min(climbDeadline(), climbLimit)) {
			await new Promise((resolve) => setTimeout(resolve, 500));
			now = await traced('lifted');
		}
		/** What Pat sends (a busy machine can make Chromium drop or shrink its top layer): for the failure messages below. */
		const sent = async () => `${why()}\nPat sends: ${JSON.stringify(await outboundVideo(publisher))}`;
		if (now.spatial !== 2) expect(now.spatial, await sent()).toBe(2);
		now = await waitFor(() => traced('top'), (s) => s.width === 1280, 10_000, 500);
		if (now.width !== 1280) expect(now.width, await sent()).toBe(1280);
		const framesAtTop = now.frames;
		await expect.poll(async () => (await sample()).frames, { timeout: 10_000 }).toBeGreaterThan(framesAtTop + 10);
		const climbed = trace.find((line) => /^(lifted|top) .* S2T/.test(line));
		console.log(`300 kbit/s downlink: ${limitedSeconds.toFixed(0)} s limited, ${Math.round((100 * atTop) / samples)}% of it on the top layer; lifted at +${((liftedAt - t0) / 1000).toFixed(1)}s, first on the top layer: ${climbed}`);
	}, 300_000);
});

import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Method, PROTOCOL_VERSION, type RoomDetails } from '../../core/protocol/index.js';
import { launchBrowser } from '../support/browser.js';
import { peerIdOf, remoteStats } from '../support/call.js';
import { metricSample } from '../support/metrics.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';
import { connectClient } from '../support/signaling.js';

/** What the instrumented page keeps: camera asks, and every RTCPeerConnection it made. */
interface Instrumented {
	__cameraAsks: number;
	__pcs: RTCPeerConnection[];
}

/**
 * Runs in every page before its own scripts: counts getUserMedia calls and
 * keeps each RTCPeerConnection, so a test can read what the page sends on
 * all of them (mediasoup-client makes one per transport).
 */
function instrument(): void {
	const w = window as unknown as Instrumented;
	w.__cameraAsks = 0;
	w.__pcs = [];
	const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
	navigator.mediaDevices.getUserMedia = (constraints) => {
		w.__cameraAsks++;
		return getUserMedia(constraints);
	};
	const Native = window.RTCPeerConnection;
	window.RTCPeerConnection = class extends Native {
		constructor(configuration?: RTCConfiguration) {
			super(configuration);
			w.__pcs.push(this);
		}
	};
}

/** What a page sends, over every peer connection still open. */
interface Sending {
	openConnections: number;
	outboundRtpStreams: number;
	bytesSent: number;
	sendersWithTracks: number;
	cameraAsks: number;
	/** The server ports (remote candidates of the selected pairs) of the open connections. */
	serverPorts: number[];
}

function sending(page: Page): Promise<Sending> {
	return page.evaluate(async () => {
		const w = window as unknown as Instrumented;
		const result = { openConnections: 0, outboundRtpStreams: 0, bytesSent: 0, sendersWithTracks: 0, cameraAsks: w.__cameraAsks, serverPorts: [] as number[] };
		for (const pc of w.__pcs) {
			if (pc.signalingState === 'closed') continue;
			result.openConnections++;
			result.sendersWithTracks += pc.getSenders().filter((s) => s.track !== null).length;
			const stats = new Map<string, Record<string, unknown>>();
			(await pc.getStats()).forEach((s: Record<string, unknown>) => stats.set(s.id as string, s));
			for (const s of stats.values()) {
				if (s.type === 'outbound-rtp') {
					result.outboundRtpStreams++;
					result.bytesSent += typeof s.bytesSent === 'number' ? s.bytesSent : 0;
				}
				if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') {
					const pair = stats.get(s.selectedCandidatePairId);
					const remote = pair ? stats.get(pair.remoteCandidateId as string) : undefined;
					if (typeof remote?.port === 'number') result.serverPorts.push(remote.port);
				}
			}
		}
		return result;
	});
}

async function sfuCounts(server: RunningServer) {
	const text = await (await fetch(`${server.url}/metrics`)).text();
	return {
		routers: metricSample(text, 'streaming_sfu_routers'),
		transports: metricSample(text, 'streaming_sfu_transports'),
		producers: metricSample(text, 'streaming_sfu_producers'),
		consumers: metricSample(text, 'streaming_sfu_consumers'),
	};
}

async function roomDetails(server: RunningServer, roomId: string): Promise<RoomDetails> {
	return (await (await fetch(`${server.url}/api/rooms/${roomId}`)).json()) as RoomDetails;
}

async function createBroadcast(server: RunningServer, roomId: string, settings: Record<string, unknown> = {}): Promise<void> {
	const response = await fetch(`${server.url}/api/rooms`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ roomId, settings: { kind: 'broadcast', ...settings } }),
	});
	expect(response.status).toBe(201);
}

/** Opens the call page for `name` (asking for `role` when given) and waits until its media paths exist. */
async function open(context: BrowserContext, server: RunningServer, roomId: string, name: string, role?: string): Promise<Page> {
	const page = await context.newPage();
	await page.goto(`${server.url}/?room=${roomId}&name=${name}${role ? `&role=${role}` : ''}`);
	await page.waitForFunction(() => window.__call?.mediaMode !== undefined);
	return page;
}

async function framesFrom(page: Page, peerId: string): Promise<number> {
	return (await remoteStats(page)).filter((s) => s.peerId === peerId).reduce((sum, s) => sum + s.framesDecoded, 0);
}

/** Every page decodes video from each of `peerIds`, and keeps decoding (the count grows past a first look). */
async function expectDecoding(pages: readonly Page[], peerIds: readonly string[], frames = 15): Promise<void> {
	for (const page of pages) {
		for (const peerId of peerIds) {
			await expect.poll(() => framesFrom(page, peerId), { timeout: 45_000 }).toBeGreaterThanOrEqual(frames);
			const seen = await framesFrom(page, peerId);
			await expect.poll(() => framesFrom(page, peerId)).toBeGreaterThan(seen + 10);
		}
	}
}

function statusOf(page: Page): Promise<string | null> {
	return page.locator('[role=status]').first().textContent();
}

/** The controls on the stage's remote tiles (buttons, the focusable quality dot) that the floating self view lies over. */
function coveredBySelfView(page: Page): Promise<string[]> {
	return page.evaluate(() => {
		const self = document.querySelector('.stage > .tile.self.floating')?.getBoundingClientRect();
		if (!self) return ['(no floating self view)'];
		return [...document.querySelectorAll<HTMLElement>('.stage > [data-testid=remote-tile] :is(button, [tabindex])')]
			.filter((c) => {
				const r = c.getBoundingClientRect();
				return r.width > 0 && r.left < self.right && r.right > self.left && r.top < self.bottom && r.bottom > self.top;
			})
			.map((c) => c.getAttribute('aria-label') ?? c.textContent ?? '');
	});
}

function tileOf(page: Page, peerId: string) {
	return page.locator(`[data-testid=stage] [data-testid=remote-tile][data-peer-id="${peerId}"]`);
}

describe('a broadcast room in real Chromium: a stage, an audience, and a host moving people between them', () => {
	const ROOM = 'show';
	let server: RunningServer;
	let browser: Browser;
	let context: BrowserContext;
	let host: Page;
	let speaker: Page;
	let viewers: Page[];
	let hostId: string;
	let speakerId: string;

	beforeAll(async () => {
		server = await startServer();
		browser = await launchBrowser();
		await createBroadcast(server, ROOM);
		context = await browser.newContext({ viewport: { width: 640, height: 480 } });
		await context.addInitScript(instrument);
		host = await open(context, server, ROOM, 'Hana', 'host');
		speaker = await open(context, server, ROOM, 'Sam', 'participant');
		// Two ask to watch; the third's plain link makes a viewer too (a broadcast's default).
		viewers = [await open(context, server, ROOM, 'Vera', 'viewer'), await open(context, server, ROOM, 'Vic', 'viewer'), await open(context, server, ROOM, 'Val')];
		hostId = (await peerIdOf(host)) as string;
		speakerId = (await peerIdOf(speaker)) as string;
	});

	afterAll(async () => {
		await context?.close();
		await browser?.close();
		await server?.stop();
	});

	it('three viewers decode both stage members, send nothing (no send transport, here or on the server), and are counted', async () => {
		for (const viewer of viewers) expect(await viewer.evaluate(() => window.__call?.role)).toBe('viewer');
		await expectDecoding(viewers, [hostId, speakerId]);
		for (const page of [host, speaker, ...viewers]) {
			await expect.poll(() => page.locator('[data-testid=audience-count]').textContent()).toBe('3');
		}
		for (const viewer of viewers) {
			// The stage shows the host and the speaker; a viewer gets no camera controls but a hand to raise.
			expect(await viewer.locator('[data-testid=stage] [data-testid=remote-tile] video').count()).toBe(2);
			expect(await viewer.locator('[data-testid=raise-hand]').isVisible()).toBe(true);
			expect(await viewer.locator('[data-testid=mute]').isVisible()).toBe(false);
			// One connection (the receive transport), no RTP out, and never asked for a camera.
			expect(await sending(viewer)).toMatchObject({ openConnections: 1, outboundRtpStreams: 0, bytesSent: 0, sendersWithTracks: 0, cameraAsks: 0 });
		}
		// The stage publishes: host and speaker each send audio and video.
		for (const member of [host, speaker]) expect((await sending(member)).bytesSent).toBeGreaterThan(0);
		expect(await host.locator('[data-testid=raise-hand]').isVisible()).toBe(false);
		// The host sees the speaker's tile, with a host's buttons on it, and its own view floating over the stage:
		// in the grid (1:1) and in the speaker view, it covers none of the tile's controls.
		expect(await tileOf(host, speakerId).locator('.tile-actions button').count()).toBe(2);
		await expect.poll(() => coveredBySelfView(host)).toEqual([]);
		await host.locator('[data-testid=layout]').click();
		expect(await host.locator('[data-testid=layout]').getAttribute('data-layout')).toBe('speaker');
		await expect.poll(() => coveredBySelfView(host)).toEqual([]);
		await host.locator('[data-testid=layout]').click();
		// The server: a send and a receive transport per stage member, a receive transport per viewer;
		// the stage's 4 producers; each stage member consumes the other (2 each), each viewer both (4 each).
		await expect.poll(() => sfuCounts(server)).toMatchObject({ transports: 7, producers: 4, consumers: 16 });
		expect((await roomDetails(server, ROOM)).audience).toBe(3);

		// A reaction reaches every page as a count.
		await viewers[0]?.locator('[data-testid=reaction][data-emoji="👏"]').click();
		for (const page of [host, speaker, ...viewers]) {
			await expect.poll(() => page.locator('[data-testid=reaction-counts] [data-emoji="👏"]').getAttribute('data-count')).toBe('1');
		}
	});

	it('a viewer raises a hand, the host brings it on stage, the others decode it; demoted, its producers are gone', async () => {
		const [vera, vic, val] = viewers as [Page, Page, Page];
		const veraId = (await peerIdOf(vera)) as string;
		await vera.locator('[data-testid=raise-hand]').click();
		await expect.poll(() => vera.locator('[data-testid=raise-hand]').getAttribute('aria-pressed')).toBe('true');
		const hand = host.locator(`[data-testid=hand-queue] [data-testid=hand][data-peer-id="${veraId}"]`);
		await expect.poll(() => hand.textContent()).toContain('Vera');
		await hand.locator(`[data-testid=promote][data-peer-id="${veraId}"]`).click();

		// On stage: Vera opens her camera (only now) and publishes; the rest see her tile and decode her.
		await expect.poll(() => statusOf(vera)).toContain('You are on stage');
		await expectDecoding([vic, val, host, speaker], [veraId]);
		expect((await sending(vera)).cameraAsks).toBe(1);
		await expect.poll(async () => (await sending(vera)).bytesSent).toBeGreaterThan(0);
		expect(await vera.locator('[data-testid=raise-hand]').isVisible()).toBe(false);
		await expect.poll(() => host.locator(`[data-testid=hand][data-peer-id="${veraId}"]`).count()).toBe(0);
		for (const page of [host, speaker, ...viewers]) {
			await expect.poll(() => page.locator('[data-testid=audience-count]').textContent()).toBe('2');
		}
		await expect.poll(() => sfuCounts(server)).toMatchObject({ transports: 8, producers: 6 });
		expect((await roomDetails(server, ROOM)).participants.find((p) => p.peerId === veraId)?.role).toBe('participant');

		// Back to the audience, by the button on her stage tile.
		await tileOf(host, veraId).locator(`[data-testid=demote][data-peer-id="${veraId}"]`).click();
		await expect.poll(() => statusOf(vera)).toContain('You are back in the audience');
		// The server holds no producer of hers (nor her send transport); the others' consumers of her closed.
		await expect.poll(() => sfuCounts(server)).toMatchObject({ transports: 7, producers: 4, consumers: 16 });
		for (const page of [vic, val, host, speaker]) {
			await expect.poll(() => tileOf(page, veraId).count()).toBe(0);
			await expect.poll(async () => (await remoteStats(page)).some((s) => s.peerId === veraId)).toBe(false);
		}
		// Vera sends nothing again, her camera is off, and she still watches the stage.
		await expect.poll(() => sending(vera)).toMatchObject({ openConnections: 1, outboundRtpStreams: 0, sendersWithTracks: 0 });
		expect(await vera.evaluate(() => window.__call?.localStream === undefined)).toBe(true);
		expect(await vera.locator('[data-testid=local-video]').evaluate((v: HTMLVideoElement) => v.srcObject)).toBeNull();
		await expectDecoding([vera], [hostId, speakerId]);
		for (const page of [host, speaker, ...viewers]) {
			await expect.poll(() => page.locator('[data-testid=audience-count]').textContent()).toBe('3');
		}
	});

	it('a viewer may not produce, and only a host may promote: PERMISSION_DENIED, and nothing changes', async () => {
		const target = (await peerIdOf(viewers[1] as Page)) as string;
		// A second socket per role, speaking the protocol directly as the page would.
		const viewer = await connectClient(server.port);
		await viewer.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: ROOM, displayName: 'Raw viewer', role: 'viewer' });
		await expect(viewer.request(Method.SfuCreateTransport, { direction: 'send' })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
		const { transportId } = await viewer.request(Method.SfuCreateTransport, { direction: 'recv' });
		await expect(
			viewer.request(Method.SfuProduce, { transportId, kind: 'video', rtpParameters: { codecs: [{ mimeType: 'video/VP8' }] }, source: 'camera' }),
		).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
		await expect(viewer.request(Method.StagePromote, { peerId: target })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
		const guest = await connectClient(server.port);
		const joined = await guest.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: ROOM, displayName: 'Raw speaker', role: 'participant' });
		expect(joined.role).toBe('participant');
		await expect(guest.request(Method.StagePromote, { peerId: target })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
		await expect(guest.request(Method.StageDemote, { peerId: speakerId })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
		viewer.close();
		guest.close();

		expect(await (viewers[1] as Page).evaluate(() => window.__call?.role)).toBe('viewer');
		expect((await roomDetails(server, ROOM)).participants.find((p) => p.peerId === target)?.role).toBe('viewer');
		// The stage's producers only; the raw viewer's receive transport went with it.
		await expect.poll(() => sfuCounts(server)).toMatchObject({ transports: 7, producers: 4 });
	});

	it('the host ends the broadcast: everyone else is told why (4009), and the SFU lets go of the room', async () => {
		await host.locator('[data-testid=end-room]').click();
		await expect.poll(() => host.getByRole('heading', { name: 'You ended the call for everyone.' }).count()).toBe(1);
		for (const page of [speaker, ...viewers]) {
			await expect.poll(() => statusOf(page)).toBe('A host ended this call for everyone.');
			expect(await page.evaluate(() => window.__call?.signalingState)).toBe('closed');
		}
		await expect.poll(() => sfuCounts(server)).toMatchObject({ routers: 0, transports: 0, producers: 0, consumers: 0 });
	});
});

/** The UDP and TCP ports a process has open (its sockets' inodes looked up in /proc/net). */
function portsOf(pid: number): Set<number> {
	const inodes = new Set<string>();
	for (const fd of readdirSync(`/proc/${pid}/fd`)) {
		try {
			const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
			if (match) inodes.add(match[1] as string);
		} catch {
			// Closed meanwhile.
		}
	}
	const ports = new Set<number>();
	for (const table of ['udp', 'udp6', 'tcp', 'tcp6']) {
		let text: string;
		try {
			text = readFileSync(`/proc/net/${table}`, 'utf8');
		} catch {
			continue; // no IPv6 here
		}
		for (const line of text.split('\n').slice(1)) {
			const columns = line.trim().split(/\s+/);
			if (columns.length > 9 && inodes.has(columns[9] as string)) ports.add(parseInt((columns[1] as string).split(':')[1] as string, 16));
		}
	}
	return ports;
}

describe('a broadcast over two mediasoup workers', () => {
	const ROOM = 'wide';
	let server: RunningServer;
	let browser: Browser;

	beforeAll(async () => {
		server = await startServer({ MEDIASOUP_NUM_WORKERS: '2' });
		browser = await launchBrowser();
	});

	afterAll(async () => {
		await browser?.close();
		await server?.stop();
	});

	it('viewers spread over both workers, and viewers on each decode the whole stage', async () => {
		// On the SFU from the first peer, so each is placed as it joins: on the worker carrying the fewest.
		await createBroadcast(server, ROOM, { meshMaxPeers: 0 });
		const context = await browser.newContext({ viewport: { width: 640, height: 480 } });
		await context.addInitScript(instrument);
		const host = await open(context, server, ROOM, 'Hana', 'host');
		await expect.poll(async () => (await sfuCounts(server)).producers).toBe(2);
		const speaker = await open(context, server, ROOM, 'Sam', 'participant');
		await expect.poll(async () => (await sfuCounts(server)).producers).toBeGreaterThanOrEqual(4);
		const viewers: Page[] = [];
		for (const name of ['Vera', 'Vic']) {
			viewers.push(await open(context, server, ROOM, name, 'viewer'));
			await expect.poll(async () => (await sending(viewers[viewers.length - 1] as Page)).serverPorts.length).toBe(1);
		}
		const stage = [(await peerIdOf(host)) as string, (await peerIdOf(speaker)) as string];
		await expectDecoding(viewers, stage);

		const { sfuRouters } = await roomDetails(server, ROOM);
		const workerPids = [...new Set(sfuRouters.map((r) => r.workerPid))];
		expect(workerPids).toHaveLength(2);
		// Which worker each viewer receives from: the server port of its one connection, among that worker's sockets.
		const ports = new Map(workerPids.map((pid) => [pid, portsOf(pid)]));
		const viewerWorkers = await Promise.all(
			viewers.map(async (viewer) => {
				const [port] = (await sending(viewer)).serverPorts;
				return workerPids.find((pid) => ports.get(pid)?.has(port as number));
			}),
		);
		expect(new Set(viewerWorkers)).toEqual(new Set(workerPids));
		for (const viewer of viewers) expect(await sending(viewer)).toMatchObject({ openConnections: 1, outboundRtpStreams: 0, cameraAsks: 0 });
		await context.close();
	});
});

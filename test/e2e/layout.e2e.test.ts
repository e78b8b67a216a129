import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { expectEveryPairDecodes, joinAll, peerIdOf, recordPeerConnections, remoteStats } from '../support/call.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';

/**
 * An init script: every `topology.ready` the page sends is held back until
 * `window.__releaseReady = true`, then sent in order (`window.__heldReady`
 * counts them), so the server keeps the room migrating meanwhile.
 */
function holdTopologyReady(): void {
	const send = WebSocket.prototype.send;
	const held: Array<[WebSocket, string]> = [];
	const w = window as unknown as { __heldReady: number; __releaseReady: boolean };
	let released = false;
	w.__heldReady = 0;
	Object.defineProperty(w, '__releaseReady', {
		get: () => released,
		set: (value: boolean) => {
			released = value;
			if (!released) return;
			for (const [socket, data] of held.splice(0)) if (socket.readyState === WebSocket.OPEN) send.call(socket, data);
		},
	});
	WebSocket.prototype.send = function (this: WebSocket, data: string | ArrayBufferLike | Blob | ArrayBufferView) {
		if (!released && typeof data === 'string' && data.includes('"method":"topology.ready"')) {
			held.push([this, data]);
			w.__heldReady += 1;
			return;
		}
		send.call(this, data);
	};
}

/**
 * The call screen as people see it: the grid fills the window, a pinned
 * tile is larger, each tile says how its connection is, Ctrl+D mutes,
 * and a camera or microphone switched mid-call reaches the others on the
 * mesh, on the SFU and while the room moves between them. Chromium's
 * own fake capture offers several cameras and microphones (`device-count=3`;
 * the clip would be one camera). Its second camera, fake_device_1, is a
 * depth camera (Y16) that no encoder takes: a switch to it sends no frames,
 * in any page. The test switches from fake_device_0 (I420) to fake_device_2
 * (MJPEG).
 */
describe('the call screen fills the window', () => {
	let server: RunningServer;
	let browser: Browser;
	const contexts: BrowserContext[] = [];

	beforeAll(async () => {
		server = await startServer();
		// Several fake cameras need Chromium's own fake capture (the clip is one camera); the call asks for 320x180 anyway.
		browser = await launchBrowser({ fakeCameraClip: false, extraArgs: ['--use-fake-device-for-media-stream=device-count=3'] });
	});

	// Each test's participants leave with it: a call left running would slow the next test down.
	afterEach(async () => {
		for (const context of contexts.splice(0)) await context.close().catch(() => undefined);
	});

	afterAll(async () => {
		for (const context of contexts) await context.close().catch(() => undefined);
		await browser?.close();
		await server?.stop();
	});

	async function sfuRoom(roomId: string): Promise<void> {
		const created = await fetch(`${server.url}/api/rooms`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ roomId, settings: { meshMaxPeers: 0 } }),
		});
		expect(created.status).toBe(201);
	}

	/** A context whose pages record every RTCPeerConnection they make (window.__pcs), to read what each one sends. */
	async function recordingContext(viewport = { width: 1280, height: 800 }): Promise<BrowserContext> {
		const context = await browser.newContext({ viewport });
		contexts.push(context);
		await recordPeerConnections(context);
		return context;
	}

	/** The device ids of the `kind` tracks that every open peer connection sends. */
	const sentDeviceIds = (page: Page, kind: 'audio' | 'video') =>
		page.evaluate(
			(k) =>
				(window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
					.filter((pc) => pc.connectionState !== 'closed')
					.flatMap((pc) => pc.getSenders())
					.filter((s) => s.track?.kind === k)
					.map((s) => s.track?.getSettings().deviceId ?? ''),
			kind,
		);

	/**
	 * Per video sender of an open peer connection: its path (the SFU's send
	 * transport only sends; a mesh pair sends and receives) and its camera.
	 */
	const videoSenders = (page: Page) =>
		page.evaluate(() =>
			(window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
				.filter((pc) => pc.connectionState !== 'closed')
				.flatMap((pc) => pc.getTransceivers())
				.filter((t) => t.sender.track?.kind === 'video')
				.map((t) => ({ path: t.direction === 'sendonly' ? 'sfu' : 'mesh', deviceId: t.sender.track?.getSettings().deviceId ?? '' }))
				.sort((a, b) => a.path.localeCompare(b.path)),
		);

	/** Keeps the camera track the page sends now (window.__oldCamera), to see later that a switch stopped it. */
	const keepOldCamera = (page: Page) =>
		page.evaluate(() => {
			(window as unknown as { __oldCamera?: MediaStreamTrack }).__oldCamera = window.__call?.localStream?.getVideoTracks()[0];
		});
	const oldCameraState = (page: Page) => page.evaluate(() => (window as unknown as { __oldCamera?: MediaStreamTrack }).__oldCamera?.readyState);

	/** A poller: the video frames `receiver` decoded so far from `senderId` over `via`. */
	const decodedFrom = (receiver: Page, senderId: string | undefined, via: 'mesh' | 'sfu') => async () =>
		(await remoteStats(receiver)).find((s) => s.peerId === senderId && s.via === via)?.framesDecoded ?? 0;

	const badge = (page: Page) => page.locator('[data-testid=topology]').textContent();

	const localTrack = (page: Page, kind: 'audio' | 'video') =>
		page.evaluate((k) => {
			const track = window.__call?.localStream?.getTracks().find((t) => t.kind === k);
			return { deviceId: track?.getSettings().deviceId ?? '', enabled: track?.enabled, state: track?.readyState };
		}, kind);

	/** Every tile on the stage that shows: its rect (getBoundingClientRect), the self view's marked. */
	const tiles = (page: Page) =>
		page.evaluate(() =>
			[...document.querySelectorAll<HTMLElement>('.stage > .tile')]
				.filter((t) => getComputedStyle(t).display !== 'none')
				.map((t) => {
					const r = t.getBoundingClientRect();
					return { self: t.classList.contains('self'), floating: t.classList.contains('floating'), peerId: t.dataset.peerId, x: Math.round(r.x), y: Math.round(r.y), width: r.width, height: r.height };
				}),
		);

	/** The page picks another camera (fake_device_2: see above) or microphone in the call's device panel; resolves with its device id. */
	async function switchDevice(page: Page, kind: 'audio' | 'video'): Promise<string> {
		const before = (await localTrack(page, kind)).deviceId;
		const menu = page.locator('[data-testid=devices]');
		if ((await menu.getAttribute('aria-expanded')) !== 'true') await menu.click();
		const select = page.locator(kind === 'video' ? '[data-testid=camera-select]' : '[data-testid=mic-select]');
		await expect.poll(() => select.locator('option').count()).toBeGreaterThanOrEqual(2);
		const other = await select.locator('option').evaluateAll(
			(options, [b, k]) =>
				(options as HTMLOptionElement[]).find((o) => o.value !== b && o.value !== 'default' && o.value !== 'communications' && (k === 'audio' || o.textContent === 'fake_device_2'))?.value,
			[before, kind] as const,
		);
		expect(other).toBeTruthy();
		await select.selectOption(other as string);
		await expect.poll(async () => (await localTrack(page, kind)).deviceId).toBe(other);
		return other as string;
	}

	it('4 participants at 1280x800 get a 2x2 grid of tiles at least 400 px wide; pinning one makes it larger; each tile shows its connection', async () => {
		await sfuRoom('layout-grid');
		const context = await recordingContext();
		const pages = await joinAll(context, server.url, 'layout-grid', ['Ana', 'Ben', 'Cai', 'Dee']);
		const ana = pages[0];
		// The self view is one of the 4 grid cells: two columns, two rows, every tile 400 px wide or more.
		await expect.poll(async () => (await tiles(ana)).length).toBe(4);
		await expect
			.poll(async () => {
				const shown = await tiles(ana);
				const columns = new Set(shown.map((t) => t.x)).size;
				const rows = new Set(shown.map((t) => t.y)).size;
				return { columns, rows, narrowest: Math.min(...shown.map((t) => t.width)) >= 400, selfInGrid: shown.some((t) => t.self && !t.floating) };
			})
			.toEqual({ columns: 2, rows: 2, narrowest: true, selfInGrid: true });
		expect(await ana.locator('[data-testid=layout]').getAttribute('data-layout')).toBe('grid');
		// The grid fills the window: the four tiles cover more than half of it.
		const area = (await tiles(ana)).reduce((sum, t) => sum + t.width * t.height, 0);
		expect(area / (1280 * 800)).toBeGreaterThan(0.5);

		// Pin Ben: his tile grows (the speaker layout, Ben large), the layout says so; unpin: back to the grid.
		const benId = await peerIdOf(pages[1]);
		const benTile = ana.locator(`[data-testid=remote-tile][data-peer-id="${benId}"]`);
		const benArea = async () => ((await benTile.evaluate((t) => t.getBoundingClientRect().width * t.getBoundingClientRect().height)) as number);
		const before = await benArea();
		await benTile.locator('[data-testid=pin]').click();
		expect(await benTile.locator('[data-testid=pin]').getAttribute('aria-pressed')).toBe('true');
		expect(await ana.locator('[data-testid=layout]').getAttribute('data-layout')).toBe('speaker');
		await expect.poll(benArea).toBeGreaterThan(before * 1.5);
		for (const other of (await tiles(ana)).filter((t) => t.peerId && t.peerId !== benId)) expect(other.width * other.height).toBeLessThan(await benArea());
		await benTile.locator('[data-testid=pin]').click();
		await expect.poll(() => ana.locator('[data-testid=layout]').getAttribute('data-layout')).toBe('grid');
		await expect.poll(benArea).toBeLessThan(before * 1.1);

		// Each remote tile says how its connection is (loopback: good), with the reason on keyboard focus:
		// on the SFU, this page's link and that person's own loss, by name.
		const quality = ana.locator('[data-testid=remote-tile] [data-testid=quality]');
		expect(await quality.count()).toBe(3);
		await expect.poll(() => quality.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.level))).toEqual(['good', 'good', 'good']);
		await quality.first().focus();
		expect(await quality.first().locator('.tooltip').isVisible()).toBe(true);
		const labels = () =>
			ana.locator('[data-testid=remote-tile]').evaluateAll((tiles) =>
				tiles.map((t) => ({ name: t.querySelector('.name')?.textContent, label: t.querySelector('[data-testid=quality]')?.getAttribute('aria-label') })),
			);
		const unlike = async () => (await labels()).filter(({ name, label }) => !new RegExp(`^Connection good: your link: RTT \\d+ ms; from ${name}: loss \\d+\\.\\d%$`).test(label ?? ''));
		await expect.poll(unlike).toEqual([]);
		expect(new Set((await labels()).map((l) => l.name))).toEqual(new Set(['Ben', 'Cai', 'Dee']));
	});

	it('Ctrl+D mutes and Ctrl+E turns the camera off; single letters do nothing, nor do the keys while typing in the chat', async () => {
		const context = await recordingContext();
		const [page] = await joinAll(context, server.url, 'layout-keys', ['Kim']);
		const mute = page.locator('[data-testid=mute]');
		const camera = page.locator('[data-testid=camera]');
		await expect.poll(() => mute.isDisabled()).toBe(false);
		expect(await mute.getAttribute('aria-keyshortcuts')).toBe('Control+D Meta+D');
		// The single letters of before (M, V) are no shortcut any more.
		await page.locator('body').press('m');
		await page.locator('body').press('v');
		expect([await mute.getAttribute('aria-pressed'), await camera.getAttribute('aria-pressed')]).toEqual(['false', 'false']);
		await page.locator('body').press('Control+d');
		expect(await mute.getAttribute('aria-pressed')).toBe('true');
		await page.locator('body').press('Control+e');
		expect(await camera.getAttribute('aria-pressed')).toBe('true');
		await page.locator('[data-testid=chat-input]').pressSequentially('mv');
		await page.locator('[data-testid=chat-input]').press('Control+d');
		expect(await page.locator('[data-testid=chat-input]').inputValue()).toBe('mv');
		expect(await mute.getAttribute('aria-pressed')).toBe('true');
		expect(await camera.getAttribute('aria-pressed')).toBe('true');
		// Alone, the self view is the whole stage.
		const [self] = await tiles(page);
		expect(self?.self && !self.floating && self.width > 800).toBe(true);
	});

	for (const topology of ['mesh', 'sfu'] as const) {
		it(`switching the camera mid-call on the ${topology} sends the new one on every path, and the other side keeps decoding`, async () => {
			const room = `layout-switch-${topology}`;
			if (topology === 'sfu') await sfuRoom(room);
			const context = await recordingContext({ width: 640, height: 480 });
			const [alice, bob] = await joinAll(context, server.url, room, ['Alice', 'Bob']);
			const aliceId = await peerIdOf(alice);
			const decoded = decodedFrom(bob, aliceId, topology);
			await expect.poll(decoded).toBeGreaterThan(10);
			const oldCamera = await localTrack(alice, 'video');
			expect(await sentDeviceIds(alice, 'video')).toEqual([oldCamera.deviceId]);
			// The old camera's track itself, kept to see that the switch stops it.
			await keepOldCamera(alice);

			const camera = await switchDevice(alice, 'video');
			expect(camera).not.toBe(oldCamera.deviceId);
			// Every peer connection now sends the new camera; the old one is stopped; the self view shows it.
			await expect.poll(() => sentDeviceIds(alice, 'video')).toEqual([camera]);
			expect(await oldCameraState(alice)).toBe('ended');
			expect(await alice.evaluate(() => (document.querySelector('[data-testid=local-video]') as HTMLVideoElement).srcObject === window.__call?.localStream)).toBe(true);
			const atSwitch = await decoded();
			await expect.poll(decoded).toBeGreaterThan(atSwitch + 15);
			expect(await badge(alice)).toBe(topology);

			// The microphone, muted first: the new one is sent, and stays muted.
			await alice.locator('[data-testid=mute]').click();
			const oldMic = await localTrack(alice, 'audio');
			const mic = await switchDevice(alice, 'audio');
			expect(mic).not.toBe(oldMic.deviceId);
			await expect.poll(() => sentDeviceIds(alice, 'audio')).toEqual([mic]);
			expect(await localTrack(alice, 'audio')).toEqual({ deviceId: mic, enabled: false, state: 'live' });
			expect(await alice.locator('[data-testid=mute]').getAttribute('aria-pressed')).toBe('true');
			expect(await alice.evaluate(() => window.__call?.localStream?.getTracks().length)).toBe(2);
		});
	}

	it('switching the camera while the room moves from the mesh to the SFU sends the new one on both paths, then on the SFU alone', async () => {
		// A third participant moves the room to the SFU; the move then waits up to a minute for everyone's topology.ready
		// (Alice's is held back), and nothing brings the room back to the mesh meanwhile.
		const moving = await startServer({ MESH_MAX_PEERS: '2', MESH_MIN_PEERS: '2', MIGRATION_TIMEOUT_MS: '60000', DEESCALATE_COOLDOWN_MS: '600000' });
		try {
			// One context each: Chromium paints only the front tab of a window, and a tile swaps paths once its new source renders.
			const join = async (name: string, init?: () => void) => {
				const context = await recordingContext({ width: 480, height: 360 });
				if (init) await context.addInitScript(init);
				const [page] = await joinAll(context, moving.url, 'layout-switch-migrating', [name]);
				return page;
			};
			const alice = await join('Alice', holdTopologyReady);
			const ben = await join('Ben');
			await expectEveryPairDecodes([alice, ben], 10);
			expect(await badge(alice)).toBe('mesh');
			const oldCamera = (await localTrack(alice, 'video')).deviceId;
			await keepOldCamera(alice);

			// Cy tips the room over. Mid-move, both of Alice's paths send her camera: the mesh pair to Ben, and the SFU
			// producer (Ben decodes it already).
			const cy = await join('Cy');
			const aliceId = await peerIdOf(alice);
			const overSfu = [decodedFrom(ben, aliceId, 'sfu'), decodedFrom(cy, aliceId, 'sfu')] as const;
			await expect
				.poll(async () => ({ badge: await badge(alice), senders: await videoSenders(alice), benDecodes: (await overSfu[0]()) > 0 }))
				.toEqual({ badge: 'migrating', senders: [{ path: 'mesh', deviceId: oldCamera }, { path: 'sfu', deviceId: oldCamera }], benDecodes: true });
			// Alice's mesh connection (to Ben), to see it closed by the commit.
			await alice.evaluate(() => {
				const w = window as unknown as { __pcs: RTCPeerConnection[]; __meshPcs: RTCPeerConnection[] };
				w.__meshPcs = w.__pcs.filter((pc) => pc.connectionState !== 'closed' && pc.getTransceivers().some((t) => t.direction === 'sendrecv'));
			});

			const camera = await switchDevice(alice, 'video');
			expect(camera).not.toBe(oldCamera);
			expect(await badge(alice)).toBe('migrating');
			await expect.poll(() => videoSenders(alice)).toEqual([
				{ path: 'mesh', deviceId: camera },
				{ path: 'sfu', deviceId: camera },
			]);
			expect(await oldCameraState(alice)).toBe('ended');
			// Still mid-move: Alice's confirmation is out, held back; letting it go commits the room to the SFU.
			await expect.poll(() => alice.evaluate(() => (window as unknown as { __heldReady: number }).__heldReady)).toBeGreaterThan(0);
			expect(await badge(alice)).toBe('migrating');
			await alice.evaluate(() => {
				(window as unknown as { __releaseReady: boolean }).__releaseReady = true;
			});
			for (const page of [alice, ben, cy]) await expect.poll(() => badge(page)).toBe('sfu');

			// Committed: the SFU alone sends Alice's new camera, her mesh connection is closed, and Ben and Cy keep decoding her there.
			await expect.poll(() => sentDeviceIds(alice, 'video')).toEqual([camera]);
			expect(await oldCameraState(alice)).toBe('ended');
			await expect.poll(() => alice.evaluate(() => (window as unknown as { __meshPcs: RTCPeerConnection[] }).__meshPcs.map((pc) => pc.connectionState))).toEqual(['closed']);
			const atCommit = await Promise.all(overSfu.map((decoded) => decoded()));
			for (const [i, decoded] of overSfu.entries()) await expect.poll(decoded).toBeGreaterThan((atCommit[i] as number) + 15);
			for (const page of [ben, cy]) await expect.poll(async () => (await remoteStats(page)).map((s) => s.via)).toEqual(['sfu', 'sfu']);
		} finally {
			for (const context of contexts.splice(0)) await context.close().catch(() => undefined);
			await moving.stop();
		}
	});

	it('a camera turned off during a screen share on the mesh comes back off when the share stops', async () => {
		const context = await recordingContext({ width: 640, height: 480 });
		const [alice] = await joinAll(context, server.url, 'layout-share-camera-off', ['Alice', 'Bob']);
		const camera = await localTrack(alice, 'video');
		await expect.poll(() => sentDeviceIds(alice, 'video')).toEqual([camera.deviceId]);
		/** What each open peer connection sends as video: the camera or not (the screen), and whether it is enabled. */
		const sentVideo = () =>
			alice.evaluate(
				(cameraId) =>
					(window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
						.filter((pc) => pc.connectionState !== 'closed')
						.flatMap((pc) => pc.getSenders())
						.filter((s) => s.track?.kind === 'video')
						.map((s) => ({ camera: s.track?.getSettings().deviceId === cameraId, enabled: s.track?.enabled })),
				camera.deviceId,
			);

		// A canvas stands in for the screen (no picker in a test).
		await alice.evaluate(async () => {
			const canvas = Object.assign(document.createElement('canvas'), { width: 160, height: 90 });
			canvas.getContext('2d')?.fillRect(0, 0, 160, 90);
			const [screen] = canvas.captureStream(10).getVideoTracks();
			await window.__call?.shareScreen(screen as MediaStreamTrack);
		});
		// The mesh sender takes the screen asynchronously (RTCRtpSender.replaceTrack): polled.
		await expect.poll(sentVideo).toEqual([{ camera: false, enabled: true }]);
		await alice.locator('[data-testid=camera]').click();
		await expect.poll(sentVideo).toEqual([{ camera: false, enabled: false }]);

		await alice.evaluate(() => window.__call?.stopSharing());
		// The camera is sent again, and off, as the button says.
		await expect.poll(sentVideo).toEqual([{ camera: true, enabled: false }]);
		expect(await alice.locator('[data-testid=camera]').getAttribute('aria-pressed')).toBe('true');
		await alice.locator('[data-testid=camera]').click();
		await expect.poll(sentVideo).toEqual([{ camera: true, enabled: true }]);
	});
});

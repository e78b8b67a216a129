import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RoomDescription, RoomDetails } from '../../core/protocol/index.js';
import { launchBrowser } from '../support/browser.js';
import { expectEveryPairDecodes, joinAll, peerIdOf, remoteStats } from '../support/call.js';
import { metricSample } from '../support/metrics.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';

/**
 * Two (then three) built server processes sharing rooms through one real
 * redis-server, with real Chromium pages whose sockets land on different
 * nodes: the room lives on one node, signaling is relayed there, and the
 * SFU the room escalates to runs there too.
 */

const HEARTBEAT_MS = 300;
const TTL_MS = 1500;

describe('a call across two nodes on Redis, in real Chromium (MESH_MAX_PEERS=2)', () => {
	let redis: RunningRedis;
	let directory: Redis;
	let nodeA: RunningServer;
	let nodeB: RunningServer;
	let browser: Browser;
	const contexts: BrowserContext[] = [];

	/** One built server process on this Redis; each node its own mediasoup port range, so no two transports can share a port. */
	const startNode = (nodeId: string, minPort: number) =>
		startServer({
			REDIS_URL: redis.url,
			NODE_ID: nodeId,
			CLUSTER_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
			CLUSTER_NODE_TTL_MS: String(TTL_MS),
			MEDIASOUP_NUM_WORKERS: '1',
			MEDIASOUP_MIN_PORT: String(minPort),
			MEDIASOUP_MAX_PORT: String(minPort + 499),
			MESH_MAX_PEERS: '2',
			// Long enough that a peer whose node died stays in the room for the whole outage test.
			RESUME_GRACE_MS: '30000',
		});

	/**
	 * One browser window per participant (Chromium paints only the front tab
	 * of a window); `prepare` runs on the window before the page opens.
	 */
	async function participant(node: RunningServer, room: string, name: string, prepare?: (context: BrowserContext) => Promise<void>): Promise<Page> {
		const context = await browser.newContext();
		contexts.push(context);
		await prepare?.(context);
		const [page] = await joinAll(context, node.url, room, [name]);
		return page;
	}

	/**
	 * Bob's signaling socket, as a load balancer in front of the nodes would
	 * place it: to the node the page asked for until `to` names another, then
	 * (a reconnect after its node died) proxied to that one.
	 */
	function balancer(): { to: string | undefined; install(context: BrowserContext): Promise<void> } {
		const state = {
			to: undefined as string | undefined,
			async install(context: BrowserContext) {
				await context.routeWebSocket(/\/ws$/, (route: WebSocketRoute) => {
					if (state.to === undefined) {
						route.connectToServer();
						return;
					}
					const upstream = new WebSocket(state.to);
					const pending: Array<string | Buffer> = [];
					route.onMessage((message) => (upstream.readyState === WebSocket.OPEN ? upstream.send(message) : pending.push(message)));
					route.onClose((code, reason) => {
						try {
							upstream.close(code, reason);
						} catch {
							upstream.close(); // a code a client may not send (1005, 1006): close without one
						}
					});
					upstream.on('open', () => {
						for (const message of pending.splice(0)) upstream.send(message);
					});
					upstream.on('message', (data, isBinary) => route.send(isBinary ? (data as Buffer) : data.toString()));
					const closePage = (code: number, reason: string) => void route.close({ code, reason }).catch(() => undefined);
					upstream.on('close', (code, reason) => closePage(code, reason.toString()));
					upstream.on('error', () => closePage(1011, 'upstream failed'));
				});
			},
		};
		return state;
	}

	const badge = (page: Page) => page.locator('[data-testid=topology]').textContent();
	const owner = (roomId: string) => directory.get(`se:room:${roomId}`);

	async function listedRooms(node: RunningServer): Promise<RoomDescription[]> {
		return ((await (await fetch(`${node.url}/api/rooms`)).json()) as { rooms: RoomDescription[] }).rooms;
	}

	async function sfuCounts(node: RunningServer) {
		const text = await (await fetch(`${node.url}/metrics`)).text();
		return { routers: metricSample(text, 'streaming_sfu_routers'), transports: metricSample(text, 'streaming_sfu_transports') };
	}

	/** framesDecoded per remote peer id, as this page sees it. */
	async function framesByPeer(page: Page): Promise<Record<string, number>> {
		return Object.fromEntries((await remoteStats(page)).map((s) => [s.peerId, s.framesDecoded]));
	}

	beforeAll(async () => {
		redis = await startRedis();
		directory = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
		directory.on('error', () => undefined);
		await directory.connect();
		[nodeA, nodeB] = await Promise.all([startNode('node-a', 42000), startNode('node-b', 42500)]);
		browser = await launchBrowser();
	});

	// Each test's participants leave with it: a call left running would starve the next test.
	afterEach(async () => {
		for (const context of contexts.splice(0)) await context.close();
	});

	afterAll(async () => {
		await browser?.close();
		directory?.disconnect();
		await Promise.all([nodeA?.stop(), nodeB?.stop()]);
		await redis?.stop();
	});

	it("pages on different nodes share a mesh call; a third one escalates it to the SFU on the room's node, and only that node holds the room", async () => {
		const room = 'across-nodes';
		// Alice's socket is on node A (the room's first join claims it there); Bob's on node B, relayed.
		const alice = await participant(nodeA, room, 'Alice');
		const bob = await participant(nodeB, room, 'Bob');
		expect(await owner(room)).toBe('node-a');
		await expectEveryPairDecodes([alice, bob], 10);
		for (const page of [alice, bob]) expect(await badge(page)).toBe('mesh');
		expect((await remoteStats(bob)).map((s) => s.via)).toEqual(['mesh']);

		// Carol, on node B too, tips the room over MESH_MAX_PEERS: everyone moves to the SFU.
		const carol = await participant(nodeB, room, 'Carol');
		for (const page of [alice, bob, carol]) await expect.poll(() => badge(page), { timeout: 45_000 }).toBe('sfu');
		const everyone = await expectEveryPairDecodes([alice, bob, carol], 10);
		for (const stats of everyone) {
			expect(stats).toHaveLength(2);
			expect(stats.every((s) => s.via === 'sfu')).toBe(true);
		}
		// Everyone keeps decoding everyone through it (not a few frames left over from the mesh).
		const before = await Promise.all([alice, bob, carol].map(framesByPeer));
		await expect
			.poll(async () => {
				const now = await Promise.all([alice, bob, carol].map(framesByPeer));
				return now.every((frames, i) => Object.entries(before[i] as Record<string, number>).every(([peer, n]) => (frames[peer] ?? 0) >= n + 15));
			})
			.toBe(true);

		// One owner: Redis names node A, node A lists the room with all three, node B does not list it.
		expect(await owner(room)).toBe('node-a');
		expect((await listedRooms(nodeA)).find((r) => r.roomId === room)).toMatchObject({ peers: 3, topology: { state: 'sfu' } });
		expect((await listedRooms(nodeB)).map((r) => r.roomId)).not.toContain(room);
		expect((await fetch(`${nodeB.url}/api/rooms/${room}`)).status).toBe(404);
		const details = (await (await fetch(`${nodeA.url}/api/rooms/${room}`)).json()) as RoomDetails;
		expect(details.participants.map((p) => p.displayName).sort()).toEqual(['Alice', 'Bob', 'Carol']);
		expect(details.sfuRouters).toHaveLength(1);
		// The SFU side lives on node A alone: a send and a receive transport per peer, none on node B.
		await expect.poll(() => sfuCounts(nodeA)).toEqual({ routers: 1, transports: 6 });
		expect(await sfuCounts(nodeB)).toEqual({ routers: 0, transports: 0 });

		// Everyone leaves (two of them through node B): the room closes on node A, which lets go of it in Redis.
		for (const page of [bob, carol, alice]) await page.locator('[data-testid=leave]').click();
		await expect.poll(() => owner(room)).toBeNull();
		expect((await listedRooms(nodeA)).map((r) => r.roomId)).not.toContain(room);
		await expect.poll(() => sfuCounts(nodeA)).toEqual({ routers: 0, transports: 0 });
	});

	it("a node holding relayed sockets is SIGKILLed: media keeps flowing through the room's node for everyone, nobody leaves, and the cut-off page resumes through the room's node", async () => {
		const room = 'edge-dies';
		// A third node, this test's own, to kill; the room is node A's, made on the SFU from the start.
		const nodeC = await startNode('node-c', 43000);
		try {
			const created = await fetch(`${nodeA.url}/api/rooms`, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ roomId: room, settings: { meshMaxPeers: 0 } }),
			});
			expect(created.status).toBe(201);
			expect(await owner(room)).toBe('node-a');

			const alice = await participant(nodeA, room, 'Alice');
			const toBob = balancer();
			const bob = await participant(nodeC, room, 'Bob', (context) => toBob.install(context));
			const [aliceId, bobId] = (await Promise.all([peerIdOf(alice), peerIdOf(bob)])) as [string, string];
			await expectEveryPairDecodes([alice, bob], 10);
			for (const page of [alice, bob]) expect(await badge(page)).toBe('sfu');
			expect(await sfuCounts(nodeC)).toEqual({ routers: 0, transports: 0 });

			nodeC.process.kill('SIGKILL');
			await nodeC.stop();
			// Bob's signaling is gone (the app retries node C's dead URL); node A sees his relayed peer drop once node C's entry lapses.
			await bob.waitForFunction(() => window.__call?.signalingState === 'reconnecting');
			const bobState = async () => ((await (await fetch(`${nodeA.url}/api/rooms/${room}`)).json()) as RoomDetails).participants.find((p) => p.peerId === bobId)?.state;
			await expect.poll(bobState, { timeout: TTL_MS + 20 * HEARTBEAT_MS }).toBe('disconnected');

			// From then on both still decode new frames from each other, through node A's SFU.
			const base = await Promise.all([alice, bob].map(framesByPeer));
			await expect
				.poll(async () => {
					const [a, b] = await Promise.all([alice, bob].map(framesByPeer));
					return [(a?.[bobId] ?? 0) - (base[0]?.[bobId] ?? 0), (b?.[aliceId] ?? 0) - (base[1]?.[aliceId] ?? 0)].every((n) => n >= 30);
				})
				.toBe(true);
			// Still the same call: Bob is still reconnecting (not rejoined elsewhere), and Alice still has his tile.
			expect(await bob.evaluate(() => window.__call?.signalingState)).toBe('reconnecting');
			expect(await alice.locator(`[data-testid=remote-tile][data-peer-id="${bobId}"]`).count()).toBe(1);
			expect(await bobState()).toBe('disconnected');

			// His reconnect now reaches node A (as through a load balancer): he resumes there, the same peer, and the call goes on.
			toBob.to = `ws://127.0.0.1:${nodeA.port}/ws`;
			await bob.waitForFunction(() => window.__call?.signalingState === 'joined', undefined, { timeout: 15_000 });
			expect(await peerIdOf(bob)).toBe(bobId);
			await expect.poll(bobState).toBe('connected');
			expect(await alice.locator(`[data-testid=remote-tile][data-peer-id="${bobId}"]`).count()).toBe(1);
			const resumedAt = await framesByPeer(bob);
			await expect.poll(async () => (await framesByPeer(bob))[aliceId] ?? 0).toBeGreaterThan((resumedAt[aliceId] ?? 0) + 15);
		} finally {
			await nodeC.stop();
		}
	});
});

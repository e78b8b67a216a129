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

/** Each node's mediasoup port range: no two transports share a port, and a page's server port tells which node its media comes from. */
const PORT_SPAN = 500;

/** One built server process on `redis`, with its own mediasoup port range; resume grace long enough to outlast an outage test. */
function startClusterNode(redis: RunningRedis, nodeId: string, minPort: number, env: Record<string, string> = {}): Promise<RunningServer> {
	return startServer({
		REDIS_URL: redis.url,
		NODE_ID: nodeId,
		CLUSTER_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
		CLUSTER_NODE_TTL_MS: String(TTL_MS),
		MEDIASOUP_NUM_WORKERS: '1',
		MEDIASOUP_MIN_PORT: String(minPort),
		MEDIASOUP_MAX_PORT: String(minPort + PORT_SPAN - 1),
		RESUME_GRACE_MS: '30000',
		...env,
	});
}

/**
 * A page's signaling socket, as a load balancer in front of the nodes would
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


describe('a call across two nodes on Redis, in real Chromium (MESH_MAX_PEERS=2)', () => {
	let redis: RunningRedis;
	let directory: Redis;
	let nodeA: RunningServer;
	let nodeB: RunningServer;
	let browser: Browser;
	const contexts: BrowserContext[] = [];

	/** A node of this test: rooms stay on the mesh up to two participants. */
	const startNode = (nodeId: string, minPort: number) => startClusterNode(redis, nodeId, minPort, { MESH_MAX_PEERS: '2' });

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

/** What the page keeps of every RTCPeerConnection it made (mediasoup-client makes one per transport). */
interface Instrumented {
	__pcs: RTCPeerConnection[];
}

/** Runs in every page before its own scripts: keeps each RTCPeerConnection, so a test can read which server port its media comes from. */
function keepPeerConnections(): void {
	const w = window as unknown as Instrumented;
	w.__pcs = [];
	const Native = window.RTCPeerConnection;
	window.RTCPeerConnection = class extends Native {
		constructor(configuration?: RTCConfiguration) {
			super(configuration);
			w.__pcs.push(this);
		}
	};
}

/** The server ports (remote candidates of the selected pairs) of the page's open peer connections. */
function serverPorts(page: Page): Promise<number[]> {
	return page.evaluate(async () => {
		const ports: number[] = [];
		for (const pc of (window as unknown as Instrumented).__pcs) {
			if (pc.signalingState === 'closed') continue;
			const stats = new Map<string, Record<string, unknown>>();
			(await pc.getStats()).forEach((s: Record<string, unknown>) => stats.set(s.id as string, s));
			for (const s of stats.values()) {
				if (s.type !== 'transport' || typeof s.selectedCandidatePairId !== 'string') continue;
				const pair = stats.get(s.selectedCandidatePairId);
				const remote = pair ? stats.get(pair.remoteCandidateId as string) : undefined;
				if (typeof remote?.port === 'number') ports.push(remote.port);
			}
		}
		return ports;
	});
}

describe("a broadcast across two nodes on Redis, in real Chromium: the stage on the room's node, viewers on another one consuming through a pipe", () => {
	let redis: RunningRedis;
	let directory: Redis;
	let nodeA: RunningServer;
	let nodeB: RunningServer;
	let browser: Browser;
	const contexts: BrowserContext[] = [];
	/** Each node's mediasoup ports: a page's server port tells which node its media comes from. */
	const PORTS = { a: 44000, b: 44500, d: 45000 } as const;

	const startNode = (nodeId: string, minPort: number) => startClusterNode(redis, nodeId, minPort);

	const fromNode = (minPort: number) => (ports: number[]) => ports.length === 1 && (ports[0] as number) >= minPort && (ports[0] as number) < minPort + PORT_SPAN;

	/** One window per page (Chromium paints only the front tab of a window), small; `prepare` runs on it before the page opens. */
	async function open(node: RunningServer, room: string, name: string, role?: string, prepare?: (context: BrowserContext) => Promise<void>): Promise<Page> {
		const context = await browser.newContext({ viewport: { width: 480, height: 360 } });
		contexts.push(context);
		await context.addInitScript(keepPeerConnections);
		await prepare?.(context);
		const page = await context.newPage();
		await page.goto(`${node.url}/?room=${room}&name=${name}${role ? `&role=${role}` : ''}`);
		await page.waitForFunction(() => window.__call?.mediaMode !== undefined);
		return page;
	}

	async function createBroadcast(node: RunningServer, roomId: string): Promise<void> {
		const response = await fetch(`${node.url}/api/rooms`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			// On the SFU from the first peer: the host publishes there before any viewer comes.
			body: JSON.stringify({ roomId, settings: { kind: 'broadcast', meshMaxPeers: 0 } }),
		});
		expect(response.status).toBe(201);
	}

	/** Deletes the room (an API room outlives its peers) on node A: it lets go of it in Redis and of all its media. */
	async function endRoom(roomId: string): Promise<void> {
		expect((await fetch(`${nodeA.url}/api/rooms/${roomId}`, { method: 'DELETE' })).status).toBe(204);
		await expect.poll(() => directory.get(`se:room:${roomId}`)).toBeNull();
		await expect.poll(() => sfuGauges(nodeA)).toEqual({ routers: 0, transports: 0, producers: 0, consumers: 0 });
	}

	async function sfuGauges(node: RunningServer) {
		const text = await (await fetch(`${node.url}/metrics`)).text();
		return {
			routers: metricSample(text, 'streaming_sfu_routers'),
			transports: metricSample(text, 'streaming_sfu_transports'),
			producers: metricSample(text, 'streaming_sfu_producers'),
			consumers: metricSample(text, 'streaming_sfu_consumers'),
		};
	}

	async function details(node: RunningServer, roomId: string): Promise<RoomDetails> {
		return (await (await fetch(`${node.url}/api/rooms/${roomId}`)).json()) as RoomDetails;
	}

	async function framesFrom(page: Page, peerId: string): Promise<number> {
		return (await remoteStats(page)).filter((s) => s.peerId === peerId).reduce((sum, s) => sum + s.framesDecoded, 0);
	}

	/** The page decodes `peerId`'s video, and keeps decoding (the count grows past a first look). */
	async function expectDecoding(page: Page, peerId: string): Promise<void> {
		await expect.poll(() => framesFrom(page, peerId), { timeout: 45_000 }).toBeGreaterThanOrEqual(10);
		const seen = await framesFrom(page, peerId);
		await expect.poll(() => framesFrom(page, peerId)).toBeGreaterThan(seen + 10);
	}


	beforeAll(async () => {
		redis = await startRedis();
		directory = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
		directory.on('error', () => undefined);
		await directory.connect();
		[nodeA, nodeB] = await Promise.all([startNode('node-a', PORTS.a), startNode('node-b', PORTS.b)]);
		browser = await launchBrowser();
	});

	afterEach(async () => {
		for (const context of contexts.splice(0)) await context.close();
	});

	afterAll(async () => {
		await browser?.close();
		directory?.disconnect();
		await Promise.all([nodeA?.stop(), nodeB?.stop()]);
		await redis?.stop();
	});

	it('the host on node A, two viewers on node B: the viewers decode the stage through a pipe, node B holds their media, and the pipe closes when they leave', async () => {
		const room = 'piped-show';
		await createBroadcast(nodeA, room);
		expect(await directory.get(`se:room:${room}`)).toBe('node-a');
		const host = await open(nodeA, room, 'Hana', 'host');
		const hostId = (await peerIdOf(host)) as string;
		// The stage alone: node A holds the host's media (its audio and video producers), node B nothing.
		await expect.poll(async () => (await sfuGauges(nodeA)).producers).toBe(2);
		const stageOnly = await sfuGauges(nodeA);
		expect(stageOnly).toEqual({ routers: 1, transports: 2, producers: 2, consumers: 0 }); // the host's send and receive transports
		expect(await sfuGauges(nodeB)).toEqual({ routers: 0, transports: 0, producers: 0, consumers: 0 });

		const viewers = [await open(nodeB, room, 'Vera'), await open(nodeB, room, 'Vic')];
		for (const viewer of viewers) {
			expect(await viewer.evaluate(() => window.__call?.role)).toBe('viewer');
			await expectDecoding(viewer, hostId);
			// Its one connection (the receive transport) is to a port of node B's: node B sends it the host's media.
			await expect.poll(() => serverPorts(viewer)).toSatisfy(fromNode(PORTS.b));
		}
		// Node B: the pipe (one transport, a producer per stage track) and the viewers' receive transports, each consuming both tracks.
		expect(await sfuGauges(nodeB)).toEqual({ routers: 1, transports: 3, producers: 2, consumers: 4 });
		// Node A: the host's media plus the pipe's one transport and a consumer per track; no viewer's transport or consumer.
		expect(await sfuGauges(nodeA)).toEqual({ routers: 1, transports: 3, producers: 2, consumers: 2 });
		// The room is node A's alone: it counts both viewers; node B does not hold it.
		const held = await details(nodeA, room);
		expect(held.audience).toBe(2);
		expect(held.participants.map((p) => `${p.displayName}:${p.role}`).sort()).toEqual(['Hana:host', 'Vera:viewer', 'Vic:viewer']);
		expect(held.sfuRouters).toHaveLength(1);
		expect((await fetch(`${nodeB.url}/api/rooms/${room}`)).status).toBe(404);
		await expect.poll(() => host.locator('[data-testid=audience-count]').textContent()).toBe('2');

		// One leaves: the pipe stays for the other, who keeps decoding.
		await viewers[0]?.locator('[data-testid=leave]').click();
		await expect.poll(() => sfuGauges(nodeB)).toEqual({ routers: 1, transports: 2, producers: 2, consumers: 2 });
		await expectDecoding(viewers[1] as Page, hostId);
		// The last one leaves: node B lets go of everything (the edge room and its end of the pipe), node A of its end.
		await viewers[1]?.locator('[data-testid=leave]').click();
		await expect.poll(() => sfuGauges(nodeB)).toEqual({ routers: 0, transports: 0, producers: 0, consumers: 0 });
		await expect.poll(() => sfuGauges(nodeA)).toEqual(stageOnly);
		// The host is still on stage on node A, publishing, with nobody watching.
		expect(await details(nodeA, room)).toMatchObject({ audience: 0, participants: [{ peerId: hostId, role: 'host', state: 'connected' }] });
		await expect.poll(() => host.locator('[data-testid=audience-count]').textContent()).toBe('0');
		expect(await host.evaluate(() => window.__call?.signalingState)).toBe('joined');

		await endRoom(room);
	});

	it("the viewers' node SIGKILLed: they resume through node A (the same peers, within the resume grace), get sfu.restart, and decode the stage again from node A", async () => {
		const room = 'edge-dies-show';
		// This test's own edge node, to kill.
		const nodeD = await startNode('node-d', PORTS.d);
		try {
			await createBroadcast(nodeA, room);
			const host = await open(nodeA, room, 'Hana', 'host');
			const hostId = (await peerIdOf(host)) as string;
			await expect.poll(async () => (await sfuGauges(nodeA)).producers).toBe(2);
			const stageOnly = await sfuGauges(nodeA);

			// Each viewer's socket goes through its own "load balancer": to node D first.
			const routes = [balancer(), balancer()];
			const viewers = [
				await open(nodeD, room, 'Vera', undefined, (context) => (routes[0] as ReturnType<typeof balancer>).install(context)),
				await open(nodeD, room, 'Vic', undefined, (context) => (routes[1] as ReturnType<typeof balancer>).install(context)),
			];
			const viewerIds = (await Promise.all(viewers.map(peerIdOf))) as string[];
			for (const viewer of viewers) {
				await expectDecoding(viewer, hostId);
				await expect.poll(() => serverPorts(viewer)).toSatisfy(fromNode(PORTS.d));
			}
			expect(await sfuGauges(nodeD)).toEqual({ routers: 1, transports: 3, producers: 2, consumers: 4 });

			nodeD.process.kill('SIGKILL');
			await nodeD.stop();
			const [vera, vic] = viewers as [Page, Page];
			const [veraId, vicId] = viewerIds as [string, string];
			// Vera's balancer sends her reconnect to node A at once (before node A notices node D lapsed: she resumes while still held as connected)...
			(routes[0] as ReturnType<typeof balancer>).to = `ws://127.0.0.1:${nodeA.port}/ws`;
			// ...Vic's only once node A holds him as dropped (node D's entry lapsed); until then he retries dead node D.
			const stateOf = async (peerId: string) => (await details(nodeA, room)).participants.find((p) => p.peerId === peerId)?.state;
			await vic.waitForFunction(() => window.__call?.signalingState === 'reconnecting');
			await expect.poll(() => stateOf(vicId), { timeout: TTL_MS + 20 * HEARTBEAT_MS }).toBe('disconnected');
			(routes[1] as ReturnType<typeof balancer>).to = `ws://127.0.0.1:${nodeA.port}/ws`;

			// Both are back, the same peers, in the same room (nobody left, nobody doubled).
			for (const [viewer, id] of [
				[vera, veraId],
				[vic, vicId],
			] as const) {
				await viewer.waitForFunction(() => window.__call?.signalingState === 'joined', undefined, { timeout: 15_000 });
				expect(await peerIdOf(viewer)).toBe(id);
				await expect.poll(() => stateOf(id)).toBe('connected');
			}
			const held = await details(nodeA, room);
			expect(held.audience).toBe(2);
			expect(held.participants.map((p) => p.peerId).sort()).toEqual([hostId, veraId, vicId].sort());
			// Their receive side was built again on node A (sfu.restart): their one connection is to a port of node A's, and decodes the host.
			for (const viewer of viewers) {
				await expect.poll(() => serverPorts(viewer), { timeout: 30_000 }).toSatisfy(fromNode(PORTS.a));
				await expectDecoding(viewer, hostId);
			}
			// Node A: the host's media and the viewers' receive transports, each consuming both tracks; no pipe left (its edge is gone).
			await expect.poll(() => sfuGauges(nodeA)).toEqual({ ...stageOnly, transports: (stageOnly.transports ?? 0) + 2, consumers: 4 });
			await endRoom(room);
		} finally {
			await nodeD.stop();
		}
	});
});

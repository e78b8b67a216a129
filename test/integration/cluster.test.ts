import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Method, Notification, PROTOCOL_VERSION, SignalingError, type ResponseData } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import { SignalingClient, type WebSocketLike } from '../../web/src/signaling/SignalingClient.js';
import { startInProcessServer, until } from '../support/inProcessServer.js';
import { startRedis, type RunningRedis } from '../support/redis.js';
import { startServer } from '../support/serverProcess.js';
import { nextEvent } from '../support/signaling.js';
import { VP8_PT, bindUdp, vp8KeyFrame } from '../support/rtp.js';
import type { types } from 'mediasoup';

/**
 * Two nodes sharing rooms through a real redis-server on loopback: the room
 * directory, signaling relayed from the node holding a socket to the room's
 * node, resume through any node, a node that goes away, Redis restarting.
 */

const HEARTBEAT_MS = 200;
const TTL_MS = 1000;

describe('two nodes on Redis', () => {
	let redis: RunningRedis;
	let a: Server;
	let b: Server;
	let directory: Redis;
	const opened: Array<{ close(): void }> = [];

	const startNode = (nodeId: string, overrides: Record<string, unknown> = {}) =>
		startInProcessServer({
			// Media between these two nodes is encrypted (the e2e suite runs pipes without SRTP).
			cluster: { redisUrl: redis.url, nodeId, heartbeatIntervalMs: HEARTBEAT_MS, nodeTtlMs: TTL_MS, pipeSrtp: true },
			signaling: { resumeGraceMs: 5000 },
			...overrides,
		});

	beforeAll(async () => {
		redis = await startRedis();
		[a, b] = await Promise.all([startNode('node-a'), startNode('node-b')]);
		directory = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
		directory.on('error', () => undefined);
		await directory.connect();
	});

	afterEach(() => {
		for (const client of opened.splice(0)) client.close();
	});

	afterAll(async () => {
		directory?.disconnect();
		await Promise.all([a?.close(), b?.close()]);
		await redis?.stop();
	});

	async function connect(server: Server): Promise<SignalingClient> {
		const client = await SignalingClient.connect(`ws://127.0.0.1:${server.port}/ws`, {
			requestTimeoutMs: 5000,
			createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
		});
		opened.push(client);
		return client;
	}

	/** A client whose socket the test can cut without a close frame (the server sees 1006, a drop). */
	async function connectCuttable(server: Server): Promise<{ client: SignalingClient; cut: () => void }> {
		let socket: WebSocket | undefined;
		const client = await SignalingClient.connect(`ws://127.0.0.1:${server.port}/ws`, {
			requestTimeoutMs: 5000,
			createSocket: (url) => {
				socket = new WebSocket(url);
				return socket as unknown as WebSocketLike;
			},
		});
		opened.push(client);
		return { client, cut: () => socket?.terminate() };
	}

	async function join(server: Server, roomId: string, displayName: string): Promise<{ client: SignalingClient; joined: ResponseData<'join'> }> {
		const client = await connect(server);
		const joined = await client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId, displayName });
		return { client, joined };
	}

	const owner = (roomId: string) => directory.get(`se:room:${roomId}`);

	it('registers both nodes in Redis, each with an expiring entry', async () => {
		const ids = (await directory.smembers('se:nodes')).sort();
		expect(ids).toEqual(['node-a', 'node-b']);
		for (const id of ids) {
			const ttl = await directory.pttl(`se:node:${id}`);
			expect(ttl).toBeGreaterThan(0);
			expect(ttl).toBeLessThanOrEqual(TTL_MS);
		}
		expect(a.cluster?.nodeId).toBe('node-a');
	});

	it('a room claimed by two nodes at once ends with exactly one owner, the same for both', async () => {
		const rooms = Array.from({ length: 40 }, (_, i) => `race-${i}`);
		const [fromA, fromB] = await Promise.all([Promise.all(rooms.map((r) => a.cluster!.claim(r))), Promise.all(rooms.map((r) => b.cluster!.claim(r)))]);
		for (const [i, roomId] of rooms.entries()) {
			expect(fromA[i]).toBe(fromB[i]);
			expect(await owner(roomId)).toBe(fromA[i]);
		}
		for (const winner of fromA) expect(['node-a', 'node-b']).toContain(winner);
		for (const roomId of rooms) {
			await a.cluster!.release(roomId);
			await b.cluster!.release(roomId);
		}
		expect(await directory.keys('se:room:race-*')).toEqual([]);
	});

	it('two joins racing into a new room through different nodes land in one room on one node', async () => {
		const [x, y] = await Promise.all([join(a, 'race-join', 'X'), join(b, 'race-join', 'Y')]);
		const holder = (await owner('race-join')) === 'node-a' ? a : b;
		const other = holder === a ? b : a;
		expect(holder.rooms.get('race-join')?.size).toBe(2);
		expect(other.rooms.get('race-join')).toBeUndefined();
		// Whoever joined second saw the first.
		const seen = [...x.joined.peers, ...y.joined.peers].map((p) => p.peerId);
		expect(seen.length).toBe(1);
		expect([x.joined.peerId, y.joined.peerId]).toContain(seen[0]);
	});

	it('a mesh call across nodes: the room lives on one node, signaling is relayed both ways, the protocol is the same', async () => {
		const ann = await join(a, 'across', 'Ann');
		expect(await owner('across')).toBe('node-a');
		const joinedSeen = nextEvent(ann.client, Notification.PeerJoined);
		const bob = await join(b, 'across', 'Bob');
		// Bob's socket is on node B; the room and his peer are on node A.
		expect(bob.joined.peers.map((p) => p.peerId)).toEqual([ann.joined.peerId]);
		expect((await joinedSeen)[0]).toMatchObject({ peerId: bob.joined.peerId, displayName: 'Bob' });
		expect(a.rooms.get('across')?.size).toBe(2);
		expect(b.rooms.get('across')).toBeUndefined();
		expect(bob.joined.resumeToken.startsWith('node-a.')).toBe(true);

		const toBob = nextEvent(bob.client, Notification.Signal);
		await ann.client.request(Method.Signal, { to: bob.joined.peerId, signal: { kind: 'candidate', candidate: { candidate: 'from-ann' } } });
		expect((await toBob)[0]).toEqual({ from: ann.joined.peerId, signal: { kind: 'candidate', candidate: { candidate: 'from-ann' } } });
		const toAnn = nextEvent(ann.client, Notification.Signal);
		await bob.client.request(Method.Signal, { to: ann.joined.peerId, signal: { kind: 'renegotiate' } });
		expect((await toAnn)[0]).toEqual({ from: bob.joined.peerId, signal: { kind: 'renegotiate' } });
		// Errors come back typed through the relay too.
		await expect(bob.client.request(Method.Signal, { to: 'nobody', signal: { kind: 'renegotiate' } })).rejects.toMatchObject({ code: ErrorCode.PeerNotFound });

		// A leave through node B is a leave on node A at once.
		const left = nextEvent(ann.client, Notification.PeerLeft);
		bob.client.close();
		expect((await left)[0]).toEqual({ peerId: bob.joined.peerId });
	});

	it("the SFU side of a room is made on the room's node, whichever node holds the socket", async () => {
		const res = await fetch(`http://127.0.0.1:${a.port}/api/rooms`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ roomId: 'sfu-across', settings: { meshMaxPeers: 0 } }),
		});
		expect(res.status).toBe(201);
		// The same id through the other node is refused: it is node A's.
		const again = await fetch(`http://127.0.0.1:${b.port}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roomId: 'sfu-across' }) });
		expect(again.status).toBe(409);
		expect(((await again.json()) as { error: string }).error).toBe('ROOM_ON_OTHER_NODE');

		const carl = await join(b, 'sfu-across', 'Carl');
		expect(carl.joined.mediaMode).toBe('sfu');
		const { routerRtpCapabilities } = await carl.client.request(Method.SfuGetRouterRtpCapabilities, {});
		await carl.client.request(Method.SfuJoin, { rtpCapabilities: routerRtpCapabilities });
		const transport = await carl.client.request(Method.SfuCreateTransport, { direction: 'recv' });
		expect(a.sfuRooms.get('sfu-across')?.peerIds).toEqual([carl.joined.peerId]);
		expect(b.sfuRooms.get('sfu-across')).toBeUndefined();
		const port = (transport.iceCandidates[0] as { port: number }).port;
		const workerPorts = a.config.mediasoup;
		expect(port).toBeGreaterThanOrEqual(workerPorts.rtcMinPort);
	});

	it('a peer whose socket on node B dropped resumes through node A itself (or through B again), keeping its id', async () => {
		const dee = await join(a, 'resume-across', 'Dee');
		const eve = await connectCuttable(b);
		const joined = await eve.client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'resume-across', displayName: 'Eve' });
		let leftSeen = false;
		dee.client.on(Notification.PeerLeft, () => (leftSeen = true));
		eve.cut();
		await until(() => a.rooms.get('resume-across')?.getPeer(joined.peerId)?.state === 'disconnected', 5000, 'the drop to reach node A');

		const direct = await connectCuttable(a);
		const resumed = await direct.client.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken: joined.resumeToken });
		expect(resumed.peerId).toBe(joined.peerId);
		direct.cut();
		await until(() => a.rooms.get('resume-across')?.getPeer(joined.peerId)?.state === 'disconnected', 5000, 'the second drop');

		const viaB = await connect(b);
		const again = await viaB.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken: resumed.resumeToken });
		expect(again.peerId).toBe(joined.peerId);
		const toEve = nextEvent(viaB, Notification.ChatMessage);
		await dee.client.request(Method.Chat, { text: 'still here?' });
		expect((await toEve)[0]).toMatchObject({ from: dee.joined.peerId, text: 'still here?' });
		expect(leftSeen).toBe(false);
	});

	/** A built server process on this Redis (SIGKILL-able, unlike an in-process node). */
	const nodeProcess = (nodeId: string) =>
		startServer({
			REDIS_URL: redis.url,
			NODE_ID: nodeId,
			CLUSTER_HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
			CLUSTER_NODE_TTL_MS: String(TTL_MS),
			RESUME_GRACE_MS: '5000',
		});

	it("a node that dies (SIGKILL) holding relayed sockets: the room's node sees its peers drop within the TTL, and they resume through another node", async () => {
		const c = await nodeProcess('node-c');
		try {
			const fay = await join(a, 'edge-gone', 'Fay');
			const gus = await join({ port: c.port } as Server, 'edge-gone', 'Gus');
			expect(a.rooms.get('edge-gone')?.size).toBe(2);
			let leftSeen = false;
			fay.client.on(Notification.PeerLeft, () => (leftSeen = true));
			c.process.kill('SIGKILL');
			await until(() => a.rooms.get('edge-gone')?.getPeer(gus.joined.peerId)?.state === 'disconnected', TTL_MS + 10 * HEARTBEAT_MS, 'the relayed peer to drop');
			// Its client comes back through node B with its resume token: the same peer, nobody saw it leave.
			const back = await connect(b);
			const resumed = await back.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken: gus.joined.resumeToken });
			expect(resumed.peerId).toBe(gus.joined.peerId);
			expect(a.rooms.get('edge-gone')?.getPeer(gus.joined.peerId)?.state).toBe('connected');
			expect(leftSeen).toBe(false);
		} finally {
			await c.stop();
		}
	});

	it('a node that dies (SIGKILL) owning a room: after the TTL the directory shows no room of it, and another node takes the room', async () => {
		const d = await nodeProcess('node-d');
		try {
			const host = await join({ port: d.port } as Server, 'owner-gone', 'Lee');
			expect(await owner('owner-gone')).toBe('node-d');
			const viaA = await join(a, 'owner-gone', 'Mo');
			expect(viaA.joined.peers.map((p) => p.peerId)).toEqual([host.joined.peerId]);
			d.process.kill('SIGKILL');
			// Mo's socket was relayed to node D: node A tells it to reconnect (1012).
			await until(() => viaA.client.closed, TTL_MS + 10 * HEARTBEAT_MS, "the relayed client's socket to close");
			await until(async () => (await owner('owner-gone')) === null, TTL_MS + 10 * HEARTBEAT_MS, 'the room to be released');
			expect(await directory.exists('se:node:node-d')).toBe(0);
			const again = await join(a, 'owner-gone', 'Mo');
			expect(again.joined.peers).toEqual([]);
			expect(await owner('owner-gone')).toBe('node-a');
		} finally {
			await d.stop();
		}
	});

	it("a broadcast's viewers on another node consume there, through a pipe from the room's node that closes when they leave", async () => {
		const res = await fetch(`http://127.0.0.1:${a.port}/api/rooms`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ roomId: 'edge-show', settings: { kind: 'broadcast', meshMaxPeers: 0 } }),
		});
		expect(res.status).toBe(201);
		const host = await connect(a);
		const hostJoined = await host.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'edge-show', displayName: 'Host', role: 'host' });
		const caps = (await host.request(Method.SfuGetRouterRtpCapabilities, {})).routerRtpCapabilities;
		await host.request(Method.SfuJoin, { rtpCapabilities: caps });
		const stage = a.sfuRooms.get('edge-show');
		if (!stage) throw new Error("no SFU side for the host's room");
		// The host's camera: hand-made VP8 through a plain transport on node A.
		const send = (await stage.attachTransport(hostJoined.peerId, 'send', (router) =>
			router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: true }),
		)) as types.PlainTransport;
		const ssrc = 7007;
		const { producerId } = await host.request(Method.SfuProduce, {
			transportId: send.id,
			kind: 'video',
			source: 'camera',
			rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: VP8_PT, clockRate: 90000, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] }], encodings: [{ ssrc }] },
		});
		const sender = await bindUdp();
		const sink = await bindUdp();
		let seq = 0;
		let received = 0;
		sink.on('message', (packet: Buffer) => {
			if (packet.length > 100) received++;
		});
		const timer = setInterval(() => {
			if (seq < 3000) sender.send(vp8KeyFrame(++seq, ssrc), send.tuple.localPort, '127.0.0.1');
		}, 20);
		try {
			const viewers = [];
			for (const name of ['Vi', 'Wu']) {
				const client = await connect(b);
				const consumers: string[] = [];
				client.on(Notification.SfuNewConsumer, (c) => consumers.push(c.consumerId));
				const joined = await client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'edge-show', displayName: name });
				expect(joined.role).toBe('viewer');
				await client.request(Method.SfuJoin, { rtpCapabilities: (await client.request(Method.SfuGetRouterRtpCapabilities, {})).routerRtpCapabilities });
				// A browser's receive transport would be made here, on node B (checked below); the test's own is a plain one to its sink.
				const transport = await client.request(Method.SfuCreateTransport, { direction: 'recv' });
				viewers.push({ client, joined, consumers, transportId: transport.transportId });
			}
			const edge = b.edgeMedia?.rooms.find((r) => r.roomId === 'edge-show');
			expect(edge).toMatchObject({ origin: 'node-a', viewers: 2 });
			expect(a.originPipes?.edgesOf('edge-show')).toEqual(['node-b']);
			// The viewers' SFU side is node B's; node A holds only its stage (the pipe's far end).
			expect(a.sfuRooms.get('edge-show')?.peerIds).toEqual([hostJoined.peerId]);
			expect(edge?.sfu.peerIds.sort()).toEqual([...viewers.map((v) => v.joined.peerId), 'pipe@node-a'].sort());
			for (const v of viewers) await until(() => v.consumers.length === 1, 5000, "the viewer's consumer of the host");
			// Media through the pipe to a viewer on node B: its WebRTC transport is replaced by a plain one to the sink.
			const [first] = viewers;
			await first!.client.request(Method.SfuCloseTransport, { transportId: first!.transportId });
			await edge!.sfu.attachTransport(first!.joined.peerId, 'recv', async (router) => {
				const plain = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
				await plain.connect({ ip: '127.0.0.1', port: sink.address().port });
				return plain;
			});
			await until(() => first!.consumers.length === 2, 5000, 'a consumer on the plain transport');
			await first!.client.request(Method.SfuResumeConsumer, { consumerId: first!.consumers[1] as string });
			await until(() => received > 10, 5000, 'RTP from node A at the viewer on node B');
			expect(producerId).toBeTruthy();

			// The viewers leave: node B lets the pipe go, and node A closes its end.
			for (const v of viewers) v.client.close();
			await until(() => (a.originPipes?.edgesOf('edge-show').length ?? 1) === 0, 5000, 'the pipe to close at the origin');
			expect(b.edgeMedia?.rooms.find((r) => r.roomId === 'edge-show')).toBeUndefined();
		} finally {
			clearInterval(timer);
			sender.close();
			sink.close();
		}
	});

	it('a node that stops (SIGTERM) drains: its rooms are released at once, and every socket, its own and those relayed through others, is told to reconnect (1012)', async () => {
		const e = await nodeProcess('node-e');
		try {
			const own = await join({ port: e.port } as Server, 'draining', 'Ola');
			const relayed = await join(a, 'draining', 'Pia');
			expect(await owner('draining')).toBe('node-e');
			const closes = [own, relayed].map((m) => nextEvent(m.client, 'close', 10_000).then(([code]) => code));
			void e.stop();
			expect(await Promise.all(closes)).toEqual([1012, 1012]);
			// Released by the node itself, not by the lapse of its entry.
			expect(await owner('draining')).toBe(null);
			expect(await directory.sismember('se:nodes', 'node-e')).toBe(0);
		} finally {
			await e.stop();
		}
	});

	it('a broadcast viewer served by an edge that resumes through another node is told to build its media again there (sfu.restart)', async () => {
		const res = await fetch(`http://127.0.0.1:${a.port}/api/rooms`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ roomId: 'edge-move', settings: { kind: 'broadcast', meshMaxPeers: 0 } }),
		});
		expect(res.status).toBe(201);
		const viewer = await connectCuttable(b);
		const joined = await viewer.client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'edge-move', displayName: 'Nia' });
		await viewer.client.request(Method.SfuJoin, { rtpCapabilities: (await viewer.client.request(Method.SfuGetRouterRtpCapabilities, {})).routerRtpCapabilities });
		await viewer.client.request(Method.SfuCreateTransport, { direction: 'recv' });
		expect(b.edgeMedia?.rooms.find((r) => r.roomId === 'edge-move')?.viewers).toBe(1);
		viewer.cut();
		await until(() => a.rooms.get('edge-move')?.getPeer(joined.peerId)?.state === 'disconnected', 5000, 'the drop');

		const direct = await connect(a);
		const restarts: string[] = [];
		direct.on(Notification.SfuRestart, ({ reason }) => restarts.push(reason));
		const resumed = await direct.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken: joined.resumeToken });
		expect(resumed.peerId).toBe(joined.peerId);
		await until(() => restarts.length === 1, 5000, 'sfu.restart after the resume');
		// Its receive side is made on node A now.
		await direct.request(Method.SfuJoin, { rtpCapabilities: (await direct.request(Method.SfuGetRouterRtpCapabilities, {})).routerRtpCapabilities });
		await direct.request(Method.SfuCreateTransport, { direction: 'recv' });
		expect(a.sfuRooms.get('edge-move')?.peerIds).toContain(joined.peerId);
		// A resume through the same node it was on needs no restart.
		expect(restarts).toHaveLength(1);
	});

	it('Redis restarting: calls keep going, new joins get CLUSTER_UNAVAILABLE, and everything recovers when it is back', async () => {
		const hal = await join(a, 'through-restart', 'Hal');
		const ida = await join(a, 'through-restart', 'Ida');
		await redis.stop({ hard: true });
		try {
			// A call in progress on its node goes on.
			const chat = nextEvent(ida.client, Notification.ChatMessage);
			await hal.client.request(Method.Chat, { text: 'redis is down' });
			expect((await chat)[0]).toMatchObject({ text: 'redis is down' });
			// A new room cannot be placed: a typed error, at once.
			const newcomer = await connect(b);
			const refused = await newcomer.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'while-down', displayName: 'Jo' }).catch((e: unknown) => e);
			expect(refused).toBeInstanceOf(SignalingError);
			expect((refused as SignalingError).code).toBe(ErrorCode.ClusterUnavailable);
		} finally {
			await redis.restart();
		}
		// Back: the nodes register again, the room is claimed again by its node, joins work.
		await until(async () => (await directory.get('se:room:through-restart').catch(() => null)) === 'node-a', 10_000, 'the room to be claimed again');
		await until(async () => (await directory.smembers('se:nodes').catch(() => [])).length === 2, 10_000, 'both nodes to register again');
		const kit = await join(b, 'through-restart', 'Kit');
		expect(kit.joined.peers.map((p) => p.displayName).sort()).toEqual(['Hal', 'Ida']);
	});
});

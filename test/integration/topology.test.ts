import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Method, Notification, PROTOCOL_VERSION, type NotificationData } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import type { SignalingClient } from '../../web/src/signaling/SignalingClient.js';
import { startInProcessServer, until } from '../support/inProcessServer.js';
import { metricSample } from '../support/metrics.js';
import { connectClient, nextEvent } from '../support/signaling.js';

/**
 * The topology machine wired into the server, seen through signaling by
 * clients that answer for browsers (no media here: the browser e2e test
 * carries real media through migrations). A real mediasoup worker serves
 * the SFU side.
 */

const join = (roomId: string, displayName: string) => ({ protocolVersion: PROTOCOL_VERSION, roomId, displayName });

interface Member {
	client: SignalingClient;
	peerId: string;
	/** Notification methods in arrival order. */
	log: string[];
}

async function member(server: Server, roomId: string, name: string): Promise<Member & { joined: Awaited<ReturnType<SignalingClient['request']>> }> {
	const client = await connectClient(server.port);
	const log: string[] = [];
	for (const method of Object.values(Notification)) {
		(client.on as (e: string, fn: () => void) => unknown)(method, () => log.push(method));
	}
	const joined = await client.request(Method.Join, join(roomId, name));
	return { client, peerId: joined.peerId, log, joined };
}

async function metrics(server: Server): Promise<string> {
	return (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
}

describe('room topology through signaling', () => {
	let server: Server;
	const clients: SignalingClient[] = [];

	beforeAll(async () => {
		server = await startInProcessServer({
			topology: { meshMaxPeers: 2, meshMinPeers: 2, deescalateCooldownMs: 300, migrationTimeoutMs: 4000 },
		});
	});

	afterAll(async () => {
		for (const c of clients) c.close();
		await server?.close();
	});

	it('a third joiner moves the room to the SFU: the others prepare first, the newcomer joins the SFU directly, everyone ready commits', async () => {
		const a = await member(server, 'grow', 'Ada');
		const b = await member(server, 'grow', 'Bo');
		clients.push(a.client, b.client);
		expect(a.joined).toMatchObject({ mediaMode: 'mesh', topology: { state: 'mesh', epoch: 0 } });
		await expect(a.client.request(Method.SfuCreateTransport, { direction: 'send' })).rejects.toMatchObject({ code: ErrorCode.WrongMediaMode });
		// The router capabilities are the same everywhere and answered in any room, with no router held for it.
		const early = await a.client.request(Method.SfuGetRouterRtpCapabilities, {});
		expect(JSON.stringify(early.routerRtpCapabilities)).toContain('video/VP8');
		expect(server.sfuRooms.get('grow')).toBeUndefined();

		const prepared = nextEvent(a.client, Notification.TopologyPrepare);
		const before = Date.now();
		const c = await member(server, 'grow', 'Cy');
		clients.push(c.client);
		const [prepare] = await prepared;
		// timeoutMs: the room's migrationTimeoutMs, the deadline the server keeps.
		expect(prepare).toMatchObject({ epoch: 1, target: 'sfu', reason: 'participants', timeoutMs: 4000 });
		expect(prepare.decidedAt).toBeGreaterThanOrEqual(before);
		expect(c.joined).toMatchObject({ mediaMode: 'sfu', topology: { state: 'escalating', epoch: 1 } });
		await until(() => a.log.filter((m) => m === Notification.PeerJoined).length === 2, 2000, 'peerJoined of the newcomer');
		// Prepare first: a client must know where the newcomer's media goes before hearing of it.
		expect(a.log.indexOf(Notification.TopologyPrepare)).toBeLessThan(a.log.lastIndexOf(Notification.PeerJoined));
		expect(c.log).not.toContain(Notification.TopologyPrepare);

		// The SFU side exists for the migration: the server took a router at the decision.
		await until(() => (server.sfuRooms.get('grow')?.routers.length ?? 0) === 1, 2000, 'router for the migration');
		const send = await a.client.request(Method.SfuCreateTransport, { direction: 'send' });
		expect(send.iceCandidates.length).toBeGreaterThan(0);

		const commits = [a, b, c].map((m) => nextEvent(m.client, Notification.TopologyCommit));
		await a.client.request(Method.TopologyReady, { epoch: 1 });
		await b.client.request(Method.TopologyReady, { epoch: 1 });
		expect((await server.rooms.get('grow'))?.topology.state).toBe('escalating');
		await c.client.request(Method.TopologyReady, { epoch: 1 });
		for (const [commit] of await Promise.all(commits)) expect(commit).toEqual({ epoch: 1, topology: 'sfu', stragglers: [] });
		await expect(a.client.request(Method.TopologyReady, { epoch: 1 })).rejects.toMatchObject({ code: ErrorCode.StaleEpoch });

		const room = (await (await fetch(`http://127.0.0.1:${server.port}/api/rooms/grow`)).json()) as { topology: unknown };
		expect(room.topology).toEqual({ state: 'sfu', epoch: 1 });
		const text = await metrics(server);
		expect(metricSample(text, 'streaming_rooms_by_topology{topology="sfu"}')).toBe(1);
		expect(metricSample(text, 'streaming_topology_migrations_total{direction="escalate",result="committed"}')).toBe(1);
		expect(metricSample(text, 'streaming_topology_migration_duration_seconds_count{direction="escalate"}')).toBe(1);
	});

	it('when the room shrinks it returns to the mesh after the cooldown, and the server drops the SFU side', async () => {
		const [ada, bo, cy] = clients;
		const prepared = nextEvent(ada!, Notification.TopologyPrepare, 3000);
		const leftAt = Date.now();
		await cy!.request(Method.Leave, {});
		const [prepare] = await prepared;
		expect(prepare).toMatchObject({ epoch: 2, target: 'mesh', reason: 'participants-low', timeoutMs: 4000 });
		expect(Date.now() - leftAt).toBeGreaterThanOrEqual(300);
		expect(server.sfuRooms.get('grow')).toBeDefined();

		const committed = nextEvent(ada!, Notification.TopologyCommit);
		await ada!.request(Method.TopologyReady, { epoch: 2 });
		await bo!.request(Method.TopologyReady, { epoch: 2 });
		expect((await committed)[0]).toEqual({ epoch: 2, topology: 'mesh', stragglers: [] });
		// A room on the mesh costs the server no media.
		expect(server.sfuRooms.get('grow')).toBeUndefined();
		await until(async () => (await Promise.all(server.workers.workers.map((w) => w.dump()))).every((d) => d.routerIds.length === 0), 3000, 'routers closed');
		await expect(ada!.request(Method.SfuCreateTransport, { direction: 'send' })).rejects.toMatchObject({ code: ErrorCode.WrongMediaMode });
		expect(metricSample(await metrics(server), 'streaming_topology_migrations_total{direction="deescalate",result="committed"}')).toBe(1);
	});

	it('a client that cannot build the new path rolls the room back, and the rollback is counted', async () => {
		const members = [];
		for (const name of ['A', 'B', 'C']) members.push(await member(server, 'fail', name));
		clients.push(...members.map((m) => m.client));
		const aborted = members.map((m) => nextEvent(m.client, Notification.TopologyAbort));
		await members[0]!.client.request(Method.TopologyReady, { epoch: 1 });
		await members[1]!.client.request(Method.TopologyFailed, { epoch: 1, reason: 'ICE failed' });
		const results: Array<NotificationData<'topology.abort'>> = (await Promise.all(aborted)).map(([data]) => data);
		for (const data of results) expect(data).toEqual({ epoch: 1, topology: 'mesh', reason: 'client failed: ICE failed' });
		expect(server.rooms.get('fail')?.topology.state).toBe('mesh');
		expect(server.sfuRooms.get('fail')).toBeUndefined();
		// The router taken at the decision is gone with it (the other room here is on the mesh too).
		await until(async () => (await Promise.all(server.workers.workers.map((w) => w.dump()))).every((d) => d.routerIds.length === 0), 3000, 'routers closed');
		expect(metricSample(await metrics(server), 'streaming_topology_migrations_total{direction="escalate",result="aborted"}')).toBe(1);
	});

	it('a transport the worker is still making when the room rolls back is closed with the rest, not left behind', async () => {
		const members = [];
		for (const name of ['A', 'B', 'C']) members.push(await member(server, 'race', name));
		clients.push(...members.map((m) => m.client));
		await until(() => (server.sfuRooms.get('race')?.routers.length ?? 0) === 1, 2000, 'router for the migration');
		// A asks for a transport, and in the same turn B's failure rolls the room back: A's request is with
		// the worker while the SFU side closes.
		const transport = members[0]!.client.request(Method.SfuCreateTransport, { direction: 'recv' }).then(
			() => 'created',
			(error: { code?: string }) => error.code,
		);
		const failed = members[1]!.client.request(Method.TopologyFailed, { epoch: 1, reason: 'gave up' });
		await failed;
		expect(await transport).toBe(ErrorCode.WrongMediaMode);
		expect(server.rooms.get('race')?.topology.state).toBe('mesh');
		await until(() => server.sfuStats.counts.routers === 0 && server.sfuStats.counts.transports === 0, 3000, 'nothing left on the SFU');
	});
});

describe('migration timeout', () => {
	let server: Server;
	const clients: SignalingClient[] = [];

	beforeAll(async () => {
		server = await startInProcessServer({ topology: { meshMaxPeers: 2, meshMinPeers: 1, migrationTimeoutMs: 600 } });
	});

	afterAll(async () => {
		for (const c of clients) c.close();
		await server?.close();
	});

	it('commits with the stragglers named when only some clients confirm in time, and counts them', async () => {
		const members = [];
		for (const name of ['A', 'B', 'C']) members.push(await member(server, 'slow', name));
		clients.push(...members.map((m) => m.client));
		const committed = nextEvent(members[0]!.client, Notification.TopologyCommit, 3000);
		await members[0]!.client.request(Method.TopologyReady, { epoch: 1 });
		const [commit] = await committed;
		expect(commit.topology).toBe('sfu');
		expect(commit.stragglers.sort()).toEqual([members[1]!.peerId, members[2]!.peerId].sort());
		expect(metricSample(await metrics(server), 'streaming_topology_migration_stragglers_total')).toBe(2);
	});

	it('MESH_MAX_PEERS=0 style rooms never leave the SFU', async () => {
		const res = await fetch(`http://127.0.0.1:${server.port}/api/rooms`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			// However small the room and short the cooldown.
			body: JSON.stringify({ roomId: 'stage', settings: { meshMaxPeers: 0, meshMinPeers: 5, deescalateCooldownMs: 50 } }),
		});
		expect(res.status).toBe(201);
		const solo = await member(server, 'stage', 'Host');
		clients.push(solo.client);
		expect(solo.joined).toMatchObject({ mediaMode: 'sfu', topology: { state: 'sfu', epoch: 0 } });
		await new Promise((r) => setTimeout(r, 300)); // six cooldowns
		expect(server.rooms.get('stage')?.topology.state).toBe('sfu');
		expect(solo.log).not.toContain(Notification.TopologyPrepare);
	});
});

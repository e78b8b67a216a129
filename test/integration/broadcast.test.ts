import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
	CloseCode,
	ErrorCode,
	Method,
	Notification,
	PROTOCOL_VERSION,
	type NotificationData,
	type Reaction,
	type ResponseData,
	type Role,
	type RoomDetails,
} from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import { SignalingClient, type WebSocketLike } from '../../web/src/signaling/SignalingClient.js';
import { startInProcessServer, until } from '../support/inProcessServer.js';
import { settle, withBystanders, type Outcome } from '../support/signaling.js';
import { VP8_PT, bindUdp, vp8KeyFrame } from '../support/rtp.js';

/**
 * Broadcast rooms (settings.kind broadcast): a stage (hosts and speakers)
 * and a receive-only audience that nobody hears of one by one. Against the
 * real server in this process, on two mediasoup workers, with the real
 * batching interval (broadcast.updateIntervalMs, 1 s by default).
 */

const SECRET = 'broadcast-test-secret-0123456789abcdef';
const INTERVAL_MS = 1000;
const WAIT_MS = 8000;

/** VP8 as a publisher sends it, with the feedback that lets the SFU ask it for key frames (PLI, FIR). */
const vp8Parameters = (ssrc: number) => ({
	codecs: [
		{
			mimeType: 'video/VP8',
			payloadType: VP8_PT,
			clockRate: 90000,
			rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }],
		},
	],
	encodings: [{ ssrc }],
});
const camera = (transportId: string, ssrc: number) => ({ transportId, kind: 'video' as const, source: 'camera' as const, rtpParameters: vp8Parameters(ssrc) });

interface Member {
	client: SignalingClient;
	peerId: string;
	joined: ResponseData<'join'>;
	/** Every notification it received, in order. */
	events: Array<{ method: Notification; data: unknown }>;
	/** Every frame the server sent on its socket, in order: a notification's method, or "response". */
	frames: string[];
}


function eventsOf<N extends Notification>(member: Member, method: N, since = 0): Array<NotificationData<N>> {
	return member.events
		.slice(since)
		.filter((e) => e.method === method)
		.map((e) => e.data as NotificationData<N>);
}

const lastAudience = (m: Member) => eventsOf(m, Notification.Audience).at(-1)?.count;
const lastHands = (m: Member) => eventsOf(m, Notification.Hands).at(-1)?.hands.map((h) => h.peerId);

/** Records every notification `client` receives into `events`. */
function listen(client: SignalingClient, events: Member['events']): void {
	for (const method of Object.values(Notification)) {
		(client.on as (event: string, fn: (data: unknown) => void) => unknown)(method, (data) => events.push({ method, data }));
	}
}

describe('broadcast rooms', () => {
	let server: Server;
	let base: string;
	/** What each test opened: closed after it. */
	const opened: SignalingClient[] = [];
	/**
	 * Every producer, transport and consumer the workers made, and the worker
	 * pid of each consumer (mediasoup's own observers). Producers are the
	 * peers' own: a pipe to another router makes one with the same id there.
	 */
	const producers = new Map<string, types.Producer>();
	const transports = new Map<string, types.Transport>();
	const consumerPid = new Map<string, number>();
	const consumers = new Map<string, types.Consumer>();

	beforeAll(async () => {
		server = await startInProcessServer({
			mediasoup: { numWorkers: 2 },
			auth: { tokenSecret: SECRET },
			broadcast: { updateIntervalMs: INTERVAL_MS },
			topology: { migrationTimeoutMs: 1500 },
			limits: { maxConnectionsPerAddress: 1000 },
		});
		base = `http://127.0.0.1:${server.port}`;
		expect(server.workers.workers).toHaveLength(2);
		for (const worker of server.workers.workers) {
			worker.observer.on('newrouter', (router: types.Router) =>
				router.observer.on('newtransport', (transport: types.Transport) => {
					transports.set(transport.id, transport);
					transport.observer.on('newproducer', (producer: types.Producer) => {
						if ((transport.appData as { peerId?: string }).peerId !== undefined) producers.set(producer.id, producer);
					});
					transport.observer.on('newconsumer', (consumer: types.Consumer) => {
						consumerPid.set(consumer.id, worker.pid);
						consumers.set(consumer.id, consumer);
					});
				}),
			);
		}
	});

	// A call in another room: after every test the server answers /healthz and it goes on.
	withBystanders(() => server);

	afterEach(async () => {
		for (const client of opened.splice(0)) client.close();
		// Nobody of this file is left on the SFU: placement on the workers starts even for the next test.
		await until(() => Object.values(server.workers.placedPeers).every((n) => n === 0), WAIT_MS, 'every SFU peer to go');
	});

	afterAll(async () => {
		await server?.close();
	});

	async function createRoom(roomId: string, settings: Record<string, unknown>): Promise<void> {
		const res = await fetch(`${base}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roomId, settings }) });
		expect(res.status, await res.clone().text()).toBe(201);
	}

	async function roomDetails(roomId: string): Promise<RoomDetails> {
		const res = await fetch(`${base}/api/rooms/${roomId}`);
		expect(res.status).toBe(200);
		return (await res.json()) as RoomDetails;
	}

	/** A SignalingClient whose socket counts every frame the server sends. */
	async function connect(): Promise<{ client: SignalingClient; frames: string[] }> {
		const frames: string[] = [];
		const client = await SignalingClient.connect(`ws://127.0.0.1:${server.port}/ws`, {
			requestTimeoutMs: WAIT_MS,
			createSocket: (url) => {
				const ws = new WebSocket(url);
				ws.on('message', (data: Buffer) => {
					const frame = JSON.parse(data.toString()) as { method?: string; ok?: boolean };
					frames.push('ok' in frame ? 'response' : String(frame.method));
				});
				return ws as unknown as WebSocketLike;
			},
		});
		opened.push(client);
		return { client, frames };
	}

	/** Joins `roomId`, asking for `role` (or with a token for `token.role`). */
	async function join(roomId: string, name: string, options: { role?: Role; token?: { role: Role } } = {}): Promise<Member> {
		const { client, frames } = await connect();
		const events: Member['events'] = [];
		listen(client, events);
		const token = options.token ? await server.tokens.sign({ roomId, identity: `${name}-${randomUUID()}`, role: options.token.role, displayName: name }, 600) : undefined;
		const joined = await client.request(Method.Join, {
			protocolVersion: PROTOCOL_VERSION,
			roomId,
			displayName: name,
			...(options.role ? { role: options.role } : {}),
			...(token ? { token } : {}),
		});
		return { client, peerId: joined.peerId, joined, events, frames };
	}

	/** sfu.join with the router's capabilities (a receiver gets consumers once it also has a receive transport). */
	async function sfuJoin(m: Member): Promise<void> {
		const { routerRtpCapabilities } = await m.client.request(Method.SfuGetRouterRtpCapabilities, {});
		await m.client.request(Method.SfuJoin, { rtpCapabilities: routerRtpCapabilities });
	}

	/** sfu.join and a WebRTC receive transport: the member is told of every producer on the stage (sfu.newConsumer). */
	async function receiver(m: Member): Promise<string> {
		await sfuJoin(m);
		return (await m.client.request(Method.SfuCreateTransport, { direction: 'recv' })).transportId;
	}

	/** The member's camera on a WebRTC send transport (hand-made VP8 parameters; no media flows). */
	async function publishCamera(m: Member, ssrc: number): Promise<string> {
		const { transportId } = await m.client.request(Method.SfuCreateTransport, { direction: 'send' });
		const { producerId } = await m.client.request(Method.SfuProduce, camera(transportId, ssrc));
		expect(producers.get(producerId)?.closed).toBe(false);
		return producerId;
	}

	const consumerOf = (m: Member, producerId: string) => eventsOf(m, Notification.SfuNewConsumer).find((c) => c.producerId === producerId);
	async function consumes(m: Member, producerId: string): Promise<string> {
		await until(() => consumerOf(m, producerId) !== undefined, WAIT_MS, `sfu.newConsumer of ${producerId}`);
		return consumerOf(m, producerId)?.consumerId as string;
	}

	describe('roles at join', () => {
		it('an open broadcast grants the role asked for (viewer by default); an open meeting grants participant or viewer and refuses host', async () => {
			await createRoom('roles-broadcast', { kind: 'broadcast' });
			const plain = await join('roles-broadcast', 'Vera');
			expect(plain.joined).toMatchObject({ role: 'viewer', roomKind: 'broadcast' });
			const host = await join('roles-broadcast', 'Hana', { role: 'host' });
			expect(host.joined).toMatchObject({ role: 'host', roomKind: 'broadcast' });
			const speaker = await join('roles-broadcast', 'Sam', { role: 'participant' });
			expect(speaker.joined.role).toBe('participant');
			expect((await roomDetails('roles-broadcast')).participants.map((p) => p.role).sort()).toEqual(['host', 'participant', 'viewer']);

			// A meeting made on demand.
			const { client } = await connect();
			const refused = await settle(client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'roles-meeting', displayName: 'Mallory', role: 'host' }));
			expect(refused.code).toBe(ErrorCode.PermissionDenied);
			// Refused, the socket still joins: as a viewer when it asks, as a participant when it does not.
			const asViewer = await client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'roles-meeting', displayName: 'Mallory', role: 'viewer' });
			expect(asViewer).toMatchObject({ role: 'viewer', roomKind: 'meeting' });
			const plainMeeting = await join('roles-meeting', 'Pat');
			expect(plainMeeting.joined.role).toBe('participant');
			expect((await roomDetails('roles-meeting')).participants.map((p) => p.role).sort()).toEqual(['participant', 'viewer']);
		});

		it("a token's role wins over the role asked for, in both kinds", async () => {
			await createRoom('roles-token', { kind: 'broadcast' });
			const viewer = await join('roles-token', 'Tia', { role: 'host', token: { role: 'viewer' } });
			expect(viewer.joined.role).toBe('viewer');
			const host = await join('roles-token', 'Tom', { role: 'viewer', token: { role: 'host' } });
			expect(host.joined.role).toBe('host');
			// Only a token makes a meeting's host.
			const meetingHost = await join('roles-token-meeting', 'Uma', { role: 'viewer', token: { role: 'host' } });
			expect(meetingHost.joined).toMatchObject({ role: 'host', roomKind: 'meeting' });
			const meetingViewer = await join('roles-token-meeting', 'Ugo', { role: 'host', token: { role: 'viewer' } });
			expect(meetingViewer.joined.role).toBe('viewer');
		});
	});

	describe('audience-sized signaling', () => {
		const N = 40;

		/** Every frame of the members since the marks. */
		const framesSince = (members: Member[], marks: number[]) => members.flatMap((m, i) => m.frames.slice(marks[i]));

		it(`${N} viewers join and leave: nobody hears of a viewer one by one, each join costs the server O(1) messages, every count converges to ${N}`, async () => {
			await createRoom('crowd', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('crowd', 'Host', { role: 'host' });
			const speaker = await join('crowd', 'Speaker', { role: 'participant' });
			await until(() => host.events.some((e) => e.method === Notification.PeerJoined), WAIT_MS, 'the speaker to be announced');
			const stage = [host, speaker];
			const stageMarks = stage.map((m) => m.frames.length);

			const startedAt = performance.now();
			const viewers = await Promise.all(Array.from({ length: N }, (_, i) => join('crowd', `Viewer ${i}`)));
			const everyone = [...stage, ...viewers];
			await until(() => everyone.every((m) => lastAudience(m) === N), WAIT_MS, `every audience count to reach ${N}`);
			const elapsedMs = performance.now() - startedAt;

			// A viewer's join answer lists the stage only, and the audience as a count.
			for (const v of viewers) {
				expect(v.joined).toMatchObject({ role: 'viewer', roomKind: 'broadcast', mediaMode: 'sfu' });
				expect(v.joined.peers.map((p) => p.peerId).sort()).toEqual([host.peerId, speaker.peerId].sort());
				// Itself included.
				expect(v.joined.audience).toBeGreaterThanOrEqual(1);
				expect(v.joined.audience).toBeLessThanOrEqual(N);
			}
			// The only frames: one answer per viewer, and audience counts.
			const frames = [...framesSince(stage, stageMarks), ...viewers.flatMap((v) => v.frames)];
			expect(frames.filter((f) => f !== 'response' && f !== Notification.Audience)).toEqual([]);
			expect(frames.filter((f) => f === 'response')).toHaveLength(N);
			for (const m of everyone) expect(eventsOf(m, Notification.PeerJoined).filter((p) => p.role === 'viewer')).toEqual([]);
			// Batched: the host heard at most one count per interval (plus the first at once), however many joined.
			const batches = eventsOf(host, Notification.Audience).length;
			expect(batches).toBeGreaterThanOrEqual(1);
			expect(batches).toBeLessThanOrEqual(Math.ceil(elapsedMs / INTERVAL_MS) + 1);
			const perJoin = frames.length / N;
			expect(perJoin, `${frames.length} frames for ${N} joins`).toBeLessThan(4);

			// Leaving: the same, down to 0.
			const marks = everyone.map((m) => m.frames.length);
			await Promise.all(viewers.map((v) => v.client.request(Method.Leave, {})));
			await until(() => stage.every((m) => lastAudience(m) === 0), WAIT_MS, 'the audience count to reach 0');
			const leaving = framesSince(everyone, marks);
			expect(leaving.filter((f) => f !== 'response' && f !== Notification.Audience)).toEqual([]);
			expect(leaving.length / N).toBeLessThan(4);
			expect((await roomDetails('crowd')).peers).toBe(2);
		});

		it(`the contrast: a meeting of the same size costs O(n) messages per join (everyone hears of everyone)`, async () => {
			await createRoom('crowd-meeting', { meshMaxPeers: 0 });
			const first = [await join('crowd-meeting', 'A'), await join('crowd-meeting', 'B')];
			await until(() => first[0]?.events.some((e) => e.method === Notification.PeerJoined) === true, WAIT_MS, 'B to be announced');
			const marks = first.map((m) => m.frames.length);
			const joiners = await Promise.all(Array.from({ length: N }, (_, i) => join('crowd-meeting', `P ${i}`)));
			const everyone = [...first, ...joiners];
			// Everyone knows everyone: from its join answer and the peerJoined after it.
			const known = (m: Member) => m.joined.peers.length + eventsOf(m, Notification.PeerJoined).length;
			await until(() => everyone.every((m) => known(m) >= N + 1), WAIT_MS, 'every participant to know every other');
			const frames = [...framesSince(first, marks), ...joiners.flatMap((v) => v.frames)];
			// A and B hear of all N; the k-th joiner of those after it: N(N+3)/2 in all.
			expect(frames.filter((f) => f === Notification.PeerJoined)).toHaveLength((N * (N + 3)) / 2);
			expect(frames.length / N).toBeGreaterThan(N / 2);
		});
	});

	describe('raised hands', () => {
		it('a viewer raises its hand: the hosts hear (and only they), oldest first; lowering and leaving take it down', async () => {
			await createRoom('hands', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('hands', 'Host', { role: 'host' });
			const speaker = await join('hands', 'Speaker', { role: 'participant' });
			const v1 = await join('hands', 'Vi');
			const v2 = await join('hands', 'Wu');
			expect(host.joined.hands).toEqual([]);

			const raisedFrom = Date.now();
			await v1.client.request(Method.HandRaise, { raised: true });
			await until(() => lastHands(host)?.length === 1, WAIT_MS, 'the first hand');
			const [hand] = eventsOf(host, Notification.Hands).at(-1)?.hands ?? [];
			expect(hand).toMatchObject({ peerId: v1.peerId, displayName: 'Vi' });
			expect(hand?.raisedAt).toBeGreaterThanOrEqual(raisedFrom);
			// Raising again changes nothing.
			await v1.client.request(Method.HandRaise, { raised: true });
			await v2.client.request(Method.HandRaise, { raised: true });
			await until(() => lastHands(host)?.length === 2, WAIT_MS, 'the second hand');
			expect(lastHands(host)).toEqual([v1.peerId, v2.peerId]);
			expect(server.rooms.get('hands')?.audience.hands.map((h) => h.peerId)).toEqual([v1.peerId, v2.peerId]);

			// A host joining now is told the hands up in its answer; a viewer that resumes, that its own is up.
			const late = await join('hands', 'Late host', { role: 'host' });
			expect(late.joined.hands.map((h) => h.peerId)).toEqual([v1.peerId, v2.peerId]);
			expect(v1.joined).toMatchObject({ hands: [], handRaised: false });
			const fresh = await connect();
			listen(fresh.client, v2.events);
			const replaced = new Promise<number>((resolve) => v2.client.once('close', (code) => resolve(code)));
			const resumed = await fresh.client.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken: v2.joined.resumeToken });
			expect(resumed).toMatchObject({ peerId: v2.peerId, role: 'viewer', handRaised: true, hands: [] });
			expect(await replaced).toBe(CloseCode.Replaced);
			v2.client = fresh.client;
			expect(lastHands(host)).toEqual([v1.peerId, v2.peerId]);

			await v1.client.request(Method.HandRaise, { raised: false });
			await until(() => lastHands(host)?.length === 1, WAIT_MS, 'the lowered hand to go');
			expect(lastHands(host)).toEqual([v2.peerId]);
			await v2.client.request(Method.Leave, {});
			await until(() => lastHands(host)?.length === 0, WAIT_MS, 'the leaver\'s hand to go');
			await until(() => lastHands(late)?.length === 0, WAIT_MS, 'the second host to hear it too');
			// Nobody off the hosts ever heard of a hand.
			for (const m of [speaker, v1, v2]) expect(eventsOf(m, Notification.Hands)).toEqual([]);
		});

		it('hand.raise in a meeting is WRONG_ROOM_KIND; by a host or a speaker, PERMISSION_DENIED; nothing is raised', async () => {
			const meetingViewer = await join('hands-meeting', 'Mo', { role: 'viewer' });
			expect((await settle(meetingViewer.client.request(Method.HandRaise, { raised: true }))).code).toBe(ErrorCode.WrongRoomKind);
			expect(server.rooms.get('hands-meeting')?.audience.hands).toEqual([]);

			await createRoom('hands-refused', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('hands-refused', 'Host', { role: 'host' });
			const speaker = await join('hands-refused', 'Speaker', { role: 'participant' });
			for (const m of [host, speaker]) {
				const refused = await settle(m.client.request(Method.HandRaise, { raised: true }));
				expect(refused).toMatchObject({ code: ErrorCode.PermissionDenied, reason: expect.stringContaining('hand.raise') });
			}
			expect(server.rooms.get('hands-refused')?.audience.hands).toEqual([]);
		});
	});

	describe('the stage: promote and demote', () => {
		it('a promoted viewer publishes to the audience; demoted, its producer closes and it may no longer publish', async () => {
			await createRoom('stage', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('stage', 'Host', { role: 'host' });
			const chosen = await join('stage', 'Chosen');
			const others = [await join('stage', 'Viewer B'), await join('stage', 'Viewer C')];
			for (const m of [host, chosen, ...others]) await receiver(m);
			const hostCamera = await publishCamera(host, 1001);
			for (const m of [chosen, ...others]) await consumes(m, hostCamera);

			// Before: a viewer cannot publish.
			expect((await settle(chosen.client.request(Method.SfuCreateTransport, { direction: 'send' }))).code).toBe(ErrorCode.PermissionDenied);
			await chosen.client.request(Method.HandRaise, { raised: true });
			await until(() => lastHands(host)?.includes(chosen.peerId) === true, WAIT_MS, 'the hand to reach the host');

			const marks = [host, ...others].map((m) => m.events.length);
			await host.client.request(Method.StagePromote, { peerId: chosen.peerId });
			await until(() => eventsOf(chosen, Notification.RoleChanged).length === 1, WAIT_MS, 'roleChanged');
			expect(eventsOf(chosen, Notification.RoleChanged)).toEqual([
				{ role: 'participant', by: host.peerId, mediaMode: 'sfu', topology: { state: 'sfu', epoch: expect.any(Number) } },
			]);
			// Everyone else sees a speaker join the stage, the audience included; its hand went down.
			for (const [i, m] of [host, ...others].entries()) {
				await until(() => eventsOf(m, Notification.PeerJoined, marks[i]).length === 1, WAIT_MS, 'peerJoined of the promoted viewer');
				expect(eventsOf(m, Notification.PeerJoined, marks[i])).toEqual([expect.objectContaining({ peerId: chosen.peerId, role: 'participant' })]);
			}
			await until(() => lastHands(host)?.length === 0, WAIT_MS, 'the promoted viewer\'s hand to go down');
			expect(server.rooms.get('stage')?.audienceSize).toBe(2);
			await until(() => lastAudience(host) === 2, WAIT_MS, 'the audience count to drop to 2');

			// On the stage it publishes; the audience (and the host) get consumers of it.
			const speakerCamera = await publishCamera(chosen, 2002);
			const consumersOfSpeaker = new Map<Member, string>();
			for (const m of [host, ...others]) consumersOfSpeaker.set(m, await consumes(m, speakerCamera));
			expect(consumerOf(others[0] as Member, speakerCamera)).toMatchObject({ peerId: chosen.peerId, kind: 'video', source: 'camera' });

			// Demoted: back to the audience.
			const demoteMarks = [host, ...others].map((m) => m.events.length);
			await host.client.request(Method.StageDemote, { peerId: chosen.peerId });
			await until(() => eventsOf(chosen, Notification.RoleChanged).length === 2, WAIT_MS, 'the second roleChanged');
			expect(eventsOf(chosen, Notification.RoleChanged)[1]).toMatchObject({ role: 'viewer', by: host.peerId, mediaMode: 'sfu' });
			// Its producer closed on the server; the others' consumers of it closed; they saw it leave the stage.
			expect(producers.get(speakerCamera)?.closed).toBe(true);
			for (const [i, m] of [host, ...others].entries()) {
				const consumerId = consumersOfSpeaker.get(m);
				await until(() => eventsOf(m, Notification.SfuConsumerClosed).some((c) => c.consumerId === consumerId), WAIT_MS, 'sfu.consumerClosed');
				await until(() => eventsOf(m, Notification.PeerLeft, demoteMarks[i]).length === 1, WAIT_MS, 'peerLeft of the demoted speaker');
				expect(eventsOf(m, Notification.PeerLeft, demoteMarks[i])).toEqual([{ peerId: chosen.peerId }]);
			}
			// Its send transport is gone, and it may not make another or produce; it still receives the host.
			const sendTransports = [...transports.values()].filter((t) => (t.appData as { peerId?: string; direction?: string }).peerId === chosen.peerId && (t.appData as { direction?: string }).direction === 'send');
			expect(sendTransports.map((t) => t.closed)).toEqual([true]);
			const produceAgain = await settle(chosen.client.request(Method.SfuProduce, camera(sendTransports[0]?.id as string, 2003)));
			expect(produceAgain).toMatchObject({ code: ErrorCode.PermissionDenied, reason: expect.stringContaining('sfu.produce') });
			expect((await settle(chosen.client.request(Method.SfuCreateTransport, { direction: 'send' }))).code).toBe(ErrorCode.PermissionDenied);
			const stillConsuming = consumerOf(chosen, hostCamera)?.consumerId;
			expect(eventsOf(chosen, Notification.SfuConsumerClosed).map((c) => c.consumerId)).not.toContain(stillConsuming);
			await expect(chosen.client.request(Method.SfuResumeConsumer, { consumerId: stillConsuming as string })).resolves.toEqual({});
			expect(server.rooms.get('stage')?.audienceSize).toBe(3);
			expect([...producers.values()].filter((p) => !p.closed && (p.appData as { peerId?: string }).peerId === chosen.peerId)).toEqual([]);
		});

		it('WRONG_ROLE, PEER_NOT_FOUND and PERMISSION_DENIED cases change no role', async () => {
			await createRoom('stage-refusals', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('stage-refusals', 'Host', { role: 'host' });
			const coHost = await join('stage-refusals', 'Co-host', { role: 'host' });
			const speaker = await join('stage-refusals', 'Speaker', { role: 'participant' });
			const viewer = await join('stage-refusals', 'Viewer');
			const other = await join('stage-refusals', 'Other viewer');
			const roles = () => Object.fromEntries([...(server.rooms.get('stage-refusals')?.peers ?? [])].map((p) => [p.id, p.role]));
			const before = roles();

			const cases: Array<[Member, typeof Method.StagePromote | typeof Method.StageDemote, string, string]> = [
				[host, Method.StagePromote, speaker.peerId, ErrorCode.WrongRole],
				[host, Method.StagePromote, coHost.peerId, ErrorCode.WrongRole],
				[host, Method.StageDemote, viewer.peerId, ErrorCode.WrongRole],
				[host, Method.StageDemote, coHost.peerId, ErrorCode.WrongRole],
				[host, Method.StagePromote, host.peerId, ErrorCode.PeerNotFound],
				[host, Method.StageDemote, host.peerId, ErrorCode.PeerNotFound],
				[host, Method.StagePromote, randomUUID(), ErrorCode.PeerNotFound],
				[host, Method.StageDemote, randomUUID(), ErrorCode.PeerNotFound],
				[speaker, Method.StagePromote, viewer.peerId, ErrorCode.PermissionDenied],
				[speaker, Method.StageDemote, speaker.peerId, ErrorCode.PermissionDenied],
				[viewer, Method.StagePromote, viewer.peerId, ErrorCode.PermissionDenied],
				[viewer, Method.StagePromote, other.peerId, ErrorCode.PermissionDenied],
				[viewer, Method.StageDemote, speaker.peerId, ErrorCode.PermissionDenied],
			];
			for (const [who, method, peerId, code] of cases) {
				const result = await settle(who.client.request(method, { peerId }));
				expect(result.code, `${method} ${peerId} by ${who.joined.displayName}`).toBe(code);
			}
			expect(roles()).toEqual(before);
			for (const m of [host, coHost, speaker, viewer, other]) expect(eventsOf(m, Notification.RoleChanged)).toEqual([]);

			// Another room's viewer is not in this one.
			const elsewhere = await join('stage-refusals-elsewhere', 'Elsewhere', { role: 'viewer' });
			expect((await settle(host.client.request(Method.StagePromote, { peerId: elsewhere.peerId }))).code).toBe(ErrorCode.PeerNotFound);
			// A meeting has no stage.
			const meetingHost = await join('stage-meeting', 'Meeting host', { token: { role: 'host' } });
			const meetingViewer = await join('stage-meeting', 'Meeting viewer', { role: 'viewer' });
			expect((await settle(meetingHost.client.request(Method.StagePromote, { peerId: meetingViewer.peerId }))).code).toBe(ErrorCode.WrongRoomKind);
		});
	});

	describe('viewer quality', () => {
		it("a viewer's video starts on the lowest simulcast layer and its tile may ask for more; the stage gets the best at once", async () => {
			await createRoom('layers', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('layers', 'Host', { role: 'host' });
			const speaker = await join('layers', 'Speaker', { role: 'participant' });
			const viewer = await join('layers', 'Viewer');
			for (const m of [host, speaker, viewer]) await receiver(m);
			// A browser's camera: three simulcast encodings.
			const { transportId } = await host.client.request(Method.SfuCreateTransport, { direction: 'send' });
			const { producerId } = await host.client.request(Method.SfuProduce, {
				transportId,
				kind: 'video',
				source: 'camera',
				rtpParameters: { ...vp8Parameters(0), encodings: [{ ssrc: 5001 }, { ssrc: 5002 }, { ssrc: 5003 }] },
			});
			const toViewer = consumers.get(await consumes(viewer, producerId));
			const toSpeaker = consumers.get(await consumes(speaker, producerId));
			expect(toViewer?.type).toBe('simulcast');
			expect(toViewer?.preferredLayers?.spatialLayer).toBe(0);
			expect(toSpeaker?.preferredLayers?.spatialLayer).toBe(2);
			// A large tile asks for the top layer (the SFU still holds it to what the viewer's bandwidth carries).
			await viewer.client.request(Method.SfuSetConsumerPreferredLayers, { consumerId: toViewer?.id as string, spatialLayer: 2 });
			expect(toViewer?.preferredLayers?.spatialLayer).toBe(2);
		});
	});

	describe('room.end', () => {
		it('every other socket closes with 4009 ROOM_ENDED; the host stays, alone', async () => {
			await createRoom('ending', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('ending', 'Host', { role: 'host' });
			const speaker = await join('ending', 'Speaker', { role: 'participant' });
			const viewers = [await join('ending', 'V1'), await join('ending', 'V2'), await join('ending', 'V3')];
			await receiver(viewers[0] as Member);
			await until(() => lastAudience(host) === 3, WAIT_MS, 'the audience of 3');

			const closes = [speaker, ...viewers].map((m) => new Promise<[number, string]>((resolve) => m.client.once('close', (code, reason) => resolve([code, reason]))));
			await expect(host.client.request(Method.RoomEnd, {})).resolves.toEqual({});
			for (const close of closes) expect(await close).toEqual([CloseCode.RoomEnded, 'ROOM_ENDED']);
			const details = await roomDetails('ending');
			expect(details).toMatchObject({ peers: 1, audience: 0 });
			expect(details.participants.map((p) => p.peerId)).toEqual([host.peerId]);
			// The host heard the speaker leave and the audience empty, and still has its socket.
			await until(() => lastAudience(host) === 0, WAIT_MS, 'the audience count to reach 0');
			expect(eventsOf(host, Notification.PeerLeft)).toEqual([{ peerId: speaker.peerId }]);
			expect(host.client.closed).toBe(false);
			await expect(host.client.request(Method.Chat, { text: 'still here' })).resolves.toMatchObject({ sentAt: expect.any(Number) });
		});
	});

	describe('reactions', () => {
		it('reactions from several peers within one interval arrive as one batch, counted per emoji, at everyone', async () => {
			await createRoom('cheers', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('cheers', 'Host', { role: 'host' });
			const speaker = await join('cheers', 'Speaker', { role: 'participant' });
			const [v1, v2, v3] = [await join('cheers', 'V1'), await join('cheers', 'V2'), await join('cheers', 'V3')] as [Member, Member, Member];
			const everyone = [host, speaker, v1, v2, v3];
			await until(() => everyone.every((m) => lastAudience(m) === 3), WAIT_MS, 'the audience of 3');

			// The first reaction may go out at once (the batcher was idle) or join a pending batch;
			// the ones right after it go in the next batch, together.
			await v1.client.request(Method.Reaction, { emoji: '👍' });
			const burst: Array<[Member, Reaction]> = [
				[host, '🎉'],
				[speaker, '🎉'],
				[v2, '❤️'],
				[v3, '❤️'],
				[v1, '👏'],
			];
			await Promise.all(burst.map(([m, emoji]) => m.client.request(Method.Reaction, { emoji })));
			const expected = { '👍': 1, '🎉': 2, '❤️': 2, '👏': 1 };
			const total = (m: Member) => {
				const sums: Record<string, number> = {};
				for (const batch of eventsOf(m, Notification.Reactions)) for (const { emoji, count } of batch.counts) sums[emoji] = (sums[emoji] ?? 0) + count;
				return sums;
			};
			await until(() => everyone.every((m) => Object.values(total(m)).reduce((a, b) => a + b, 0) === 6), WAIT_MS, 'all six reactions to be counted');
			for (const m of everyone) {
				expect(total(m)).toEqual(expected);
				const batches = eventsOf(m, Notification.Reactions);
				expect(batches.length).toBeGreaterThanOrEqual(1);
				expect(batches.length).toBeLessThanOrEqual(2);
				if (batches.length === 2) expect(batches[0]).toEqual({ counts: [{ emoji: '👍', count: 1 }] });
				const last = batches.at(-1)?.counts ?? [];
				expect(Object.fromEntries(last.map((c) => [c.emoji, c.count]))).toMatchObject({ '🎉': 2, '❤️': 2, '👏': 1 });
			}
		});

		it('a flood of reactions gets RATE_LIMITED; only the accepted ones are counted', async () => {
			await createRoom('flood', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('flood', 'Host', { role: 'host' });
			const viewer = await join('flood', 'V');
			const outcomes: string[] = [];
			for (let i = 0; i < 20; i++) outcomes.push((await settle(viewer.client.request(Method.Reaction, { emoji: '😂' }))).code);
			const accepted = outcomes.filter((c) => c === 'ok').length;
			expect(accepted).toBeGreaterThanOrEqual(5);
			expect(accepted).toBeLessThan(20);
			expect(outcomes.filter((c) => c !== 'ok').every((c) => c === ErrorCode.RateLimited)).toBe(true);
			const counted = () => eventsOf(host, Notification.Reactions).reduce((n, b) => n + (b.counts.find((c) => c.emoji === '😂')?.count ?? 0), 0);
			await until(() => counted() === accepted, WAIT_MS, 'the accepted reactions to be counted');
			// The flood cost the viewer nothing else: it still chats.
			await expect(viewer.client.request(Method.Chat, { text: 'sorry' })).resolves.toMatchObject({ sentAt: expect.any(Number) });
		});
	});

	describe('viewer chat pacing', () => {
		it("a viewer's burst past chatPerViewerBurst (3) is RATE_LIMITED; the stage is not paced", async () => {
			await createRoom('chatty', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('chatty', 'Host', { role: 'host' });
			const speaker = await join('chatty', 'Speaker', { role: 'participant' });
			const viewer = await join('chatty', 'V');

			const outcomes: string[] = [];
			for (let i = 0; i < 6; i++) outcomes.push((await settle(viewer.client.request(Method.Chat, { text: `v${i}` }))).code);
			expect(outcomes.slice(0, 3)).toEqual(['ok', 'ok', 'ok']);
			expect(outcomes.slice(3).filter((c) => c === ErrorCode.RateLimited).length).toBeGreaterThanOrEqual(2);
			const fromViewer = () => eventsOf(host, Notification.ChatMessage).filter((c) => c.from === viewer.peerId);
			await until(() => fromViewer().length === outcomes.filter((c) => c === 'ok').length, WAIT_MS, "the viewer's accepted messages");

			for (const m of [host, speaker]) {
				for (let i = 0; i < 20; i++) await expect(m.client.request(Method.Chat, { text: `${m.joined.displayName} ${i}` })).resolves.toMatchObject({ sentAt: expect.any(Number) });
			}
			await until(() => eventsOf(viewer, Notification.ChatMessage).length === 40, WAIT_MS, 'the stage\'s 40 messages at the viewer');
		});

		it("the audience's chat together is paced for the room: viewers each within their own burst are refused past viewerChatBurst (10)", async () => {
			await createRoom('chatty-crowd', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('chatty-crowd', 'Host', { role: 'host' });
			const viewers = await Promise.all(Array.from({ length: 5 }, (_, i) => join('chatty-crowd', `V${i}`)));
			const outcomes: Outcome[] = [];
			// 5 viewers x 3 messages: each within its own burst, 15 for the room.
			for (let round = 0; round < 3; round++) for (const v of viewers) outcomes.push(await settle(v.client.request(Method.Chat, { text: `r${round}` })));
			const accepted = outcomes.filter((o) => o.code === 'ok').length;
			expect(accepted).toBeGreaterThanOrEqual(10);
			expect(accepted).toBeLessThan(15);
			expect(outcomes.filter((o) => o.code !== 'ok')).toEqual(outcomes.filter((o) => o.code !== 'ok').map(() => expect.objectContaining({ code: ErrorCode.RateLimited })));
			await until(() => eventsOf(host, Notification.ChatMessage).length === accepted, WAIT_MS, 'the accepted messages at the host');
		});
	});

	describe('placement over two workers', () => {
		it("a broadcast's viewers spread over both workers' routers, and each consumes the stage's producer", async () => {
			await createRoom('spread', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('spread', 'Host', { role: 'host' });
			await sfuJoin(host);
			const hostCamera = await publishCamera(host, 3003);
			const viewers = await Promise.all(Array.from({ length: 6 }, (_, i) => join('spread', `V${i}`)));
			for (const v of viewers) await receiver(v);

			const pids = server.workers.workers.map((w) => w.pid).sort();
			const details = await roomDetails('spread');
			expect(details.sfuRouters).toHaveLength(2);
			expect(details.sfuRouters.map((r) => r.workerPid).sort()).toEqual(pids);
			// Each viewer consumes the host's camera, on the worker it was placed on: both of them.
			const consumerIds = await Promise.all(viewers.map((v) => consumes(v, hostCamera)));
			expect(new Set(consumerIds.map((id) => consumerPid.get(id))).size).toBe(2);
			expect([...new Set(consumerIds.map((id) => consumerPid.get(id)))].sort()).toEqual(pids);
			// Seven peers placed: four on one worker, three on the other.
			expect(Object.values(server.workers.placedPeers).sort()).toEqual([3, 4]);
			for (const v of viewers) await expect(v.client.request(Method.SfuResumeConsumer, { consumerId: consumerOf(v, hostCamera)?.consumerId as string })).resolves.toEqual({});
		});
	});

	describe('a producer made while the audience waits on both workers', () => {
		it('every viewer already waiting gets a consumer of it, however many wait on the router it is piped to', async () => {
			await createRoom('waiting', { kind: 'broadcast', meshMaxPeers: 0 });
			const host = await join('waiting', 'Host', { role: 'host' });
			await sfuJoin(host);
			// Viewers with receive transports first: four of the six wait on the other worker's router.
			const viewers = await Promise.all(Array.from({ length: 6 }, (_, i) => join('waiting', `V${i}`)));
			for (const v of viewers) await receiver(v);
			expect(new Set((await roomDetails('waiting')).sfuRouters.map((r) => r.workerPid)).size).toBe(2);
			// Then the stage publishes: the server consumes it for all of them at once (piping it to the other router once).
			const hostCamera = await publishCamera(host, 5005);
			const consumerIds = await Promise.all(viewers.map((v) => consumes(v, hostCamera)));
			expect(new Set(consumerIds.map((id) => consumerPid.get(id))).size).toBe(2);
		});
	});

	describe('the topology machine with an audience', () => {
		it('a host alone is on the mesh; the first viewer moves the room to the SFU (reason audience) and joins it directly', async () => {
			await createRoom('topo', { kind: 'broadcast' });
			const host = await join('topo', 'Host', { role: 'host' });
			expect(host.joined).toMatchObject({ mediaMode: 'mesh', topology: { state: 'mesh', epoch: 0 } });
			expect((await roomDetails('topo')).topology.state).toBe('mesh');

			const viewer = await join('topo', 'Viewer');
			await until(() => eventsOf(host, Notification.TopologyPrepare).length === 1, WAIT_MS, 'topology.prepare to the host');
			expect(eventsOf(host, Notification.TopologyPrepare)[0]).toMatchObject({ epoch: 1, target: 'sfu', reason: 'audience' });
			expect(viewer.joined).toMatchObject({ mediaMode: 'sfu', topology: { state: 'escalating', epoch: 1 }, audience: 1 });
			expect(eventsOf(viewer, Notification.TopologyPrepare)).toEqual([]);
			// The viewer sets up on the SFU at once.
			await receiver(viewer);

			await host.client.request(Method.TopologyReady, { epoch: 1 });
			for (const m of [host, viewer]) {
				await until(() => eventsOf(m, Notification.TopologyCommit).length === 1, WAIT_MS, 'topology.commit');
				expect(eventsOf(m, Notification.TopologyCommit)[0]).toMatchObject({ epoch: 1, topology: 'sfu', stragglers: [] });
			}
			expect((await roomDetails('topo')).topology).toEqual({ state: 'sfu', epoch: 1 });
			// A second viewer joins the SFU directly, and nobody migrates.
			const second = await join('topo', 'Second viewer');
			expect(second.joined).toMatchObject({ mediaMode: 'sfu', topology: { state: 'sfu', epoch: 1 } });
			expect(eventsOf(host, Notification.TopologyPrepare)).toHaveLength(1);
		});

		it("a host that never answers the move keeps its audience on the SFU: the viewer's receive side survives the migration timeout", async () => {
			await createRoom('topo-silent', { kind: 'broadcast' });
			const host = await join('topo-silent', 'Silent host', { role: 'host' });
			const viewer = await join('topo-silent', 'Viewer');
			expect(viewer.joined.mediaMode).toBe('sfu');
			const recv = await receiver(viewer);
			// The host never sends topology.ready: the migration times out (1.5 s here).
			await until(
				() => eventsOf(host, Notification.TopologyCommit).length + eventsOf(host, Notification.TopologyAbort).length > 0,
				WAIT_MS,
				'the migration to end',
			);
			const ended = [...eventsOf(viewer, Notification.TopologyCommit), ...eventsOf(viewer, Notification.TopologyAbort)];
			// With an audience the room has nowhere else to go: it ends on the SFU, and the viewer's transport is still there.
			expect(ended.map((e) => e.topology)).toEqual(['sfu']);
			expect((await roomDetails('topo-silent')).topology.state).toBe('sfu');
			expect(transports.get(recv)?.closed).toBe(false);
			await expect(viewer.client.request(Method.SfuRestartIce, { transportId: recv })).resolves.toMatchObject({ iceParameters: expect.any(Object) });
		});

		it("a host whose SFU setup fails (topology.failed) does not take the audience off the SFU", async () => {
			await createRoom('topo-failing', { kind: 'broadcast' });
			const host = await join('topo-failing', 'Failing host', { role: 'host' });
			const viewer = await join('topo-failing', 'Viewer');
			expect(viewer.joined).toMatchObject({ mediaMode: 'sfu', topology: { state: 'escalating', epoch: 1 } });
			const recv = await receiver(viewer);
			await expect(host.client.request(Method.TopologyFailed, { epoch: 1, reason: 'no SFU path' })).resolves.toEqual({});
			// Whatever the machine does with the failure, the room may not go back to the mesh: its audience is on the SFU.
			await until(() => eventsOf(viewer, Notification.TopologyCommit).length + eventsOf(viewer, Notification.TopologyAbort).length > 0, WAIT_MS, 'the migration to end');
			expect([...eventsOf(viewer, Notification.TopologyCommit), ...eventsOf(viewer, Notification.TopologyAbort)].map((e) => e.topology)).toEqual(['sfu']);
			expect((await roomDetails('topo-failing')).topology.state).toBe('sfu');
			expect(transports.get(recv)?.closed).toBe(false);
		});
	});

	describe('key-frame requests reaching a publisher are coalesced', () => {
		it('with sfu.keyFrameRequestDelayMs 1000, dozens of sfu.resumeConsumer from viewers on both workers reach the publisher as about one PLI a second', async () => {
			const run = await keyFrameRun(server, 'keyframes', producers);
			expect(run.requests).toBeGreaterThanOrEqual(30);
			expect(run.plis).toBeGreaterThanOrEqual(1);
			expect(run.plis, `${run.plis} PLI/FIR for ${run.requests} requests in ${run.windowMs.toFixed(0)} ms`).toBeLessThanOrEqual(Math.ceil(run.windowMs / 1000) + 1);
			expect(new Set(run.viewerPids).size).toBe(2);
		});

		it('the control: with keyFrameRequestDelayMs 0 the same requests reach the publisher (nearly) one for one', async () => {
			const control = await startInProcessServer({ mediasoup: { numWorkers: 2 }, sfu: { keyFrameRequestDelayMs: 0 } });
			const controlProducers = new Map<string, types.Producer>();
			for (const worker of control.workers.workers) {
				worker.observer.on('newrouter', (router: types.Router) =>
					router.observer.on('newtransport', (transport: types.Transport) =>
						transport.observer.on('newproducer', (producer: types.Producer) => {
							if (!controlProducers.has(producer.id)) controlProducers.set(producer.id, producer);
						}),
					),
				);
			}
			try {
				const run = await keyFrameRun(control, 'keyframes-control', controlProducers);
				expect(run.plis, `${run.plis} PLI/FIR for ${run.requests} requests`).toBeGreaterThanOrEqual(run.requests / 2);
				expect(run.plis).toBeGreaterThan(Math.ceil(run.windowMs / 1000) + 1);
			} finally {
				await control.close();
			}
		});
	});

	/**
	 * A host publishes hand-made VP8 (every packet a key frame, 100 a second)
	 * on a plain RTP transport the room adopts; four viewers receive it on
	 * plain transports to a UDP sink (connected, so their key-frame requests
	 * count) and call sfu.resumeConsumer over and over, each time once a
	 * packet sent after the previous request reached the sink (so a key
	 * frame arrived in between and nothing else holds the next request
	 * back). Returns the requests and the PLI/FIR the producer sent meanwhile.
	 */
	async function keyFrameRun(target: Server, roomId: string, seen: Map<string, types.Producer>) {
		const res = await fetch(`http://127.0.0.1:${target.port}/api/rooms`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ roomId, settings: { kind: 'broadcast', meshMaxPeers: 0 } }),
		});
		expect(res.status).toBe(201);
		const clients: SignalingClient[] = [];
		const joinAs = async (name: string, role?: Role) => {
			const client = await SignalingClient.connect(`ws://127.0.0.1:${target.port}/ws`, {
				requestTimeoutMs: WAIT_MS,
				createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
			});
			clients.push(client);
			const newConsumers: Array<NotificationData<'sfu.newConsumer'>> = [];
			client.on(Notification.SfuNewConsumer, (c) => newConsumers.push(c));
			const joined = await client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId, displayName: name, ...(role ? { role } : {}) });
			await client.request(Method.SfuJoin, { rtpCapabilities: (await client.request(Method.SfuGetRouterRtpCapabilities, {})).routerRtpCapabilities });
			return { client, peerId: joined.peerId, newConsumers };
		};
		const sink = await bindUdp();
		const sender = await bindUdp();
		let sinkSeq = -1;
		/** The media SSRCs of the viewers' consumers: what the sink reads (not RTCP, nor the SFU's probation packets). */
		const mediaSsrcs = new Set<number>();
		sink.on('message', (packet: Buffer) => {
			if (packet.length >= 16 && mediaSsrcs.has(packet.readUInt32BE(8))) sinkSeq = Math.max(sinkSeq, packet.readUInt32BE(packet.length - 4));
		});
		let seq = 0;
		let timer: NodeJS.Timeout | undefined;
		try {
			const host = await joinAs('Host', 'host');
			const room = target.sfuRooms.get(roomId);
			if (!room) throw new Error('no SFU room after the host\'s sfu.join');
			const send = (await room.attachTransport(host.peerId, 'send', (router) =>
				router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: true }),
			)) as types.PlainTransport;
			const ssrc = 4004;
			const { producerId } = await host.client.request(Method.SfuProduce, camera(send.id, ssrc));
			const producer = seen.get(producerId) as types.Producer;
			expect(producer.kind).toBe('video');
			// 100 packets a second, every one a key frame; bounded: at most 60 s of them.
			timer = setInterval(() => {
				if (seq < 6000) sender.send(vp8KeyFrame(++seq, ssrc), send.tuple.localPort, '127.0.0.1');
			}, 10);

			const viewers: Array<Awaited<ReturnType<typeof joinAs>> & { consumerId: string }> = [];
			const viewerPids: number[] = [];
			for (let i = 0; i < 4; i++) {
				const v = await joinAs(`Viewer ${i}`);
				await room.attachTransport(v.peerId, 'recv', async (router) => {
					viewerPids.push((router.appData as { workerPid: number }).workerPid);
					const transport = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
					await transport.connect({ ip: '127.0.0.1', port: sink.address().port });
					return transport;
				});
				await until(() => v.newConsumers.some((c) => c.producerId === producerId), WAIT_MS, 'the viewer\'s consumer');
				const announced = v.newConsumers.find((c) => c.producerId === producerId);
				const consumerId = announced?.consumerId as string;
				mediaSsrcs.add(announced?.rtpParameters.encodings?.[0]?.ssrc as number);
				await v.client.request(Method.SfuResumeConsumer, { consumerId });
				viewers.push({ ...v, consumerId });
			}
			// Media flows to the viewers; then the window starts.
			const flowing = seq;
			await until(() => sinkSeq > flowing, WAIT_MS, 'media at the viewers');
			const pliFir = async () => {
				const stats = (await producer.getStats()) as Array<{ pliCount?: number; firCount?: number }>;
				return stats.reduce((n, s) => n + (s.pliCount ?? 0) + (s.firCount ?? 0), 0);
			};
			const windowStart = performance.now();
			const before = await pliFir();
			let requests = 0;
			// At least 2 s of requests (a whole delay interval inside the window, so at least one must pass), at most 400.
			for (let round = 0; round < 100 && (performance.now() - windowStart < 2000 || requests < 40); round++) {
				for (const v of viewers) {
					await v.client.request(Method.SfuResumeConsumer, { consumerId: v.consumerId });
					requests++;
					// A packet sent after this request reached a viewer: the producer got a key frame since.
					const after = seq + 1;
					await until(() => sinkSeq >= after, WAIT_MS, 'a packet sent after the request');
				}
			}
			const plis = (await pliFir()) - before;
			const windowMs = performance.now() - windowStart;
			return { requests, plis, windowMs, viewerPids };
		} finally {
			clearInterval(timer);
			for (const c of clients) c.close();
			sink.close();
			sender.close();
		}
	}
});

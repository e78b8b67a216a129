import { randomUUID } from 'node:crypto';
import type { types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	CloseCode,
	ErrorCode,
	Method,
	Notification,
	PROTOCOL_VERSION,
	type MeshSignal,
	type NotificationData,
	type Reaction,
	type ResponseData,
	type Role,
} from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import type { SignalingClient } from '../../web/src/signaling/SignalingClient.js';
import { startInProcessServer, until } from '../support/inProcessServer.js';
import { metricSample } from '../support/metrics.js';
import { connectClient, nextEvent, settle, withBystanders } from '../support/signaling.js';

/**
 * Permissions per role, with a test per role and request. The expectation
 * matrix below is written out by hand from the spec (viewers receive but
 * never publish; only hosts manage the room); it is deliberately NOT derived
 * from core/protocol/permissions.ts, so this checks the server against the
 * spec rather than against itself.
 */

const SECRET = 'permissions-test-secret-0123456789abcdef';
const ROLES = ['host', 'participant', 'viewer'] as const satisfies readonly Role[];

const DENIED = ErrorCode.PermissionDenied;
type Outcome = 'ok' | ErrorCode;
interface Row {
	method: Method;
	host: Outcome;
	participant: Outcome;
	viewer: Outcome;
}

/**
 * THE MATRIX. "ok": allowed and made to succeed here. Another error code:
 * allowed (it passed the permission check) but refused for another reason
 * that is expected in this setting. PERMISSION_DENIED: refused for the role.
 */
const MATRIX = {
	// In the SFU room (settings {meshMaxPeers: 0}).
	'join': { method: Method.Join, host: 'ok', participant: 'ok', viewer: 'ok' },
	'resume': { method: Method.Resume, host: 'ok', participant: 'ok', viewer: 'ok' },
	'sfu.getRouterRtpCapabilities': { method: Method.SfuGetRouterRtpCapabilities, host: 'ok', participant: 'ok', viewer: 'ok' },
	'sfu.join': { method: Method.SfuJoin, host: 'ok', participant: 'ok', viewer: 'ok' },
	'sfu.createTransport {direction: send}': { method: Method.SfuCreateTransport, host: 'ok', participant: 'ok', viewer: DENIED },
	'sfu.createTransport {direction: recv}': { method: Method.SfuCreateTransport, host: 'ok', participant: 'ok', viewer: 'ok' },
	'sfu.connectTransport': { method: Method.SfuConnectTransport, host: 'ok', participant: 'ok', viewer: 'ok' },
	'sfu.restartIce': { method: Method.SfuRestartIce, host: 'ok', participant: 'ok', viewer: 'ok' },
	// Allowed to all; tried on an id that is nobody's, so the transports later rows use stay (limits.test.ts closes a real one).
	'sfu.closeTransport': { method: Method.SfuCloseTransport, host: ErrorCode.SfuObjectNotFound, participant: ErrorCode.SfuObjectNotFound, viewer: ErrorCode.SfuObjectNotFound },
	'sfu.produce': { method: Method.SfuProduce, host: 'ok', participant: 'ok', viewer: DENIED },
	'sfu.pauseProducer': { method: Method.SfuPauseProducer, host: 'ok', participant: 'ok', viewer: DENIED },
	'sfu.resumeProducer': { method: Method.SfuResumeProducer, host: 'ok', participant: 'ok', viewer: DENIED },
	'sfu.resumeConsumer': { method: Method.SfuResumeConsumer, host: 'ok', participant: 'ok', viewer: 'ok' },
	'sfu.setConsumerPreferredLayers': { method: Method.SfuSetConsumerPreferredLayers, host: 'ok', participant: 'ok', viewer: 'ok' },
	'mediaState': { method: Method.MediaState, host: 'ok', participant: 'ok', viewer: DENIED },
	'chat': { method: Method.Chat, host: 'ok', participant: 'ok', viewer: 'ok' },
	'qualityReport': { method: Method.QualityReport, host: 'ok', participant: 'ok', viewer: 'ok' },
	// No migration is in progress in a room that is on the SFU from its first peer.
	'topology.ready': { method: Method.TopologyReady, host: ErrorCode.StaleEpoch, participant: ErrorCode.StaleEpoch, viewer: ErrorCode.StaleEpoch },
	'topology.failed': { method: Method.TopologyFailed, host: ErrorCode.StaleEpoch, participant: ErrorCode.StaleEpoch, viewer: ErrorCode.StaleEpoch },
	// Everyone repairs what it receives on (a viewer its SFU receive transport), and reports it.
	'media.repair': { method: Method.MediaRepair, host: 'ok', participant: 'ok', viewer: 'ok' },
	// Everyone in a meeting may look at the room's connections (the topology inspector); a broadcast's audience may not (below).
	'room.inspect': { method: Method.RoomInspect, host: 'ok', participant: 'ok', viewer: 'ok' },
	'sfu.closeProducer': { method: Method.SfuCloseProducer, host: 'ok', participant: 'ok', viewer: DENIED },
	'leave': { method: Method.Leave, host: 'ok', participant: 'ok', viewer: 'ok' },
	'room.removePeer': { method: Method.RoomRemovePeer, host: 'ok', participant: DENIED, viewer: DENIED },
	// Everyone may react (reactions go with chat); a viewer too.
	'reaction': { method: Method.Reaction, host: 'ok', participant: 'ok', viewer: 'ok' },
	// A broadcast's requests in this meeting: the roles allowed them pass the permission check, then the meeting refuses them.
	'hand.raise': { method: Method.HandRaise, host: DENIED, participant: DENIED, viewer: ErrorCode.WrongRoomKind },
	'stage.promote': { method: Method.StagePromote, host: ErrorCode.WrongRoomKind, participant: DENIED, viewer: DENIED },
	'stage.demote': { method: Method.StageDemote, host: ErrorCode.WrongRoomKind, participant: DENIED, viewer: DENIED },
	// Last: the host's ends the room for the others.
	'room.end': { method: Method.RoomEnd, host: 'ok', participant: DENIED, viewer: DENIED },
	// In a broadcast room of its own (settings {kind: broadcast, meshMaxPeers: 0}): the stage and its audience.
	'broadcast: hand.raise': { method: Method.HandRaise, host: DENIED, participant: DENIED, viewer: 'ok' },
	'broadcast: stage.promote': { method: Method.StagePromote, host: 'ok', participant: DENIED, viewer: DENIED },
	'broadcast: stage.demote': { method: Method.StageDemote, host: 'ok', participant: DENIED, viewer: DENIED },
	'broadcast: reaction': { method: Method.Reaction, host: 'ok', participant: 'ok', viewer: 'ok' },
	'broadcast: room.inspect': { method: Method.RoomInspect, host: 'ok', participant: 'ok', viewer: DENIED },
	'broadcast: room.end': { method: Method.RoomEnd, host: 'ok', participant: DENIED, viewer: DENIED },
	// In a mesh room (default settings): what the description's SDP does decides.
	'signal: candidate': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: 'ok' },
	'signal: renegotiate': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: 'ok' },
	'signal: offer, audio and video recvonly': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: 'ok' },
	'signal: answer, video recvonly': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: 'ok' },
	'signal: answer, video inactive': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: 'ok' },
	'signal: offer, data channel only': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: 'ok' },
	'signal: offer, video sendrecv': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: DENIED },
	'signal: answer, video sendonly': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: DENIED },
	'signal: offer, video with no direction attribute': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: DENIED },
	'signal: offer, audio recvonly and video sendrecv': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: DENIED },
	'signal: offer, audio sendrecv (Chromium-like, bundled)': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: DENIED },
	'signal: transceiverRequest': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: DENIED },
	// Ways a browser can still be told to expect media (each checked against Chromium 156's own reading).
	'signal: offer, session-level recvonly, video with no direction': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: DENIED },
	'signal: offer, video sendrecv on port 0 with bundle-only': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: DENIED },
	'signal: offer, video "recvonly" followed by a tab': { method: Method.Signal, host: 'ok', participant: 'ok', viewer: DENIED },
} as const satisfies Record<string, Row>;
type CaseName = keyof typeof MATRIX;

const VP8_CAMERA = (ssrc: number) => ({
	transportId: '',
	kind: 'video' as const,
	source: 'camera' as const,
	rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }], encodings: [{ ssrc }] },
});
const DTLS = {
	role: 'client',
	fingerprints: [{ algorithm: 'sha-256', value: '82:5A:68:3D:36:C3:0A:DE:AF:E7:32:43:D2:88:83:57:AC:2D:65:E5:80:C4:B6:FB:AF:1A:A0:21:9F:6D:0C:AD' }],
};
const QUALITY = {
	intervalMs: 2000,
	connections: [{ remotePeerId: 'sfu', path: 'sfu' as const, outboundBitrateBps: 0, availableOutgoingBitrateBps: null, rttMs: 12, packetLoss: 0 }],
};

/** Hand-made SDP: a session, then the given m-sections. */
const sdp = (...sections: string[]) => `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n${sections.join('')}`;
const videoSection = (direction?: string, mid = '1') =>
	`m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:${mid}\r\n${direction ? `a=${direction}\r\n` : ''}a=rtpmap:96 VP8/90000\r\n`;
const audioSection = (direction?: string, mid = '0') =>
	`m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:${mid}\r\n${direction ? `a=${direction}\r\n` : ''}a=rtpmap:111 opus/48000/2\r\n`;
const CHROMIUM_LIKE_AUDIO_OFFER =
	'v=0\r\no=- 7245639965534812281 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n' +
	'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:tWFB\r\na=ice-pwd:/ENBRfqUHTChoWJAeNKxXyoF\r\n' +
	'a=ice-options:trickle\r\na=fingerprint:sha-256 CD:CA:62:72:2C:08:19:85:24:D2:31:1E:C4:89:BF:D5:66:88:48:05:C2:8D:4B:23:FB:CA:AE:5A:11:0F:36:4C\r\n' +
	'a=setup:actpass\r\na=mid:0\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\na=sendrecv\r\na=msid:- d85654b9-4fdc-42e7-8808-f17e3b68def0\r\n' +
	'a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=ssrc:2112671440 cname:VIGaqM5oolkBsoOn\r\n';

const SIGNALS: Partial<Record<CaseName, MeshSignal>> = {
	'signal: candidate': { kind: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
	'signal: renegotiate': { kind: 'renegotiate' },
	'signal: offer, audio and video recvonly': { kind: 'description', description: { type: 'offer', sdp: sdp(audioSection('recvonly'), videoSection('recvonly')) } },
	'signal: answer, video recvonly': { kind: 'description', description: { type: 'answer', sdp: sdp(videoSection('recvonly')) } },
	'signal: answer, video inactive': { kind: 'description', description: { type: 'answer', sdp: sdp(videoSection('inactive')) } },
	'signal: offer, data channel only': {
		kind: 'description',
		description: { type: 'offer', sdp: sdp('m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sctp-port:5000\r\n') },
	},
	'signal: offer, video sendrecv': { kind: 'description', description: { type: 'offer', sdp: sdp(videoSection('sendrecv')) } },
	'signal: answer, video sendonly': { kind: 'description', description: { type: 'answer', sdp: sdp(videoSection('sendonly')) } },
	'signal: offer, video with no direction attribute': { kind: 'description', description: { type: 'offer', sdp: sdp(videoSection()) } },
	'signal: offer, audio recvonly and video sendrecv': {
		kind: 'description',
		description: { type: 'offer', sdp: sdp(audioSection('recvonly'), videoSection('sendrecv')) },
	},
	'signal: offer, audio sendrecv (Chromium-like, bundled)': { kind: 'description', description: { type: 'offer', sdp: CHROMIUM_LIKE_AUDIO_OFFER } },
	'signal: transceiverRequest': { kind: 'transceiverRequest', mediaKind: 'video' },
	'signal: offer, session-level recvonly, video with no direction': {
		kind: 'description',
		description: { type: 'offer', sdp: sdp('a=recvonly\r\n', videoSection()) },
	},
	'signal: offer, video sendrecv on port 0 with bundle-only': {
		kind: 'description',
		description: {
			type: 'offer',
			sdp: sdp('a=group:BUNDLE 0 1\r\n', audioSection('recvonly'), videoSection('sendrecv\r\na=bundle-only').replace('m=video 9', 'm=video 0')),
		},
	},
	'signal: offer, video "recvonly" followed by a tab': { kind: 'description', description: { type: 'offer', sdp: sdp(audioSection('recvonly'), videoSection('recvonly\t')) } },
};

interface Member {
	role: Role;
	roomId: string;
	token: string;
	client: SignalingClient;
	peerId: string;
	resumeToken: string;
	/** Every notification it received, in order (across resumes). */
	events: Array<{ method: Notification; data: unknown }>;
}


function listen(member: Member, client: SignalingClient): void {
	for (const method of Object.values(Notification)) {
		(client.on as (event: string, fn: (data: unknown) => void) => unknown)(method, (data) => member.events.push({ method, data }));
	}
}

function eventsOf<N extends Notification>(member: Member, method: N, since = 0): Array<NotificationData<N>> {
	return member.events
		.slice(since)
		.filter((e) => e.method === method)
		.map((e) => e.data as NotificationData<N>);
}

/** The emoji each role reacts with (a different one each, so whose arrived is plain). */
const EMOJI: Record<Role, Reaction> = { host: '👏', participant: '🎉', viewer: '❤️' };

/** Waits until `member` heard a `reactions` batch counting `emoji`, after its event number `since`. */
function heardReaction(member: Member, emoji: Reaction, since: number): Promise<void> {
	return until(
		() => eventsOf(member, Notification.Reactions, since).some((batch) => batch.counts.some((c) => c.emoji === emoji && c.count >= 1)),
		5000,
		`a reactions batch counting ${emoji}`,
	);
}

describe('Permissions per role', () => {
	let server: Server;
	let base: string;
	/** Every producer the worker made, seen from mediasoup's own observer (not from the code under test). */
	const producers = new Map<string, types.Producer>();

	beforeAll(async () => {
		server = await startInProcessServer({ auth: { tokenSecret: SECRET } });
		base = `http://127.0.0.1:${server.port}`;
		for (const worker of server.workers.workers) {
			worker.observer.on('newrouter', (router: types.Router) =>
				router.observer.on('newtransport', (transport: types.Transport) =>
					transport.observer.on('newproducer', (producer: types.Producer) => producers.set(producer.id, producer)),
				),
			);
		}
	});

	// A call in another room: after every test the server answers /healthz and it goes on.
	withBystanders(() => server);

	afterAll(async () => {
		await server?.close();
	});

	async function createRoom(roomId: string, settings: Record<string, unknown>): Promise<void> {
		const res = await fetch(`${base}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roomId, settings }) });
		expect(res.status).toBe(201);
	}

	async function joinAs(role: Role, roomId: string, identity = `${role}-${roomId}`): Promise<Member> {
		const token = await server.tokens.sign({ roomId, identity, role, displayName: `${role} ${roomId}` }, 600);
		const client = await connectClient(server.port);
		const member: Member = { role, roomId, token, client, peerId: '', resumeToken: '', events: [] };
		listen(member, client);
		const joined = await client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId, displayName: 'ignored', token });
		expect(joined.role).toBe(role);
		member.peerId = joined.peerId;
		member.resumeToken = joined.resumeToken;
		return member;
	}

	async function producersGauge(): Promise<number | undefined> {
		return metricSample(await (await fetch(`${base}/metrics`)).text(), 'streaming_sfu_producers');
	}

	describe('THE headline case, in an SFU room of its own', () => {
		let viewer: Member;
		let participant: Member;
		let viewerRecv: string;
		let participantSend: string;

		beforeAll(async () => {
			await createRoom('solo-stage', { meshMaxPeers: 0 });
			participant = await joinAs('participant', 'solo-stage');
			viewer = await joinAs('viewer', 'solo-stage');
			const { routerRtpCapabilities } = await viewer.client.request(Method.SfuGetRouterRtpCapabilities, {});
			await viewer.client.request(Method.SfuJoin, { rtpCapabilities: routerRtpCapabilities });
			viewerRecv = (await viewer.client.request(Method.SfuCreateTransport, { direction: 'recv' })).transportId;
			participantSend = (await participant.client.request(Method.SfuCreateTransport, { direction: 'send' })).transportId;
		});

		afterAll(() => {
			viewer?.client.close();
			participant?.client.close();
		});

		it("a viewer's sfu.produce (plausible transport ids, real-looking VP8) is PERMISSION_DENIED and the server creates no producer", async () => {
			expect(producers.size).toBe(0);
			// Its own receive transport, a participant's real send transport, and a well-formed id of nothing.
			for (const transportId of [viewerRecv, participantSend, randomUUID()]) {
				for (const paused of [undefined, true]) {
					const result = await settle(
						viewer.client.request(Method.SfuProduce, { ...VP8_CAMERA(1111), transportId, ...(paused === undefined ? {} : { paused }) }),
					);
					expect(result).toMatchObject({ code: DENIED, reason: expect.stringContaining('sfu.produce') });
				}
			}
			const screen = await settle(viewer.client.request(Method.SfuProduce, { ...VP8_CAMERA(1112), source: 'screen', transportId: viewerRecv }));
			expect(screen.code).toBe(DENIED);

			expect(producers.size).toBe(0);
			expect(server.sfuStats.counts.producers).toBe(0);
			expect(await producersGauge()).toBe(0);
			const details = (await (await fetch(`${base}/api/rooms/solo-stage`)).json()) as { participants: Array<{ peerId: string; role: string }> };
			expect(details.participants).toContainEqual(expect.objectContaining({ peerId: viewer.peerId, role: 'viewer' }));
			// The refusal cost the viewer nothing it may do: it still receives.
			await expect(viewer.client.request(Method.SfuRestartIce, { transportId: viewerRecv })).resolves.toMatchObject({ iceParameters: expect.any(Object) });
		});

		it("a participant's camera produce works, and the viewer (sfu.join with the router's capabilities, a recv transport) gets sfu.newConsumer for it", async () => {
			const newConsumer = nextEvent(viewer.client, Notification.SfuNewConsumer);
			const { producerId } = await participant.client.request(Method.SfuProduce, { ...VP8_CAMERA(2222), transportId: participantSend });
			expect(producers.get(producerId)?.kind).toBe('video');
			expect(await producersGauge()).toBe(1);
			const [consumer] = await newConsumer;
			expect(consumer).toMatchObject({ producerId, peerId: participant.peerId, kind: 'video', source: 'camera', producerPaused: false });
			expect(JSON.stringify(consumer.rtpParameters.codecs)).toContain('video/VP8');
			await expect(viewer.client.request(Method.SfuResumeConsumer, { consumerId: consumer.consumerId })).resolves.toEqual({});
			expect(server.sfuStats.counts.consumers).toBe(1);
		});
	});

	describe('in an SFU room (settings {meshMaxPeers: 0}): a test per request and role', () => {
		const ROOM = 'stage';
		const members = {} as Record<Role, Member>;
		let routerCaps: Record<string, unknown> | undefined;
		/** What each member made on the SFU, once (lazily, so that each test can also run alone). */
		let made = new Map<string, Promise<string>>();
		/** Where the member that must hear a reaction was in its events when it was sent. */
		let reactionsSince = 0;

		beforeAll(async () => {
			await createRoom(ROOM, { meshMaxPeers: 0 });
			for (const role of ROLES) members[role] = await joinAs(role, ROOM);
		});

		afterAll(() => {
			for (const role of ROLES) members[role]?.client.close();
		});

		function once(key: string, make: () => Promise<string>): Promise<string> {
			let promise = made.get(key);
			if (!promise) {
				promise = make();
				made.set(key, promise);
				promise.catch(() => made.delete(key));
			}
			return promise;
		}
		const forget = (role: Role) => (made = new Map([...made].filter(([key]) => !key.startsWith(`${role}:`))));

		async function caps(m: Member): Promise<Record<string, unknown>> {
			const { routerRtpCapabilities } = await m.client.request(Method.SfuGetRouterRtpCapabilities, {});
			routerCaps = routerRtpCapabilities;
			return routerRtpCapabilities;
		}
		const sfuJoined = (m: Member) =>
			once(`${m.role}:sfu.join`, async () => {
				await m.client.request(Method.SfuJoin, { rtpCapabilities: routerCaps ?? (await caps(m)) });
				return '';
			});
		const transport = (m: Member, direction: 'send' | 'recv') =>
			once(`${m.role}:${direction}`, async () => (await m.client.request(Method.SfuCreateTransport, { direction })).transportId);
		const ssrcs: Record<Role, number> = { host: 3333, participant: 2222, viewer: 4444 };
		const producer = (m: Member) =>
			once(`${m.role}:producer`, async () => {
				const transportId = await transport(m, 'send');
				return (await m.client.request(Method.SfuProduce, { ...VP8_CAMERA(ssrcs[m.role]), transportId })).producerId;
			});
		/** A consumer of another publisher's camera (the participant's; the host's for the participant). */
		const consumer = (m: Member) =>
			once(`${m.role}:consumer`, async () => {
				await sfuJoined(m);
				await transport(m, 'recv');
				const publisher = members[m.role === 'participant' ? 'host' : 'participant'];
				const producerId = await producer(publisher);
				let consumerId: string | undefined;
				await until(
					() => (consumerId = eventsOf(m, Notification.SfuNewConsumer).find((c) => c.producerId === producerId)?.consumerId) !== undefined,
					5000,
					`${m.role}'s consumer of ${publisher.role}'s camera`,
				);
				return consumerId as string;
			});

		/** What the server holds that a refused request must not have changed. */
		function snapshot() {
			const room = server.rooms.get(ROOM);
			return {
				sfu: server.sfuStats.counts,
				producers: [...producers.values()].map((p) => ({ id: p.id, paused: p.paused, closed: p.closed })),
				peers: [...(room?.peers ?? [])].map((p) => ({ ...p.info, state: p.state })).sort((a, b) => a.peerId.localeCompare(b.peerId)),
				hands: room?.audience.hands,
			};
		}

		/** Per case: the request (plausible for the role, made to succeed where allowed) and what an allowed one must have done. */
		interface Case {
			name: CaseName;
			/** The roles in the order they try (default: host, participant, viewer). */
			order?: readonly Role[];
			/** What the request names (made before the server's state is compared). */
			prepare?: (m: Member) => Promise<{ id: string }>;
			/** The request, plausible for the role; made to succeed where it is allowed. */
			run: (m: Member, prepared: { id: string }) => Promise<unknown>;
			/** What an allowed request must have done. */
			check?: (m: Member, data: unknown) => Promise<void> | void;
		}
		const CASES: Case[] = [
			{
				name: 'join',
				run: async (m) => {
					const extra = await joinAs(m.role, ROOM, `${m.role}-second-device`);
					extra.client.close();
					return extra.peerId;
				},
			},
			{
				name: 'resume',
				run: async (m) => {
					const client = await connectClient(server.port);
					listen(m, client);
					const replaced = nextEvent(m.client, 'close');
					const resumed = await client.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken: m.resumeToken });
					expect(resumed).toMatchObject({ peerId: m.peerId, role: m.role });
					expect((await replaced)[0]).toBe(CloseCode.Replaced);
					m.client = client;
					m.resumeToken = resumed.resumeToken;
					return resumed;
				},
			},
			{
				name: 'sfu.getRouterRtpCapabilities',
				run: (m) => caps(m),
				check: (_m, data) => expect(JSON.stringify(data)).toContain('video/VP8'),
			},
			{ name: 'sfu.join', run: (m) => sfuJoined(m) },
			{
				name: 'sfu.createTransport {direction: send}',
				run: (m) => (m.role === 'viewer' ? m.client.request(Method.SfuCreateTransport, { direction: 'send' }) : transport(m, 'send')),
			},
			{ name: 'sfu.createTransport {direction: recv}', run: (m) => transport(m, 'recv') },
			{
				name: 'sfu.connectTransport',
				prepare: async (m) => ({ id: await transport(m, 'recv') }),
				run: (m, p) => m.client.request(Method.SfuConnectTransport, { transportId: p.id, dtlsParameters: DTLS }),
			},
			{
				name: 'sfu.restartIce',
				prepare: async (m) => ({ id: await transport(m, 'recv') }),
				run: (m, p) => m.client.request(Method.SfuRestartIce, { transportId: p.id }),
				check: (_m, data) => expect(data).toMatchObject({ iceParameters: { usernameFragment: expect.any(String) } }),
			},
			{ name: 'sfu.closeTransport', run: (m) => m.client.request(Method.SfuCloseTransport, { transportId: 'nobody-s-transport' }) },
			{
				name: 'sfu.produce',
				// A viewer tries its own (receive) transport: the only one it can have.
				prepare: async (m) => ({ id: await transport(m, m.role === 'viewer' ? 'recv' : 'send') }),
				run: (m, p) => (m.role === 'viewer' ? m.client.request(Method.SfuProduce, { ...VP8_CAMERA(ssrcs.viewer), transportId: p.id }) : producer(m)),
				check: async (m, data) => {
					expect(producers.get(data as string)?.closed).toBe(false);
					// Everyone else ready to receive gets a consumer of it (before the next test compares what the server holds).
					const receivers = ROLES.filter((r) => r !== m.role && made.has(`${r}:sfu.join`) && made.has(`${r}:recv`)).map((r) => members[r]);
					await until(
						() => receivers.every((o) => eventsOf(o, Notification.SfuNewConsumer).some((c) => c.producerId === data)),
						5000,
						'consumers of the new producer',
					);
				},
			},
			{
				name: 'sfu.pauseProducer',
				// A viewer names the participant's live camera.
				prepare: async (m) => ({ id: await producer(m.role === 'viewer' ? members.participant : m) }),
				run: (m, p) => m.client.request(Method.SfuPauseProducer, { producerId: p.id }),
				check: async (m) => expect(producers.get(await producer(m))?.paused).toBe(true),
			},
			{
				name: 'sfu.resumeProducer',
				prepare: async (m) => ({ id: await producer(m.role === 'viewer' ? members.participant : m) }),
				run: (m, p) => m.client.request(Method.SfuResumeProducer, { producerId: p.id }),
				check: async (m) => expect(producers.get(await producer(m))?.paused).toBe(false),
			},
			{
				name: 'sfu.resumeConsumer',
				prepare: async (m) => ({ id: await consumer(m) }),
				run: (m, p) => m.client.request(Method.SfuResumeConsumer, { consumerId: p.id }),
			},
			{
				name: 'sfu.setConsumerPreferredLayers',
				prepare: async (m) => ({ id: await consumer(m) }),
				run: (m, p) => m.client.request(Method.SfuSetConsumerPreferredLayers, { consumerId: p.id, spatialLayer: 0, temporalLayer: 0 }),
			},
			{
				name: 'mediaState',
				run: (m) => m.client.request(Method.MediaState, { audioMuted: true, videoMuted: false }),
				check: (m) => expect(server.rooms.get(ROOM)?.getPeer(m.peerId)?.info).toMatchObject({ audioMuted: true, videoMuted: false }),
			},
			{
				name: 'chat',
				run: async (m) => {
					const other = members[m.role === 'host' ? 'viewer' : 'host'];
					const heard = nextEvent(other.client, Notification.ChatMessage);
					const sent = await m.client.request(Method.Chat, { text: `hello from the ${m.role}` });
					expect((await heard)[0]).toMatchObject({ from: m.peerId, text: `hello from the ${m.role}` });
					return sent;
				},
			},
			{
				name: 'qualityReport',
				run: (m) => m.client.request(Method.QualityReport, QUALITY),
				check: (m) => expect(server.rooms.get(ROOM)?.getPeer(m.peerId)?.quality?.report).toEqual(QUALITY),
			},
			{ name: 'topology.ready', run: (m) => m.client.request(Method.TopologyReady, { epoch: 0 }) },
			{ name: 'topology.failed', run: (m) => m.client.request(Method.TopologyFailed, { epoch: 0, reason: 'no camera' }) },
			{
				name: 'media.repair',
				run: async (m) => {
					const series = `streaming_media_repairs_total{path="sfu",action="recreate"}`;
					const before = metricSample(await (await fetch(`${base}/metrics`)).text(), series) ?? 0;
					const result = await m.client.request(Method.MediaRepair, { path: 'sfu', action: 'recreate' });
					expect(metricSample(await (await fetch(`${base}/metrics`)).text(), series)).toBe(before + 1);
					return result;
				},
			},
			{
				name: 'room.inspect',
				run: (m) => m.client.request(Method.RoomInspect, {}),
				// The whole room, the asker included, with the room's topology.
				check: (m, data) => {
					const answer = data as ResponseData<'room.inspect'>;
					expect(answer.topology.state).toBe('sfu');
					expect(answer.participants.map((p) => p.peerId).sort()).toEqual(ROLES.map((r) => members[r].peerId).sort());
					expect(answer.participants.find((p) => p.peerId === m.peerId)).toMatchObject({ role: m.role });
				},
			},
			{
				name: 'sfu.closeProducer',
				// The viewer first, while the participant's camera it names is live.
				order: ['viewer', 'host', 'participant'],
				prepare: async (m) => ({ id: await producer(m.role === 'viewer' ? members.participant : m) }),
				run: (m, p) => m.client.request(Method.SfuCloseProducer, { producerId: p.id }),
				check: async (m) => {
					expect(producers.get(await producer(m))?.closed).toBe(true);
					made.delete(`${m.role}:producer`);
				},
			},
			{
				name: 'leave',
				run: async (m) => {
					const left = await m.client.request(Method.Leave, {});
					expect(server.rooms.get(ROOM)?.getPeer(m.peerId)).toBeUndefined();
					forget(m.role);
					// Back in, on the same socket, with the same token: the role comes with it again.
					const joined = await m.client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: ROOM, displayName: 'again', token: m.token });
					expect(joined.role).toBe(m.role);
					m.peerId = joined.peerId;
					m.resumeToken = joined.resumeToken;
					return left;
				},
			},
			{
				name: 'reaction',
				run: (m) => {
					reactionsSince = members[m.role === 'host' ? 'participant' : 'host'].events.length;
					return m.client.request(Method.Reaction, { emoji: EMOJI[m.role] });
				},
				// Counted into the room's next batch: another member hears it.
				check: (m) => heardReaction(members[m.role === 'host' ? 'participant' : 'host'], EMOJI[m.role], reactionsSince),
			},
			// The viewer's passes the permission check (a viewer may ask to speak), then this meeting has no stage.
			{ name: 'hand.raise', run: (m) => m.client.request(Method.HandRaise, { raised: true }) },
			{
				name: 'stage.promote',
				// The host and the participant name the viewer; the viewer names itself.
				run: (m) => m.client.request(Method.StagePromote, { peerId: members.viewer.peerId }),
			},
			{
				name: 'stage.demote',
				// The host and the viewer name the participant; the participant names the host.
				run: (m) => m.client.request(Method.StageDemote, { peerId: (m.role === 'participant' ? members.host : members.participant).peerId }),
			},
			{
				name: 'room.removePeer',
				// The refusals first: the host's removal ends the participant.
				order: ['viewer', 'participant', 'host'],
				run: async (m) => {
					const target = members[m.role === 'host' ? 'participant' : m.role === 'participant' ? 'viewer' : 'host'];
					if (m.role !== 'host') return m.client.request(Method.RoomRemovePeer, { peerId: target.peerId });
					const closed = nextEvent(target.client, 'close');
					const seenBy = (['host', 'viewer'] as const).map((r) => nextEvent(members[r].client, Notification.PeerLeft));
					const result = await m.client.request(Method.RoomRemovePeer, { peerId: target.peerId });
					expect(await closed).toEqual([CloseCode.RemovedByHost, 'REMOVED_BY_HOST']);
					for (const left of seenBy) expect((await left)[0]).toEqual({ peerId: target.peerId });
					expect(server.rooms.get(ROOM)?.getPeer(target.peerId)).toBeUndefined();
					// Removed is final: its resume token no longer admits it.
					const again = await connectClient(server.port);
					await expect(again.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken: target.resumeToken })).rejects.toMatchObject({
						code: ErrorCode.ResumeFailed,
					});
					again.close();
					return result;
				},
			},
			{
				name: 'room.end',
				// The refusals first: the host's ends the room for the others.
				order: ['viewer', 'participant', 'host'],
				// Whoever an earlier case removed comes back first, with its token.
				prepare: async () => {
					for (const role of ROLES) if (members[role].client.closed) members[role] = await joinAs(role, ROOM);
					return { id: '' };
				},
				run: async (m) => {
					if (m.role !== 'host') return m.client.request(Method.RoomEnd, {});
					const others = [members.participant, members.viewer];
					const closed = others.map((o) => nextEvent(o.client, 'close'));
					const result = await m.client.request(Method.RoomEnd, {});
					for (const c of closed) expect(await c).toEqual([CloseCode.RoomEnded, 'ROOM_ENDED']);
					expect([...(server.rooms.get(ROOM)?.peers ?? [])].map((p) => p.id)).toEqual([m.peerId]);
					// Ended is final: their resume tokens no longer admit them.
					for (const o of others) {
						const again = await connectClient(server.port);
						await expect(again.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken: o.resumeToken })).rejects.toMatchObject({
							code: ErrorCode.ResumeFailed,
						});
						again.close();
					}
					return result;
				},
			},
		];

		it('the matrix has a row for every method of core, and every SFU-room row has a case here', () => {
			const covered = new Set(Object.values(MATRIX).map((row) => row.method));
			expect(Object.values(Method).filter((m) => !covered.has(m))).toEqual([]);
			const sfuRows = (Object.keys(MATRIX) as CaseName[]).filter((name) => !name.startsWith('signal') && !name.startsWith('broadcast'));
			expect(CASES.map((c) => c.name).sort()).toEqual(sfuRows.sort());
		});

		describe.each(CASES.map((c) => [c.name, c] as const))('%s', (name, { order, prepare, run, check }) => {
			it.each((order ?? ROLES).map((role) => [role, MATRIX[name][role]] as const))('%s: %s', async (role, expected) => {
				const m = members[role];
				const prepared = (await prepare?.(m)) ?? { id: '' };
				const before = snapshot();
				const result = await settle(run(m, prepared));
				expect(result.code, 'reason' in result ? result.reason : '').toBe(expected);
				if (expected === DENIED) {
					expect('reason' in result && result.reason).toContain(name.split(' ')[0]);
					expect(snapshot(), 'a refused request changed nothing').toEqual(before);
				} else {
					expect(result.code).not.toBe(DENIED);
					if (result.code === 'ok') await check?.(m, result.data);
				}
			});
		});

		it('room.removePeer of an unknown peer or of oneself is PEER_NOT_FOUND', async () => {
			const host = members.host;
			for (const peerId of [randomUUID(), host.peerId]) {
				await expect(host.client.request(Method.RoomRemovePeer, { peerId })).rejects.toMatchObject({ code: ErrorCode.PeerNotFound });
			}
			expect(server.rooms.get(ROOM)?.getPeer(host.peerId)).toBeDefined();
		});

		it('a viewer refused mediaState told nobody it muted', () => {
			const viewer = members.viewer;
			for (const role of ['host', 'participant'] as const) {
				expect(eventsOf(members[role], Notification.PeerMediaState).filter((e) => e.peerId === viewer.peerId)).toEqual([]);
			}
		});
	});

	describe('in a broadcast room (settings {kind: broadcast, meshMaxPeers: 0}): a test per stage request and role', () => {
		const ROOM = 'broadcast-stage';
		const members = {} as Record<Role, Member>;
		/** A second viewer: the one the host brings onto the stage and back (the viewer member stays in the audience). */
		let spare: Member;
		let reactionsSince = 0;

		beforeAll(async () => {
			await createRoom(ROOM, { kind: 'broadcast', meshMaxPeers: 0 });
			for (const role of ROLES) members[role] = await joinAs(role, ROOM);
			spare = await joinAs('viewer', ROOM, 'viewer-spare');
		});

		afterAll(() => {
			for (const role of ROLES) members[role]?.client.close();
			spare?.client.close();
		});

		const roleOf = (m: Member) => server.rooms.get(ROOM)?.getPeer(m.peerId)?.role;

		/** Moves the spare viewer to `role` through the host (before a case compares the server's state). */
		async function spareAs(role: 'participant' | 'viewer'): Promise<{ id: string }> {
			if (roleOf(spare) !== role) {
				const changed = nextEvent(spare.client, Notification.RoleChanged);
				await members.host.client.request(role === 'participant' ? Method.StagePromote : Method.StageDemote, { peerId: spare.peerId });
				expect((await changed)[0]).toMatchObject({ role });
			}
			return { id: spare.peerId };
		}

		/** What the server holds that a refused request must not have changed. */
		function snapshot() {
			const room = server.rooms.get(ROOM);
			return {
				peers: [...(room?.peers ?? [])].map((p) => ({ ...p.info, state: p.state })).sort((a, b) => a.peerId.localeCompare(b.peerId)),
				audience: room?.audienceSize,
				hands: room?.audience.hands,
				sfu: server.sfuStats.counts,
			};
		}

		interface BroadcastCase {
			name: CaseName;
			order?: readonly Role[];
			prepare?: (m: Member) => Promise<{ id: string }>;
			run: (m: Member, prepared: { id: string }) => Promise<unknown>;
			check?: (m: Member) => Promise<void> | void;
		}
		const CASES: BroadcastCase[] = [
			{
				name: 'broadcast: hand.raise',
				run: (m) => m.client.request(Method.HandRaise, { raised: true }),
				check: async (m) => {
					const host = members.host;
					const lastHands = () => eventsOf(host, Notification.Hands).at(-1)?.hands.map((h) => h.peerId);
					await until(() => lastHands()?.includes(m.peerId) === true, 5000, 'the raised hand to reach the host');
					// Down again: the host sees it go. Only hosts hear of hands.
					await m.client.request(Method.HandRaise, { raised: false });
					await until(() => lastHands()?.length === 0, 5000, 'the lowered hand to leave the host\'s list');
					for (const other of [members.participant, members.viewer, spare]) expect(eventsOf(other, Notification.Hands)).toEqual([]);
				},
			},
			{
				name: 'broadcast: stage.promote',
				// The refusals first, while the spare is still in the audience.
				order: ['participant', 'viewer', 'host'],
				prepare: () => spareAs('viewer'),
				// The viewer promotes itself; the others name the spare viewer.
				run: (m, p) => m.client.request(Method.StagePromote, { peerId: m.role === 'viewer' ? m.peerId : p.id }),
				check: async (m) => {
					await until(() => eventsOf(spare, Notification.RoleChanged).at(-1)?.role === 'participant', 5000, 'roleChanged to the spare');
					expect(eventsOf(spare, Notification.RoleChanged).at(-1)).toMatchObject({ role: 'participant', by: m.peerId, mediaMode: 'sfu' });
					expect(roleOf(spare)).toBe('participant');
					// Everyone else sees it join the stage, the audience included.
					for (const other of [members.participant, members.viewer]) {
						await until(() => eventsOf(other, Notification.PeerJoined).some((p) => p.peerId === spare.peerId), 5000, 'peerJoined of the promoted viewer');
					}
				},
			},
			{
				name: 'broadcast: stage.demote',
				order: ['participant', 'viewer', 'host'],
				prepare: () => spareAs('participant'),
				// The participant demotes the host; the viewer and the host name the spare (a speaker now).
				run: (m, p) => m.client.request(Method.StageDemote, { peerId: m.role === 'participant' ? members.host.peerId : p.id }),
				check: async (m) => {
					await until(() => eventsOf(spare, Notification.RoleChanged).at(-1)?.role === 'viewer', 5000, 'roleChanged to the spare');
					expect(eventsOf(spare, Notification.RoleChanged).at(-1)).toMatchObject({ role: 'viewer', by: m.peerId, mediaMode: 'sfu' });
					expect(roleOf(spare)).toBe('viewer');
					for (const other of [members.participant, members.viewer]) {
						await until(() => eventsOf(other, Notification.PeerLeft).some((p) => p.peerId === spare.peerId), 5000, 'peerLeft of the demoted speaker');
					}
				},
			},
			{
				name: 'broadcast: reaction',
				run: (m) => {
					reactionsSince = spare.events.length;
					return m.client.request(Method.Reaction, { emoji: EMOJI[m.role] });
				},
				// Counted into the room's next batch, which reaches the audience too.
				check: (m) => heardReaction(spare, EMOJI[m.role], reactionsSince),
			},
			{
				name: 'broadcast: room.inspect',
				run: (m) => m.client.request(Method.RoomInspect, {}),
				// The stage only: the audience is not listed.
				check: async (m) => {
					const answer = await m.client.request(Method.RoomInspect, {});
					expect(answer.participants.map((p) => p.peerId).sort()).toEqual([members.host.peerId, members.participant.peerId].sort());
				},
			},
			{
				name: 'broadcast: room.end',
				order: ['viewer', 'participant', 'host'],
				run: async (m) => {
					if (m.role !== 'host') return m.client.request(Method.RoomEnd, {});
					const others = [members.participant, members.viewer, spare];
					const closed = others.map((o) => nextEvent(o.client, 'close'));
					const result = await m.client.request(Method.RoomEnd, {});
					for (const c of closed) expect(await c).toEqual([CloseCode.RoomEnded, 'ROOM_ENDED']);
					const room = server.rooms.get(ROOM);
					expect([...(room?.peers ?? [])].map((p) => p.id)).toEqual([m.peerId]);
					expect(room?.audienceSize).toBe(0);
					return result;
				},
			},
		];

		it('every broadcast row has a case here', () => {
			const rows = (Object.keys(MATRIX) as CaseName[]).filter((name) => name.startsWith('broadcast'));
			expect(CASES.map((c) => c.name).sort()).toEqual(rows.sort());
		});

		describe.each(CASES.map((c) => [c.name, c] as const))('%s', (name, { order, prepare, run, check }) => {
			it.each((order ?? ROLES).map((role) => [role, MATRIX[name][role]] as const))('%s: %s', async (role, expected) => {
				const m = members[role];
				const prepared = (await prepare?.(m)) ?? { id: '' };
				const before = snapshot();
				const result = await settle(run(m, prepared));
				expect(result.code, 'reason' in result ? result.reason : '').toBe(expected);
				if (expected === DENIED) {
					expect('reason' in result && result.reason).toContain(MATRIX[name].method);
					expect(snapshot(), 'a refused request changed nothing').toEqual(before);
				} else {
					expect(result.code).not.toBe(DENIED);
					if (result.code === 'ok') await check?.(m);
				}
			});
		});
	});

	describe('mesh `signal` in a mesh room (default settings): a test per SDP and role', () => {
		const ROOM = 'huddle';
		const members = {} as Record<Role, Member>;
		/** Who each role signals. */
		const TARGET: Record<Role, Role> = { host: 'participant', participant: 'viewer', viewer: 'participant' };

		beforeAll(async () => {
			for (const role of ROLES) members[role] = await joinAs(role, ROOM);
			expect(server.rooms.get(ROOM)?.topology.placement.mediaMode).toBe('mesh');
		});

		afterAll(() => {
			for (const role of ROLES) members[role]?.client.close();
		});

		const signalsFrom = (target: Member, from: Member, since: number) => eventsOf(target, Notification.Signal, since).filter((s) => s.from === from.peerId);

		const cases = (Object.keys(MATRIX) as CaseName[]).filter((name) => name.startsWith('signal'));

		it('every signal row has a signal to send', () => {
			expect(cases.filter((name) => SIGNALS[name] === undefined)).toEqual([]);
		});

		describe.each(cases)('%s', (name) => {
			it.each(ROLES.map((role) => [role, MATRIX[name][role]] as const))('%s: %s', async (role, expected) => {
				const sender = members[role];
				const target = members[TARGET[role]];
				const signal = SIGNALS[name] as MeshSignal;
				const since = target.events.length;
				const result = await settle(sender.client.request(Method.Signal, { to: target.peerId, signal }));
				expect(result.code, 'reason' in result ? result.reason : '').toBe(expected);
				if (result.code === 'ok') {
					await until(() => signalsFrom(target, sender, since).length > 0, 5000, 'the signal to arrive');
					expect(signalsFrom(target, sender, since)).toEqual([{ from: sender.peerId, signal }]);
					return;
				}
				// Refused: nothing reached the target. A marker sent next arrives alone (one socket, one order).
				const marker: MeshSignal = { kind: 'candidate', candidate: { candidate: `marker-${name}` } };
				await sender.client.request(Method.Signal, { to: target.peerId, signal: marker });
				await until(() => signalsFrom(target, sender, since).length > 0, 5000, 'the marker to arrive');
				expect(signalsFrom(target, sender, since)).toEqual([{ from: sender.peerId, signal: marker }]);
			});
		});
	});

	it('refusals are counted as PERMISSION_DENIED, and nothing was INTERNAL', async () => {
		const text = await (await fetch(`${base}/metrics`)).text();
		expect(metricSample(text, `streaming_signaling_errors_total{code="${ErrorCode.PermissionDenied}"}`)).toBeGreaterThanOrEqual(20);
		expect(metricSample(text, `streaming_signaling_errors_total{code="${ErrorCode.Internal}"}`) ?? 0).toBe(0);
		const internal = text.split('\n').filter((line) => line.startsWith('streaming_internal_errors_total'));
		expect(internal.map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)))).toEqual(internal.map(() => 0));
	});
});

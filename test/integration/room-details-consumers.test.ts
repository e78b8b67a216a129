import type { Socket } from 'node:dgram';
import type { types } from 'mediasoup';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Method, Notification, PROTOCOL_VERSION, RoomDetailsSchema, type NotificationData, type RoomDetails, type SfuConsumerSummary } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import type { SignalingClient } from '../../web/src/signaling/SignalingClient.js';
import { startInProcessServer, until } from '../support/inProcessServer.js';
import { VP8_PT, bindUdp, vp8KeyFrame } from '../support/rtp.js';
import { connectClient } from '../support/signaling.js';

/**
 * The room API's details list each participant's SFU consumers: whose
 * media, which kind, the simulcast layers asked for and those forwarded.
 * A real mediasoup worker; the participants' media goes over plain RTP
 * transports the room adopts (SfuRoom.attachTransport): the publisher sends
 * hand-made VP8 in three simulcast streams, the receiver's consumers send
 * to a UDP sink here.
 */

const WAIT_MS = 5_000;
/** The SSRCs of the three simulcast streams, smallest first. */
const SIMULCAST_SSRCS = [1101, 1102, 1103];

const simulcastCamera = (transportId: string) => ({
	transportId,
	kind: 'video' as const,
	source: 'camera' as const,
	rtpParameters: {
		codecs: [{ mimeType: 'video/VP8', payloadType: VP8_PT, clockRate: 90000, rtcpFeedback: [{ type: 'nack', parameter: 'pli' }] }],
		encodings: SIMULCAST_SSRCS.map((ssrc) => ({ ssrc })),
	},
});

/** No audio is sent: an audio consumer has no layers either way. */
const microphone = (transportId: string) => ({
	transportId,
	kind: 'audio' as const,
	source: 'microphone' as const,
	rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 2101 }] },
});

/**
 * An RTCP sender report for `ssrc`: now in NTP, the RTP timestamp the stream
 * has reached. mediasoup switches a simulcast consumer from one stream to
 * another only once both have sent one (it maps their timestamps with it).
 */
function senderReport(ssrc: number, rtpTimestamp: number): Buffer {
	const packet = Buffer.alloc(28);
	packet[0] = 0x80; // V=2, no report blocks
	packet[1] = 200; // SR
	packet.writeUInt16BE(packet.length / 4 - 1, 2);
	packet.writeUInt32BE(ssrc, 4);
	const ms = Date.now();
	packet.writeUInt32BE(Math.floor(ms / 1000) + 2_208_988_800, 8); // seconds since 1900
	packet.writeUInt32BE(Math.floor(((ms % 1000) / 1000) * 2 ** 32), 12);
	packet.writeUInt32BE(rtpTimestamp >>> 0, 16);
	return packet;
}

interface Member {
	client: SignalingClient;
	peerId: string;
	newConsumers: Array<NotificationData<'sfu.newConsumer'>>;
}

describe('GET /api/rooms/:id lists the SFU consumers of each participant', () => {
	let server: Server;
	/** What each test opened: closed after it. */
	const opened: Array<{ close(): void }> = [];
	const timers: NodeJS.Timeout[] = [];

	beforeAll(async () => {
		server = await startInProcessServer();
	});

	afterEach(async () => {
		for (const timer of timers.splice(0)) clearInterval(timer);
		for (const thing of opened.splice(0)) thing.close();
		await until(() => server.sfuStats.counts.consumers === 0 && server.sfuStats.counts.transports === 0, WAIT_MS, 'nothing left on the SFU');
	});

	afterAll(async () => {
		await server?.close();
	});

	async function details(roomId: string): Promise<RoomDetails> {
		const res = await fetch(`http://127.0.0.1:${server.port}/api/rooms/${roomId}`);
		expect(res.status).toBe(200);
		// The answer is what the protocol says it is.
		return RoomDetailsSchema.parse(await res.json());
	}

	/** The participant's consumers in the details, audio first. */
	async function consumersOf(roomId: string, peerId: string): Promise<SfuConsumerSummary[] | undefined> {
		const participant = (await details(roomId)).participants.find((p) => p.peerId === peerId);
		return participant?.consumers.slice().sort((a, b) => a.kind.localeCompare(b.kind));
	}

	/** A room on the SFU from its first participant (meshMaxPeers 0). */
	async function sfuRoom(roomId: string): Promise<void> {
		const res = await fetch(`http://127.0.0.1:${server.port}/api/rooms`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ roomId, settings: { meshMaxPeers: 0 } }),
		});
		expect(res.status).toBe(201);
	}

	/** Joins the room and the SFU (sfu.join with the router's capabilities), recording its sfu.newConsumer. */
	async function join(roomId: string, displayName: string): Promise<Member> {
		const client = await connectClient(server.port);
		opened.push(client);
		const newConsumers: Member['newConsumers'] = [];
		client.on(Notification.SfuNewConsumer, (c) => newConsumers.push(c));
		const joined = await client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId, displayName });
		expect(joined.mediaMode).toBe('sfu');
		const { routerRtpCapabilities } = await client.request(Method.SfuGetRouterRtpCapabilities, {});
		await client.request(Method.SfuJoin, { rtpCapabilities: routerRtpCapabilities });
		return { client, peerId: joined.peerId, newConsumers };
	}

	function roomOnSfu(roomId: string) {
		const room = server.sfuRooms.get(roomId);
		if (!room) throw new Error(`no SFU room "${roomId}" after sfu.join`);
		return room;
	}

	/** The member publishes a simulcast camera and a microphone on a plain RTP send transport; returns the transport and the producer ids. */
	async function publish(roomId: string, m: Member) {
		const send = (await roomOnSfu(roomId).attachTransport(m.peerId, 'send', (router) =>
			router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: true }),
		)) as types.PlainTransport;
		const { producerId: video } = await m.client.request(Method.SfuProduce, simulcastCamera(send.id));
		const { producerId: audio } = await m.client.request(Method.SfuProduce, microphone(send.id));
		return { send, video, audio };
	}

	/** A plain RTP receive transport for the member, sending to `sink`: the room consumes everything published for it at once. */
	async function receive(roomId: string, m: Member, sink: Socket): Promise<void> {
		await roomOnSfu(roomId).attachTransport(m.peerId, 'recv', async (router) => {
			const transport = await router.createPlainTransport({ listenIp: { ip: '127.0.0.1' }, rtcpMux: true, comedia: false });
			await transport.connect({ ip: '127.0.0.1', port: sink.address().port });
			return transport;
		});
	}

	/** A key frame on every simulcast stream each 10 ms, and a sender report each 100 ms, to the send transport (bounded: 30 s of them). */
	async function sendSimulcast(send: types.PlainTransport): Promise<void> {
		const sender = await bindUdp();
		opened.push(sender);
		let seq = 0;
		timers.push(
			setInterval(() => {
				if (++seq > 3000) return;
				for (const ssrc of SIMULCAST_SSRCS) {
					sender.send(vp8KeyFrame(seq, ssrc), send.tuple.localPort, '127.0.0.1');
					// vp8KeyFrame stamps packet `seq` with RTP time seq * 3000.
					if (seq % 10 === 1) sender.send(senderReport(ssrc, seq * 3000), send.tuple.localPort, '127.0.0.1');
				}
			}, 10),
		);
	}

	const consumerOf = (m: Member, kind: 'audio' | 'video') => m.newConsumers.find((c) => c.kind === kind);

	it("the receiver lists one consumer per published track, with the publisher's peer id; simulcast video's layers are the ones asked for and, once RTP flows, the ones forwarded", async () => {
		const roomId = 'consumers-layers';
		await sfuRoom(roomId);
		const pia = await join(roomId, 'Pia');
		const cas = await join(roomId, 'Cas');
		const { send } = await publish(roomId, pia);
		// Without a receive transport Cas consumes nothing yet.
		expect(await consumersOf(roomId, cas.peerId)).toEqual([]);

		const sink = await bindUdp();
		opened.push(sink);
		let videoPackets = 0;
		sink.on('message', (packet: Buffer) => {
			if (packet.length >= 12 && packet.readUInt32BE(8) === consumerOf(cas, 'video')?.rtpParameters.encodings?.[0]?.ssrc) videoPackets++;
		});
		await receive(roomId, cas, sink);
		await until(() => cas.newConsumers.length === 2, WAIT_MS, "Cas's two consumers");

		// Paused, nothing forwarded: simulcast video prefers its best layer (the third stream, one temporal layer).
		expect(await consumersOf(roomId, cas.peerId)).toEqual([
			{ producerPeerId: pia.peerId, kind: 'audio', preferredLayers: null, currentLayers: null },
			{ producerPeerId: pia.peerId, kind: 'video', preferredLayers: { spatialLayer: 2, temporalLayer: 0 }, currentLayers: null },
		]);
		// Pia consumes nothing: nobody else publishes, and it has no receive transport.
		expect(await consumersOf(roomId, pia.peerId)).toEqual([]);

		// Cas asks for the smallest layer, resumes both, and the publisher's streams flow.
		const video = consumerOf(cas, 'video')?.consumerId as string;
		await cas.client.request(Method.SfuSetConsumerPreferredLayers, { consumerId: video, spatialLayer: 0 });
		expect((await consumersOf(roomId, cas.peerId))?.[1]?.preferredLayers).toEqual({ spatialLayer: 0, temporalLayer: 0 });
		await cas.client.request(Method.SfuResumeConsumer, { consumerId: video });
		await cas.client.request(Method.SfuResumeConsumer, { consumerId: consumerOf(cas, 'audio')?.consumerId as string });
		await sendSimulcast(send);

		const forwarded = async () => (await consumersOf(roomId, cas.peerId))?.[1]?.currentLayers ?? null;
		await until(async () => (await forwarded()) !== null, WAIT_MS, 'the video consumer to forward a layer');
		expect(await forwarded()).toEqual({ spatialLayer: 0, temporalLayer: 0 });
		await until(() => videoPackets > 0, WAIT_MS, 'video at the sink');

		// Asking for the best layer: the SFU switches to it (nothing limits the bitrate on a plain transport).
		await cas.client.request(Method.SfuSetConsumerPreferredLayers, { consumerId: video, spatialLayer: 2 });
		await until(async () => (await forwarded())?.spatialLayer === 2, WAIT_MS, 'the video consumer to forward the best layer');
		expect(await consumersOf(roomId, cas.peerId)).toEqual([
			{ producerPeerId: pia.peerId, kind: 'audio', preferredLayers: null, currentLayers: null },
			{ producerPeerId: pia.peerId, kind: 'video', preferredLayers: { spatialLayer: 2, temporalLayer: 0 }, currentLayers: { spatialLayer: 2, temporalLayer: 0 } },
		]);
		expect(await consumersOf(roomId, pia.peerId)).toEqual([]);
	});

	it('a closed producer takes its consumer out of the details; a publisher that leaves takes the rest; a receiver that leaves is no longer listed', async () => {
		const roomId = 'consumers-gone';
		await sfuRoom(roomId);
		const pia = await join(roomId, 'Pia');
		const cas = await join(roomId, 'Cas');
		const dov = await join(roomId, 'Dov');
		const { video } = await publish(roomId, pia);
		const sink = await bindUdp();
		opened.push(sink);
		await receive(roomId, cas, sink);
		await receive(roomId, dov, sink);
		await until(() => cas.newConsumers.length === 2 && dov.newConsumers.length === 2, WAIT_MS, "Cas's and Dov's consumers");
		for (const m of [cas, dov]) expect((await consumersOf(roomId, m.peerId))?.map((c) => [c.producerPeerId, c.kind])).toEqual([[pia.peerId, 'audio'], [pia.peerId, 'video']]);

		// The camera closes: its consumers go, the microphone's stay.
		await pia.client.request(Method.SfuCloseProducer, { producerId: video });
		await until(async () => (await consumersOf(roomId, cas.peerId))?.length === 1, WAIT_MS, "Cas's video consumer to go");
		for (const m of [cas, dov]) expect((await consumersOf(roomId, m.peerId))?.map((c) => c.kind)).toEqual(['audio']);

		// Dov leaves: it is no longer listed, and Cas's consumers are untouched.
		await dov.client.request(Method.Leave, {});
		expect((await details(roomId)).participants.map((p) => p.peerId)).toEqual([pia.peerId, cas.peerId]);
		expect((await consumersOf(roomId, cas.peerId))?.map((c) => c.kind)).toEqual(['audio']);
		await until(() => server.sfuStats.counts.consumers === 1, WAIT_MS, "Dov's consumer to close on the worker");

		// Pia leaves: its producers close, and with them Cas's last consumer.
		await pia.client.request(Method.Leave, {});
		await until(async () => (await consumersOf(roomId, cas.peerId))?.length === 0, WAIT_MS, "Cas's audio consumer to go");
		expect((await details(roomId)).participants.map((p) => [p.peerId, p.consumers])).toEqual([[cas.peerId, []]]);
	});
});

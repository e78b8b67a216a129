import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, MAX_MESSAGE_BYTES, Method, Notification, PROTOCOL_VERSION, requestSchemas } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import type { SignalingClient } from '../../web/src/signaling/SignalingClient.js';
import { startInProcessServer } from '../support/inProcessServer.js';
import { metricSample } from '../support/metrics.js';
import { connectClient, nextEvent } from '../support/signaling.js';

/**
 * Every request type gets a table of bad input. The method list comes from
 * core (Object.values(Method)), so a new method without a row here fails.
 * Frames are sent raw over `ws`: SignalingClient would refuse most of them.
 */

const WAIT_MS = 5_000;

type Frame = Record<string, unknown>;
interface Reply {
	id: number;
	ok: boolean;
	data?: unknown;
	errorCode?: string;
	errorReason?: string;
}

/** Every response any raw socket of this file received: none may be INTERNAL. */
const answered: Reply[] = [];

/** A raw signaling socket: sends any frame, hands back responses and notifications in order. */
class RawClient {
	readonly #ws: WebSocket;
	readonly #responses: Reply[] = [];
	readonly #notifications: Frame[] = [];
	#wake: (() => void) | undefined;
	#nextId = 1;
	readonly closed: Promise<{ code: number; reason: string }>;
	#isClosed = false;

	private constructor(ws: WebSocket) {
		this.#ws = ws;
		ws.on('message', (data) => {
			const frame = JSON.parse(data.toString()) as Frame;
			if ('ok' in frame) {
				answered.push(frame as unknown as Reply);
				this.#responses.push(frame as unknown as Reply);
			} else {
				this.#notifications.push(frame);
			}
			this.#wake?.();
		});
		this.closed = new Promise((resolve) =>
			ws.once('close', (code, reason) => {
				this.#isClosed = true;
				this.#wake?.();
				resolve({ code, reason: reason.toString() });
			}),
		);
		ws.on('error', () => undefined);
	}

	static open(port: number): Promise<RawClient> {
		return new Promise((resolve, reject) => {
			const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
			ws.once('open', () => resolve(new RawClient(ws)));
			ws.once('error', reject);
		});
	}

	/** Sends one frame as it is (text unless `binary`). */
	sendFrame(frame: string | Buffer, binary = false): void {
		this.#ws.send(frame, { binary });
	}

	/** Sends `{id, method, data}` and waits for the response to it. */
	async request(method: string, data: unknown): Promise<Reply> {
		const id = this.#nextId++;
		this.sendFrame(JSON.stringify({ id, method, data }));
		const reply = await this.nextResponse();
		expect(reply.id, `response id for ${method}`).toBe(id);
		return reply;
	}

	/** The next response frame (whatever its id), within WAIT_MS. */
	nextResponse(): Promise<Reply> {
		return this.#take(this.#responses, 'a response');
	}

	/** The next notification frame, within WAIT_MS. */
	nextNotification(): Promise<Frame> {
		return this.#take(this.#notifications, 'a notification');
	}

	async #take<T>(queue: T[], what: string): Promise<T> {
		const deadline = Date.now() + WAIT_MS;
		while (queue.length === 0) {
			if (this.#isClosed) throw new Error(`socket closed while waiting for ${what}`);
			const left = deadline - Date.now();
			if (left <= 0) throw new Error(`no ${what} within ${WAIT_MS} ms`);
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, left);
				this.#wake = () => {
					clearTimeout(timer);
					resolve();
				};
			});
			this.#wake = undefined;
		}
		return queue.shift() as T;
	}

	close(): void {
		if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(1000);
	}
}

const joinData = (roomId: string, displayName = 'Tester') => ({ protocolVersion: PROTOCOL_VERSION, roomId, displayName });

/** A raw socket joined to `roomId`. */
async function joinedRaw(port: number, roomId: string, displayName?: string): Promise<RawClient> {
	const client = await RawClient.open(port);
	const reply = await client.request(Method.Join, joinData(roomId, displayName));
	expect(reply.ok, JSON.stringify(reply)).toBe(true);
	return client;
}

/** A joined socket still serves: a valid request right after succeeds. */
async function expectJoinedUsable(client: RawClient): Promise<void> {
	const reply = await client.request(Method.SfuGetRouterRtpCapabilities, {});
	expect(reply).toMatchObject({ ok: true, data: { routerRtpCapabilities: expect.any(Object) } });
}

/** A socket that has not joined still serves: a valid join right after succeeds. */
async function expectOpenUsable(client: RawClient, roomId: string): Promise<void> {
	const reply = await client.request(Method.Join, joinData(roomId));
	expect(reply).toMatchObject({ ok: true, data: { roomId } });
}

function expectInvalidData(reply: Reply, method: string, field: string): void {
	expect(reply).toMatchObject({ ok: false, errorCode: ErrorCode.InvalidData });
	expect(reply.errorReason?.startsWith(`${method}: `), reply.errorReason).toBe(true);
	expect(reply.errorReason, `the reason names ${field}`).toContain(field);
}

const VP8 = { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }], encodings: [{ ssrc: 2222 }] };
const FINGERPRINTS = [{ algorithm: 'sha-256', value: 'AB:CD' }];

interface BadPayload {
	data: unknown;
	/** What the reason must name: the field's path as zod reports it, e.g. `connections.0.path:`. */
	field: string;
	why: string;
}

/**
 * Per method: one valid payload (what a not-yet-joined socket sends to get
 * NOT_JOINED), and 1-3 specific invalid ones. Hand-written on purpose.
 */
const TABLE: Record<Method, { valid: unknown; bad: BadPayload[] }> = {
	[Method.Join]: {
		valid: joinData('any-room'),
		bad: [
			{ data: { protocolVersion: '1', roomId: 'r', displayName: 'X' }, field: 'protocolVersion:', why: 'version as a string' },
			{ data: { protocolVersion: 1, roomId: 'no spaces!', displayName: 'X' }, field: 'roomId:', why: 'room id outside [A-Za-z0-9_-]' },
			{ data: { protocolVersion: 1, roomId: 'r', displayName: 'x'.repeat(65) }, field: 'displayName:', why: 'name of 65 characters' },
		],
	},
	[Method.Resume]: {
		valid: { protocolVersion: PROTOCOL_VERSION, resumeToken: 'not-a-real-token' },
		bad: [
			{ data: { protocolVersion: 1, resumeToken: '' }, field: 'resumeToken:', why: 'empty token' },
			{ data: { protocolVersion: 1, resumeToken: 't'.repeat(257) }, field: 'resumeToken:', why: 'token of 257 characters' },
			{ data: { resumeToken: 'abc' }, field: 'protocolVersion:', why: 'version missing' },
		],
	},
	[Method.Leave]: {
		valid: {},
		bad: [{ data: { extra: 1 }, field: '"extra"', why: 'an unknown key on a strict schema' }],
	},
	[Method.Signal]: {
		valid: { to: 'nobody', signal: { kind: 'renegotiate' } },
		bad: [
			{ data: { to: '', signal: { kind: 'renegotiate' } }, field: 'to:', why: 'empty target' },
			{ data: { to: 'p', signal: { kind: 'teleport' } }, field: 'signal.kind:', why: 'unknown signal kind' },
			{
				data: { to: 'p', signal: { kind: 'candidate', candidate: { candidate: 'c', sdpMLineIndex: 256 } } },
				field: 'signal.candidate.sdpMLineIndex:',
				why: 'm-line index out of range',
			},
		],
	},
	[Method.QualityReport]: {
		valid: { intervalMs: 2000, connections: [] },
		bad: [
			{ data: { intervalMs: 0, connections: [] }, field: 'intervalMs:', why: 'zero interval' },
			{
				data: {
					intervalMs: 2000,
					connections: [
						{ remotePeerId: 'x', path: 'carrier-pigeon', outboundBitrateBps: 1, availableOutgoingBitrateBps: null, rttMs: null, packetLoss: null },
					],
				},
				field: 'connections.0.path:',
				why: 'unknown path',
			},
			{
				data: {
					intervalMs: 2000,
					connections: [{ remotePeerId: 'x', path: 'sfu', outboundBitrateBps: 1, availableOutgoingBitrateBps: null, rttMs: null, packetLoss: 1.5 }],
				},
				field: 'connections.0.packetLoss:',
				why: 'loss above 1',
			},
		],
	},
	[Method.Chat]: {
		valid: { text: 'hello' },
		bad: [
			{ data: { text: '   ' }, field: 'text:', why: 'blank after trimming' },
			{ data: { text: 'x'.repeat(2001) }, field: 'text:', why: '2001 characters' },
			{ data: { text: 5 }, field: 'text:', why: 'a number' },
		],
	},
	[Method.MediaState]: {
		valid: { audioMuted: false, videoMuted: false },
		bad: [
			{ data: { audioMuted: 'yes', videoMuted: false }, field: 'audioMuted:', why: 'a string for a boolean' },
			{ data: { audioMuted: true }, field: 'videoMuted:', why: 'missing field' },
		],
	},
	[Method.SfuGetRouterRtpCapabilities]: {
		valid: {},
		bad: [
			{ data: 'caps please', field: '(root):', why: 'a string' },
			{ data: true, field: '(root):', why: 'a boolean' },
		],
	},
	[Method.SfuJoin]: {
		valid: { rtpCapabilities: { codecs: [] } },
		bad: [
			{ data: {}, field: 'rtpCapabilities:', why: 'missing capabilities' },
			{ data: { rtpCapabilities: { codecs: 'vp8' } }, field: 'rtpCapabilities.codecs:', why: 'codecs not an array' },
			{ data: { rtpCapabilities: { codecs: Array.from({ length: 65 }, () => ({})) } }, field: 'rtpCapabilities.codecs:', why: '65 codecs' },
		],
	},
	[Method.SfuCreateTransport]: {
		valid: { direction: 'recv' },
		bad: [
			{ data: { direction: 'sideways' }, field: 'direction:', why: 'unknown direction' },
			{ data: {}, field: 'direction:', why: 'missing direction' },
		],
	},
	[Method.SfuConnectTransport]: {
		valid: { transportId: 't', dtlsParameters: { fingerprints: FINGERPRINTS } },
		bad: [
			{ data: { transportId: 't', dtlsParameters: { fingerprints: [] } }, field: 'dtlsParameters.fingerprints:', why: 'no fingerprint' },
			{ data: { transportId: 't'.repeat(65), dtlsParameters: { fingerprints: FINGERPRINTS } }, field: 'transportId:', why: 'id of 65 characters' },
			{ data: { transportId: 't', dtlsParameters: { fingerprints: FINGERPRINTS, role: 7 } }, field: 'dtlsParameters.role:', why: 'role a number' },
		],
	},
	[Method.SfuRestartIce]: {
		valid: { transportId: 't' },
		bad: [
			{ data: { transportId: '' }, field: 'transportId:', why: 'empty id' },
			{ data: { transportId: 42 }, field: 'transportId:', why: 'a number' },
		],
	},
	[Method.SfuCloseTransport]: {
		valid: { transportId: 't' },
		bad: [
			{ data: {}, field: 'transportId:', why: 'no id' },
			{ data: { transportId: ['t'] }, field: 'transportId:', why: 'an array' },
		],
	},
	[Method.SfuProduce]: {
		valid: { transportId: 't', kind: 'video', source: 'camera', rtpParameters: VP8 },
		bad: [
			{ data: { transportId: 't', kind: 'hologram', source: 'camera', rtpParameters: VP8 }, field: 'kind:', why: 'unknown kind' },
			{ data: { transportId: 't', kind: 'video', source: 'webcam', rtpParameters: VP8 }, field: 'source:', why: 'unknown source' },
			{ data: { transportId: 't', kind: 'video', source: 'camera', rtpParameters: { codecs: [] } }, field: 'rtpParameters.codecs:', why: 'no codec' },
		],
	},
	[Method.SfuPauseProducer]: {
		valid: { producerId: 'p' },
		bad: [
			{ data: { producerId: '' }, field: 'producerId:', why: 'empty id' },
			{ data: {}, field: 'producerId:', why: 'missing id' },
		],
	},
	[Method.SfuResumeProducer]: {
		valid: { producerId: 'p' },
		bad: [
			{ data: { producerId: 'p'.repeat(65) }, field: 'producerId:', why: 'id of 65 characters' },
			{ data: { producerId: ['p'] }, field: 'producerId:', why: 'an array' },
		],
	},
	[Method.SfuCloseProducer]: {
		valid: { producerId: 'p' },
		bad: [
			{ data: { producerId: null }, field: 'producerId:', why: 'null id' },
			{ data: { producer: 'p' }, field: 'producerId:', why: 'misspelt key' },
		],
	},
	[Method.SfuResumeConsumer]: {
		valid: { consumerId: 'c' },
		bad: [
			{ data: { consumerId: null }, field: 'consumerId:', why: 'null id' },
			{ data: { consumerId: 7 }, field: 'consumerId:', why: 'a number' },
		],
	},
	[Method.SfuSetConsumerPreferredLayers]: {
		valid: { consumerId: 'c', spatialLayer: 0 },
		bad: [
			{ data: { consumerId: 'c', spatialLayer: 3 }, field: 'spatialLayer:', why: 'layer above 2' },
			{ data: { consumerId: 'c', spatialLayer: 1.5 }, field: 'spatialLayer:', why: 'fractional layer' },
			{ data: { consumerId: 'c', spatialLayer: 0, temporalLayer: -1 }, field: 'temporalLayer:', why: 'negative layer' },
		],
	},
	[Method.TopologyReady]: {
		valid: { epoch: 0 },
		bad: [
			{ data: { epoch: -1 }, field: 'epoch:', why: 'negative epoch' },
			{ data: { epoch: '0' }, field: 'epoch:', why: 'epoch as a string' },
			{ data: { epoch: 0.5 }, field: 'epoch:', why: 'fractional epoch' },
		],
	},
	[Method.TopologyFailed]: {
		valid: { epoch: 0, reason: 'no camera' },
		bad: [
			{ data: { epoch: 0, reason: '' }, field: 'reason:', why: 'empty reason' },
			{ data: { epoch: 0, reason: 'r'.repeat(257) }, field: 'reason:', why: 'reason of 257 characters' },
			{ data: { reason: 'why' }, field: 'epoch:', why: 'missing epoch' },
		],
	},
	[Method.RoomRemovePeer]: {
		valid: { peerId: 'p' },
		bad: [
			{ data: { peerId: '' }, field: 'peerId:', why: 'empty id' },
			{ data: { peerId: 'p'.repeat(65) }, field: 'peerId:', why: 'id of 65 characters' },
			{ data: {}, field: 'peerId:', why: 'missing id' },
		],
	},
	[Method.RoomEnd]: {
		valid: {},
		bad: [
			{ data: 'end it', field: '(root):', why: 'a string' },
			{ data: 1, field: '(root):', why: 'a number' },
			{ data: { everyone: true }, field: '"everyone"', why: 'an unknown key on a strict schema' },
		],
	},
	[Method.HandRaise]: {
		valid: { raised: true },
		bad: [
			{ data: { raised: 'yes' }, field: 'raised:', why: 'a string for a boolean' },
			{ data: { raised: 1 }, field: 'raised:', why: 'a number for a boolean' },
			{ data: {}, field: 'raised:', why: 'missing field' },
		],
	},
	[Method.StagePromote]: {
		valid: { peerId: 'p' },
		bad: [
			{ data: { peerId: '' }, field: 'peerId:', why: 'empty id' },
			{ data: { peerId: 'p'.repeat(65) }, field: 'peerId:', why: 'id of 65 characters' },
			{ data: { peer: 'p' }, field: 'peerId:', why: 'misspelt key' },
		],
	},
	[Method.StageDemote]: {
		valid: { peerId: 'p' },
		bad: [
			{ data: { peerId: 7 }, field: 'peerId:', why: 'a number' },
			{ data: { peerId: null }, field: 'peerId:', why: 'null id' },
			{ data: {}, field: 'peerId:', why: 'missing id' },
		],
	},
	[Method.Reaction]: {
		valid: { emoji: '👍' },
		bad: [
			{ data: { emoji: '💩' }, field: 'emoji:', why: 'an emoji outside the list' },
			{ data: { emoji: '👍🏽' }, field: 'emoji:', why: 'a skin-tone variant of a listed emoji' },
			{ data: { emoji: ['👍'] }, field: 'emoji:', why: 'an array' },
		],
	},
	[Method.MediaRepair]: {
		valid: { path: 'sfu', action: 'ice-restart' },
		bad: [
			{ data: { path: 'p2p', action: 'ice-restart' }, field: 'path:', why: 'unknown path' },
			{ data: { path: 'mesh', action: 'reboot', peerId: 'p' }, field: 'action:', why: 'unknown action' },
			{ data: { path: 'sfu', action: 'rebuild', peerId: 'p' }, field: 'peerId:', why: 'a peer id on the SFU path' },
		],
	},
	[Method.RoomInspect]: {
		valid: {},
		bad: [
			{ data: 'everything', field: '(root):', why: 'a string' },
			{ data: { peerId: 'p' }, field: '"peerId"', why: 'an unknown key on a strict schema' },
			{ data: { participants: 50 }, field: '"participants"', why: 'asking for a size (an unknown key)' },
		],
	},
};

/** From core: a method added there without a row above fails below. */
const METHODS = Object.values(Method);
const PRE_JOIN_METHODS = new Set<string>([Method.Join, Method.Resume]);

describe('every request type gets a table of bad input', () => {
	let server: Server;
	const bystanders: Array<{ client: SignalingClient; peerId: string }> = [];
	const bystanderTrouble: string[] = [];
	const roomOf = (method: string) => `req-${method.replace(/\./g, '-')}`;

	beforeAll(async () => {
		server = await startInProcessServer();
		for (const name of ['Bea', 'Ben']) {
			const client = await connectClient(server.port);
			const { peerId } = await client.request(Method.Join, joinData('bystanders', name));
			client.on('close', (code) => bystanderTrouble.push(`${name} closed ${code}`));
			client.on('protocolerror', (error) => bystanderTrouble.push(`${name} protocolerror ${error.message}`));
			bystanders.push({ client, peerId });
		}
	});

	afterAll(async () => {
		for (const b of bystanders) b.client.close();
		await server?.close();
	});

	describe.each(METHODS)('%s', (method) => {
		it('has a hand-written row (a valid payload and specific bad ones)', () => {
			const row = TABLE[method] as (typeof TABLE)[Method] | undefined;
			expect(row, `no row for method "${method}" in TABLE`).toBeDefined();
			expect(row?.bad.length).toBeGreaterThanOrEqual(1);
			expect(row?.bad.length).toBeLessThanOrEqual(3);
			// The table's own valid payload must be valid, or (a) proves nothing.
			expect(requestSchemas[method].safeParse(row?.valid).success).toBe(true);
		});

		if (PRE_JOIN_METHODS.has(method)) {
			it('before join: accepted as the first request (a socket that has not joined may only join or resume)', async () => {
				const client = await RawClient.open(server.port);
				const reply = await client.request(method, TABLE[method].valid);
				if (method === Method.Join) expect(reply).toMatchObject({ ok: true, data: { roomId: 'any-room' } });
				else expect(reply).toMatchObject({ ok: false, errorCode: ErrorCode.ResumeFailed });
				client.close();
			});
		} else {
			it('before join: NOT_JOINED (with a valid payload); the socket can still join', async () => {
				const client = await RawClient.open(server.port);
				const reply = await client.request(method, TABLE[method].valid);
				expect(reply).toMatchObject({ ok: false, errorCode: ErrorCode.NotJoined });
				await expectOpenUsable(client, roomOf(method));
				client.close();
			});
		}

		it('a joined peer sending data: 42 or data: [] gets INVALID_DATA (the schema is checked first), and stays usable', async () => {
			const client = await joinedRaw(server.port, roomOf(method));
			for (const data of [42, []]) {
				const reply = await client.request(method, data);
				expectInvalidData(reply, method, '(root):');
				await expectJoinedUsable(client);
			}
			if (PRE_JOIN_METHODS.has(method)) {
				// With a valid payload the joined connection is what is wrong.
				const reply = await client.request(method, TABLE[method].valid);
				expect(reply).toMatchObject({ ok: false, errorCode: ErrorCode.AlreadyJoined });
				await expectJoinedUsable(client);
			}
			client.close();
		});

		it('each specific bad payload gets INVALID_DATA naming the field, and the socket stays usable', async () => {
			const client = await joinedRaw(server.port, roomOf(method));
			for (const bad of TABLE[method].bad) {
				const reply = await client.request(method, bad.data);
				expectInvalidData(reply, method, bad.field);
				await expectJoinedUsable(client);
			}
			client.close();
			// Before join as well: the payload is checked before the state (INVALID_DATA, not NOT_JOINED).
			const fresh = await RawClient.open(server.port);
			const first = TABLE[method].bad[0] as BadPayload;
			expectInvalidData(await fresh.request(method, first.data), method, first.field);
			await expectOpenUsable(fresh, roomOf(method));
			fresh.close();
		});
	});

	describe('envelopes', () => {
		const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
		const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

		type Expected =
			| { reply: { id: number; errorCode: string; reasonContains: string } }
			| { ok: true; id: number }
			| { close: number };

		const CASES: Array<{ name: string; frame: string | Buffer; binary?: boolean; expected: Expected }> = [
			{
				name: 'id negative',
				frame: JSON.stringify({ id: -1, method: 'chat', data: { text: 'x' } }),
				expected: { reply: { id: 0, errorCode: ErrorCode.BadMessage, reasonContains: 'id:' } },
			},
			{
				name: 'id not an integer',
				frame: JSON.stringify({ id: 1.5, method: 'chat', data: { text: 'x' } }),
				expected: { reply: { id: 0, errorCode: ErrorCode.BadMessage, reasonContains: 'id:' } },
			},
			{
				name: 'id a string',
				frame: JSON.stringify({ id: '7', method: 'chat', data: { text: 'x' } }),
				expected: { reply: { id: 0, errorCode: ErrorCode.BadMessage, reasonContains: 'id:' } },
			},
			{
				name: 'method not a string',
				frame: JSON.stringify({ id: 3, method: 7, data: {} }),
				expected: { reply: { id: 0, errorCode: ErrorCode.BadMessage, reasonContains: 'method:' } },
			},
			{
				name: 'method longer than 64 characters',
				frame: JSON.stringify({ id: 3, method: 'm'.repeat(65), data: {} }),
				expected: { reply: { id: 0, errorCode: ErrorCode.BadMessage, reasonContains: 'method:' } },
			},
			{
				name: 'method of exactly 64 characters (unknown)',
				frame: JSON.stringify({ id: 3, method: 'm'.repeat(64), data: {} }),
				expected: { reply: { id: 3, errorCode: ErrorCode.UnknownMethod, reasonContains: 'm'.repeat(64) } },
			},
			{
				name: 'method "__proto__"',
				frame: JSON.stringify({ id: 4, method: '__proto__', data: {} }),
				expected: { reply: { id: 4, errorCode: ErrorCode.UnknownMethod, reasonContains: '__proto__' } },
			},
			{
				name: 'method "toString"',
				frame: JSON.stringify({ id: 5, method: 'toString', data: {} }),
				expected: { reply: { id: 5, errorCode: ErrorCode.UnknownMethod, reasonContains: 'toString' } },
			},
			{
				// Absent data reads as {}: still a request, answered with its own id, naming the missing field.
				name: 'data absent for a method that needs it',
				frame: JSON.stringify({ id: 6, method: 'chat' }),
				expected: { reply: { id: 6, errorCode: ErrorCode.InvalidData, reasonContains: 'text:' } },
			},
			{
				name: 'data null for a method that needs it (read as {})',
				frame: JSON.stringify({ id: 7, method: 'chat', data: null }),
				expected: { reply: { id: 7, errorCode: ErrorCode.InvalidData, reasonContains: 'text:' } },
			},
			{
				name: 'data with an own "__proto__" key holding the fields',
				frame: '{"id":8,"method":"chat","data":{"__proto__":{"text":"hi"}}}',
				expected: { reply: { id: 8, errorCode: ErrorCode.InvalidData, reasonContains: 'text:' } },
			},
			{
				name: 'a notification-shaped frame',
				frame: JSON.stringify({ method: 'chat', data: { text: 'x' } }),
				expected: { reply: { id: 0, errorCode: ErrorCode.BadMessage, reasonContains: 'only send requests' } },
			},
			{
				name: 'a response-shaped frame',
				frame: JSON.stringify({ id: 9, ok: true, data: {} }),
				expected: { reply: { id: 0, errorCode: ErrorCode.BadMessage, reasonContains: 'only send requests' } },
			},
			{
				name: 'a malformed response-shaped frame',
				frame: JSON.stringify({ id: 9, ok: 'maybe' }),
				expected: { reply: { id: 0, errorCode: ErrorCode.BadMessage, reasonContains: 'bad response' } },
			},
			{ name: 'not JSON', frame: '{"id":10,', expected: { reply: { id: 0, errorCode: ErrorCode.BadJson, reasonContains: 'JSON' } } },
			{ name: 'an empty text frame', frame: '', expected: { reply: { id: 0, errorCode: ErrorCode.BadJson, reasonContains: 'JSON' } } },
			{ name: 'JSON null', frame: 'null', expected: { reply: { id: 0, errorCode: ErrorCode.BadMessage, reasonContains: 'object' } } },
			{
				name: 'arrays nested 10,000 deep as the frame',
				frame: nested(10_000),
				expected: { reply: { id: 0, errorCode: ErrorCode.BadMessage, reasonContains: 'object' } },
			},
			{
				name: 'arrays nested 10,000 deep as data',
				frame: `{"id":11,"method":"chat","data":${nested(10_000)}}`,
				expected: { reply: { id: 11, errorCode: ErrorCode.InvalidData, reasonContains: '(root):' } },
			},
			{
				name: 'arrays nested 10,000 deep inside an array field',
				frame: `{"id":12,"method":"qualityReport","data":{"intervalMs":1000,"connections":${nested(10_000)}}}`,
				expected: { reply: { id: 12, errorCode: ErrorCode.InvalidData, reasonContains: 'connections.0:' } },
			},
			{
				name: 'arrays nested 10,000 deep in an unknown key (stripped)',
				frame: `{"id":13,"method":"sfu.getRouterRtpCapabilities","data":{"x":${nested(10_000)}}}`,
				expected: { ok: true, id: 13 },
			},
			{
				name: 'objects nested 10,000 deep in an unknown key (stripped)',
				frame: `{"id":14,"method":"chat","data":{"text":"deep","n":${nestedObjects(10_000)}}}`,
				expected: { ok: true, id: 14 },
			},
			{
				name: `a frame of exactly ${MAX_MESSAGE_BYTES} bytes is read (and its 2000+ character text refused)`,
				frame: (() => {
					const head = '{"id":15,"method":"chat","data":{"text":"';
					return `${head}${'a'.repeat(MAX_MESSAGE_BYTES - head.length - 3)}"}}`;
				})(),
				expected: { reply: { id: 15, errorCode: ErrorCode.InvalidData, reasonContains: 'text:' } },
			},
			{ name: `a frame of ${MAX_MESSAGE_BYTES + 1} bytes`, frame: 'x'.repeat(MAX_MESSAGE_BYTES + 1), expected: { close: CloseCode.TooBig } },
			{
				name: `a frame over ${MAX_MESSAGE_BYTES} bytes but under ${MAX_MESSAGE_BYTES} UTF-16 units (2-byte characters)`,
				frame: `{"id":16,"method":"chat","data":{"text":"${'é'.repeat(MAX_MESSAGE_BYTES / 2)}"}}`,
				expected: { close: CloseCode.TooBig },
			},
			{ name: 'a binary frame', frame: Buffer.from('{"id":17,"method":"leave","data":{}}'), binary: true, expected: { close: CloseCode.Unsupported } },
			{
				// ws refuses text that is not UTF-8 before the server sees it: 1007 (RFC 6455), a code docs/protocol.md does not list.
				name: 'a text frame that is not UTF-8',
				frame: Buffer.from([0x7b, 0xed, 0xa0, 0x80, 0x7d]),
				expected: { close: 1007 },
			},
		];

		it.each(CASES)('$name', async ({ frame, binary, expected }) => {
			const room = 'envelopes';
			const client = await joinedRaw(server.port, room);
			client.sendFrame(frame, binary ?? false);
			if ('close' in expected) {
				const { code } = await client.closed;
				expect(code).toBe(expected.close);
			} else {
				const reply = await client.nextResponse();
				if ('ok' in expected) {
					expect(reply).toMatchObject({ id: expected.id, ok: true });
				} else {
					expect(reply).toMatchObject({ id: expected.reply.id, ok: false, errorCode: expected.reply.errorCode });
					expect(reply.errorReason).toContain(expected.reply.reasonContains);
				}
				await expectJoinedUsable(client);
				client.close();
			}
			expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
		});

		it('JSON strings with lone surrogates are plain strings: a name and a chat text with them reach the others as valid JSON', async () => {
			const listener = await joinedRaw(server.port, 'surrogates', 'Listener');
			const client = await RawClient.open(server.port);
			client.sendFrame(`{"id":1,"method":"join","data":{"protocolVersion":${PROTOCOL_VERSION},"roomId":"surrogates","displayName":"a\\ud800b"}}`);
			expect(await client.nextResponse()).toMatchObject({ id: 1, ok: true, data: { displayName: 'a\ud800b' } });
			expect(await listener.nextNotification()).toMatchObject({ method: Notification.PeerJoined, data: { displayName: 'a\ud800b' } });
			client.sendFrame('{"id":2,"method":"chat","data":{"text":"\\udfff lone low, \\ud83d lone high"}}');
			expect(await client.nextResponse()).toMatchObject({ id: 2, ok: true });
			expect(await listener.nextNotification()).toMatchObject({
				method: Notification.ChatMessage,
				data: { text: '\udfff lone low, \ud83d lone high', displayName: 'a\ud800b' },
			});
			client.sendFrame('{"id":3,"method":"chat\\ud800","data":{}}');
			expect(await client.nextResponse()).toMatchObject({ id: 3, ok: false, errorCode: ErrorCode.UnknownMethod });
			await expectJoinedUsable(client);
			await expectJoinedUsable(listener);
			client.close();
			listener.close();
		});
	});

	it('after the whole table: /healthz is 200, the bystanders kept their peer ids and still signal, nothing was INTERNAL', async () => {
		expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
		expect(bystanderTrouble).toEqual([]);
		const [a, b] = bystanders as [(typeof bystanders)[0], (typeof bystanders)[0]];
		const room = server.rooms.get('bystanders');
		expect([...(room?.peers ?? [])].map((p) => p.id).sort()).toEqual([a.peerId, b.peerId].sort());
		const received = nextEvent(b.client, Notification.Signal);
		await a.client.request(Method.Signal, { to: b.peerId, signal: { kind: 'candidate', candidate: { candidate: 'still-here' } } });
		expect((await received)[0]).toEqual({ from: a.peerId, signal: { kind: 'candidate', candidate: { candidate: 'still-here' } } });

		expect(answered.length).toBeGreaterThan(100);
		expect(answered.filter((r) => r.errorCode === ErrorCode.Internal)).toEqual([]);
		const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text();
		const internal = text
			.split('\n')
			.filter((line) => line.startsWith('streaming_internal_errors_total'))
			.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
		expect(internal).toBe(0);
		expect(metricSample(text, `streaming_signaling_errors_total{code="${ErrorCode.Internal}"}`) ?? 0).toBe(0);
		expect(metricSample(text, `streaming_signaling_errors_total{code="${ErrorCode.InvalidData}"}`)).toBeGreaterThan(50);
	});
});

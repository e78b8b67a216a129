import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Method, PROTOCOL_VERSION } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import { startInProcessServer } from '../support/inProcessServer.js';
import { connectClient, nextEvent } from '../support/signaling.js';

const SECRET = 'test-secret-0123456789-abcdefghijklmnop';
const API_KEY = 'test-api-key-0123456789';

const join = (roomId: string, token?: string) => ({
	protocolVersion: PROTOCOL_VERSION,
	roomId,
	displayName: 'Tester',
	...(token ? { token } : {}),
});

/** Joins with `token` and returns the error code and the socket's close code. */
async function refusedJoin(port: number, roomId: string, token?: string): Promise<{ code: unknown; closeCode: number }> {
	const client = await connectClient(port);
	const closed = nextEvent(client, 'close');
	const error = await client.request(Method.Join, join(roomId, token)).then(
		() => undefined,
		(e: { code: string }) => e,
	);
	const [closeCode] = await closed;
	return { code: error?.code, closeCode };
}

describe('access tokens', () => {
	let server: Server;

	beforeAll(async () => {
		server = await startInProcessServer({ auth: { tokenSecret: SECRET, requireTokens: true } });
	});

	afterAll(async () => {
		await server?.close();
	});

	it('a valid token admits the peer with the identity, role and name it names', async () => {
		const token = await server.tokens.sign({ roomId: 'vip', identity: 'alice', role: 'host', displayName: 'Alice A.' }, 60);
		const client = await connectClient(server.port);
		const joined = await client.request(Method.Join, join('vip', token));
		expect(joined.role).toBe('host');
		expect(joined.displayName).toBe('Alice A.');
		client.close();
	});

	it('a missing token gets TOKEN_REQUIRED and the socket closes with 4003', async () => {
		expect(await refusedJoin(server.port, 'vip')).toEqual({ code: ErrorCode.TokenRequired, closeCode: 4003 });
	});

	it('a token for another room gets TOKEN_WRONG_ROOM and the socket closes', async () => {
		const token = await server.tokens.sign({ roomId: 'other', identity: 'bob', role: 'participant' }, 60);
		expect(await refusedJoin(server.port, 'vip', token)).toEqual({ code: ErrorCode.TokenWrongRoom, closeCode: 4003 });
	});

	it('an expired token gets TOKEN_EXPIRED and the socket closes', async () => {
		const key = new TextEncoder().encode(SECRET);
		const expired = await new SignJWT({ room: 'vip', role: 'participant' })
			.setProtectedHeader({ alg: 'HS256' })
			.setSubject('carol')
			.setIssuer('streaming-engine')
			.setAudience('streaming-engine:room')
			.setIssuedAt(Math.floor(Date.now() / 1000) - 120)
			.setExpirationTime(Math.floor(Date.now() / 1000) - 60)
			.sign(key);
		expect(await refusedJoin(server.port, 'vip', expired)).toEqual({ code: ErrorCode.TokenExpired, closeCode: 4003 });
	});

	it('a tampered token (role changed, signature kept) gets TOKEN_INVALID and the socket closes', async () => {
		const token = await server.tokens.sign({ roomId: 'vip', identity: 'dave', role: 'participant' }, 60);
		const [header, payload, signature] = token.split('.') as [string, string, string];
		const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
		const forged = Buffer.from(JSON.stringify({ ...claims, role: 'host' })).toString('base64url');
		expect(await refusedJoin(server.port, 'vip', `${header}.${forged}.${signature}`)).toEqual({
			code: ErrorCode.TokenInvalid,
			closeCode: 4003,
		});
	});

	it('a token signed with another secret gets TOKEN_INVALID', async () => {
		const foreign = await new SignJWT({ room: 'vip', role: 'host' })
			.setProtectedHeader({ alg: 'HS256' })
			.setSubject('eve')
			.setIssuer('streaming-engine')
			.setAudience('streaming-engine:room')
			.setExpirationTime('1m')
			.sign(new TextEncoder().encode('another-secret-of-sufficient-length-000'));
		expect(await refusedJoin(server.port, 'vip', foreign)).toEqual({ code: ErrorCode.TokenInvalid, closeCode: 4003 });
	});

	it('the refused joins left no peer behind, and the server still serves', async () => {
		const token = await server.tokens.sign({ roomId: 'after', identity: 'frank', role: 'participant' }, 60);
		const client = await connectClient(server.port);
		const joined = await client.request(Method.Join, join('after', token));
		expect(joined.peers).toEqual([]);
		expect(server.rooms.get('vip')?.size ?? 0).toBe(0);
		client.close();
	});
});

describe('room API: POST /api/rooms', () => {
	let server: Server;
	let base: string;
	const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

	beforeAll(async () => {
		server = await startInProcessServer({ auth: { tokenSecret: SECRET, apiKey: API_KEY } });
		base = `http://127.0.0.1:${server.port}/api/rooms`;
	});

	afterAll(async () => {
		await server?.close();
	});

	it('creates a room with its settings (201) that survives being empty', async () => {
		const res = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ roomId: 'standup', settings: { maxPeers: 2 } }) });
		expect(res.status).toBe(201);
		expect(await res.json()).toEqual({
			roomId: 'standup',
			settings: { kind: 'meeting', maxPeers: 2, requireToken: false, meshMaxPeers: 4, meshMinPeers: 2, deescalateCooldownMs: 10_000 },
			topology: { state: 'mesh', epoch: 0 },
			peers: 0,
			audience: 0,
			persistent: true,
		});
		const get = await fetch(`${base}/standup`, { headers: auth });
		expect(get.status).toBe(200);
	});

	it('refuses topology settings that contradict each other or the defaults, naming the key', async () => {
		for (const settings of [{ meshMinPeers: 5 }, { meshMaxPeers: 3, meshMinPeers: 4 }, { meshMaxPeers: -1 }, { deescalateCooldownMs: 'soon' }]) {
			const res = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ settings }) });
			expect(res.status).toBe(400);
			const body = (await res.json()) as { error: string; message: string };
			expect(body.error).toBe('INVALID_DATA');
			expect(body.message).toMatch(/^settings\.(meshMinPeers|meshMaxPeers|deescalateCooldownMs)/);
		}
		const res = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ settings: { meshMaxPeers: 8, meshMinPeers: 5 } }) });
		expect(res.status).toBe(201);
	});

	it('a room created with meshMaxPeers 0 is on the SFU from its first joiner; SFU requests in a mesh room get WRONG_MEDIA_MODE', async () => {
		const res = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ roomId: 'big', settings: { meshMaxPeers: 0 } }) });
		expect(res.status).toBe(201);
		const client = await connectClient(server.port);
		const joined = await client.request(Method.Join, join('big'));
		expect(joined.mediaMode).toBe('sfu');
		expect(joined.topology).toEqual({ state: 'sfu', epoch: 0 });
		const caps = await client.request(Method.SfuGetRouterRtpCapabilities, {});
		expect(JSON.stringify(caps.routerRtpCapabilities)).toContain('video/VP8');
		const send = await client.request(Method.SfuCreateTransport, { direction: 'send' });
		expect(send.iceCandidates.length).toBeGreaterThan(0);
		await expect(
			client.request(Method.SfuConnectTransport, { transportId: 'nope', dtlsParameters: { fingerprints: [{ algorithm: 'sha-256', value: 'x' }] } }),
		).rejects.toMatchObject({ code: ErrorCode.SfuObjectNotFound });
		await expect(
			client.request(Method.SfuProduce, {
				transportId: send.transportId,
				kind: 'video',
				source: 'camera',
				rtpParameters: { codecs: [{ mimeType: 'video/H265', payloadType: 96, clockRate: 90000 }] },
			}),
		).rejects.toMatchObject({ code: ErrorCode.SfuRejected });
		client.close();
		const meshClient = await connectClient(server.port);
		expect((await meshClient.request(Method.Join, join('small'))).mediaMode).toBe('mesh');
		await expect(meshClient.request(Method.SfuCreateTransport, { direction: 'send' })).rejects.toMatchObject({ code: ErrorCode.WrongMediaMode });
		meshClient.close();
	});

	it('picks a room id when none is given', async () => {
		const res = await fetch(base, { method: 'POST', headers: auth, body: '{}' });
		expect(res.status).toBe(201);
		const body = (await res.json()) as { roomId: string };
		expect(body.roomId).toMatch(/^[A-Za-z0-9_-]{8}$/);
	});

	it('a room at maxPeers refuses the next join with ROOM_FULL', async () => {
		const a = await connectClient(server.port);
		const b = await connectClient(server.port);
		const c = await connectClient(server.port);
		await a.request(Method.Join, join('standup'));
		await b.request(Method.Join, join('standup'));
		await expect(c.request(Method.Join, join('standup'))).rejects.toMatchObject({ code: ErrorCode.RoomFull });
		expect(server.rooms.get('standup')?.size).toBe(2);
		for (const client of [a, b, c]) client.close();
	});

	it('a room created with requireToken refuses a join without one', async () => {
		const res = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ roomId: 'locked', settings: { requireToken: true } }) });
		expect(res.status).toBe(201);
		expect(await refusedJoin(server.port, 'locked')).toEqual({ code: ErrorCode.TokenRequired, closeCode: 4003 });
	});

	it('a duplicate id is 409 ROOM_EXISTS', async () => {
		await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ roomId: 'dup' }) });
		const res = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ roomId: 'dup' }) });
		expect(res.status).toBe(409);
		expect(await res.json()).toMatchObject({ error: 'ROOM_EXISTS' });
	});

	it('bad bodies are 400 with a code naming the problem', async () => {
		const badJson = await fetch(base, { method: 'POST', headers: auth, body: '{' });
		expect(badJson.status).toBe(400);
		expect(await badJson.json()).toMatchObject({ error: 'BAD_JSON' });
		const badField = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ settings: { maxPeers: 0 } }) });
		expect(badField.status).toBe(400);
		const body = (await badField.json()) as { error: string; message: string };
		expect(body.error).toBe('INVALID_DATA');
		expect(body.message).toContain('settings.maxPeers');
		const unknownKey = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ settings: { colour: 'red' } }) });
		expect(unknownKey.status).toBe(400);
	});

	it('without the API key every call is 401', async () => {
		const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
		expect(res.status).toBe(401);
		const wrong = await fetch(base, { headers: { authorization: 'Bearer nope' } });
		expect(wrong.status).toBe(401);
	});

	it('DELETE removes the room and closes its peers\' sockets with 4004', async () => {
		await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ roomId: 'doomed' }) });
		const client = await connectClient(server.port);
		await client.request(Method.Join, join('doomed'));
		const closed = nextEvent(client, 'close');
		const res = await fetch(`${base}/doomed`, { method: 'DELETE', headers: auth });
		expect(res.status).toBe(204);
		expect((await closed)[0]).toBe(4004);
		expect((await fetch(`${base}/doomed`, { headers: auth })).status).toBe(404);
	});
});

import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, Method, Notification, PROTOCOL_VERSION } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import { turnPassword } from '../../server/turn/TurnCredentials.js';
import { startInProcessServer, until } from '../support/inProcessServer.js';
import { connectClient, nextEvent, sessionWithCuttableSocket, withBystanders } from '../support/signaling.js';

const SECRET = 'test-secret-0123456789-abcdefghijklmnop';
const TURN_SECRET = 'turn-secret-0123456789';
const API_KEY = 'test-api-key-0123456789';
const join = (roomId: string, token?: string, displayName = 'Tester') => ({ protocolVersion: PROTOCOL_VERSION, roomId, displayName, ...(token ? { token } : {}) });
const now = () => Math.floor(Date.now() / 1000);

/** A token with exactly the claims given (the issuer's own helper always sets exp and iat). */
function rawToken(claims: { room: string; role: string; sub: string; iat?: number; exp?: number }): Promise<string> {
	const { room, role, sub, iat, exp } = claims;
	let jwt = new SignJWT({ room, role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer('streaming-engine').setAudience('streaming-engine:room');
	if (iat !== undefined) jwt = jwt.setIssuedAt(iat);
	if (exp !== undefined) jwt = jwt.setExpirationTime(exp);
	return jwt.sign(new TextEncoder().encode(SECRET));
}

async function joinError(port: number, roomId: string, token: string): Promise<{ code: unknown; closeCode: number }> {
	const client = await connectClient(port);
	const closed = nextEvent(client, 'close');
	const error = await client.request(Method.Join, join(roomId, token)).then(
		() => undefined,
		(e: { code: string }) => e,
	);
	return { code: error?.code, closeCode: (await closed)[0] };
}

describe('access tokens: exp and iat required, a maximum age, and no resume past expiry', () => {
	let server: Server;

	beforeAll(async () => {
		server = await startInProcessServer({
			auth: { tokenSecret: SECRET, maxTokenAgeSeconds: 600 },
			signaling: { resumeGraceMs: 10_000 },
		});
	});

	withBystanders(() => server);

	afterAll(async () => {
		await server?.close();
	});

	it('a token without exp, or without iat, is TOKEN_INVALID (close 4003)', async () => {
		expect(await joinError(server.port, 'r', await rawToken({ room: 'r', role: 'participant', sub: 'a', iat: now() }))).toEqual({
			code: ErrorCode.TokenInvalid,
			closeCode: CloseCode.Unauthorized,
		});
		expect(await joinError(server.port, 'r', await rawToken({ room: 'r', role: 'participant', sub: 'a', exp: now() + 60 }))).toEqual({
			code: ErrorCode.TokenInvalid,
			closeCode: CloseCode.Unauthorized,
		});
	});

	it('a token issued longer ago than auth.maxTokenAgeSeconds is TOKEN_EXPIRED, whatever its exp says', async () => {
		const old = await rawToken({ room: 'r', role: 'participant', sub: 'a', iat: now() - 700, exp: now() + 3600 });
		expect(await joinError(server.port, 'r', old)).toEqual({ code: ErrorCode.TokenExpired, closeCode: CloseCode.Unauthorized });
		const fresh = await rawToken({ room: 'r', role: 'participant', sub: 'a', iat: now() - 10, exp: now() + 60 });
		const client = await connectClient(server.port);
		await expect(client.request(Method.Join, join('r', fresh))).resolves.toMatchObject({ role: 'participant' });
		client.close();
	});

	it('a session ends when its token expires: its socket closes with 4003 TOKEN_EXPIRED and the others see it leave', async () => {
		const token = await rawToken({ room: 'ending', role: 'participant', sub: 'eda', iat: now(), exp: now() + 2 });
		const client = await connectClient(server.port);
		const joined = await client.request(Method.Join, join('ending', token));
		const other = await connectClient(server.port);
		await other.request(Method.Join, join('ending', await rawToken({ room: 'ending', role: 'participant', sub: 'otto', iat: now(), exp: now() + 600 })));
		const left = nextEvent(other, Notification.PeerLeft, 5000);
		expect(await nextEvent(client, 'close', 5000)).toEqual([CloseCode.Unauthorized, ErrorCode.TokenExpired]);
		expect((await left)[0]).toEqual({ peerId: joined.peerId });
		other.close();
	});

	it('a session resumes while its token is good, and not once the token expired (the resume fails, within the grace)', async () => {
		const { session, cut } = sessionWithCuttableSocket(server.port);
		const exp = now() + 3;
		const token = await rawToken({ room: 'short', role: 'participant', sub: 'shorty', iat: now(), exp });
		const joined = await session.join({ roomId: 'short', displayName: 'Shorty', token });
		// A drop while the token is good: the same peer comes back.
		const back = new Promise((resolve) => session.once('reconnected', resolve));
		cut();
		await back;
		expect(session.joined?.peerId).toBe(joined.peerId);
		const resumeToken = session.joined?.resumeToken as string;
		// Dropped for good this time (the session is closed without a leave: a drop), then back after the expiry.
		const ended = new Promise((resolve) => session.once('closed', resolve));
		cut();
		session.close();
		await ended;
		await until(() => Date.now() > exp * 1000 + 300, 5000, 'the token to expire');
		const late = await connectClient(server.port);
		// The server ended the session at the expiry, within the grace: nothing is left to resume.
		expect(server.rooms.get('short')).toBeUndefined();
		await expect(late.request(Method.Resume, { protocolVersion: PROTOCOL_VERSION, resumeToken })).rejects.toMatchObject({ code: ErrorCode.ResumeFailed });
		late.close();
	});
});

describe('TURN credentials follow the session', () => {
	let server: Server;

	beforeAll(async () => {
		server = await startInProcessServer({
			auth: { tokenSecret: SECRET },
			turn: { enabled: true, urls: ['turn:127.0.0.1:3478'], secret: TURN_SECRET, credentialTtlSeconds: 3600, openRoomCredentialTtlSeconds: 10 },
		});
	});

	withBystanders(() => server);

	afterAll(async () => {
		await server?.close();
	});

	it('with a token they expire with it, never later; without one they live the short open-room TTL', async () => {
		const token = await rawToken({ room: 't', role: 'participant', sub: 'tina', iat: now(), exp: now() + 90 });
		const client = await connectClient(server.port);
		const joined = await client.request(Method.Join, join('t', token));
		const expiry = Number(joined.iceServers[0]?.username?.split(':')[0]);
		expect(expiry).toBeLessThanOrEqual(now() + 90);
		expect(expiry).toBeGreaterThan(now() + 80);
		expect(joined.iceServersExpireAt).toBe(expiry * 1000);
		client.close();
		const guest = await connectClient(server.port);
		const open = await guest.request(Method.Join, join('open'));
		expect(Number(open.iceServers[0]?.username?.split(':')[0])).toBeLessThanOrEqual(now() + 10);
		guest.close();
	});

	it('are renewed through signaling before they expire: an iceServers notification with a later expiry and a valid credential', async () => {
		const client = await connectClient(server.port);
		const joined = await client.request(Method.Join, join('renew'));
		const [renewed] = await nextEvent(client, Notification.IceServers, 9000);
		expect(renewed.expiresAt).toBeGreaterThan(joined.iceServersExpireAt as number);
		const [ice] = renewed.iceServers;
		expect(ice?.credential).toBe(turnPassword(TURN_SECRET, ice?.username ?? ''));
		expect(Number(ice?.username?.split(':')[0]) * 1000).toBe(renewed.expiresAt);
		client.close();
	});

	it('are not renewed past the token: a session whose token ends before the TTL gets none', async () => {
		const token = await rawToken({ room: 'brief', role: 'participant', sub: 'bea', iat: now(), exp: now() + 4 });
		const client = await connectClient(server.port);
		const joined = await client.request(Method.Join, join('brief', token));
		expect(joined.iceServersExpireAt).toBeLessThanOrEqual((now() + 4) * 1000);
		const renewal = await nextEvent(client, Notification.IceServers, 5000).then(
			() => 'renewed',
			() => 'none',
		);
		expect(renewal).toBe('none');
		client.close();
	});
});

describe('room API: claiming a room that a join made', () => {
	let server: Server;
	let base: string;
	const auth = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

	beforeAll(async () => {
		server = await startInProcessServer({ auth: { tokenSecret: SECRET, apiKey: API_KEY } });
		base = `http://127.0.0.1:${server.port}/api/rooms`;
	});

	withBystanders(() => server);

	afterAll(async () => {
		await server?.close();
	});

	it('an anonymous joiner makes a room but not its host; the API claims it with requireToken: anonymous peers are let out with 4007 TOKEN_REQUIRED', async () => {
		const squatter = await connectClient(server.port);
		const first = await squatter.request(Method.Join, join('standup'));
		expect(first.role).toBe('participant');
		const hostToken = await server.tokens.sign({ roomId: 'standup', identity: 'owner', role: 'host' }, 600);
		const owner = await connectClient(server.port);
		await owner.request(Method.Join, join('standup', hostToken));
		const squatterClosed = nextEvent(squatter, 'close');
		const ownerSees = nextEvent(owner, Notification.PeerLeft);

		const res = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ roomId: 'standup', settings: { requireToken: true } }) });
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({ roomId: 'standup', persistent: true, peers: 1, settings: { requireToken: true } });
		expect(await squatterClosed).toEqual([CloseCode.NoLongerAdmitted, ErrorCode.TokenRequired]);
		expect((await ownerSees)[0]).toEqual({ peerId: first.peerId });
		expect(owner.closed).toBe(false);
		// From now on the room needs a token, and it stays when empty.
		const anonymous = await connectClient(server.port);
		await expect(anonymous.request(Method.Join, join('standup'))).rejects.toMatchObject({ code: ErrorCode.TokenRequired });
		owner.close();
		await until(() => server.rooms.get('standup')?.size === 0, 5000, 'the owner to leave');
		expect(server.rooms.get('standup')?.persistent).toBe(true);
		// A second claim is a conflict, as for any room the API made.
		expect((await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ roomId: 'standup' }) })).status).toBe(409);
	});

	it('a claim with a smaller maxPeers lets the latest joiners out with 4007 ROOM_FULL; the topology thresholds apply at once', async () => {
		const clients = [await connectClient(server.port), await connectClient(server.port), await connectClient(server.port)];
		const joined = [];
		for (const [i, client] of clients.entries()) joined.push(await client.request(Method.Join, join('crowded', undefined, `P${i}`)));
		const lastClosed = nextEvent(clients[2]!, 'close');
		const prepare = nextEvent(clients[0]!, Notification.TopologyPrepare);
		const res = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ roomId: 'crowded', settings: { maxPeers: 2, meshMaxPeers: 0, meshMinPeers: 0 } }) });
		expect(res.status).toBe(200);
		expect(await lastClosed).toEqual([CloseCode.NoLongerAdmitted, ErrorCode.RoomFull]);
		expect(server.rooms.get('crowded')?.size).toBe(2);
		// meshMaxPeers 0 now: the room moves to the SFU.
		expect((await prepare)[0]).toMatchObject({ target: 'sfu' });
		for (const client of clients) client.close();
	});

	it('a claim lets out who no longer qualifies before its thresholds apply: the room it keeps is judged, not the one it had', async () => {
		const clients = [await connectClient(server.port), await connectClient(server.port), await connectClient(server.port)];
		for (const [i, client] of clients.entries()) await client.request(Method.Join, join('judged', undefined, `J${i}`));
		let prepared = false;
		clients[0]!.on(Notification.TopologyPrepare, () => (prepared = true));
		const lastClosed = nextEvent(clients[2]!, 'close');
		// Three peers, a mesh of at most 2: had the thresholds come first, the room would have left for the SFU.
		const res = await fetch(base, { method: 'POST', headers: auth, body: JSON.stringify({ roomId: 'judged', settings: { maxPeers: 2, meshMaxPeers: 2, meshMinPeers: 1 } }) });
		expect(res.status).toBe(200);
		expect(await lastClosed).toEqual([CloseCode.NoLongerAdmitted, ErrorCode.RoomFull]);
		expect(await (await fetch(`${base}/judged`, { headers: auth })).json()).toMatchObject({ peers: 2, topology: { state: 'mesh' } });
		await new Promise((r) => setTimeout(r, 200));
		expect(prepared).toBe(false);
		for (const client of clients) client.close();
	});
});

import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TurnConfigSchema } from '../../core/config/index.js';
import { Method, PROTOCOL_VERSION } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import { TurnCredentials, turnPassword } from '../../server/turn/TurnCredentials.js';
import { startCoturn, type RunningCoturn } from '../support/coturn.js';
import { startInProcessServer } from '../support/inProcessServer.js';
import { connectClient } from '../support/signaling.js';

/** coturn's own test client: allocates, relays a few packets between two allocations. */
function uclient(port: number, username: string, password: string): Promise<{ code: number | null; output: string }> {
	return new Promise((resolve) => {
		const child = spawn('/usr/bin/turnutils_uclient', ['-p', String(port), '-u', username, '-w', password, '-e', '127.0.0.1', '-n', '5', '-m', '1', '-y', '-c', '127.0.0.1']);
		let output = '';
		child.stdout.on('data', (c: Buffer) => (output += c.toString()));
		child.stderr.on('data', (c: Buffer) => (output += c.toString()));
		const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
		child.once('exit', (code) => {
			clearTimeout(timer);
			resolve({ code, output });
		});
	});
}

/** The largest "tot_recv_bytes ~ N" uclient printed (it prints progress, then the total). */
function receivedBytes(output: string): number {
	return Math.max(0, ...[...output.matchAll(/tot_recv_bytes ~ (\d+)/g)].map((m) => Number(m[1])));
}

describe('TURN credentials against a real coturn', () => {
	let coturn: RunningCoturn;
	let server: Server;

	beforeAll(async () => {
		coturn = await startCoturn({ min: 49500, max: 49599 });
		server = await startInProcessServer({
			turn: { enabled: true, urls: [coturn.url], secret: coturn.secret, credentialTtlSeconds: 3600, openRoomCredentialTtlSeconds: 300 },
		});
	});

	afterAll(async () => {
		await server?.close();
		await coturn?.stop();
	});

	it('the join response of an open room carries short-lived TURN credentials that coturn accepts and relays with', async () => {
		const client = await connectClient(server.port);
		const joined = await client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'turn', displayName: 'Tess' });
		client.close();
		const [ice] = joined.iceServers;
		expect(ice?.urls).toEqual([coturn.url]);
		const expiry = Number(ice?.username?.split(':')[0]);
		expect(expiry).toBeGreaterThan(Date.now() / 1000 + 250);
		expect(expiry).toBeLessThanOrEqual(Date.now() / 1000 + 300);
		const result = await uclient(coturn.port, ice?.username ?? '', ice?.credential ?? '');
		expect(result.code).toBe(0);
		expect(receivedBytes(result.output)).toBeGreaterThan(0);
	});

	it('a forged credential is refused by coturn', async () => {
		const [ice] = new TurnCredentials(TurnConfigSchema.parse({ enabled: true, urls: [coturn.url], secret: coturn.secret })).iceServersFor('mallory', undefined).iceServers;
		const forged = turnPassword('not-the-shared-secret', ice?.username ?? '');
		const result = await uclient(coturn.port, ice?.username ?? '', forged);
		expect(result.code).not.toBe(0);
		expect(result.output).toContain('Cannot complete Allocation');
		expect(receivedBytes(result.output)).toBe(0);
	});

	it('an expired credential, correctly signed, is refused by coturn', async () => {
		const config = TurnConfigSchema.parse({ enabled: true, urls: [coturn.url], secret: coturn.secret, openRoomCredentialTtlSeconds: 60 });
		// Issued two minutes ago with a one-minute life.
		const [ice] = new TurnCredentials(config, () => Date.now() - 120_000).iceServersFor('late', undefined).iceServers;
		expect(Number(ice?.username?.split(':')[0])).toBeLessThan(Date.now() / 1000);
		const result = await uclient(coturn.port, ice?.username ?? '', ice?.credential ?? '');
		expect(result.code).not.toBe(0);
		expect(result.output).toContain('Cannot complete Allocation');
	});
});

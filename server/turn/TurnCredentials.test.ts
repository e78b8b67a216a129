import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TurnConfigSchema } from '../../core/config/index.js';
import { TurnCredentials } from './TurnCredentials.js';

const config = TurnConfigSchema.parse({
	enabled: true,
	urls: ['turn:127.0.0.1:3478?transport=udp'],
	secret: 'shared-secret-for-tests',
	credentialTtlSeconds: 600,
});

describe('TurnCredentials', () => {
	it('issues "<expiry>:<identity>" with base64(HMAC-SHA1(secret, username))', () => {
		const now = 1_700_000_000_000;
		const issued = new TurnCredentials(config, () => now).iceServersFor('alice', now + 3_600_000);
		const [server] = issued.iceServers;
		expect(issued.expiresAt).toBe(now + 600_000);
		expect(server?.urls).toEqual(['turn:127.0.0.1:3478?transport=udp']);
		expect(server?.username).toBe(`${1_700_000_000 + 600}:alice`);
		const expected = createHmac('sha1', 'shared-secret-for-tests').update(server?.username ?? '').digest('base64');
		expect(server?.credential).toBe(expected);
	});

	it('keeps a colon in the identity from forging another expiry', () => {
		const [server] = new TurnCredentials(config, () => 0).iceServersFor('9999999999:mallory', 3_600_000).iceServers;
		expect(server?.username).toBe('600:9999999999_mallory');
	});

	it('never outlives the session\'s access token', () => {
		const now = 1_700_000_000_000;
		const issued = new TurnCredentials(config, () => now).iceServersFor('bob', now + 90_500);
		expect(issued.expiresAt).toBe(now + 90_000);
		expect(issued.iceServers[0]?.username).toBe(`${1_700_000_000 + 90}:bob`);
	});

	it('lives the short open-room TTL for a peer without a token', () => {
		const now = 1_700_000_000_000;
		const open = TurnConfigSchema.parse({ ...config, openRoomCredentialTtlSeconds: 60 });
		expect(new TurnCredentials(open, () => now).iceServersFor('guest', undefined).expiresAt).toBe(now + 60_000);
	});

	it('gives no ICE server when TURN is off', () => {
		expect(new TurnCredentials(TurnConfigSchema.parse({})).iceServersFor('alice', undefined)).toEqual({ iceServers: [], expiresAt: null });
	});
});

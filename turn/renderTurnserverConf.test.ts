import { describe, expect, it } from 'vitest';
import { TurnConfigSchema } from '../core/config/index.js';
import { DENIED_PEER_RANGES, renderTurnserverConf } from './renderTurnserverConf.js';

const base = { enabled: true, urls: ['turn:turn.example.com:3478'], secret: 'a-very-long-shared-secret' };

describe('renderTurnserverConf()', () => {
	it('uses REST auth with the shared secret, CLI off, and the configured ports', () => {
		const conf = renderTurnserverConf(TurnConfigSchema.parse({ ...base, listeningPort: 3479, minPort: 50000, maxPort: 50010 }));
		const lines = conf.split('\n');
		expect(lines).toContain('use-auth-secret');
		expect(lines).toContain('static-auth-secret=a-very-long-shared-secret');
		expect(lines).toContain('no-cli');
		expect(lines).toContain('listening-port=3479');
		expect(lines).toContain('min-port=50000');
		expect(lines).toContain('max-port=50010');
		expect(lines).toContain('realm=streaming-engine');
	});

	it('denies relaying to loopback and private peers by default', () => {
		const conf = renderTurnserverConf(TurnConfigSchema.parse(base));
		expect(conf).not.toContain('allow-loopback-peers');
		for (const range of DENIED_PEER_RANGES) expect(conf).toContain(`denied-peer-ip=${range}`);
		expect(conf).toContain('denied-peer-ip=127.0.0.0-127.255.255.255');
		expect(conf).toContain('denied-peer-ip=10.0.0.0-10.255.255.255');
	});

	it('allows loopback peers only when the test config asks, and then denies nothing', () => {
		const conf = renderTurnserverConf(TurnConfigSchema.parse({ ...base, allowLoopbackPeers: true }));
		expect(conf).toContain('allow-loopback-peers');
		expect(conf).not.toContain('denied-peer-ip');
	});

	it('refuses to render without a secret', () => {
		expect(() => renderTurnserverConf(TurnConfigSchema.parse({}))).toThrow('turn.secret is required');
	});

	it('the schema refuses enabled TURN without secret or urls, naming the key', () => {
		const noSecret = TurnConfigSchema.safeParse({ enabled: true, urls: ['turn:x'] });
		expect(noSecret.success).toBe(false);
		expect(noSecret.error?.issues[0]?.path).toEqual(['secret']);
		const short = TurnConfigSchema.safeParse({ secret: 'short' });
		expect(short.error?.issues[0]?.path).toEqual(['secret']);
	});
});

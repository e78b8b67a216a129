import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultServerConfig } from '../../core/config/index.js';
import { ConfigError, loadConfig } from './loadConfig.js';

function configFile(content: string): string {
	const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'config.json');
	writeFileSync(file, content);
	return file;
}

function keyOf(fn: () => unknown): string | undefined {
	try {
		fn();
	} catch (error) {
		return error instanceof ConfigError ? error.key : 'not a ConfigError';
	}
	return undefined;
}

describe('loadConfig()', () => {
	it('with no file and no env gives the embedded defaults (port 8080)', () => {
		const config = loadConfig({});
		expect(config).toEqual(defaultServerConfig());
		expect(config.port).toBe(8080);
		expect(config.mediasoup.numWorkers).toBe(0);
	});

	it('env overrides win over the file, the file over the defaults', () => {
		const file = configFile(JSON.stringify({ port: 9000, mediasoup: { listenIp: '10.0.0.5', rtcMinPort: 41000 } }));
		const config = loadConfig({ CONFIG_FILE: file, PORT: '9100', MEDIASOUP_ANNOUNCED_IP: '203.0.113.7' });
		expect(config.port).toBe(9100);
		expect(config.mediasoup.listenIp).toBe('10.0.0.5');
		expect(config.mediasoup.rtcMinPort).toBe(41000);
		expect(config.mediasoup.rtcMaxPort).toBe(49999);
		expect(config.mediasoup.announcedIp).toBe('203.0.113.7');
	});

	it('mediasoup listens on `auto` unless MEDIASOUP_LISTEN_IP names an address; an announced address needs one', () => {
		expect(loadConfig({}).mediasoup.listenIp).toBe('auto');
		expect(loadConfig({ MEDIASOUP_LISTEN_IP: '127.0.0.1' }).mediasoup.listenIp).toBe('127.0.0.1');
		expect(() => loadConfig({ MEDIASOUP_ANNOUNCED_IP: '203.0.113.7' })).toThrow(/mediasoup\.announcedIp.*explicit listenIp.*MEDIASOUP_ANNOUNCED_IP/);
		expect(keyOf(() => loadConfig({ MEDIASOUP_LISTEN_IP: 'localhost' }))).toBe('mediasoup.listenIp');
	});

	it('names the env variable when it is not an integer', () => {
		expect(keyOf(() => loadConfig({ MEDIASOUP_NUM_WORKERS: 'many' }))).toBe('MEDIASOUP_NUM_WORKERS');
	});

	it('names the dotted key when a value is out of range', () => {
		expect(keyOf(() => loadConfig({ PORT: '70000' }))).toBe('port');
		expect(keyOf(() => loadConfig({ MEDIASOUP_LOG_LEVEL: 'loud' }))).toBe('mediasoup.logLevel');
		expect(keyOf(() => loadConfig({ MEDIASOUP_MIN_PORT: '50000', MEDIASOUP_MAX_PORT: '40000' }))).toBe('mediasoup.rtcMinPort');
	});

	it('refuses an unreadable or non-object file as CONFIG_FILE', () => {
		expect(keyOf(() => loadConfig({ CONFIG_FILE: '/nonexistent/config.json' }))).toBe('CONFIG_FILE');
		expect(keyOf(() => loadConfig({ CONFIG_FILE: configFile('[1]') }))).toBe('CONFIG_FILE');
		expect(keyOf(() => loadConfig({ CONFIG_FILE: configFile('{oops') }))).toBe('CONFIG_FILE');
	});

	it('reads the topology thresholds from MESH_MAX_PEERS, MESH_MIN_PEERS and DEESCALATE_COOLDOWN_MS', () => {
		expect(loadConfig({}).topology).toMatchObject({ meshMaxPeers: 4, meshMinPeers: 2, deescalateCooldownMs: 10_000 });
		const config = loadConfig({ MESH_MAX_PEERS: '2', MESH_MIN_PEERS: '1', DEESCALATE_COOLDOWN_MS: '3000', ESCALATE_MAX_PACKET_LOSS: '0.25' });
		expect(config.topology).toMatchObject({ meshMaxPeers: 2, meshMinPeers: 1, deescalateCooldownMs: 3000, maxPacketLoss: 0.25 });
		expect(loadConfig({ MESH_MAX_PEERS: '0' }).topology.meshMaxPeers).toBe(0);
	});

	it('reads the repair policy from REPAIR_DISCONNECTED_GRACE_MS and REPAIR_GIVE_UP_MS, within the protocol bounds', () => {
		expect(loadConfig({}).repair).toEqual({ disconnectedGraceMs: 1000, giveUpMs: 20_000 });
		expect(loadConfig({ REPAIR_DISCONNECTED_GRACE_MS: '0', REPAIR_GIVE_UP_MS: '60000' }).repair).toEqual({ disconnectedGraceMs: 0, giveUpMs: 60_000 });
		expect(keyOf(() => loadConfig({ REPAIR_DISCONNECTED_GRACE_MS: '60001' }))).toBe('repair.disconnectedGraceMs');
		expect(keyOf(() => loadConfig({ REPAIR_GIVE_UP_MS: '999' }))).toBe('repair.giveUpMs');
		expect(keyOf(() => loadConfig({ REPAIR_GIVE_UP_MS: 'soon' }))).toBe('REPAIR_GIVE_UP_MS');
	});

	it('refuses inconsistent or malformed topology thresholds, naming the key and the variable', () => {
		expect(keyOf(() => loadConfig({ MESH_MAX_PEERS: 'four' }))).toBe('MESH_MAX_PEERS');
		expect(keyOf(() => loadConfig({ MESH_MAX_PEERS: '-1' }))).toBe('topology.meshMaxPeers');
		expect(keyOf(() => loadConfig({ DEESCALATE_COOLDOWN_MS: '1.5' }))).toBe('DEESCALATE_COOLDOWN_MS');
		expect(keyOf(() => loadConfig({ ESCALATE_MAX_PACKET_LOSS: '2' }))).toBe('topology.maxPacketLoss');
		expect(() => loadConfig({ MESH_MAX_PEERS: '3', MESH_MIN_PEERS: '5' })).toThrow(/topology\.meshMinPeers.*must not exceed meshMaxPeers.*MESH_MIN_PEERS/);
	});
});

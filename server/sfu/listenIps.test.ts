import { describe, expect, it } from 'vitest';
import { MediasoupConfigSchema } from '../../core/config/index.js';
import { resolveListenIps, resolvePipeListenIp, type NetworkInterfaces } from './listenIps.js';

const lo = [
	{ address: '127.0.0.1', family: 'IPv4', internal: true },
	{ address: '::1', family: 'IPv6', internal: true },
];
const eth0 = [
	{ address: '192.168.1.20', family: 'IPv4', internal: false },
	{ address: 'fd00::20', family: 'IPv6', internal: false },
	{ address: 'fe80::1', family: 'IPv6', internal: false },
];
const wlan0 = [{ address: '10.0.0.7', family: 'IPv4', internal: false }];
/** An internal non-loopback address (e.g. a dummy interface Node marks internal) and Node 18.0-18.3's numeric family. */
const odd = [
	{ address: '169.254.0.9', family: 'IPv4', internal: true },
	{ address: '172.16.0.3', family: 4, internal: false },
];

const mediasoup = (raw: Record<string, unknown>) => MediasoupConfigSchema.parse(raw);

describe('resolveListenIps()', () => {
	const cases: Array<{ name: string; config: Record<string, unknown>; interfaces: NetworkInterfaces; expected: unknown }> = [
		{ name: 'auto (the default), loopback only', config: {}, interfaces: { lo }, expected: [{ ip: '127.0.0.1' }] },
		{ name: 'auto, no interfaces at all', config: { listenIp: 'auto' }, interfaces: {}, expected: [{ ip: '127.0.0.1' }] },
		{
			name: 'auto with a LAN interface: loopback first, then its IPv4 address, announced as itself; IPv6 skipped',
			config: {},
			interfaces: { lo, eth0 },
			expected: [{ ip: '127.0.0.1' }, { ip: '192.168.1.20' }],
		},
		{
			name: 'auto with two LAN interfaces: both, in order',
			config: { listenIp: 'auto' },
			interfaces: { lo, eth0, wlan0, undefinedOne: undefined },
			expected: [{ ip: '127.0.0.1' }, { ip: '192.168.1.20' }, { ip: '10.0.0.7' }],
		},
		{
			name: 'auto skips internal addresses, reads a numeric family, lists an address once',
			config: {},
			interfaces: { lo, odd, again: [{ address: '172.16.0.3', family: 'IPv4', internal: false }] },
			expected: [{ ip: '127.0.0.1' }, { ip: '172.16.0.3' }],
		},
		{ name: 'an explicit address: that one alone, whatever the interfaces', config: { listenIp: '127.0.0.1' }, interfaces: { lo, eth0 }, expected: [{ ip: '127.0.0.1' }] },
		{ name: 'an explicit IPv6 address', config: { listenIp: '::1' }, interfaces: { lo, eth0 }, expected: [{ ip: '::1' }] },
		{
			name: 'an explicit address with an announced one',
			config: { listenIp: '0.0.0.0', announcedIp: '203.0.113.7' },
			interfaces: { lo, eth0 },
			expected: [{ ip: '0.0.0.0', announcedIp: '203.0.113.7' }],
		},
	];
	it.each(cases)('$name', ({ config, interfaces, expected }) => {
		expect(resolveListenIps(mediasoup(config), interfaces)).toEqual(expected);
	});

	it('the config refuses an announced address with auto (which one would it stand for?) and a listen address that is not one', () => {
		expect(MediasoupConfigSchema.safeParse({ announcedIp: '203.0.113.7' }).error?.issues[0]?.path).toEqual(['announcedIp']);
		expect(MediasoupConfigSchema.safeParse({ listenIp: 'atuo' }).error?.issues[0]?.path).toEqual(['listenIp']);
		expect(MediasoupConfigSchema.parse({}).listenIp).toBe('auto');
	});
});

describe('resolvePipeListenIp()', () => {
	const cases: Array<{ name: string; cluster: { pipeListenIp?: string; pipeAnnouncedIp?: string }; config: Record<string, unknown>; expected: unknown }> = [
		{ name: 'auto: loopback', cluster: {}, config: {}, expected: { ip: '127.0.0.1' } },
		{ name: 'an explicit listen address: that one', cluster: {}, config: { listenIp: '10.0.0.5' }, expected: { ip: '10.0.0.5' } },
		{
			name: 'an explicit listen address and an announced one: both',
			cluster: {},
			config: { listenIp: '0.0.0.0', announcedIp: '203.0.113.7' },
			expected: { ip: '0.0.0.0', announcedIp: '203.0.113.7' },
		},
		{
			name: 'pipeListenIp and pipeAnnouncedIp win',
			cluster: { pipeListenIp: '0.0.0.0', pipeAnnouncedIp: '172.28.0.11' },
			config: { listenIp: '0.0.0.0', announcedIp: '203.0.113.7' },
			expected: { ip: '0.0.0.0', announcedIp: '172.28.0.11' },
		},
		{ name: 'pipeListenIp with auto', cluster: { pipeListenIp: '10.1.0.2' }, config: {}, expected: { ip: '10.1.0.2' } },
	];
	it.each(cases)('$name', ({ cluster, config, expected }) => {
		expect(resolvePipeListenIp(cluster, mediasoup(config))).toEqual(expected);
	});
});

import type { ClusterConfig, MediasoupConfig } from '../../core/config/index.js';

/** One address a transport listens on, and the address its ICE candidates announce (unset: the listen address). */
export interface ListenIp {
	ip: string;
	announcedIp?: string;
}

/** The part of os.networkInterfaces() read here (injected, so the resolution is a pure function). */
export type NetworkInterfaces = Record<string, ReadonlyArray<{ address: string; family: string | number; internal: boolean }> | undefined>;

/** Where the transports listen when nothing else is said: loopback, which every browser on this machine but Firefox reaches. */
export const LOOPBACK = '127.0.0.1';

/**
 * The addresses the WebRTC transports listen on, from `mediasoup.listenIp`:
 *
 * - `auto` (the default): 127.0.0.1, then every non-internal IPv4 address
 *   of the machine (IPv6 and internal ones skipped), each announced as
 *   itself. A laptop's browsers reach the SFU whichever they use: Chromium
 *   over loopback, Firefox (which gathers no loopback candidates) over the
 *   machine's own LAN address.
 * - an explicit address: that one alone, announcing `mediasoup.announcedIp`
 *   when set (as before `auto` existed).
 */
export function resolveListenIps(mediasoup: Pick<MediasoupConfig, 'listenIp' | 'announcedIp'>, interfaces: NetworkInterfaces): ListenIp[] {
	if (mediasoup.listenIp !== 'auto') {
		return [{ ip: mediasoup.listenIp, ...(mediasoup.announcedIp ? { announcedIp: mediasoup.announcedIp } : {}) }];
	}
	const ips = [LOOPBACK];
	for (const addresses of Object.values(interfaces)) {
		for (const { address, family, internal } of addresses ?? []) {
			// Node 18.0-18.3 said 4 rather than 'IPv4'.
			const ipv4 = family === 'IPv4' || family === 4;
			if (ipv4 && !internal && !ips.includes(address)) ips.push(address);
		}
	}
	return ips.map((ip) => ({ ip }));
}

/**
 * Where this node's pipe transports (a broadcast's stage piped between
 * nodes) listen: `cluster.pipeListenIp`, else the explicit
 * `mediasoup.listenIp`, else (`auto`) 127.0.0.1. They announce
 * `cluster.pipeAnnouncedIp`, else `mediasoup.announcedIp` (never set with
 * `auto`), else the listen address.
 */
export function resolvePipeListenIp(cluster: Pick<ClusterConfig, 'pipeListenIp' | 'pipeAnnouncedIp'>, mediasoup: Pick<MediasoupConfig, 'listenIp' | 'announcedIp'>): ListenIp {
	const ip = cluster.pipeListenIp ?? (mediasoup.listenIp === 'auto' ? LOOPBACK : mediasoup.listenIp);
	const announcedIp = cluster.pipeAnnouncedIp ?? mediasoup.announcedIp;
	return { ip, ...(announcedIp ? { announcedIp } : {}) };
}

import { z } from 'zod';

/**
 * The server's whole configuration, with its defaults. The server loads it
 * from these defaults, then an optional JSON file, then environment
 * overrides (server/config/loadConfig.ts), and refuses to start when any key
 * is invalid, naming the key.
 */

const port = z.number().int().min(0).max(65535);

export const MediasoupConfigSchema = z
	.object({
		/** Workers to start; 0 means one per CPU core. */
		numWorkers: z.number().int().min(0).max(256).default(0),
		/** UDP/TCP port range for WebRTC transports. */
		rtcMinPort: port.min(1).default(40000),
		rtcMaxPort: port.min(1).default(49999),
		/** Local IP the transports bind to. */
		listenIp: z.string().min(1).default('127.0.0.1'),
		/** Public IP announced in ICE candidates when listenIp is not reachable (NAT, 0.0.0.0). */
		announcedIp: z.string().min(1).optional(),
		logLevel: z.enum(['debug', 'warn', 'error', 'none']).default('warn'),
	})
	.refine((c) => c.rtcMinPort <= c.rtcMaxPort, {
		message: 'rtcMinPort must not exceed rtcMaxPort',
		path: ['rtcMinPort'],
	});

export const TurnConfigSchema = z
	.object({
		/** When false, clients get no TURN server and connect directly or not at all. */
		enabled: z.boolean().default(false),
		/** URLs handed to browsers, e.g. ["turn:turn.example.com:3478?transport=udp"]. */
		urls: z.array(z.string().regex(/^turns?:/, 'must start with turn: or turns:')).default([]),
		/** Shared with coturn (`static-auth-secret`); signs the REST credentials. */
		secret: z.string().min(16, 'at least 16 characters').optional(),
		realm: z.string().min(1).default('streaming-engine'),
		/** How long a credential issued at join stays valid. */
		credentialTtlSeconds: z.number().int().min(60).max(86_400).default(3600),
		/** coturn's own sockets. */
		listeningIp: z.string().min(1).default('0.0.0.0'),
		listeningPort: port.min(1).default(3478),
		relayIp: z.string().min(1).optional(),
		externalIp: z.string().min(1).optional(),
		minPort: port.min(1).default(49160),
		maxPort: port.min(1).default(49400),
		/** Tests on one machine only: lets coturn relay to 127.0.0.1. Never in production. */
		allowLoopbackPeers: z.boolean().default(false),
	})
	.refine((c) => c.minPort <= c.maxPort, { message: 'minPort must not exceed maxPort', path: ['minPort'] })
	.refine((c) => !c.enabled || c.secret !== undefined, { message: 'required when turn.enabled', path: ['secret'] })
	.refine((c) => !c.enabled || c.urls.length > 0, { message: 'required when turn.enabled', path: ['urls'] });

export const ServerConfigSchema = z.object({
	/** HTTP and WebSocket port; 0 picks a free one (tests). */
	port: port.default(8080),
	/** Interface the HTTP server binds. */
	host: z.string().min(1).default('0.0.0.0'),
	logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
	mediasoup: MediasoupConfigSchema.default(() => MediasoupConfigSchema.parse({})),
	turn: TurnConfigSchema.default(() => TurnConfigSchema.parse({})),
});

export type MediasoupConfig = z.infer<typeof MediasoupConfigSchema>;
export type TurnConfig = z.infer<typeof TurnConfigSchema>;
export type ServerConfig = z.infer<typeof ServerConfigSchema>;

/** The embedded default configuration: what `npm start` runs with. */
export function defaultServerConfig(): ServerConfig {
	return ServerConfigSchema.parse({});
}

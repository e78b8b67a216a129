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

export const ServerConfigSchema = z.object({
	/** HTTP and WebSocket port; 0 picks a free one (tests). */
	port: port.default(8080),
	/** Interface the HTTP server binds. */
	host: z.string().min(1).default('0.0.0.0'),
	logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
	mediasoup: MediasoupConfigSchema.default(() => MediasoupConfigSchema.parse({})),
});

export type MediasoupConfig = z.infer<typeof MediasoupConfigSchema>;
export type ServerConfig = z.infer<typeof ServerConfigSchema>;

/** The embedded default configuration: what `npm start` runs with. */
export function defaultServerConfig(): ServerConfig {
	return ServerConfigSchema.parse({});
}

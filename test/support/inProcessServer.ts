import { ServerConfigSchema, type ServerConfig } from '../../core/config/index.js';
import { createLogger } from '../../server/logger.js';
import { Server } from '../../server/Server.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** A Server in this process on a free loopback port, one mediasoup worker listening on loopback, no web build unless `webRoot` names one. */
export async function startInProcessServer(overrides: DeepPartial<ServerConfig> = {}, webRoot = '/nonexistent'): Promise<Server> {
	const config = ServerConfigSchema.parse({
		...overrides,
		port: 0,
		host: '127.0.0.1',
		// Loopback only (the default, `auto`, would add the machine's own addresses).
		mediasoup: { numWorkers: 1, listenIp: '127.0.0.1', ...overrides.mediasoup },
	});
	return Server.start(config, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), { webRoot });
}

/** Polls `fn` until it returns true, or fails after `timeoutMs`. */
export async function until(fn: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await fn()) return;
		await new Promise((r) => setTimeout(r, 10));
	}
	throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

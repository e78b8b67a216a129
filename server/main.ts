import { ConfigError, loadConfig } from './config/loadConfig.js';
import { createLogger } from './logger.js';
import { Server } from './Server.js';

// Entry point for `npm start`: embedded defaults, CONFIG_FILE, env overrides.

async function main(): Promise<void> {
	let config;
	try {
		config = loadConfig();
	} catch (error) {
		if (error instanceof ConfigError) {
			process.stderr.write(`${error.message}\n`);
			process.exit(2);
		}
		throw error;
	}
	const logger = createLogger(config.logLevel);
	const server = await Server.start(config, logger);
	// Last resort: every entry point turns bad input into a 4xx or a close, so
	// nothing should get here. If a bug does, it is logged and counted
	// (streaming_internal_errors_total{where="process"}), and the calls on this
	// process go on rather than dying with it.
	const lastResort = (error: unknown): void => {
		server.metrics.internalErrors.inc({ where: 'process' });
		logger.error({ err: error }, 'uncaught error (a bug): logged, and the server keeps serving');
	};
	process.on('uncaughtException', lastResort);
	process.on('unhandledRejection', lastResort);
	logger.info(`call app at http://localhost:${server.port}/`);
	if (config.auth.requireTokens) {
		logger.info('every room requires a signed access token (auth.requireTokens)');
	} else {
		logger.warn(
			'rooms are OPEN: anyone who knows a room name can join without an access token. ' +
				'Set AUTH_TOKEN_SECRET and AUTH_REQUIRE_TOKENS=true to require tokens.',
		);
	}
	if (!config.auth.apiKey) logger.warn('the room API (/api/rooms) is open: set API_KEY to protect it');

	let stopping = false;
	const stop = (signal: string): void => {
		if (stopping) return;
		stopping = true;
		logger.info({ signal }, 'shutting down');
		// A stuck shutdown must not leave the process behind.
		const force = setTimeout(() => process.exit(1), 10_000);
		force.unref();
		server.close().then(
			() => process.exit(0),
			(error: unknown) => {
				logger.error({ err: error }, 'shutdown failed');
				process.exit(1);
			},
		);
	};
	process.on('SIGINT', () => stop('SIGINT'));
	process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
	process.stderr.write(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
	process.exit(1);
});

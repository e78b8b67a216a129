import { pino, type Logger } from 'pino';

export type { Logger };

/** One JSON logger per process; modules take a child with their name. */
export function createLogger(level: string): Logger {
	return pino({ level, base: { service: 'streaming-engine' } });
}

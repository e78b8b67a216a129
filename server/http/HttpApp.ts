import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import sirv from 'sirv';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/Metrics.js';
import { HttpError, sendError, sendJson } from './httpUtil.js';
import { ROOM_API_PREFIX, type RoomApi } from './RoomApi.js';

export type HealthFn = () => Record<string, unknown>;

/**
 * The HTTP side of the server: /healthz, /metrics, the room API, then the
 * built call app (dist/web) for everything else. WebSocket upgrades never
 * reach this handler.
 */
export function createHttpApp(options: {
	webRoot: string;
	health: HealthFn;
	metrics: Metrics;
	roomApi: RoomApi;
	logger: Logger;
}) {
	const webBuilt = existsSync(options.webRoot);
	const serveStatic = webBuilt ? sirv(options.webRoot, { single: true, etag: true }) : undefined;

	async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const path = new URL(req.url ?? '/', 'http://localhost').pathname;
		if (path === '/healthz') {
			sendJson(res, 200, { status: 'ok', ...options.health() });
			return;
		}
		if (path === '/metrics') {
			const text = await options.metrics.text();
			res.writeHead(200, { 'content-type': options.metrics.contentType });
			res.end(text);
			return;
		}
		if (path === ROOM_API_PREFIX || path.startsWith(`${ROOM_API_PREFIX}/`)) {
			await options.roomApi.handle(req, res, path);
			return;
		}
		if (req.method !== 'GET' && req.method !== 'HEAD') {
			throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} not allowed`);
		}
		if (!serveStatic) {
			throw new HttpError(503, 'WEB_NOT_BUILT', `no web build at ${options.webRoot}; run npm run build`);
		}
		serveStatic(req, res, () => sendError(res, new HttpError(404, 'NOT_FOUND', 'not found')));
	}

	return (req: IncomingMessage, res: ServerResponse): void => {
		route(req, res).catch((error: unknown) => {
			if (res.headersSent) {
				res.destroy();
				return;
			}
			if (error instanceof HttpError) {
				sendError(res, error);
				return;
			}
			options.logger.error({ err: error }, 'http request failed');
			sendError(res, new HttpError(500, 'INTERNAL', 'internal error'));
		});
	};
}

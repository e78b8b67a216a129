import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RoomIdSchema, type Role } from '../../core/protocol/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import sirv from 'sirv';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/Metrics.js';
import type { ApiKey } from './ApiKey.js';
import { appPageWith } from './appPage.js';
import { HttpError, sendError, sendJson } from './httpUtil.js';
import { parseTarget } from './requestTarget.js';
import { ROOM_API_PREFIX, type RoomApi } from './RoomApi.js';
import { setSecurityHeaders } from './securityHeaders.js';

export type HealthFn = () => Record<string, unknown>;

/** Answers /metrics: Prometheus text, behind the API key when one is set. */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, metrics: Metrics, apiKey: ApiKey | undefined): Promise<void> {
	apiKey?.authorize(req);
	const text = await metrics.text();
	res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
	res.end(text);
}

/**
 * Wraps a route so that nothing it throws escapes: an HttpError is its
 * answer, anything else is a bug, logged and counted, answered 500. This is
 * the last resort; malformed input never gets this far.
 */
export function guardRoute(
	route: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
	options: { logger: Logger; metrics: Metrics },
): (req: IncomingMessage, res: ServerResponse) => void {
	return (req, res) => {
		setSecurityHeaders(res);
		route(req, res).catch((error: unknown) => {
			if (!(error instanceof HttpError)) {
				options.metrics.internalErrors.inc({ where: 'http' });
				options.logger.error({ err: error }, 'http request failed');
			}
			if (res.headersSent) {
				res.destroy();
				return;
			}
			sendError(res, error instanceof HttpError ? error : new HttpError(500, 'INTERNAL', 'internal error'));
		});
	};
}

/**
 * The HTTP side of the server: /healthz, /metrics (unless it has its own
 * port), the room API, then the built call app (dist/web) for everything
 * else. WebSocket upgrades never reach this handler.
 */
export function createHttpApp(options: {
	webRoot: string;
	health: HealthFn;
	metrics: Metrics;
	/** False when /metrics is served on a port of its own. */
	metricsHere: boolean;
	apiKey: ApiKey | undefined;
	roomApi: RoomApi;
	logger: Logger;
	/** The role a plain link to `roomId` (no role asked, no token) joins in, if this server knows it: the app's page says so. */
	plainLinkRole?: (roomId: string) => Role | undefined;
}) {
	const webBuilt = existsSync(options.webRoot);
	const indexFile = join(options.webRoot, 'index.html');
	const indexHtml = webBuilt && existsSync(indexFile) ? readFileSync(indexFile, 'utf8') : undefined;
	// A file path (with an extension) is that file or 404; any other path is the app (it reads ?room= itself).
	const serveFile = webBuilt ? sirv(options.webRoot, { etag: true }) : undefined;
	const serveApp = webBuilt ? sirv(options.webRoot, { single: true, etag: true }) : undefined;

	async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const target = parseTarget(req.url);
		if (!target) throw new HttpError(400, 'BAD_REQUEST', 'malformed request target');
		const { path } = target;
		if (path === '/healthz') {
			sendJson(res, 200, { status: 'ok', ...options.health() });
			return;
		}
		if (path === '/metrics') {
			// With a metrics port of its own, this one has no /metrics (and must not fall through to the app).
			if (!options.metricsHere) throw new HttpError(404, 'NOT_FOUND', `/metrics is served on the metrics port`);
			await serveMetrics(req, res, options.metrics, options.apiKey);
			return;
		}
		if (path === ROOM_API_PREFIX || path.startsWith(`${ROOM_API_PREFIX}/`)) {
			await options.roomApi.handle(req, res, path);
			return;
		}
		if (req.method !== 'GET' && req.method !== 'HEAD') {
			throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} not allowed`);
		}
		if (!serveFile || !serveApp) {
			throw new HttpError(503, 'WEB_NOT_BUILT', `no web build at ${options.webRoot}; run npm run build`);
		}
		const isFile = /\.[A-Za-z0-9]+$/.test(path);
		// The app's page for a room's link says the role a plain link joins in, when known: the page opens the camera sooner.
		const roomId = RoomIdSchema.safeParse(target.query.get('room')).data;
		const plainLinkRole = !isFile && indexHtml && roomId ? options.plainLinkRole?.(roomId) : undefined;
		if (indexHtml && plainLinkRole) {
			res.writeHead(200, { 'content-type': 'text/html;charset=utf-8', 'cache-control': 'no-store' });
			res.end(req.method === 'HEAD' ? undefined : appPageWith(indexHtml, plainLinkRole));
			return;
		}
		// sirv reads req.url again: hand it the target we checked, in origin form.
		req.url = target.rawPath;
		const serve = isFile ? serveFile : serveApp;
		serve(req, res, () => sendError(res, new HttpError(404, 'NOT_FOUND', 'not found')));
	}

	return guardRoute(route, options);
}

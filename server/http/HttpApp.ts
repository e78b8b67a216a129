import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import sirv from 'sirv';

export type HealthFn = () => Record<string, unknown>;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
	const text = JSON.stringify(body);
	res.writeHead(status, {
		'content-type': 'application/json; charset=utf-8',
		'content-length': Buffer.byteLength(text),
		'cache-control': 'no-store',
	});
	res.end(text);
}

/**
 * The HTTP side of the server: health, then the built call app (dist/web)
 * for everything else. WebSocket upgrades never reach this handler.
 */
export function createHttpApp(options: { webRoot: string; health: HealthFn }) {
	const webBuilt = existsSync(options.webRoot);
	const serveStatic = webBuilt ? sirv(options.webRoot, { single: true, etag: true, gzip: false }) : undefined;

	return (req: IncomingMessage, res: ServerResponse): void => {
		const url = new URL(req.url ?? '/', 'http://localhost');
		if (url.pathname === '/healthz') {
			sendJson(res, 200, { status: 'ok', ...options.health() });
			return;
		}
		if (req.method !== 'GET' && req.method !== 'HEAD') {
			sendJson(res, 405, { error: 'METHOD_NOT_ALLOWED' });
			return;
		}
		if (!serveStatic) {
			sendJson(res, 503, { error: 'WEB_NOT_BUILT', message: `no web build at ${options.webRoot}; run npm run build` });
			return;
		}
		serveStatic(req, res, () => sendJson(res, 404, { error: 'NOT_FOUND' }));
	};
}

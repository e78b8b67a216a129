import type { IncomingMessage } from 'node:http';

/** A request target split into its decoded path and its query. */
export interface RequestTarget {
	/** Percent-decoded, always starting with a single "/". */
	path: string;
	/** The raw path as sent, for handlers that serve files (they decode it themselves). */
	rawPath: string;
	query: URLSearchParams;
}

/**
 * Reads a request target without ever throwing: an origin-form target
 * ("/path?query") or an absolute-form one ("http://host/path"); anything
 * else ("*", "//host/x", a bad percent-escape, a NUL) is undefined, which
 * callers answer with 400. `new URL()` on raw input throws on some of
 * these, and that once took the whole process down.
 */
export function parseTarget(url: string | undefined): RequestTarget | undefined {
	if (url === undefined || url.length === 0 || url.length > 8192) return undefined;
	let target = url;
	if (/^https?:\/\//i.test(target)) {
		const slash = target.indexOf('/', target.indexOf('//') + 2);
		target = slash === -1 ? '/' : target.slice(slash);
	}
	if (!target.startsWith('/') || target.startsWith('//')) return undefined;
	const hash = target.indexOf('#');
	if (hash !== -1) target = target.slice(0, hash);
	const question = target.indexOf('?');
	const rawPath = question === -1 ? target : target.slice(0, question);
	let path: string;
	let query: URLSearchParams;
	try {
		path = decodeURIComponent(rawPath);
		query = new URLSearchParams(question === -1 ? '' : target.slice(question + 1));
	} catch {
		return undefined;
	}
	// eslint-disable-next-line no-control-regex
	if (/[\u0000-\u001f\u007f]/.test(path) || path.startsWith('//')) return undefined;
	return { path, rawPath, query };
}

/**
 * The client's address: the socket's peer, or with `trustProxy` the last
 * X-Forwarded-For entry (the one our own proxy appended; earlier entries
 * are the client's to forge).
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
	if (trustProxy) {
		const header = req.headers['x-forwarded-for'];
		const value = Array.isArray(header) ? header[header.length - 1] : header;
		const last = value?.split(',').pop()?.trim();
		if (last) return last;
	}
	return req.socket.remoteAddress ?? 'unknown';
}

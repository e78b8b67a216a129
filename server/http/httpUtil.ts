import type { IncomingMessage, ServerResponse } from 'node:http';

/** An HTTP failure with a machine-readable code, answered as `{error, message}`. */
export class HttpError extends Error {
	readonly status: number;
	readonly code: string;

	constructor(status: number, code: string, message: string) {
		super(message);
		this.name = 'HttpError';
		this.status = status;
		this.code = code;
	}
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
	const text = JSON.stringify(body);
	res.writeHead(status, {
		'content-type': 'application/json; charset=utf-8',
		'content-length': Buffer.byteLength(text),
		'cache-control': 'no-store',
	});
	res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError): void {
	sendJson(res, error.status, { error: error.code, message: error.message });
}

/** Reads a JSON body of at most `limit` bytes; an empty body reads as {}. */
export async function readJson(req: IncomingMessage, limit = 16 * 1024): Promise<unknown> {
	const type = req.headers['content-type'] ?? '';
	const declared = Number(req.headers['content-length'] ?? 0);
	if (declared > limit) throw new HttpError(413, 'BODY_TOO_LARGE', `body larger than ${limit} bytes`);
	const chunks: Buffer[] = [];
	let size = 0;
	try {
		for await (const chunk of req) {
			size += (chunk as Buffer).length;
			if (size > limit) throw new HttpError(413, 'BODY_TOO_LARGE', `body larger than ${limit} bytes`);
			chunks.push(chunk as Buffer);
		}
	} catch (error) {
		if (error instanceof HttpError) throw error;
		// The client went away mid-body (aborted, reset): nothing to answer, nothing to log as ours.
		throw new HttpError(400, 'BAD_BODY', 'request body was cut off');
	}
	if (size === 0) return {};
	if (!/^application\/json\b/.test(type)) {
		throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json');
	}
	try {
		return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
	} catch {
		throw new HttpError(400, 'BAD_JSON', 'body is not valid JSON');
	}
}

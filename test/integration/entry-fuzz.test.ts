import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Method, Notification, PROTOCOL_VERSION } from '../../core/protocol/index.js';
import type { SignalingClient } from '../../web/src/signaling/SignalingClient.js';
import { metricSample } from '../support/metrics.js';
import { startServer, type RunningServer } from '../support/serverProcess.js';
import { connectClient, nextEvent } from '../support/signaling.js';

// Every entry point (the HTTP parser, the routes, the room API, the
// WebSocket upgrade and the WebSocket framing) gets malformed bytes over a
// plain TCP socket. Each must answer with a 4xx or a close: never a 5xx,
// never an error logged, never a count on streaming_internal_errors_total,
// and never a dent in a call going on in another room.

const API_KEY = 'fuzz-api-key-0123456789';
const GOOD_ORIGIN = 'http://good.example';
/** How long one case may take to be answered (and closed). */
const WAIT_MS = 2_000;

const HOST = 'Host: 127.0.0.1\r\n';
const AUTH = `Authorization: Bearer ${API_KEY}\r\n`;
const JSON_TYPE = 'Content-Type: application/json\r\n';
const WS_KEY = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
const WS_HEADERS = `Upgrade: websocket\r\nConnection: Upgrade\r\n${WS_KEY}Sec-WebSocket-Version: 13\r\n`;
const H2C_HEADERS = 'Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n';
/** The masking key of every client frame below: all zeros, so the payload reads as sent. */
const MASK = [0, 0, 0, 0];

/** A request line, Host, these header lines (each ending in CRLF), the blank line, then `body`. */
const request = (line: string, headers = '', body = '') => `${line}\r\n${HOST}${headers}\r\n${body}`;
const get = (target: string, headers = '') => request(`GET ${target} HTTP/1.1`, headers);
/** A WebSocket upgrade request (good key and version) to `target`, with more header lines. */
const upgrade = (target: string, headers = '') => get(target, `${WS_HEADERS}${headers}`);
/** POST /api/rooms with the API key, these header lines, then `body`. */
const post = (headers: string, body = '') => request('POST /api/rooms HTTP/1.1', `${AUTH}${headers}`, body);
const HANDSHAKE = upgrade('/ws');

/** Fixed "random" bytes (a linear congruential generator): the same on every run. */
function noise(length: number, seed: number): Buffer {
	const bytes = Buffer.alloc(length);
	let state = seed;
	for (let i = 0; i < length; i++) {
		state = (state * 1103515245 + 12345) % 2 ** 31;
		bytes[i] = state >>> 16;
	}
	return bytes;
}

/** A TLS 1.0 record carrying the start of a ClientHello: what an https:// client sends first. */
const TLS_CLIENT_HELLO = Buffer.concat([Buffer.from('16030100a5010000a10303', 'hex'), noise(32, 7), Buffer.from('000002c02f0100', 'hex')]);

type Outcome =
	/**
	 * The status of the first answer that came back; `error` is its JSON body's code (absent: not a
	 * JSON error, e.g. Node's or ws's own answer), `body` a piece of its body, `closeCode` the code
	 * of the server's close frame after a 101.
	 */
	| { status: number; error?: string; body?: string; closeCode?: number }
	| 'closed without answer';

interface Case {
	name: string;
	/** Written to the socket once it connects, in order. */
	send: Array<string | Buffer>;
	/** After writing: half-close our side ('end'), or reset the connection ('reset'). */
	then?: 'end' | 'reset';
	/** After a 101: these raw WebSocket frames, then the server's close frame is read. */
	frames?: number[];
	expect: Outcome;
}

const APP_PAGE = '<main id="app">';
const HEALTHY = '"status":"ok"';

const cases: Case[] = [
	// Request lines and targets.
	{ name: 'GET //%/ws with the upgrade headers (once crashed the process)', send: [upgrade('//%/ws')], expect: { status: 400, error: 'BAD_REQUEST' } },
	{ name: 'GET //%/x', send: [get('//%/x')], expect: { status: 400, error: 'BAD_REQUEST' } },
	{ name: 'GET /api/rooms/%zz (a bad escape; checked before the key)', send: [get('/api/rooms/%zz')], expect: { status: 400, error: 'BAD_REQUEST' } },
	{ name: 'GET /%00 (an escaped NUL)', send: [get('/%00')], expect: { status: 400, error: 'BAD_REQUEST' } },
	{ name: 'GET /%C3%28 (an escape that is not UTF-8)', send: [get('/%C3%28')], expect: { status: 400, error: 'BAD_REQUEST' } },
	{ name: 'GET *', send: [get('*')], expect: { status: 400, error: 'BAD_REQUEST' } },
	{ name: 'OPTIONS *', send: [request('OPTIONS * HTTP/1.1')], expect: { status: 400, error: 'BAD_REQUEST' } },
	{ name: 'absolute-form GET http://x/healthz', send: [get('http://x/healthz')], expect: { status: 200, body: HEALTHY } },
	{ name: 'an unknown method token', send: [request('FROB / HTTP/1.1')], expect: { status: 400 } },
	{ name: 'a lower-case method', send: [request('get / HTTP/1.1')], expect: { status: 400 } },
	{ name: 'HTTP/9.9', send: [request('GET / HTTP/9.9')], expect: { status: 400 } },
	{ name: 'a request line with no version (Node takes it)', send: ['GET /healthz\r\n\r\n'], expect: { status: 200, body: HEALTHY } },
	{ name: 'a request line with no target', send: [request('GET HTTP/1.1')], expect: { status: 400 } },
	{ name: 'a space inside the target', send: [get('/a b')], expect: { status: 400 } },
	{ name: 'raw non-ASCII bytes in the target', send: ['GET /', Buffer.from([0xc3, 0xa9, 0xff]), ` HTTP/1.1\r\n${HOST}\r\n`], expect: { status: 400 } },
	{ name: 'a 9,000-byte target (over 8 KiB)', send: [get(`/${'a'.repeat(9000)}`)], expect: { status: 400, error: 'BAD_REQUEST' } },
	{ name: 'a 20,000-byte target (over the 16 KiB header limit)', send: [get(`/${'a'.repeat(20_000)}`)], expect: { status: 431 } },
	{ name: 'traversal with escaped slashes', send: [get('/assets/..%2f..%2f..%2fpackage.json')], expect: { status: 404, error: 'NOT_FOUND' } },
	{ name: 'traversal with escaped dots (the app page, no file)', send: [get('/%2e%2e/%2e%2e/etc/passwd')], expect: { status: 200, body: APP_PAGE } },
	{ name: 'a file path that does not exist (no app fallback)', send: [get('/nope.js')], expect: { status: 404, error: 'NOT_FOUND' } },

	// Hosts.
	{ name: 'HTTP/1.1 without Host', send: ['GET /healthz HTTP/1.1\r\n\r\n'], expect: { status: 400 } },
	{ name: 'HTTP/1.0 without Host', send: ['GET /healthz HTTP/1.0\r\n\r\n'], expect: { status: 200, body: HEALTHY } },
	{ name: 'a garbage Host', send: ['GET /healthz HTTP/1.1\r\nHost: !!@@##$$\r\n\r\n'], expect: { status: 200, body: HEALTHY } },
	{ name: 'two Host headers', send: ['GET /healthz HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n'], expect: { status: 200, body: HEALTHY } },
	{ name: 'a WebSocket upgrade without Host (let through)', send: [`GET /ws HTTP/1.1\r\n${WS_HEADERS}\r\n`], expect: { status: 101 } },

	// Headers.
	{ name: 'a 20 KiB header', send: [get('/healthz', `X-Big: ${'b'.repeat(20_000)}\r\n`)], expect: { status: 431 } },
	{ name: '3,000 small headers', send: [get('/healthz', Array.from({ length: 3000 }, (_, i) => `X-H${i}: v\r\n`).join(''))], expect: { status: 431 } },
	{ name: 'a NUL in a header value', send: [get('/healthz', 'X-A: a\0b\r\n')], expect: { status: 400 } },
	{ name: 'a NUL in a header name', send: [get('/healthz', 'X-\0A: ab\r\n')], expect: { status: 400 } },
	{ name: 'a bare CR in a header value', send: [get('/healthz', 'X-A: a\rb\r\n')], expect: { status: 400 } },
	{ name: 'bare LF line ends', send: ['GET /healthz HTTP/1.1\nHost: 127.0.0.1\nX-A: ab\n\n'], expect: { status: 400 } },
	{ name: 'a folded header (obs-fold)', send: [get('/healthz', 'X-A: a\r\n b\r\n')], expect: { status: 400 } },
	{ name: 'a space before the colon', send: [get('/healthz', 'X-A : a\r\n')], expect: { status: 400 } },
	{ name: 'a header line without a colon', send: [get('/healthz', 'garbage\r\n')], expect: { status: 400 } },
	{ name: 'two different Content-Lengths', send: [post(`${JSON_TYPE}Content-Length: 2\r\nContent-Length: 3\r\n`, '{}')], expect: { status: 400 } },
	{ name: 'two equal Content-Lengths', send: [post(`${JSON_TYPE}Content-Length: 2\r\nContent-Length: 2\r\n`, '{}')], expect: { status: 400 } },
	{ name: 'a Content-Length list', send: [post(`${JSON_TYPE}Content-Length: 2, 2\r\n`, '{}')], expect: { status: 400 } },
	{ name: 'a negative Content-Length', send: [post(`${JSON_TYPE}Content-Length: -1\r\n`, '{}')], expect: { status: 400 } },
	{ name: 'a Content-Length over 2^64', send: [post(`${JSON_TYPE}Content-Length: 99999999999999999999\r\n`, '{}')], expect: { status: 400 } },
	{
		name: 'Content-Length with Transfer-Encoding',
		send: [post(`${JSON_TYPE}Content-Length: 2\r\nTransfer-Encoding: chunked\r\n`, '2\r\n{}\r\n0\r\n\r\n')],
		expect: { status: 400 },
	},
	{ name: 'Transfer-Encoding: gzip (not ending in chunked)', send: [post(`${JSON_TYPE}Transfer-Encoding: gzip\r\n`, '{}')], expect: { status: 400 } },
	{ name: 'Transfer-Encoding: chunked, identity', send: [post(`${JSON_TYPE}Transfer-Encoding: chunked, identity\r\n`, '{}')], expect: { status: 400 } },
	{ name: 'a chunk size that is not hex', send: [post(`${JSON_TYPE}Transfer-Encoding: chunked\r\n`, 'zz\r\n{}\r\n0\r\n\r\n')], expect: { status: 400 } },
	{ name: 'chunk data not followed by CRLF', send: [post(`${JSON_TYPE}Transfer-Encoding: chunked\r\n`, '2\r\n{}XX0\r\n\r\n')], expect: { status: 400 } },
	{
		name: 'a bad chunked body on GET /healthz (answered before the body is read)',
		send: [request('GET /healthz HTTP/1.1', 'Transfer-Encoding: chunked\r\n', 'zz\r\n{}\r\n0\r\n\r\n')],
		expect: { status: 200, body: HEALTHY },
	},

	// Methods.
	{ name: 'DELETE /', send: [request('DELETE / HTTP/1.1')], expect: { status: 405, error: 'METHOD_NOT_ALLOWED' } },
	{ name: 'PUT /index.html', send: [request('PUT /index.html HTTP/1.1', 'Content-Length: 2\r\n', 'hi')], expect: { status: 405, error: 'METHOD_NOT_ALLOWED' } },
	{ name: 'PATCH /some/page', send: [request('PATCH /some/page HTTP/1.1', 'Content-Length: 0\r\n')], expect: { status: 405, error: 'METHOD_NOT_ALLOWED' } },
	{ name: 'TRACE /', send: [request('TRACE / HTTP/1.1')], expect: { status: 405, error: 'METHOD_NOT_ALLOWED' } },
	{ name: 'CONNECT example.com:443', send: ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'], expect: { status: 405 } },
	{ name: 'CONNECT /', send: [request('CONNECT / HTTP/1.1')], expect: { status: 405 } },

	// Room API bodies (POST /api/rooms with the key).
	{ name: 'bad JSON', send: [post(`${JSON_TYPE}Content-Length: 1\r\n`, '{')], expect: { status: 400, error: 'BAD_JSON' } },
	{ name: 'a JSON array', send: [post(`${JSON_TYPE}Content-Length: 2\r\n`, '[]')], expect: { status: 400, error: 'INVALID_DATA' } },
	{
		name: 'a __proto__ key',
		send: [post(`${JSON_TYPE}Content-Length: 40\r\n`, '{"__proto__":{"x":1},"roomId":"protoxx"}')],
		expect: { status: 400, error: 'INVALID_DATA' },
	},
	{ name: 'a 20 KiB body', send: [post(`${JSON_TYPE}Content-Length: 20480\r\n`, 'x'.repeat(20_480))], expect: { status: 413, error: 'BODY_TOO_LARGE' } },
	{
		name: 'a 20 KiB chunked body',
		send: [post(`${JSON_TYPE}Transfer-Encoding: chunked\r\n`, `5000\r\n${'x'.repeat(0x5000)}\r\n0\r\n\r\n`)],
		expect: { status: 413, error: 'BODY_TOO_LARGE' },
	},
	{ name: 'a text/plain body', send: [post('Content-Type: text/plain\r\nContent-Length: 2\r\n', '{}')], expect: { status: 415, error: 'UNSUPPORTED_MEDIA_TYPE' } },
	{
		name: 'a body cut off, then our side half-closed',
		send: [post(`${JSON_TYPE}Content-Length: 100\r\n`, '{"roomId":')],
		then: 'end',
		expect: { status: 400 },
	},
	{
		name: 'a body cut off, then the connection reset',
		send: [post(`${JSON_TYPE}Content-Length: 100\r\n`, '{"roomId":')],
		then: 'reset',
		expect: 'closed without answer',
	},
	{
		name: 'chunked JSON that is fine',
		send: [post(`${JSON_TYPE}Transfer-Encoding: chunked\r\n`, '9\r\n{"roomId"\r\nb\r\n:"chunked"}\r\n0\r\n\r\n')],
		expect: { status: 201, body: '"roomId":"chunked"' },
	},
	{ name: 'an unknown room kind', send: [post(`${JSON_TYPE}Content-Length: 31\r\n`, '{"settings":{"kind":"webinar"}}')], expect: { status: 400, error: 'INVALID_DATA', body: 'settings.kind' } },
	{ name: 'a broadcast past the largest maxPeers', send: [post(`${JSON_TYPE}Content-Length: 51\r\n`, '{"settings":{"kind":"broadcast","maxPeers":100001}}')], expect: { status: 400, error: 'INVALID_DATA', body: 'settings.maxPeers' } },
	{ name: 'a broadcast room, with the broadcast default maxPeers', send: [post(`${JSON_TYPE}Content-Length: 53\r\n`, '{"roomId":"fuzzcast","settings":{"kind":"broadcast"}}')], expect: { status: 201, body: '"kind":"broadcast","maxPeers":5000' } },
	{ name: 'no API key', send: [request('POST /api/rooms HTTP/1.1', `${JSON_TYPE}Content-Length: 2\r\n`, '{}')], expect: { status: 401, error: 'UNAUTHORIZED' } },

	// Not HTTP at all.
	{ name: 'random binary', send: [noise(256, 42)], expect: { status: 400 } },
	{ name: 'a TLS ClientHello', send: [TLS_CLIENT_HELLO], expect: { status: 400 } },
	{ name: 'an SSH banner', send: ['SSH-2.0-OpenSSH_9.6\r\n'], expect: { status: 400 } },
	{ name: 'a lone CRLF, then our side half-closed', send: ['\r\n'], then: 'end', expect: 'closed without answer' },
	{ name: 'an empty connection, half-closed at once', send: [], then: 'end', expect: 'closed without answer' },
	{ name: 'an empty connection, reset at once', send: [], then: 'reset', expect: 'closed without answer' },
	{ name: 'half a header section, then our side half-closed', send: [`GET /healthz HTTP/1.1\r\n${HOST}`], then: 'end', expect: { status: 400 } },

	// WebSocket upgrades.
	{ name: 'upgrade to /other', send: [upgrade('/other')], expect: { status: 404, error: 'NOT_FOUND' } },
	{ name: 'upgrade to /healthz', send: [upgrade('/healthz')], expect: { status: 404, error: 'NOT_FOUND' } },
	{ name: 'upgrade to /%2Fws', send: [upgrade('/%2Fws')], expect: { status: 400, error: 'BAD_REQUEST' } },
	{ name: 'upgrade to *', send: [upgrade('*')], expect: { status: 400, error: 'BAD_REQUEST' } },
	{
		name: 'upgrade to /ws without Sec-WebSocket-Key',
		send: [get('/ws', 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n')],
		expect: { status: 400, body: 'Missing or invalid Sec-WebSocket-Key header' },
	},
	{
		name: 'upgrade to /ws with a short Sec-WebSocket-Key',
		send: [get('/ws', 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n')],
		expect: { status: 400, body: 'Missing or invalid Sec-WebSocket-Key header' },
	},
	{
		name: 'upgrade to /ws with Sec-WebSocket-Version 12',
		send: [get('/ws', `Upgrade: websocket\r\nConnection: Upgrade\r\n${WS_KEY}Sec-WebSocket-Version: 12\r\n`)],
		expect: { status: 400, body: 'Missing or invalid Sec-WebSocket-Version header' },
	},
	{
		name: 'POST with the upgrade headers',
		send: [request('POST /ws HTTP/1.1', `${WS_HEADERS}Content-Length: 0\r\n`)],
		expect: { status: 405, body: 'Invalid HTTP method' },
	},
	{ name: 'Upgrade: h2c to /ws', send: [get('/ws', H2C_HEADERS)], expect: { status: 400, body: 'Invalid Upgrade header' } },
	{ name: 'Upgrade: h2c to /healthz', send: [get('/healthz', H2C_HEADERS)], expect: { status: 404, error: 'NOT_FOUND' } },
	{
		name: 'a malformed Sec-WebSocket-Protocol',
		send: [upgrade('/ws', 'Sec-WebSocket-Protocol: a,,b\r\n')],
		expect: { status: 400, body: 'Invalid Sec-WebSocket-Protocol header' },
	},
	{ name: 'Origin http://evil.example', send: [upgrade('/ws', 'Origin: http://evil.example\r\n')], expect: { status: 403, error: 'ORIGIN_NOT_ALLOWED' } },
	{ name: 'Origin null', send: [upgrade('/ws', 'Origin: null\r\n')], expect: { status: 403, error: 'ORIGIN_NOT_ALLOWED' } },
	{ name: 'the allowed Origin in capitals', send: [upgrade('/ws', 'Origin: HTTP://GOOD.EXAMPLE\r\n')], expect: { status: 403, error: 'ORIGIN_NOT_ALLOWED' } },
	{
		name: 'two Origins, the allowed one first',
		send: [upgrade('/ws', `Origin: ${GOOD_ORIGIN}\r\nOrigin: http://evil.example\r\n`)],
		expect: { status: 403, error: 'ORIGIN_NOT_ALLOWED' },
	},
	{ name: `Origin ${GOOD_ORIGIN}, then we close`, send: [upgrade('/ws', `Origin: ${GOOD_ORIGIN}\r\n`)], expect: { status: 101 } },

	// WebSocket frames after a good handshake (client frames must be masked; these are, unless said otherwise).
	{ name: 'an unmasked client frame', send: [HANDSHAKE], frames: [0x81, 0x02, 0x68, 0x69], expect: { status: 101, closeCode: 1002 } },
	{ name: 'a reserved opcode (3)', send: [HANDSHAKE], frames: [0x83, 0x80, ...MASK], expect: { status: 101, closeCode: 1002 } },
	{ name: 'a fragmented control frame (a ping without FIN)', send: [HANDSHAKE], frames: [0x09, 0x80, ...MASK], expect: { status: 101, closeCode: 1002 } },
	{
		name: 'a frame claiming 2^63 bytes',
		send: [HANDSHAKE],
		frames: [0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, ...MASK],
		expect: { status: 101, closeCode: 1009 },
	},
	{
		name: 'a frame claiming 1 MiB (over maxPayload)',
		send: [HANDSHAKE],
		frames: [0x81, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, ...MASK],
		expect: { status: 101, closeCode: 1009 },
	},
	{ name: 'RSV1 set (no extension agreed)', send: [HANDSHAKE], frames: [0xc1, 0x80, ...MASK], expect: { status: 101, closeCode: 1002 } },
	{ name: 'RSV2 set', send: [HANDSHAKE], frames: [0xa1, 0x80, ...MASK], expect: { status: 101, closeCode: 1002 } },
	{ name: 'a text frame that is not UTF-8', send: [HANDSHAKE], frames: [0x81, 0x82, ...MASK, 0xff, 0xfe], expect: { status: 101, closeCode: 1007 } },
	{ name: 'a close frame with code 999', send: [HANDSHAKE], frames: [0x88, 0x82, ...MASK, 0x03, 0xe7], expect: { status: 101, closeCode: 1002 } },
	{
		name: 'a ping with a 126-byte payload (control frames carry 125 at most)',
		send: [HANDSHAKE],
		frames: [0x89, 0xfe, 0x00, 0x7e, ...MASK, ...new Array<number>(126).fill(0)],
		expect: { status: 101, closeCode: 1002 },
	},
	{ name: 'a continuation frame with nothing to continue', send: [HANDSHAKE], frames: [0x80, 0x80, ...MASK], expect: { status: 101, closeCode: 1002 } },
	{ name: 'a binary frame (the protocol is text)', send: [HANDSHAKE], frames: [0x82, 0x81, ...MASK, 0x01], expect: { status: 101, closeCode: 1003 } },
];

interface RawAnswer {
	/** Everything the server sent before it closed, the answer was complete, or WAIT_MS passed. */
	bytes: Buffer;
	status?: number;
	headers: Record<string, string>;
	body: string;
	/** The JSON body's `error`, if it is one. */
	error?: string;
	/** The code of the server's close frame, after a 101. */
	closeCode?: number;
}

function parseHead(bytes: Buffer): { status: number; headers: Record<string, string>; bodyStart: number } | undefined {
	const end = bytes.indexOf('\r\n\r\n');
	if (end === -1) return undefined;
	const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
	const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
	if (!match) return undefined;
	const headers: Record<string, string> = {};
	for (const line of lines) {
		const colon = line.indexOf(':');
		if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
	}
	return { status: Number(match[1]), headers, bodyStart: end + 4 };
}

/** The code of the first close frame among server frames (unmasked), skipping pings. */
function closeFrameCode(bytes: Buffer): number | undefined {
	let at = 0;
	while (at + 2 <= bytes.length) {
		const opcode = (bytes[at] as number) & 0x0f;
		let length = (bytes[at + 1] as number) & 0x7f;
		let start = at + 2;
		if (length === 126) {
			if (start + 2 > bytes.length) return undefined;
			length = bytes.readUInt16BE(start);
			start += 2;
		} else if (length === 127) {
			if (start + 8 > bytes.length) return undefined;
			length = Number(bytes.readBigUInt64BE(start));
			start += 8;
		}
		if (start + length > bytes.length) return undefined;
		if (opcode === 0x8) return length >= 2 ? bytes.readUInt16BE(start) : 1005;
		at = start + length;
	}
	return undefined;
}

/**
 * Writes a case's bytes on a fresh TCP connection and reads what comes back
 * until the server closes, the answer is complete (its Content-Length read,
 * or after a 101 the close frame), or WAIT_MS pass.
 */
function exchange(port: number, input: Case): Promise<RawAnswer> {
	return new Promise((resolve) => {
		const socket = connect({ host: '127.0.0.1', port });
		const chunks: Buffer[] = [];
		let framesSent = false;
		let done = false;
		const finish = () => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			socket.destroy();
			const bytes = Buffer.concat(chunks);
			const head = parseHead(bytes);
			const answer: RawAnswer = { bytes, headers: head?.headers ?? {}, body: '' };
			if (head) {
				answer.status = head.status;
				const rest = bytes.subarray(head.bodyStart);
				if (head.status === 101) {
					const code = closeFrameCode(rest);
					if (code !== undefined) answer.closeCode = code;
				} else {
					answer.body = rest.toString('utf8');
					try {
						const parsed = JSON.parse(answer.body) as { error?: unknown };
						if (typeof parsed.error === 'string') answer.error = parsed.error;
					} catch {
						// Not a JSON body.
					}
				}
			}
			resolve(answer);
		};
		const timer = setTimeout(finish, WAIT_MS);
		socket.on('error', () => undefined);
		socket.on('close', finish);
		socket.on('data', (chunk: Buffer) => {
			chunks.push(chunk);
			const bytes = Buffer.concat(chunks);
			const head = parseHead(bytes);
			if (!head) return;
			if (head.status === 101) {
				if (!input.frames) {
					finish();
					return;
				}
				if (!framesSent) {
					framesSent = true;
					socket.write(Buffer.from(input.frames));
				}
				if (closeFrameCode(bytes.subarray(head.bodyStart)) !== undefined) finish();
				return;
			}
			const length = Number(head.headers['content-length']);
			if (Number.isInteger(length) && bytes.length - head.bodyStart >= length) finish();
		});
		socket.once('connect', () => {
			for (const part of input.send) socket.write(part);
			if (input.then === 'end') socket.end();
			if (input.then === 'reset') socket.resetAndDestroy();
		});
	});
}

/** Log lines at error level or above (pino: 50 error, 60 fatal). */
const errorLogs = (logs: RunningServer['logs']) => logs.filter((line) => typeof line.level === 'number' && line.level >= 50);

describe('Every entry point turns malformed input into a 4xx or a close', () => {
	let server: RunningServer;
	let base: string;
	let bystanders: Array<{ client: SignalingClient; peerId: string }> = [];

	/** One bystander signals the other; resolves once it arrived. */
	async function bystandersSignal(candidate: string): Promise<void> {
		const [a, b] = bystanders as [(typeof bystanders)[0], (typeof bystanders)[0]];
		const received = nextEvent(b.client, Notification.Signal);
		await a.client.request(Method.Signal, { to: b.peerId, signal: { kind: 'candidate', candidate: { candidate } } });
		expect((await received)[0]).toEqual({ from: a.peerId, signal: { kind: 'candidate', candidate: { candidate } } });
	}

	beforeAll(async () => {
		server = await startServer({ ALLOWED_ORIGINS: GOOD_ORIGIN, API_KEY, LOG_LEVEL: 'info' });
		base = `http://127.0.0.1:${server.port}`;
		// A call in another room, going on while the garbage arrives.
		for (const displayName of ['Bea', 'Ben']) {
			const client = await connectClient(server.port);
			const { peerId } = await client.request(Method.Join, { protocolVersion: PROTOCOL_VERSION, roomId: 'bystanders', displayName });
			bystanders.push({ client, peerId });
		}
		await bystandersSignal('before-the-fuzz');
	});

	afterAll(async () => {
		for (const b of bystanders) b.client.close();
		bystanders = [];
		await server?.stop();
	});

	it.each(cases)('$name', async (input) => {
		const logsBefore = server.logs.length;
		const answer = await exchange(server.port, input);
		if (input.expect === 'closed without answer') {
			expect(answer.bytes.toString('latin1')).toBe('');
		} else {
			const { status, error, body, closeCode } = input.expect;
			expect({ status: answer.status, error: answer.error, closeCode: answer.closeCode }).toEqual({ status, error, closeCode });
			if (body !== undefined) expect(answer.body).toContain(body);
		}
		const health = await fetch(`${base}/healthz`);
		expect(health.status).toBe(200);
		await health.arrayBuffer();
		// Only this case's lines: one bug must not turn every later row red.
		expect(errorLogs(server.logs.slice(logsBefore))).toEqual([]);
	});

	it('after the whole table: the process is alive, no guard fired, nothing logged an error, the call goes on', async () => {
		expect(server.process.exitCode).toBeNull();
		expect(server.process.signalCode).toBeNull();

		const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } });
		expect(metrics.status).toBe(200);
		const text = await metrics.text();
		for (const where of ['http', 'upgrade', 'process']) {
			expect(metricSample(text, `streaming_internal_errors_total{where="${where}"}`), where).toBe(0);
		}
		expect(errorLogs(server.logs)).toEqual([]);

		for (const b of bystanders) expect(b.client.closed).toBe(false);
		const room = await fetch(`${base}/api/rooms/bystanders`, { headers: { authorization: `Bearer ${API_KEY}` } });
		expect(room.status).toBe(200);
		const details = (await room.json()) as { participants: Array<{ peerId: string; state: string }> };
		expect(details.participants.map((p) => p.peerId).sort()).toEqual(bystanders.map((b) => b.peerId).sort());
		for (const participant of details.participants) expect(participant.state).toBe('connected');
		await bystandersSignal('after-the-fuzz');
	});
});

import type { ServerResponse } from 'node:http';

/**
 * The call app's Content Security Policy: only our own scripts, styles and
 * sockets; media from the camera and from peers (blob:, mediastream:); never
 * framed by another site.
 */
export const CONTENT_SECURITY_POLICY = [
	"default-src 'self'",
	"script-src 'self'",
	"style-src 'self'",
	"img-src 'self' data: blob:",
	"media-src 'self' blob: mediastream:",
	"connect-src 'self'",
	"object-src 'none'",
	"base-uri 'none'",
	"form-action 'self'",
	"frame-ancestors 'none'",
].join('; ');

/** The headers every answer of ours carries (Node's own parser errors excepted: bare 400/431 with no body). */
export const SECURITY_HEADERS: ReadonlyArray<[string, string]> = [
	['content-security-policy', CONTENT_SECURITY_POLICY],
	['x-content-type-options', 'nosniff'],
	['x-frame-options', 'DENY'],
	['referrer-policy', 'no-referrer'],
	['cross-origin-opener-policy', 'same-origin'],
	['permissions-policy', 'camera=(self), microphone=(self), display-capture=(self), geolocation=()'],
];

/** Sets the security headers every HTTP answer carries. */
export function setSecurityHeaders(res: ServerResponse): void {
	for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
}

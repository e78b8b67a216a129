import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAIN_LINK_ROLE_META } from '../../core/protocol/index.js';
import type { Server } from '../../server/Server.js';
import { startInProcessServer } from '../support/inProcessServer.js';

/**
 * The app's page for a room's link names the role a plain link joins that
 * room in, when the server knows it (server/http/appPage.ts): the page's
 * first script then opens the camera beside the join. It must never say a
 * role that sends where a plain link would join as a viewer.
 */

const INDEX = '<!doctype html>\n<html>\n\t<head>\n\t\t<title>app</title>\n\t</head>\n\t<body></body>\n</html>\n';

/** The role the page names, or null when it names none; with the response's status and cache policy. */
async function page(base: string, target: string, method = 'GET'): Promise<{ status: number; role: string | null; cache: string | null; csp: boolean; body: string }> {
	const res = await fetch(`${base}${target}`, { method });
	const body = await res.text();
	const match = new RegExp(`<meta name="${PLAIN_LINK_ROLE_META}" content="([a-z]+)"`).exec(body);
	return { status: res.status, role: match?.[1] ?? null, cache: res.headers.get('cache-control'), csp: res.headers.has('content-security-policy'), body };
}

describe("the app's page names the role a plain link joins in", () => {
	let webRoot: string;
	let open: Server;
	let tokensRequired: Server;
	let base: string;

	beforeAll(async () => {
		webRoot = mkdtempSync(join(tmpdir(), 'se-app-page-'));
		writeFileSync(join(webRoot, 'index.html'), INDEX);
		open = await startInProcessServer({ auth: { tokenSecret: 'a-test-secret-of-at-least-32-bytes!!' } }, webRoot);
		tokensRequired = await startInProcessServer({ auth: { tokenSecret: 'a-test-secret-of-at-least-32-bytes!!', requireTokens: true } }, webRoot);
		base = `http://127.0.0.1:${open.port}`;
		const create = async (roomId: string, settings: Record<string, unknown>) => {
			const res = await fetch(`${base}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roomId, settings }) });
			expect(res.status, await res.text()).toBe(201);
		};
		await create('show', { kind: 'broadcast' });
		await create('meet', { kind: 'meeting' });
		await create('closed', { kind: 'meeting', requireToken: true });
	});

	afterAll(async () => {
		await open?.close();
		await tokensRequired?.close();
		rmSync(webRoot, { recursive: true, force: true });
	});

	it.each([
		['a room that does not exist yet (a join makes a meeting)', '/?room=new-room&name=Ann', 'participant'],
		['an open meeting', '/?room=meet&name=Ann', 'participant'],
		['a broadcast: its plain link watches', '/?room=show&name=Ann', 'viewer'],
		['a meeting that asks for a token', '/?room=closed&name=Ann', null],
		['no room in the link (the lobby)', '/', null],
		['a room id the protocol refuses', '/?room=bad%20id&name=Ann', null],
		['a room id too long', `/?room=${'r'.repeat(65)}`, null],
	])('%s', async (_what, target, role) => {
		const answer = await page(base, target);
		expect(answer.status).toBe(200);
		expect(answer.role).toBe(role);
		expect(answer.body).toContain('<title>app</title>');
		expect(answer.csp).toBe(true);
		// A page that names a role is never cached: the room's kind may change once it is empty.
		if (role) expect(answer.cache).toBe('no-store');
	});

	it('names none when the server requires tokens (every join brings its role)', async () => {
		const answer = await page(`http://127.0.0.1:${tokensRequired.port}`, '/?room=new-room&name=Ann');
		expect(answer.status).toBe(200);
		expect(answer.role).toBeNull();
	});

	it('HEAD answers the same page without a body; a file path with ?room= is still the file (or 404)', async () => {
		const head = await page(base, '/?room=meet&name=Ann', 'HEAD');
		expect(head.status).toBe(200);
		expect(head.body).toBe('');
		expect((await page(base, '/nothing.js?room=meet')).status).toBe(404);
		// And the server still serves.
		expect((await page(base, '/?room=meet')).role).toBe('participant');
	});
});

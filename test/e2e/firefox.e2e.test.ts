import type { Browser, BrowserContext, Page as ChromiumPage } from 'playwright-core';
import type { Page as FirefoxPage } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { within } from '../support/deadline.js';
import type { NamespacedFirefox } from '../support/firefox.js';
import {
	createLaptopNetwork,
	formatPeerConnectionLog,
	LAPTOP_ADDRESS,
	LAPTOP_ORIGIN,
	PEER_CONNECTION_RECORDER,
	type LaptopNetwork,
	type PeerConnectionLogEntry,
} from '../support/netns.js';
import type { RunningServer } from '../support/serverProcess.js';

/**
 * Firefox ESR and Chromium in one call on one laptop, as a person who runs
 * `npm start` and opens the app in both has it: the server, with its default
 * listen config (MEDIASOUP_LISTEN_IP unset: `auto`), and both browsers run
 * in one network namespace the test makes, whose only other interface is a
 * veth to a second one (test/support/netns.ts, createLaptopNetwork), and the
 * pages open http://127.0.0.1:8080. Firefox gathers no loopback ICE
 * candidates: it reaches Chromium and the SFU over the laptop's own address,
 * which `auto` listens on beside 127.0.0.1.
 *
 * The call: mesh (MESH_MAX_PEERS=2), then the SFU (a third, Chromium, joins),
 * then the mesh again (it leaves), Firefox and Chromium decoding each other
 * throughout; each names its mediasoup-client handler.
 *
 * Every step is bounded and says where it stopped: each page read races its
 * own timeout (a WebDriver BiDi `evaluate` that never settles, or a
 * connectionStats() that Firefox never settles, see READ_CALL, would
 * otherwise hang the test), each wait has a budget that ends before the
 * test's timeout, and a failure throws with the last state each page showed,
 * their console errors, their peer connections' state changes, Firefox's own
 * output and the server's warnings.
 */

type Stat = { peerId: string; via: 'mesh' | 'sfu'; path?: string; framesDecoded: number; generation?: number };
/** What a page's call says of itself, read the same way in both browsers (READ_CALL). */
type CallState = {
	at: number;
	peerId?: string;
	topology?: string;
	handler?: string;
	signaling?: string;
	participants?: number;
	migrations?: Array<{ target?: string; result?: string }>;
	stats: Stat[];
	statsError?: string;
	/** This page's reads whose connectionStats() did not settle within PAGE_STATS_MS (see READ_CALL). */
	statsLate?: number;
};
type Seen = CallState | { error: string };

/** One page read: how long it may take before it counts as stuck. */
const READ_MS = 5_000;
/**
 * The page's own bound on connectionStats() (getStats on every connection),
 * inside READ_MS and past the app's (STATS_TIMEOUT_MS, 3 s): a read late
 * here means the app let a getStats() hang.
 */
const PAGE_STATS_MS = 4_000;
const POLL_MS = 250;
/** A navigation, a click, a new page or context. */
const ACTION_MS = 15_000;
const FRAMES = 15;
/**
 * Each wait's budget. Measured on 2 cores: each step takes 0.3-2.5 s when
 * idle, and at most 6 s with six busy loops competing for the cores; the
 * app's own bound on a migration is MIGRATION_TIMEOUT_MS (10 s).
 */
const BUDGET_MS = { join: 15_000, meshDecode: 15_000, toSfu: 20_000, sfuDecode: 15_000, toMesh: 20_000, meshAgain: 15_000 } as const;
/** What a failure's report may take (page reads, bounded by READ_MS) and what vitest needs to print it. */
const REPORT_MS = 10_000;
/**
 * The test's own bound. No step runs past it less REPORT_MS (each is cut to
 * the time left), so a failure always throws its report before vitest's
 * timeout; the waits' budgets alone fit inside it, with a read past each.
 */
const TEST_TIMEOUT_MS = 150_000;
if (Object.values(BUDGET_MS).reduce((a, b) => a + b, 0) + Object.keys(BUDGET_MS).length * (READ_MS + POLL_MS) > TEST_TIMEOUT_MS - REPORT_MS) {
	throw new Error('firefox.e2e: the waits\' budgets do not fit inside TEST_TIMEOUT_MS');
}

/**
 * A page script, not a function (a transpiler's helpers, esbuild's keepNames
 * `__name`, do not exist in the page).
 *
 * It bounds connectionStats() in the page: Firefox (ESR 153) never settles an
 * RTCPeerConnection.getStats() whose connection is closed before the query
 * completes (Chromium resolves it), so a read that coincides with a
 * migration closing a peer connection would wait forever. That is what hung
 * this test once, until its 90 s timeout: vitest's expect.poll awaits its
 * callback without a bound. A late read counts in `statsLate` and the next
 * read goes on.
 */
const READ_CALL = `(async () => {
	const call = window.__call;
	if (!call) return { at: Date.now(), stats: [], statsError: 'no window.__call yet' };
	let stats = [];
	let statsError;
	try {
		let timer;
		const late = new Promise((resolve) => { timer = setTimeout(() => resolve('late'), ${PAGE_STATS_MS}); });
		const result = await Promise.race([call.connectionStats(), late]);
		clearTimeout(timer);
		if (result === 'late') {
			window.__e2eStatsLate = (window.__e2eStatsLate || 0) + 1;
			statsError = 'connectionStats() did not settle within ${PAGE_STATS_MS} ms';
		}
		else stats = result.map((s) => ({ peerId: s.peerId, via: s.via, path: s.path, framesDecoded: s.framesDecoded, generation: s.generation }));
	} catch (error) {
		statsError = String((error && error.message) || error);
	}
	return {
		at: Date.now(),
		peerId: call.peerId,
		topology: call.topology,
		handler: call.sfuHandlerName,
		signaling: call.signalingState,
		participants: call.participantCount,
		migrations: (call.migrations || []).map((m) => ({ target: m.target, result: m.result })),
		stats,
		statsError,
		statsLate: window.__e2eStatsLate || 0,
	};
})()`;
const READ_PC_LOG = `window.__pcLog || []`;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const isState = (seen: Seen | undefined): seen is CallState => seen !== undefined && !('error' in seen);

/** One browser's page in the call, read and reported the same way whichever browser it is. */
class Participant {
	readonly name: string;
	/** Console errors and warnings, uncaught page errors: the last 50. */
	readonly errors: string[] = [];
	/** The last state read (or why the read failed), and when. */
	last: Seen | undefined;
	lastAt = 0;
	readonly #evaluate: (script: string) => Promise<unknown>;

	constructor(name: string, evaluate: (script: string) => Promise<unknown>) {
		this.name = name;
		this.#evaluate = evaluate;
	}

	note(line: string): void {
		this.errors.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
		if (this.errors.length > 50) this.errors.shift();
	}

	/** The page's call state, bounded by READ_MS; a read that fails or does not settle is recorded as such, not thrown. */
	async read(): Promise<Seen> {
		try {
			this.last = (await within(READ_MS, `${this.name}: reading window.__call`, this.#evaluate(READ_CALL))) as CallState;
		} catch (error) {
			this.last = { error: (error as Error).message };
		}
		this.lastAt = Date.now();
		return this.last;
	}

	async peerConnectionLog(): Promise<PeerConnectionLogEntry[]> {
		return ((await within(READ_MS, `${this.name}: reading window.__pcLog`, this.#evaluate(READ_PC_LOG)).catch(() => [])) ?? []) as PeerConnectionLogEntry[];
	}
}

/** Frames `of` decoded from `from` over `via` (0 before either joined). */
function framesOf(of: Seen | undefined, from: Seen | undefined, via: 'mesh' | 'sfu'): number {
	if (!isState(of) || !isState(from) || from.peerId === undefined) return 0;
	return of.stats.filter((s) => s.peerId === from.peerId && s.via === via).reduce((sum, s) => sum + s.framesDecoded, 0);
}

/** New frames since `base`: a counter that went down belongs to a new connection or consumer, all of it new. */
const framesSince = (base: number, now: number) => (now >= base ? now - base : now);

describe('Firefox and Chromium in one call on a laptop: mesh, SFU, mesh', () => {
	let laptop: LaptopNetwork | undefined;
	let server: RunningServer | undefined;
	let firefox: NamespacedFirefox | undefined;
	let chromium: Browser | undefined;
	const contexts: BrowserContext[] = [];

	// Each part bounded (20 + 30 + 30 s, the namespaces' `ip` commands 10 s each), inside the hook's 120 s.
	beforeAll(async () => {
		laptop = await createLaptopNetwork();
		// The server's default listen config (`auto`): createLaptopNetwork's startServer leaves MEDIASOUP_LISTEN_IP unset.
		server = await laptop.startServer({ MESH_MAX_PEERS: '2', MESH_MIN_PEERS: '2', DEESCALATE_COOLDOWN_MS: '2000' }, 20_000);
		firefox = await laptop.launchFirefox({ launchTimeoutMs: 30_000, protocolTimeoutMs: 20_000 });
		chromium = await within(30_000, 'launching Chromium', laptop.launchChromium());
	}, 120_000);

	// destroy() closes the browsers (bounded), stops the server, and deletes the namespaces (also when beforeAll failed half-way).
	afterAll(async () => {
		for (const context of contexts.splice(0)) await within(5_000, 'closing a Chromium context', context.close()).catch(() => undefined);
		await laptop?.destroy();
	}, 60_000);

	it(
		'each decodes the other on the mesh, on the SFU and on the mesh again; both name their mediasoup-client handler',
		async () => {
			const testStart = Date.now();
			/** Every step ends by then, so that its report lands before vitest's timeout. */
			const stepsEnd = testStart + TEST_TIMEOUT_MS - REPORT_MS;
			const room = `fx-${Date.now().toString(36)}`;
			const url = (name: string) => `${LAPTOP_ORIGIN}/?room=${room}&name=${name}`;
			const timings: string[] = [];
			const everyone: Participant[] = [];

			/** What every page showed last, and why: the failure's message. */
			const report = async (what: string): Promise<string> => {
				const t0 = testStart;
				const lines = [`${what} (${Math.round((Date.now() - t0) / 1000)} s into the test; times below in ms from its start)`];
				const logs = await Promise.all(everyone.map((p) => p.peerConnectionLog()));
				for (const [i, p] of everyone.entries()) {
					lines.push(
						`--- ${p.name}, last read at +${p.lastAt - t0} ms: ${JSON.stringify(p.last)}`,
						`console errors and warnings:\n${p.errors.join('\n') || '(none)'}`,
						`peer connections:\n${formatPeerConnectionLog(logs[i] ?? [], t0) || '(none)'}`,
					);
				}
				lines.push(`--- Firefox's output (last 40 lines):\n${firefox?.output().slice(-40).join('\n') || '(none)'}`);
				const serverWarnings = (server?.logs ?? []).filter((l) => typeof l.level === 'number' && l.level >= 40).slice(-20);
				lines.push(`--- server warnings and errors (last 20):\n${serverWarnings.map((l) => JSON.stringify(l)).join('\n') || '(none)'}`);
				return lines.join('\n');
			};

			/** `act()`, bounded by ACTION_MS and the steps' end; a failure throws the report. */
			const action = async <T>(what: string, act: () => Promise<T>): Promise<T> => {
				try {
					return await within(Math.max(0, Math.min(ACTION_MS, stepsEnd - Date.now())), what, act());
				} catch (error) {
					throw new Error(await report(`${what}: ${(error as Error).message}`), { cause: error });
				}
			};

			/**
			 * Reads every page in `among` until `done` holds of what they show, for
			 * at most the step's budget (cut to the steps' end); then throws the
			 * report. Each read is bounded (READ_MS), so a round ends at most
			 * READ_MS past the deadline.
			 */
			const until = async (step: keyof typeof BUDGET_MS, among: readonly Participant[], done: (seen: Seen[]) => boolean): Promise<CallState[]> => {
				const started = Date.now();
				const deadline = Math.min(started + BUDGET_MS[step], stepsEnd - READ_MS);
				for (let round = 0; round < 10_000; round++) {
					const seen = await Promise.all(among.map((p) => p.read()));
					if (seen.every(isState) && done(seen)) {
						timings.push(`${step} ${((Date.now() - started) / 1000).toFixed(1)} s`);
						return seen;
					}
					if (Date.now() >= deadline) break;
					await sleep(POLL_MS);
				}
				throw new Error(await report(`${step}: not within ${((Date.now() - started) / 1000).toFixed(1)} s (budget ${BUDGET_MS[step] / 1000} s)`));
			};

			// The server resolved `auto` to loopback and the laptop's own address, and said so.
			const listening = server?.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('mediasoup WebRTC transports listen on'));
			expect((listening?.listenIps as Array<{ ip: string }> | undefined)?.map((l) => l.ip), JSON.stringify(listening)).toEqual(['127.0.0.1', LAPTOP_ADDRESS]);

			// Firefox's page, its console and its peer connections recorded.
			const foxPage: FirefoxPage = await action('Firefox: a new page', () => (firefox as NamespacedFirefox).browser.newPage());
			const fox = new Participant('Firefox', (script) => foxPage.evaluate(script));
			everyone.push(fox);
			foxPage.on('console', (message) => {
				if (message.type() === 'error' || message.type() === 'warn') fox.note(`console.${message.type()}: ${message.text()}`);
			});
			foxPage.on('pageerror', (error) => fox.note(`pageerror: ${(error as Error).message ?? String(error)}`));
			await action('Firefox: the preload script', () => foxPage.evaluateOnNewDocument(PEER_CONNECTION_RECORDER));

			/** A page in a new Chromium context, its console and its peer connections recorded. */
			const chromiumPage = (name: string): Promise<[ChromiumPage, Participant]> =>
				action(`${name}: a new context and page`, async () => {
					const context = await (chromium as Browser).newContext();
					contexts.push(context);
					await context.addInitScript(PEER_CONNECTION_RECORDER);
					const page = await context.newPage();
					const participant = new Participant(name, (script) => page.evaluate(script));
					page.on('console', (message) => {
						if (message.type() === 'error' || message.type() === 'warning') participant.note(`console.${message.type()}: ${message.text()}`);
					});
					page.on('pageerror', (error) => participant.note(`pageerror: ${error.message}`));
					return [page, participant];
				});
			const [chroPage, chro] = await chromiumPage('Chromium');
			everyone.push(chro);

			// 1. Mesh: both join, and each decodes the other.
			await action('Firefox: opening the call', () => foxPage.goto(url('Fox'), { timeout: ACTION_MS }));
			await action('Chromium: opening the call', () => chroPage.goto(url('Chro'), { timeout: ACTION_MS }));
			await until('join', everyone, (seen) => seen.every((s) => isState(s) && s.peerId !== undefined && s.topology === 'mesh'));
			const onMesh = await until('meshDecode', everyone, ([f, c]) => framesOf(f, c, 'mesh') >= FRAMES && framesOf(c, f, 'mesh') >= FRAMES);
			expect(onMesh.map((s) => s.topology)).toEqual(['mesh', 'mesh']);

			// 2. A third (Chromium) joins past MESH_MAX_PEERS=2: the room moves to the SFU, Firefox with it.
			const [thirdPage, third] = await chromiumPage('Third');
			everyone.push(third);
			await action('Third: opening the call', () => thirdPage.goto(url('Third'), { timeout: ACTION_MS }));
			const movedToSfu = await until('toSfu', everyone, (seen) => seen.every((s) => isState(s) && s.topology === 'sfu'));
			const [sfuFox, sfuChro] = movedToSfu;
			const onSfu = await until(
				'sfuDecode',
				[fox, chro],
				([f, c]) =>
					framesSince(framesOf(sfuFox, sfuChro, 'sfu'), framesOf(f, c, 'sfu')) >= FRAMES &&
					framesSince(framesOf(sfuChro, sfuFox, 'sfu'), framesOf(c, f, 'sfu')) >= FRAMES,
			);
			const handlers = onSfu.map((s) => s.handler);
			console.log(`[firefox] mediasoup-client handlers: Firefox ${handlers[0]}, Chromium ${handlers[1]}`);
			expect(handlers[0]).toMatch(/^Firefox\d+$/);
			expect(handlers[1]).toMatch(/^Chrome\d+$/);

			// 3. The third leaves: after the cooldown the room returns to the mesh, and each decodes the other there again.
			await action('Third: leaving', () => thirdPage.locator('[data-testid=leave]').click({ timeout: ACTION_MS }));
			everyone.pop();
			const backOnMesh = await until('toMesh', everyone, (seen) => seen.every((s) => isState(s) && s.topology === 'mesh'));
			const [meshFox, meshChro] = backOnMesh;
			await until(
				'meshAgain',
				everyone,
				([f, c]) =>
					framesSince(framesOf(meshFox, meshChro, 'mesh'), framesOf(f, c, 'mesh')) >= FRAMES &&
					framesSince(framesOf(meshChro, meshFox, 'mesh'), framesOf(c, f, 'mesh')) >= FRAMES,
			);
			const late = everyone.map((p) => `${p.name} ${isState(p.last) ? (p.last.statsLate ?? 0) : '?'}`).join(', ');
			console.log(`[firefox] steps: ${timings.join(', ')}; ${((Date.now() - testStart) / 1000).toFixed(1)} s in all; reads whose connectionStats() never settled: ${late}`);
			// The app settles every getStats() itself (web/src/media/statsOf.ts, 3 s), Firefox's unanswered ones included.
			expect(everyone.map((p) => (isState(p.last) ? p.last.statsLate : undefined))).toEqual(everyone.map(() => 0));
		},
		TEST_TIMEOUT_MS,
	);
});

import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM_PATH, launchBrowser } from './browser.js';
import { launchFirefoxIn, type FirefoxOptions, type NamespacedFirefox } from './firefox.js';
import { startServer, type RunningServer } from './serverProcess.js';
import { settleWithin } from './deadline.js';

/**
 * Linux network namespaces made by the tests, two shapes of them.
 *
 * 1. createTestNetwork(): a small test network, for cutting a browser's
 *    network for real (issue 15, media path repair):
 *
 *                       ┌────────── server namespace (the router) ──────────┐
 *   browser ns 1        │  lo: 198.18.0.1/32  <- the server listens here     │
 *   eth0 198.18.1.2/24 ═══ vb1 198.18.1.1/24                                 │
 *   default via .1.1    │            ip_forward=1 (this namespace only)      │
 *   browser ns 2        │                                                    │
 *   eth0 198.18.2.2/24 ═══ vb2 198.18.2.1/24                                 │
 *   default via .2.1    └────────────────────────────────────────────────────┘
 *
 * Addresses are from 198.18.0.0/15 (RFC 2544 benchmarking). Every veth end
 * lives in a namespace made here: nothing is added to the host's own
 * network, and the host's ip_forward is never touched.
 *
 * - The server (HTTP, WebSocket and mediasoup) listens on 198.18.0.1, an
 *   address on the server namespace's `lo`: every browser reaches it over
 *   its default route, without forwarding (it is the router's own address),
 *   and no browser is favoured by the server sitting on "its" veth.
 * - Mesh media between two browsers crosses the server namespace: that is
 *   what its ip_forward is for.
 * - IPv6 is off in every namespace (no link-local candidates that cannot
 *   route anyway).
 * - The test process stays in the host's namespace: it reads the server's
 *   HTTP API with curl run inside the server namespace (`serverGet`).
 *
 * 2. createLaptopNetwork(): one laptop, as a person who runs `npm start` and
 *    opens the app in Firefox or Chromium on the same machine has it (issue 16):
 *
 *   ┌──────────── laptop namespace ─────────────┐   ┌── LAN namespace ──┐
 *   │ lo 127.0.0.1: the server (HOST 127.0.0.1,  │   │ ip_forward=1, no  │
 *   │   PORT 8080, its default listen config),   │   │ route beyond: the │
 *   │   the browsers' pages at 127.0.0.1:8080    │   │ outside answers   │
 *   │ eth0 198.18.0.2/24  ══════════════════════════ lan0 198.18.0.1/24  │
 *   │ default via 198.18.0.1                     │   │ "unreachable"     │
 *   └────────────────────────────────────────────┘   └───────────────────┘
 *
 *    Its only non-loopback interface is one end of a veth pair, with a
 *    default route via the other end, which lives in a second namespace made
 *    here: nothing reaches the host's network. The default route is what
 *    Firefox needs to gather ICE candidates at all (it gathers none on
 *    loopback), and eth0's address is what the server's default listen
 *    address (`auto`) adds to 127.0.0.1.
 */

const run = promisify(execFile);

/** The server namespace's own address (on its lo): HOST and MEDIASOUP_LISTEN_IP. */
export const SERVER_ADDRESS = '198.18.0.1';
/** The server's port inside its namespace: fixed, so the browsers' page origin is known before the server starts. */
export const SERVER_PORT = 8080;
/** What the pages load: every browser of the network treats it as a secure context (getUserMedia needs one). */
export const SERVER_ORIGIN = `http://${SERVER_ADDRESS}:${SERVER_PORT}`;

const NAME_PREFIX = 'se-e2e-';

export interface BrowserNamespace {
	/** 1-based. */
	readonly index: number;
	/** The namespace's name (`ip netns exec <name> ...`). */
	readonly name: string;
	/** The browser's address, on its `eth0`. */
	readonly address: string;
	/** The server namespace's end of the pair (`vb<index>`), this namespace's default gateway. */
	readonly gateway: string;
}

export interface CutOptions {
	/**
	 * Keep the signaling up (the default): every IP packet is dropped but the
	 * TCP segments to and from the server's port (SERVER_PORT: HTTP and the
	 * WebSocket). So the media path goes dark, UDP and TCP alike (mediasoup
	 * also offers TCP candidates, and a rebuilt transport was seen to connect
	 * over TCP through a UDP-only cut), while signaling stays up. Cutting it
	 * too would make the test about TCP rather than media repair: a TCP
	 * connection that lost segments backs its retransmissions off
	 * exponentially (about 0.2, 0.4, 0.8, 1.6, 3.2 s ...), so after a 5 s cut
	 * the kernel, not the app, decides when signaling comes back.
	 * `false` drops everything (IPv4, ARP, all of it).
	 */
	keepSignaling?: boolean;
}

export type PeerConnectionLogEntry = { pc: number; at: number; event: string; state?: string; detail?: string };

export interface TestNetwork {
	/** Unique per network: `se-e2e-<pid>-<n>`. */
	readonly id: string;
	readonly serverNamespace: string;
	readonly serverAddress: string;
	readonly browsers: readonly BrowserNamespace[];
	/**
	 * The built server inside the server namespace, on SERVER_ADDRESS:SERVER_PORT
	 * (HOST, MEDIASOUP_LISTEN_IP and PORT preset; `env` may override them). Its
	 * `url` is SERVER_ORIGIN. Stopped by destroy() if the caller has not.
	 */
	startServer(env?: Record<string, string | undefined>, timeoutMs?: number): Promise<RunningServer>;
	/** Playwright Chromium (launchBrowser's flags) inside a browser namespace, treating SERVER_ORIGIN as secure. Closed by destroy(). */
	launchBrowser(browser: BrowserNamespace | number): Promise<Browser>;
	/**
	 * Drops the browser namespace's packets for real, both directions: at the
	 * ingress of both ends of its veth pair (nft netdev ingress hooks), so a
	 * sender sees no error (an OUTPUT-hook drop would return EPERM to the
	 * sending socket at once, which no real outage does). Idempotent; a second
	 * cut replaces the first's rules.
	 */
	cut(browser: BrowserNamespace | number, options?: CutOptions): Promise<void>;
	/** Removes cut()'s rules (idempotent). */
	restore(browser: BrowserNamespace | number): Promise<void>;
	/** GET `SERVER_ORIGIN + path` from inside the server namespace (curl, 5 s bound); rejects on HTTP >= 400. */
	serverGet(path: string): Promise<string>;
	/** Closes the browsers, stops the servers, kills what is left in the namespaces, deletes them. Idempotent; never throws. */
	destroy(): Promise<void>;
}

/** The laptop's LAN address (its eth0): the server's `auto` listen address adds it to 127.0.0.1. */
export const LAPTOP_ADDRESS = '198.18.0.2';
/** The other end of the laptop's veth pair (in the LAN namespace): the laptop's default gateway. */
export const LAPTOP_GATEWAY = '198.18.0.1';
/** What a laptop's pages load: loopback, a secure context for every browser (getUserMedia needs one). */
export const LAPTOP_ORIGIN = `http://127.0.0.1:${SERVER_PORT}`;

export interface LaptopNetwork {
	/** Unique per network: `se-e2e-<pid>-<n>`. */
	readonly id: string;
	/** The laptop namespace: the server and the browsers run here. */
	readonly namespace: string;
	/** The LAN namespace holding the other end of the laptop's veth pair. */
	readonly lanNamespace: string;
	/**
	 * The built server inside the laptop namespace on 127.0.0.1:SERVER_PORT,
	 * with the server's default listen config (MEDIASOUP_LISTEN_IP unset:
	 * `auto`); `env` may add to it. Its `url` is LAPTOP_ORIGIN. Stopped by
	 * destroy() if the caller has not.
	 */
	startServer(env?: Record<string, string | undefined>, timeoutMs?: number): Promise<RunningServer>;
	/** Playwright Chromium (launchBrowser's flags) inside the laptop namespace. Closed by destroy(). */
	launchChromium(): Promise<Browser>;
	/** Debian's Firefox ESR inside the laptop namespace (test/support/firefox.ts). Closed by destroy(). */
	launchFirefox(options?: FirefoxOptions): Promise<NamespacedFirefox>;
	/** GET `LAPTOP_ORIGIN + path` from inside the laptop namespace (curl, 5 s bound); rejects on HTTP >= 400. */
	serverGet(path: string): Promise<string>;
	/** Closes the browsers, stops the servers, kills what is left in the namespaces, deletes them. Idempotent; never throws. */
	destroy(): Promise<void>;
}

let networkCount = 0;
/** Networks not yet destroyed (their namespaces and temp dir): deleted synchronously if the process exits without destroy(). */
const live = new Map<string[], string>();
let exitHookInstalled = false;

async function ip(...args: string[]): Promise<void> {
	await run('ip', args, { timeout: 10_000 });
}

async function inNs(ns: string, command: string, args: string[], input?: string): Promise<string> {
	if (input === undefined) return (await run('ip', ['netns', 'exec', ns, command, ...args], { timeout: 10_000 })).stdout;
	return new Promise((resolve, reject) => {
		const child = execFile('ip', ['netns', 'exec', ns, command, ...args], { timeout: 10_000 }, (error, stdout, stderr) =>
			error ? reject(new Error(`${command} in ${ns}: ${error.message}\n${stderr}`)) : resolve(stdout),
		);
		child.stdin?.end(input);
	});
}

function namespacesNow(): string[] {
	try {
		return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 })
			.split('\n')
			.map((line) => line.split(' ')[0] ?? '')
			.filter(Boolean);
	} catch {
		return [];
	}
}

/** Kills what still runs in a namespace (processes this test started there: a browser or server that outlived close()) and deletes it. */
function deleteNamespaceSync(name: string): void {
	try {
		const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8', timeout: 10_000 }).split(/\s+/).filter(Boolean).map(Number);
		for (const pid of pids) {
			try {
				process.kill(pid, 'SIGKILL');
			} catch {
				// Gone already.
			}
		}
	} catch {
		// No such namespace.
	}
	try {
		execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: 10_000 });
	} catch {
		// Deleted already.
	}
}

/**
 * Deletes namespaces left by earlier runs of these tests whose process is
 * gone (a SIGKILLed runner never ran its afterAll). Only names with this
 * module's prefix and a dead PID are touched.
 */
export function sweepStaleNetworks(): void {
	for (const name of namespacesNow()) {
		const match = new RegExp(`^${NAME_PREFIX}(\\d+)-`).exec(name);
		if (!match) continue;
		const pid = Number(match[1]);
		let alive = pid === process.pid;
		if (!alive) {
			try {
				process.kill(pid, 0);
				alive = true;
			} catch (error) {
				alive = (error as NodeJS.ErrnoException).code === 'EPERM';
			}
		}
		if (!alive) deleteNamespaceSync(name);
	}
}

/** Waits (at most 5 s) until `device` in `ns` is operationally up: it has a carrier, so it is "running". */
async function waitForCarrier(ns: string, device: string): Promise<void> {
	let state = '';
	for (let attempt = 0; attempt < 50; attempt++) {
		state = /\bstate (\S+)/.exec((await run('ip', ['-n', ns, '-o', 'link', 'show', device], { timeout: 10_000 })).stdout)?.[1] ?? '?';
		if (state === 'UP') return;
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	throw new Error(`${device} in ${ns} is not up after 5 s (state ${state})`);
}

/**
 * The namespaces of one network, its temp dir, and what the tests run in
 * them (servers, browsers): what both network shapes share. destroy()
 * undoes all of it; a process exit deletes the namespaces too, and the next
 * run sweeps those of dead runs.
 */
class Namespaces {
	readonly id: string;
	readonly tempDir: string;
	readonly #names: string[] = [];
	readonly #servers: RunningServer[] = [];
	/** Closes a browser (each bounded: a browser that does not close is killed with its namespace). */
	readonly #closers = new Set<() => Promise<unknown>>();

	constructor() {
		if (process.getuid?.() !== 0) throw new Error('network namespaces need root (ip netns, nft)');
		sweepStaleNetworks();
		this.id = `${NAME_PREFIX}${process.pid}-${++networkCount}`;
		this.tempDir = mkdtempSync(join(tmpdir(), `${this.id}-`));
		live.set(this.#names, this.tempDir);
		if (!exitHookInstalled) {
			exitHookInstalled = true;
			process.once('exit', () => {
				for (const [set, dir] of live) {
					for (const name of set) deleteNamespaceSync(name);
					rmSync(dir, { recursive: true, force: true });
				}
			});
		}
	}

	/** A new namespace `<id>-<suffix>`: `lo` up, IPv6 off. */
	async add(suffix: string): Promise<string> {
		const ns = `${this.id}-${suffix}`;
		await ip('netns', 'add', ns);
		this.#names.push(ns);
		await ip('-n', ns, 'link', 'set', 'lo', 'up');
		await inNs(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
		return ns;
	}

	/** The built server inside `ns` (startServer's env, then `env`); stopped by destroy(). */
	async startServer(ns: string, env: Record<string, string | undefined>, timeoutMs: number, urlHost: string): Promise<RunningServer> {
		const server = await startServer(env, timeoutMs, { wrapper: ['ip', 'netns', 'exec', ns], urlHost });
		this.#servers.push(server);
		server.process.once('exit', () => {
			const at = this.#servers.indexOf(server);
			if (at >= 0) this.#servers.splice(at, 1);
		});
		return server;
	}

	/** Playwright Chromium (launchBrowser's flags, then `extraArgs`) inside `ns`; closed by destroy(). */
	async launchChromium(ns: string, extraArgs: readonly string[] = []): Promise<Browser> {
		// Playwright talks to Chromium over a pipe (fds 3 and 4), which `ip netns exec` passes on with exec: one PID, any namespace.
		const wrapper = join(this.tempDir, `chromium-${ns}.sh`);
		writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec '${ns}' '${CHROMIUM_PATH}' "$@"\n`);
		chmodSync(wrapper, 0o755);
		const browser = await launchBrowser({ executablePath: wrapper, extraArgs });
		const close = () => browser.close();
		this.#closers.add(close);
		browser.once('disconnected', () => this.#closers.delete(close));
		return browser;
	}

	/** Debian's Firefox ESR inside `ns`; closed by destroy(). */
	async launchFirefox(ns: string, options: FirefoxOptions = {}): Promise<NamespacedFirefox> {
		const firefox = await launchFirefoxIn(ns, options);
		// Kept even after a disconnect: its close() is idempotent and also stops the forwarder and deletes the wrapper's folder.
		this.#closers.add(() => firefox.close());
		return firefox;
	}

	/** GET `url` from inside `ns` (curl, 5 s bound); rejects on HTTP >= 400. */
	get(ns: string, url: string): Promise<string> {
		return inNs(ns, 'curl', ['-sS', '--fail', '--max-time', '5', url]);
	}

	/** Closes the browsers (5 s each at most), stops the servers, kills what is left in the namespaces, deletes them. Idempotent; never throws. */
	async destroy(): Promise<void> {
		const closers = [...this.#closers];
		this.#closers.clear();
		await Promise.all(closers.map((close) => settleWithin(close().catch(() => undefined), 5_000)));
		await Promise.all(this.#servers.splice(0).map((s) => s.stop(5_000).catch(() => null)));
		for (const name of [...this.#names].reverse()) deleteNamespaceSync(name);
		this.#names.length = 0;
		live.delete(this.#names);
		rmSync(this.tempDir, { recursive: true, force: true });
	}
}

function cutTable(index: number): string {
	return `se_e2e_cut_${index}`;
}

/** An nft script that (re)creates one netdev ingress table dropping on `device`. */
function cutScript(table: string, device: string, keepSignaling: boolean): string {
	// `add` then `delete` then `add`: replaces a table that may or may not exist, atomically.
	return [
		`add table netdev ${table}`,
		`delete table netdev ${table}`,
		`table netdev ${table} {`,
		`\tchain ingress {`,
		`\t\ttype filter hook ingress device "${device}" priority 0; policy accept;`,
		// The signaling's segments pass first; then every other UDP and TCP packet drops. (One rule with two `!=`
		// port matches dropped the signaling too, in a netdev table here.)
		...(keepSignaling
			? [`\t\ttcp dport ${SERVER_PORT} accept`, `\t\ttcp sport ${SERVER_PORT} accept`, `\t\tip protocol udp drop`, `\t\tip protocol tcp drop`]
			: [`\t\tdrop`]),
		`\t}`,
		`}`,
		'',
	].join('\n');
}

function removeScript(table: string): string {
	return [`add table netdev ${table}`, `delete table netdev ${table}`, ''].join('\n');
}

/**
 * Creates the server namespace and `browserCount` browser namespaces (see
 * the module comment). On any failure, deletes what it made and rethrows.
 * The caller must destroy() it (afterAll); a process exit deletes the
 * namespaces too, and the next run sweeps those of dead runs.
 */
export async function createTestNetwork(browserCount = 2): Promise<TestNetwork> {
	if (browserCount < 1 || browserCount > 200) throw new Error(`browserCount ${browserCount}: 1..200`);
	const namespaces = new Namespaces();
	const { id } = namespaces;
	const browsers: BrowserNamespace[] = [];
	let serverNs = '';
	try {
		serverNs = await namespaces.add('server');
		for (let index = 1; index <= browserCount; index++) browsers.push({ index, name: await namespaces.add(`b${index}`), address: `198.18.${index}.2`, gateway: `198.18.${index}.1` });
		await ip('-n', serverNs, 'addr', 'add', `${SERVER_ADDRESS}/32`, 'dev', 'lo');
		// net.ipv4.ip_forward is per network namespace: this sets the router's, not the host's.
		await inNs(serverNs, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
		for (const { index, name: ns, address, gateway } of browsers) {
			// Created inside the server namespace with its peer end placed straight into the browser's: never in the host's.
			await ip('-n', serverNs, 'link', 'add', `vb${index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
			await ip('-n', serverNs, 'addr', 'add', `${gateway}/24`, 'dev', `vb${index}`);
			await ip('-n', serverNs, 'link', 'set', `vb${index}`, 'up');
			await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
			await ip('-n', ns, 'link', 'set', 'eth0', 'up');
			await ip('-n', ns, 'route', 'add', 'default', 'via', gateway);
		}
	} catch (error) {
		await namespaces.destroy();
		throw error;
	}

	const browserOf = (browser: BrowserNamespace | number): BrowserNamespace => {
		const found = browsers.find((b) => b.index === (typeof browser === 'number' ? browser : browser.index));
		if (!found) throw new Error(`no browser namespace ${typeof browser === 'number' ? browser : browser.name} in ${id}`);
		return found;
	};

	return {
		id,
		serverNamespace: serverNs,
		serverAddress: SERVER_ADDRESS,
		browsers,
		startServer(env = {}, timeoutMs = 30_000) {
			return namespaces.startServer(serverNs, { HOST: SERVER_ADDRESS, PORT: String(SERVER_PORT), MEDIASOUP_LISTEN_IP: SERVER_ADDRESS, ...env }, timeoutMs, SERVER_ADDRESS);
		},
		launchBrowser(which) {
			return namespaces.launchChromium(browserOf(which).name, [`--unsafely-treat-insecure-origin-as-secure=${SERVER_ORIGIN}`]);
		},
		async cut(which, options = {}) {
			const b = browserOf(which);
			const keepSignaling = options.keepSignaling ?? true;
			await inNs(b.name, 'nft', ['-f', '-'], cutScript(cutTable(b.index), 'eth0', keepSignaling));
			await inNs(serverNs, 'nft', ['-f', '-'], cutScript(cutTable(b.index), `vb${b.index}`, keepSignaling));
		},
		async restore(which) {
			const b = browserOf(which);
			await inNs(b.name, 'nft', ['-f', '-'], removeScript(cutTable(b.index)));
			await inNs(serverNs, 'nft', ['-f', '-'], removeScript(cutTable(b.index)));
		},
		serverGet(path) {
			return namespaces.get(serverNs, `${SERVER_ORIGIN}${path}`);
		},
		destroy: () => namespaces.destroy(),
	};
}

/**
 * Creates a laptop namespace and its LAN namespace (see the module
 * comment). On any failure, deletes what it made and rethrows. The caller
 * must destroy() it (afterAll); a process exit deletes the namespaces too,
 * and the next run sweeps those of dead runs.
 */
export async function createLaptopNetwork(): Promise<LaptopNetwork> {
	const namespaces = new Namespaces();
	let laptop: string;
	let lan: string;
	try {
		laptop = await namespaces.add('laptop');
		lan = await namespaces.add('lan');
		// Created inside the LAN namespace with its peer end placed straight into the laptop's: never in the host's.
		await ip('-n', lan, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', laptop);
		await ip('-n', lan, 'addr', 'add', `${LAPTOP_GATEWAY}/24`, 'dev', 'lan0');
		await ip('-n', lan, 'link', 'set', 'lan0', 'up');
		// A router with nowhere to go: what the laptop sends beyond 198.18.0.0/24 (a browser's DNS query, say) is
		// answered "network unreachable" at once rather than left to time out. Per namespace, not the host's.
		await inNs(lan, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
		await ip('-n', laptop, 'addr', 'add', `${LAPTOP_ADDRESS}/24`, 'dev', 'eth0');
		await ip('-n', laptop, 'link', 'set', 'eth0', 'up');
		await ip('-n', laptop, 'route', 'add', 'default', 'via', LAPTOP_GATEWAY);
		// The server reads its addresses once, at start, and os.networkInterfaces() lists only interfaces that are
		// up and running: wait for eth0's carrier (a veth gets it shortly after both ends are up).
		await waitForCarrier(laptop, 'eth0');
	} catch (error) {
		await namespaces.destroy();
		throw error;
	}
	return {
		id: namespaces.id,
		namespace: laptop,
		lanNamespace: lan,
		startServer(env = {}, timeoutMs = 30_000) {
			// MEDIASOUP_LISTEN_IP removed: the server's own default (`auto`), as `npm start` has it.
			return namespaces.startServer(laptop, { HOST: '127.0.0.1', PORT: String(SERVER_PORT), MEDIASOUP_LISTEN_IP: undefined, ...env }, timeoutMs, '127.0.0.1');
		},
		launchChromium: () => namespaces.launchChromium(laptop),
		launchFirefox: (options) => namespaces.launchFirefox(laptop, options),
		serverGet: (path) => namespaces.get(laptop, `${LAPTOP_ORIGIN}${path}`),
		destroy: () => namespaces.destroy(),
	};
}

/**
 * A page script (a string, not a function: a transpiler's helpers, e.g.
 * esbuild's keepNames `__name`, do not exist in the page) that records every
 * RTCPeerConnection the page makes (it wraps the constructor, so it must run
 * before any page script) and their ICE, connection and signaling state
 * changes, with Date.now() times, in `window.__pcLog`. Diagnostics only.
 * recordPeerConnections() adds it to a Playwright context; Firefox's pages
 * take it as puppeteer's evaluateOnNewDocument().
 */
export const PEER_CONNECTION_RECORDER = `(() => {
		if (window.__pcLog) return;
		const entries = (window.__pcLog = []);
		const pcs = (window.__pcs = []);
		const Native = window.RTCPeerConnection;
		class Recorded extends Native {
			constructor(...args) {
				super(...args);
				const pc = pcs.push(this) - 1;
				const log = (event, state, detail) => {
					if (entries.length < 5000) entries.push({ pc, at: Date.now(), event, state, detail });
				};
				log('created');
				this.addEventListener('iceconnectionstatechange', () => log('ice', this.iceConnectionState));
				this.addEventListener('connectionstatechange', () => log('connection', this.connectionState));
				this.addEventListener('signalingstatechange', () => log('signaling', this.signalingState));
				this.addEventListener('icecandidate', (e) => log('candidate', undefined, e.candidate ? e.candidate.candidate : 'end'));
			}
		}
		window.RTCPeerConnection = Recorded;
	})();`;

/**
 * Records every RTCPeerConnection a context's pages make and their state
 * changes (PEER_CONNECTION_RECORDER). Read it with peerConnectionLog().
 */
export async function recordPeerConnections(context: BrowserContext): Promise<void> {
	await context.addInitScript(PEER_CONNECTION_RECORDER);
}

export function peerConnectionLog(page: Page): Promise<PeerConnectionLogEntry[]> {
	return page.evaluate(() => ((window as unknown as { __pcLog?: unknown[] }).__pcLog ?? []) as never).catch(() => []);
}

/** A log as lines `+<ms since t0> pc<n> <event> <state>` (candidates left out unless asked). */
export function formatPeerConnectionLog(entries: PeerConnectionLogEntry[], t0: number, withCandidates = false): string {
	return entries
		.filter((e) => withCandidates || e.event !== 'candidate')
		.map((e) => `${String(e.at - t0).padStart(7)} ms  pc${e.pc} ${e.event}${e.state ? ` ${e.state}` : ''}${e.detail ? ` ${e.detail}` : ''}`)
		.join('\n');
}

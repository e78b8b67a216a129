import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { settleWithin } from './deadline.js';

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export interface FirefoxOptions {
	/** How long Firefox may take to start and open its remote agent (default 30 s). */
	launchTimeoutMs?: number;
	/** Every WebDriver BiDi command's bound (puppeteer's protocolTimeout; default 20 s): a command Firefox never answers fails rather than hangs. */
	protocolTimeoutMs?: number;
}

export interface NamespacedFirefox {
	readonly browser: Browser;
	/** The last lines Firefox printed (stdout and stderr, at most 200): for a failure's diagnostics. */
	output(): string[];
	close(): Promise<void>;
}

const OUTPUT_LINES = 200;

/**
 * Debian's Firefox ESR, headless, inside network namespace `ns`, driven by
 * puppeteer-core over WebDriver BiDi, with a fake camera and microphone
 * that pages may use without asking. Firefox gathers no ICE candidates on
 * loopback: the namespace needs a real interface and a default route, as
 * test/support/netns.ts makes them. Its pages should load a secure context
 * (http://127.0.0.1 or localhost is one).
 *
 * Puppeteer reaches Firefox's remote agent on 127.0.0.1:<port>, which is the
 * namespace's loopback: a forwarder here listens on the same port in the
 * test's own namespace and carries each connection in (a small Node process
 * run with `ip netns exec`, its stdio joined to the socket).
 */
export async function launchFirefoxIn(ns: string, options: FirefoxOptions = {}): Promise<NamespacedFirefox> {
	let port = 0;
	const relays = new Set<ChildProcess>();
	const sockets = new Set<Socket>();
	const forwarder = createServer((socket) => {
		const relay = `const s=require('net').connect(${port},'127.0.0.1');process.stdin.pipe(s);s.pipe(process.stdout);s.on('close',()=>process.exit(0));s.on('error',()=>process.exit(1));process.stdin.on('end',()=>s.end());`;
		const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', relay], { stdio: ['pipe', 'pipe', 'ignore'] });
		relays.add(child);
		sockets.add(socket);
		socket.pipe(child.stdin as NodeJS.WritableStream);
		child.stdout?.pipe(socket);
		child.stdin?.on('error', () => socket.destroy());
		socket.on('error', () => child.kill('SIGKILL'));
		socket.on('close', () => {
			sockets.delete(socket);
			child.kill('SIGKILL');
		});
		child.on('exit', () => {
			relays.delete(child);
			socket.destroy();
		});
	});
	await new Promise<void>((resolve, reject) => {
		forwarder.once('error', reject);
		forwarder.listen(0, '127.0.0.1', resolve);
	});
	port = (forwarder.address() as AddressInfo).port;
	const dir = mkdtempSync(join(tmpdir(), 'se-firefox-'));
	const wrapper = join(dir, 'firefox-in-netns');
	// exec twice: Firefox keeps the PID puppeteer spawned (and kills, with its process group).
	writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec '${ns}' '${FIREFOX_PATH}' "$@"\n`);
	chmodSync(wrapper, 0o755);
	const stop = () => {
		forwarder.close();
		for (const socket of sockets) socket.destroy();
		for (const child of relays) child.kill('SIGKILL');
		rmSync(dir, { recursive: true, force: true });
	};
	try {
		const browser = await puppeteer.launch({
			browser: 'firefox',
			executablePath: wrapper,
			headless: true,
			debuggingPort: port,
			timeout: options.launchTimeoutMs ?? 30_000,
			protocolTimeout: options.protocolTimeoutMs ?? 20_000,
			extraPrefsFirefox: {
				// A fake camera and microphone, granted without a prompt.
				'media.navigator.streams.fake': true,
				'media.navigator.permission.disabled': true,
			},
		});
		const output: string[] = [];
		const record = (chunk: Buffer) => {
			for (const line of chunk.toString().split('\n')) if (line.trim()) output.push(line);
			if (output.length > OUTPUT_LINES) output.splice(0, output.length - OUTPUT_LINES);
		};
		browser.process()?.stdout?.on('data', record);
		browser.process()?.stderr?.on('data', record);
		let closing: Promise<void> | undefined;
		return {
			browser,
			output: () => [...output],
			close() {
				closing ??= (async () => {
					// Bounded: a Firefox that does not answer browser.close is killed (its process group).
					await settleWithin(browser.close().catch(() => undefined), 5_000);
					const pid = browser.process()?.pid;
					if (pid !== undefined && browser.process()?.exitCode === null) {
						try {
							process.kill(-pid, 'SIGKILL');
						} catch {
							// Gone already.
						}
					}
					stop();
				})();
				return closing;
			},
		};
	} catch (error) {
		stop();
		throw error;
	}
}

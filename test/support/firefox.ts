import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export interface NamespacedFirefox {
	readonly browser: Browser;
	close(): Promise<void>;
}

/**
 * Debian's Firefox ESR, headless, inside network namespace `ns` (Firefox
 * gathers no ICE candidates on loopback: it needs a namespace with a real
 * interface and a default route, as test/support/netns.ts makes), driven by
 * puppeteer-core over WebDriver BiDi, with a fake camera and microphone and
 * `origin` (plain http) allowed to use them.
 *
 * Puppeteer reaches Firefox's remote agent on 127.0.0.1:<port>, which is the
 * namespace's loopback: a forwarder here listens on the same port in the
 * test's own namespace and carries each connection in (a small Node process
 * run with `ip netns exec`, its stdio joined to the socket).
 */
export async function launchFirefoxIn(ns: string, origin: string): Promise<NamespacedFirefox> {
	let port = 0;
	const children = new Set<ReturnType<typeof spawn>>();
	const forwarder = createServer((socket) => {
		const relay = `const s=require('net').connect(${port},'127.0.0.1');process.stdin.pipe(s);s.pipe(process.stdout);s.on('close',()=>process.exit(0));s.on('error',()=>process.exit(1));process.stdin.on('end',()=>s.end());`;
		const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', relay], { stdio: ['pipe', 'pipe', 'ignore'] });
		children.add(child);
		socket.pipe(child.stdin);
		child.stdout.pipe(socket);
		socket.on('error', () => child.kill());
		socket.on('close', () => child.kill());
		child.on('exit', () => {
			children.delete(child);
			socket.destroy();
		});
	});
	await new Promise<void>((resolve) => forwarder.listen(0, '127.0.0.1', resolve));
	port = (forwarder.address() as AddressInfo).port;
	const dir = mkdtempSync(join(tmpdir(), 'se-firefox-'));
	const wrapper = join(dir, 'firefox-in-netns');
	writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${FIREFOX_PATH} "$@"\n`);
	chmodSync(wrapper, 0o755);
	const stop = async () => {
		forwarder.close();
		for (const child of children) child.kill();
		rmSync(dir, { recursive: true, force: true });
	};
	try {
		const browser = await puppeteer.launch({
			browser: 'firefox',
			executablePath: wrapper,
			headless: true,
			debuggingPort: port,
			extraPrefsFirefox: {
				'media.navigator.streams.fake': true,
				'media.navigator.permission.disabled': true,
				// The test's origin is plain http on a test address: let it use the (fake) camera.
				'media.devices.insecure.enabled': true,
				'media.getusermedia.insecure.enabled': true,
				'dom.securecontext.allowlist': new URL(origin).hostname,
			},
		});
		return {
			browser,
			close: async () => {
				await browser.close().catch(() => undefined);
				await stop();
			},
		};
	} catch (error) {
		await stop();
		throw error;
	}
}

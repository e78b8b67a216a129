import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';

export interface RemoteStats {
	peerId: string;
	framesDecoded: number;
	bytesReceived: number;
	audioPacketsReceived: number;
	audioEnergy: number;
	path: 'direct' | 'relay' | 'sfu';
	/** The call's media path the numbers come from (during a migration a peer has one entry per path). */
	via: 'mesh' | 'sfu';
	localCandidateType?: string;
	descriptionCount: number;
}

/** The call page's per-remote stats (window.__call.connectionStats()). */
export function remoteStats(page: Page): Promise<RemoteStats[]> {
	return page.evaluate(async () => ((await window.__call?.connectionStats()) ?? []) as never);
}

export function peerIdOf(page: Page): Promise<string | undefined> {
	return page.evaluate(() => window.__call?.peerId);
}

/** Opens one page per name in `room`, each joined (in order) before the next opens. */
export async function joinAll<const N extends readonly string[]>(
	context: BrowserContext,
	baseUrl: string,
	room: string,
	names: N,
): Promise<{ [K in keyof N]: Page }> {
	const pages: Page[] = [];
	for (const name of names) {
		const page = await context.newPage();
		await page.goto(`${baseUrl}/?room=${encodeURIComponent(room)}&name=${encodeURIComponent(name)}`);
		// Joined, and its media paths built (the camera opens between the join answer and them).
		await page.waitForFunction(() => window.__call?.peerId !== undefined && window.__call.mediaMode !== undefined);
		pages.push(page);
	}
	return pages as { [K in keyof N]: Page };
}

/**
 * Waits until every page has decoded at least `frames` video frames from
 * each of the others (a condition, polled; the timeout only bounds it).
 */
export async function expectEveryPairDecodes(pages: readonly Page[], frames: number, timeoutMs = 60_000): Promise<RemoteStats[][]> {
	const ids = await Promise.all(pages.map(peerIdOf));
	let last: RemoteStats[][] = [];
	await expect
		.poll(
			async () => {
				last = await Promise.all(pages.map(remoteStats));
				return last.every((stats, i) =>
					ids.every((id, j) => j === i || (stats.find((s) => s.peerId === id)?.framesDecoded ?? 0) >= frames),
				);
			},
			{ timeout: timeoutMs, interval: 250 },
		)
		.toBe(true);
	return last;
}

/** In every page of the context: the RTCPeerConnections it makes are recorded (window.__pcs), to read what each one sends. */
export async function recordPeerConnections(context: BrowserContext): Promise<void> {
	await context.addInitScript(() => {
		const Native = window.RTCPeerConnection;
		const pcs: RTCPeerConnection[] = [];
		(window as unknown as { __pcs: RTCPeerConnection[] }).__pcs = pcs;
		window.RTCPeerConnection = class extends Native {
			constructor(config?: RTCConfiguration) {
				super(config);
				pcs.push(this);
			}
		} as typeof RTCPeerConnection;
	});
}

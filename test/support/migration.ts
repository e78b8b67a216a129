import type { Page } from 'playwright-core';
import type { MigrationRecord } from '../../web/src/topology/MigrationRecord.js';

/**
 * Measuring a migration from inside the call pages: when each remote tile
 * rendered frames (requestVideoFrameCallback on the tile's own <video>,
 * which keeps its element across the swap), and whether inbound audio
 * packets kept arriving. Times are ms since the epoch (performance.timeOrigin
 * + now), the clock the migration records and the server's decidedAt use.
 */

/** One look at inbound audio: per remote peer, how long ago its freshest path got an audio packet. */
export interface AudioSample {
	at: number;
	agoMs: Record<string, number>;
}

interface FrameLogWindow {
	__frames?: Record<string, number[]>;
	/** When each remote tile appeared (the receiver learnt of the participant). */
	__tiles?: Record<string, number>;
	__audio?: AudioSample[];
}

/**
 * tsx (the benchmarks' runner) compiles with esbuild's keepNames, which wraps
 * named functions in a `__name()` helper that does not exist in the page.
 */
async function allowKeepNames(page: Page): Promise<void> {
	await page.evaluate('globalThis.__name ??= (fn) => fn');
}

/** Starts logging rendered frames of every remote tile, present and future. */
export async function startFrameLog(page: Page): Promise<void> {
	await allowKeepNames(page);
	await page.evaluate(() => {
		const w = window as unknown as FrameLogWindow;
		if (w.__frames) return;
		const frames: Record<string, number[]> = {};
		const tiles: Record<string, number> = {};
		w.__frames = frames;
		w.__tiles = tiles;
		const watch = () => {
			for (const video of document.querySelectorAll<HTMLVideoElement>('[data-testid=remote-tile] video')) {
				if (video.dataset.frameLog) continue;
				video.dataset.frameLog = '1';
				const peerId = (video.closest('[data-peer-id]') as HTMLElement).dataset.peerId as string;
				tiles[peerId] ??= Date.now();
				const log = (frames[peerId] ??= []);
				let pending = 0;
				const onFrame = (now: number) => {
					log.push(performance.timeOrigin + now);
					pending = video.requestVideoFrameCallback(onFrame);
				};
				pending = video.requestVideoFrameCallback(onFrame);
				// A new srcObject restarts the element's load: keep exactly one callback armed.
				video.addEventListener('loadstart', () => {
					video.cancelVideoFrameCallback(pending);
					pending = video.requestVideoFrameCallback(onFrame);
				});
			}
		};
		watch();
		// A tile is watched as soon as it is in the document (its appearance time is then exact).
		new MutationObserver(watch).observe(document.body, { childList: true, subtree: true });
	});
}

/**
 * Starts sampling inbound audio every `intervalMs`: for each remote peer,
 * the time since the last audio packet on whichever path got one last
 * (inbound-rtp lastPacketReceivedTimestamp against the stats' own clock),
 * so a busy page that samples late still sees a silence that happened.
 */
export async function startAudioLog(page: Page, intervalMs = 200): Promise<void> {
	await allowKeepNames(page);
	await page.evaluate((interval) => {
		const w = window as unknown as FrameLogWindow;
		if (w.__audio) return;
		const samples: AudioSample[] = [];
		w.__audio = samples;
		let busy = false;
		setInterval(() => {
			if (busy || !window.__call) return;
			busy = true;
			void window.__call.connectionStats().then((stats) => {
				const agoMs: Record<string, number> = {};
				for (const s of stats) {
					if (s.audioLastPacketAgoMs === null) continue;
					agoMs[s.peerId] = Math.min(agoMs[s.peerId] ?? Infinity, s.audioLastPacketAgoMs);
				}
				samples.push({ at: Date.now(), agoMs });
				busy = false;
			});
		}, interval);
	}, intervalMs);
}

export function frameLog(page: Page): Promise<Record<string, number[]>> {
	return page.evaluate(() => (window as unknown as FrameLogWindow).__frames ?? {});
}

/** When each remote tile appeared on this page (ms since the epoch). */
export function tileLog(page: Page): Promise<Record<string, number>> {
	return page.evaluate(() => (window as unknown as FrameLogWindow).__tiles ?? {});
}

export function audioLog(page: Page): Promise<AudioSample[]> {
	return page.evaluate(() => (window as unknown as FrameLogWindow).__audio ?? []);
}

export function migrations(page: Page): Promise<MigrationRecord[]> {
	return page.evaluate(() => (window.__call?.migrations ?? []) as never);
}

/** The longest stretch of [from, to] with no rendered frame in it. */
export function largestGap(frames: readonly number[], from: number, to: number): number {
	return largestGapAt(frames, from, to).gapMs;
}

/** The longest stretch of [from, to] with no rendered frame in it, and where it starts. */
export function largestGapAt(frames: readonly number[], from: number, to: number): { gapMs: number; at: number } {
	let previous = from;
	let best = { gapMs: 0, at: from };
	for (const t of frames) {
		if (t < from) continue;
		if (t > to) break;
		if (t - previous > best.gapMs) best = { gapMs: t - previous, at: previous };
		previous = t;
	}
	return to - previous > best.gapMs ? { gapMs: to - previous, at: previous } : best;
}

/**
 * The longest audio silence from `peerId` seen by samples covering
 * [from, to] (and up to `slackMs` after, so a short window still gets a
 * sample that looks back over its end), and the longest wait between
 * samples: a silence shorter than that wait could go unseen.
 */
export function longestAudioSilence(
	samples: readonly AudioSample[],
	peerId: string,
	from: number,
	to: number,
	slackMs = 1000,
): { silenceMs: number; sampleSpacingMs: number } {
	let silenceMs = 0;
	let previous = from;
	let spacing = 0;
	let coveredEnd = false;
	for (const s of samples) {
		if (s.at < from) continue;
		if (s.at > to + slackMs) break;
		spacing = Math.max(spacing, s.at - previous);
		previous = s.at;
		// A peer never heard counts as silent since the window began.
		silenceMs = Math.max(silenceMs, s.agoMs[peerId] ?? s.at - from);
		if (s.at >= to) {
			coveredEnd = true;
			break;
		}
	}
	return { silenceMs, sampleSpacingMs: coveredEnd ? spacing : Infinity };
}

/** How long after the old path closed a tile is still watched: a tile left without frames by the close shows up here. */
export const AFTER_CLOSE_MS = 1000;

/** Waits until the measured windows of these migrations (they run on AFTER_CLOSE_MS past each old path's close) are over. */
export async function windowsOver(...records: MigrationRecord[]): Promise<void> {
	const end = Math.max(...records.map((r) => (r.oldClosedAt as number) + AFTER_CLOSE_MS));
	await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now() + 50)));
}

export interface GapMeasurement {
	receiver: string;
	sender: string;
	/** Largest frame gap during the migration (prepare received to AFTER_CLOSE_MS after the old path closed on the receiver). */
	migrationGapMs: number;
	/** When that gap began. */
	migrationGapAt: number;
	/** Largest frame gap in an equally long steady window just before. */
	steadyGapMs: number;
	windowMs: number;
}

/**
 * For one receiver and one migration record: each remote tile's largest
 * frame gap during the migration window and during the steady window of the
 * same length just before it. Throws when the tile had not rendered for the
 * whole steady window (nothing to compare with).
 */
export function measureGaps(receiver: string, record: MigrationRecord, frames: Record<string, number[]>, senders: readonly string[]): GapMeasurement[] {
	if (record.oldClosedAt === undefined) throw new Error(`migration ${record.epoch} on ${receiver} has not finished`);
	const start = record.preparedAt;
	const end = record.oldClosedAt + AFTER_CLOSE_MS;
	if (Date.now() < end) throw new Error(`measured too early: the window of migration ${record.epoch} on ${receiver} ends at ${end}`);
	const windowMs = end - start;
	return senders.map((sender) => {
		const log = frames[sender] ?? [];
		const first = log[0];
		if (first === undefined || first > start - windowMs) {
			throw new Error(`${receiver} had not rendered ${sender} for a steady window of ${windowMs} ms before the migration`);
		}
		const migration = largestGapAt(log, start, end);
		return {
			receiver,
			sender,
			windowMs,
			migrationGapMs: migration.gapMs,
			migrationGapAt: migration.at,
			steadyGapMs: largestGap(log, start - windowMs, start),
		};
	});
}

/**
 * The largest interval between rendered frames across several videos over a
 * window (a migration): what a person would see as a freeze. Pure: it is
 * told of frames (FrameGapWatch feeds it from requestVideoFrameCallback).
 * A source live when the window opened counts from the window's start; one
 * that appears later counts from its first frame. At the end, the time since
 * each source's last frame counts too (a tile that froze for good); a source
 * that left the screen (its tile removed or hidden) counts only up to then,
 * and again from when it is back on screen.
 */
export class FrameGaps {
	readonly #from: number;
	readonly #last = new Map<string, number>();
	#largest = 0;

	constructor(from: number) {
		this.#from = from;
	}

	/** `source` was rendering when the window opened, or (`at`) came back on screen: a frame is due from then. */
	live(source: string, at = this.#from): void {
		if (!this.#last.has(source)) this.#last.set(source, at);
	}

	/** `source` rendered a frame at `at`. */
	frame(source: string, at: number): void {
		const previous = this.#last.get(source);
		if (previous !== undefined) this.#largest = Math.max(this.#largest, at - previous);
		this.#last.set(source, Math.max(at, previous ?? at));
	}

	/** `source` left the screen at `at`: its gap so far counts, then nothing more until a frame shows it again. */
	left(source: string, at: number): void {
		const last = this.#last.get(source);
		if (last === undefined) return;
		this.#largest = Math.max(this.#largest, at - last);
		this.#last.delete(source);
	}

	/** The largest gap from the window's start to `until`. */
	largestMs(until: number): number {
		let largest = this.#largest;
		for (const last of this.#last.values()) largest = Math.max(largest, until - last);
		return Math.max(0, Math.round(largest));
	}
}

/** Whether a video is on screen: in the page, not hidden (`display: none`, an off-page tile), not of zero size. */
function onScreen(video: HTMLVideoElement): boolean {
	return video.isConnected && video.checkVisibility() && video.clientWidth > 0 && video.clientHeight > 0;
}

/**
 * Watches the given videos' rendered frames into a FrameGaps from now until
 * stop(), which resolves the largest gap, or null when it cannot be told: a
 * page that was not visible meanwhile renders no frames, so its gaps would
 * say nothing. A video that leaves the screen (its tile removed when the peer
 * leaves, or hidden on another page) stops counting then: the DOM changes
 * that do it are observed while the watch runs. Costs one frame callback per
 * video per frame, only while it runs.
 */
export class FrameGapWatch {
	readonly #gaps: FrameGaps;
	/** Each video, whether it is on screen, and whether it renders (live at the start, or a frame since). */
	readonly #videos: Array<{ id: string; video: HTMLVideoElement; handle: number; shown: boolean; rendering: boolean }> = [];
	readonly #observer = new MutationObserver(() => this.#checkShown());
	#hidden = false;
	#stopped = false;
	readonly #onVisibility = () => {
		if (document.visibilityState !== 'visible') this.#hidden = true;
	};

	constructor(videos: Iterable<{ id: string; video: HTMLVideoElement; live: boolean }>) {
		this.#gaps = new FrameGaps(performance.now());
		this.#onVisibility();
		document.addEventListener('visibilitychange', this.#onVisibility);
		for (const { id, video, live } of videos) {
			const entry = { id, video, handle: 0, shown: onScreen(video), rendering: live };
			if (live && entry.shown) this.#gaps.live(id);
			const onFrame = (now: number) => {
				if (this.#stopped) return;
				entry.rendering = true;
				this.#gaps.frame(id, now);
				entry.handle = video.requestVideoFrameCallback(onFrame);
			};
			entry.handle = video.requestVideoFrameCallback(onFrame);
			this.#videos.push(entry);
		}
		// Tiles leave by removal, a class (off-page) or an attribute; checked right after each such change.
		this.#observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['class', 'style', 'hidden'] });
	}

	#checkShown(): void {
		const now = performance.now();
		for (const entry of this.#videos) {
			const shown = onScreen(entry.video);
			if (entry.shown && !shown) this.#gaps.left(entry.id, now);
			// Back on screen: a frame is due from now, so one that stays frozen counts (one that never rendered waits for its first frame).
			else if (!entry.shown && shown && entry.rendering) this.#gaps.live(entry.id, now);
			entry.shown = shown;
		}
	}

	/** Ends the watch (idempotent after the first call: null then). */
	stop(): number | null {
		if (this.#stopped) return null;
		this.#checkShown();
		this.#stopped = true;
		this.#observer.disconnect();
		document.removeEventListener('visibilitychange', this.#onVisibility);
		for (const { video, handle } of this.#videos) video.cancelVideoFrameCallback(handle);
		this.#onVisibility();
		return this.#hidden || this.#videos.length === 0 ? null : this.#gaps.largestMs(performance.now());
	}
}

/**
 * Paces a notification that may change many times a second (an audience
 * count, the raised hands): `mark()` says something changed; `flush` runs at
 * once when it last ran at least `intervalMs` ago, otherwise once when that
 * interval is up, however many marks came meanwhile. So the first change
 * after a quiet spell goes out without delay, and a busy one costs at most
 * one flush per interval.
 */
export class Batcher {
	readonly #intervalMs: number;
	readonly #flush: () => void;
	readonly #now: () => number;
	#lastFlush = -Infinity;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#closed = false;

	constructor(intervalMs: number, flush: () => void, now: () => number = () => performance.now()) {
		this.#intervalMs = intervalMs;
		this.#flush = flush;
		this.#now = now;
	}

	mark(): void {
		if (this.#closed || this.#timer !== undefined) return;
		const wait = this.#lastFlush + this.#intervalMs - this.#now();
		if (wait <= 0) {
			this.#run();
			return;
		}
		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			if (!this.#closed) this.#run();
		}, wait);
	}

	/** Drops a pending flush; marks are ignored from now on. Idempotent. */
	close(): void {
		this.#closed = true;
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}

	#run(): void {
		this.#lastFlush = this.#now();
		this.#flush();
	}
}

/**
 * The bytes of notifications held for dropped peers, all together: each
 * peer's queue is capped on its own (`limits.resumeQueueBytes`), and their
 * sum by this budget (`limits.resumeQueueBytesTotal`), so dropped peers,
 * which hold no socket, cannot add up to unbounded memory.
 */
export class HeldBytes {
	readonly #max: number;
	#used = 0;

	constructor(max: number) {
		this.#max = max;
	}

	get used(): number {
		return this.#used;
	}

	/** Takes `bytes` from the budget; false (and nothing taken) if they do not fit. */
	take(bytes: number): boolean {
		if (this.#used + bytes > this.#max) return false;
		this.#used += bytes;
		return true;
	}

	release(bytes: number): void {
		this.#used = Math.max(0, this.#used - bytes);
	}
}

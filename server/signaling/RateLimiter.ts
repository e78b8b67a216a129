/**
 * A token bucket: `burst` messages at once, refilled at `ratePerSecond`.
 * `now` is injectable so tests run on a simulated clock.
 */
export class RateLimiter {
	readonly #rate: number;
	readonly #burst: number;
	readonly #now: () => number;
	#tokens: number;
	#last: number;

	constructor(ratePerSecond: number, burst: number, now: () => number = () => performance.now()) {
		this.#rate = ratePerSecond;
		this.#burst = burst;
		this.#now = now;
		this.#tokens = burst;
		this.#last = now();
	}

	/** Takes one token; false when the bucket is empty. */
	tryTake(): boolean {
		const now = this.#now();
		this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
		this.#last = now;
		if (this.#tokens < 1) return false;
		this.#tokens -= 1;
		return true;
	}
}

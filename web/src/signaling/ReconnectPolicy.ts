/** What a reconnect policy sees when deciding the next attempt. */
export interface ReconnectContext {
	/** Attempts made so far (0 before the first). */
	retryCount: number;
	/** Time since the socket dropped. */
	elapsedMs: number;
	/** How long the server keeps the identity for resume. */
	graceMs: number;
}

/** Decides when to try again; `null` gives up. Pluggable per session. */
export interface ReconnectPolicy {
	nextRetryDelayInMs(context: ReconnectContext): number | null;
}

/**
 * Exponential backoff with jitter, bounded by the server's resume grace:
 * there is no point retrying after the server has forgotten the peer.
 */
export class BackoffReconnectPolicy implements ReconnectPolicy {
	readonly #initialDelayMs: number;
	readonly #maxDelayMs: number;
	readonly #jitter: number;
	readonly #random: () => number;

	constructor(options: { initialDelayMs?: number; maxDelayMs?: number; jitter?: number; random?: () => number } = {}) {
		this.#initialDelayMs = options.initialDelayMs ?? 200;
		this.#maxDelayMs = options.maxDelayMs ?? 3000;
		this.#jitter = options.jitter ?? 0.5;
		this.#random = options.random ?? Math.random;
	}

	nextRetryDelayInMs({ retryCount, elapsedMs, graceMs }: ReconnectContext): number | null {
		const base = Math.min(this.#maxDelayMs, this.#initialDelayMs * 2 ** retryCount);
		// Spread clients that dropped together (a server restart) over the window.
		const delay = Math.round(base * (1 - this.#jitter * this.#random()));
		if (elapsedMs + delay >= graceMs) return null;
		return delay;
	}
}

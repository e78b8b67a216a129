import { EventEmitter } from 'eventemitter3';

type Listener<Args extends unknown[]> = (...args: Args) => void;

/**
 * A typed event emitter whose on() returns the unsubscribe function, so an
 * owner can keep what it subscribed to in one list and drop it all in close().
 */
export class Emitter<Events extends { [E in keyof Events]: unknown[] }> {
	readonly #inner = new EventEmitter();

	on<E extends keyof Events & string>(event: E, listener: Listener<Events[E]>): () => void {
		this.#inner.on(event, listener as Listener<unknown[]>);
		return () => {
			this.#inner.off(event, listener as Listener<unknown[]>);
		};
	}

	protected emit<E extends keyof Events & string>(event: E, ...args: Events[E]): void {
		this.#inner.emit(event, ...args);
	}

	protected removeAllListeners(): void {
		this.#inner.removeAllListeners();
	}
}

/** Subscriptions to drop together: `add()` each unsubscribe, `drop()` them all (once). */
export class Subscriptions {
	readonly #offs: Array<() => void> = [];

	add(...offs: Array<() => void>): void {
		this.#offs.push(...offs);
	}

	drop(): void {
		for (const off of this.#offs.splice(0)) off();
	}
}

/**
 * Bounds on promises the tests do not control (a browser that does not
 * close, a page read that never answers). The promise itself is left to
 * settle or not; only the wait ends.
 */

/** `promise`, or undefined once `ms` passed. */
export function settleWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const late = new Promise<undefined>((resolve) => {
		timer = setTimeout(() => resolve(undefined), ms);
	});
	return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** `promise`, or a rejection naming `what` once `ms` passed. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const late = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
	});
	return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Frame timestamps as counts per fixed bin: the shape a timeline chart of
 * frames rendered needs. Pure (no page, no clock), so it is unit-tested.
 */

/** The start of each whole bin of `binMs` in [from, to), relative to `origin` (a partial last bin would read as a drop). */
export function binStarts(from: number, to: number, binMs: number, origin: number): number[] {
	if (!(binMs > 0) || !(to > from)) return [];
	const count = Math.min(10_000, Math.floor((to - from) / binMs));
	return Array.from({ length: count }, (_, i) => from + i * binMs - origin);
}

/** How many of `times` fall in each bin of `binMs` from `from` up to `to` (times outside are left out). */
export function countPerBin(times: readonly number[], from: number, to: number, binMs: number): number[] {
	const counts: number[] = new Array(binStarts(from, to, binMs, 0).length).fill(0);
	for (const t of times) {
		if (t < from || t >= to) continue;
		const bin = Math.floor((t - from) / binMs);
		if (bin < counts.length) counts[bin] = (counts[bin] as number) + 1;
	}
	return counts;
}

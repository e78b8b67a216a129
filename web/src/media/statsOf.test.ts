import { afterEach, describe, expect, it, vi } from 'vitest';
import { statsOf } from './statsOf.js';

afterEach(() => {
	vi.useRealTimers();
});

const report = (...entries: Array<{ id: string; type: string }>) => new Map(entries.map((e) => [e.id, e])) as unknown as RTCStatsReport;

describe('statsOf', () => {
	it("lists the report's entries", async () => {
		const source = { getStats: () => Promise.resolve(report({ id: 'a', type: 'inbound-rtp' }, { id: 'b', type: 'transport' })) };
		await expect(statsOf(source)).resolves.toEqual([
			{ id: 'a', type: 'inbound-rtp' },
			{ id: 'b', type: 'transport' },
		]);
	});

	it('settles with no entries when getStats() never answers (Firefox, a connection closed under the read), and leaves no timer', async () => {
		vi.useFakeTimers();
		const source = { getStats: () => new Promise<RTCStatsReport>(() => undefined) };
		let settled: unknown;
		void statsOf(source, 3000).then((stats) => (settled = stats));
		await vi.advanceTimersByTimeAsync(2999);
		expect(settled).toBeUndefined();
		await vi.advanceTimersByTimeAsync(1);
		expect(settled).toEqual([]);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('clears its timer when the report comes first', async () => {
		vi.useFakeTimers();
		await statsOf({ getStats: () => Promise.resolve(report()) });
		expect(vi.getTimerCount()).toBe(0);
	});

	it('passes a failed getStats() on', async () => {
		await expect(statsOf({ getStats: () => Promise.reject(new Error('closed')) })).rejects.toThrow('closed');
	});
});

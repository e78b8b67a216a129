import { describe, expect, it } from 'vitest';
import type { LocalMedia } from '../call/callTypes.js';
import { openedFirst } from './firstMedia.js';

/** A stream whose tracks count their stop() calls. */
function fakeStream(): { media: LocalMedia; stops: () => number } {
	let stops = 0;
	const track = { stop: () => void stops++ };
	return { media: { stream: { getTracks: () => [track, track] } as unknown as MediaStream }, stops: () => stops };
}

describe('openedFirst', () => {
	it('gives the camera opened first once, then opens afresh; release() then stops nothing', async () => {
		const { media, stops } = fakeStream();
		const opener = openedFirst(Promise.resolve(media));
		await expect(opener.open()).resolves.toBe(media);
		// No camera in Node: the fresh open reports why, as openMedia does.
		await expect(opener.open()).resolves.toMatchObject({ error: expect.stringContaining('unavailable') });
		await opener.release();
		expect(stops()).toBe(0);
	});

	it('release() stops a camera the call never took, once', async () => {
		const { media, stops } = fakeStream();
		const opener = openedFirst(Promise.resolve(media));
		await opener.release();
		await opener.release();
		expect(stops()).toBe(2);
	});

	it("a first open that gave no camera (the role did not send) opens afresh; an error from the first is the call's answer", async () => {
		await expect(openedFirst(Promise.resolve(undefined)).open()).resolves.toMatchObject({ error: expect.any(String) });
		await expect(openedFirst(Promise.resolve({ error: 'blocked' })).open()).resolves.toEqual({ error: 'blocked' });
	});
});

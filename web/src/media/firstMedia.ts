import type { LocalMedia } from '../call/callTypes.js';
import { openMedia } from './openMedia.js';

/**
 * What this browser lacks to take part in a call, if anything. Small on
 * purpose: the page's first script asks before it starts a join.
 */
export function missingForCalls(): string | undefined {
	if (typeof window.RTCPeerConnection !== 'function') return 'WebRTC (RTCPeerConnection)';
	if (typeof window.WebSocket !== 'function') return 'WebSocket';
	return undefined;
}

/**
 * The call's camera opener when one was opened before the call asked (the
 * first script's, or the lobby's preview): `open()` gives that one first
 * and a fresh one afterwards (a promotion to a broadcast's stage);
 * `release()` stops it if the call never took it (the join failed, or the
 * role does not send).
 */
export function openedFirst(first: Promise<LocalMedia | undefined> | undefined): { open: () => Promise<LocalMedia>; release: () => Promise<void> } {
	let pending = first;
	const take = () => {
		const taken = pending;
		pending = undefined;
		return taken;
	};
	return {
		open: async () => (await take()) ?? openMedia(),
		release: async () => {
			for (const track of (await take())?.stream?.getTracks() ?? []) track.stop();
		},
	};
}

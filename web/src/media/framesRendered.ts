/** How long a visible page trusts requestVideoFrameCallback alone before it polls framesDecoded too. */
const CALLBACK_GRACE_MS = 500;

/**
 * Resolves true once `track` has rendered `count` frames, false after
 * `timeoutMs`. More than one: right after its first key frame a new stream
 * can pause (the encoder drops frames to pay for the key frame), and a tile
 * swapped onto it then would freeze.
 * Checked on a <video> kept in the DOM: 2x2 px in a corner, on top, muted,
 * played explicitly (a video element outside the document, at opacity 0 or
 * under the page's background may never get a requestVideoFrameCallback).
 * A page the browser does not paint (a background tab) gets no frame
 * callbacks, so `framesDecoded`, when given, is polled too: decoded frames
 * are as good. getStats() is not free, so a visible page polls only once
 * the frame callbacks are late.
 */
export function framesRendered(track: MediaStreamTrack, count: number, timeoutMs: number, framesDecoded?: () => Promise<number>): Promise<boolean> {
	return new Promise((resolve) => {
		const video = document.createElement('video');
		video.muted = true;
		video.playsInline = true;
		video.setAttribute('aria-hidden', 'true');
		video.style.cssText = 'position:fixed;left:0;bottom:0;width:2px;height:2px;pointer-events:none;z-index:2147483647';
		video.srcObject = new MediaStream([track]);
		let done = false;
		const finish = (rendered: boolean) => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			clearInterval(poll);
			video.cancelVideoFrameCallback(pending);
			video.srcObject = null;
			video.remove();
			resolve(rendered);
		};
		const timer = setTimeout(() => finish(false), timeoutMs);
		let polling = false;
		const pollFrom = performance.now() + (document.visibilityState === 'visible' ? CALLBACK_GRACE_MS : 0);
		const poll = setInterval(() => {
			if (!framesDecoded || polling || performance.now() < pollFrom) return;
			polling = true;
			framesDecoded().then(
				(n) => {
					polling = false;
					if (n >= count) finish(true);
				},
				() => (polling = false),
			);
		}, 150);
		document.body.append(video);
		let seen = 0;
		const onFrame = (_now: number, metadata: VideoFrameCallbackMetadata) => {
			// presentedFrames counts frames the callbacks skipped too.
			seen = Math.max(seen + 1, metadata.presentedFrames);
			if (seen >= count) finish(true);
			else pending = video.requestVideoFrameCallback(onFrame);
		};
		let pending = video.requestVideoFrameCallback(onFrame);
		video.play().catch(() => undefined);
	});
}

/**
 * Resolves true once `track` has a frame to show, false after `timeoutMs`.
 * Checked off screen on a <video> kept in the DOM (a video element outside
 * the document, or at opacity 0, may never get a requestVideoFrameCallback):
 * 2x2 px in a corner, muted, played explicitly. A page the browser does not
 * paint (a background tab) gets no frame callbacks, so `framesDecoded`, when
 * given, is polled too: a decoded frame is as good.
 */
export function firstFrame(track: MediaStreamTrack, timeoutMs: number, framesDecoded?: () => Promise<number>): Promise<boolean> {
	return new Promise((resolve) => {
		const video = document.createElement('video');
		video.muted = true;
		video.playsInline = true;
		video.setAttribute('aria-hidden', 'true');
		video.style.cssText = 'position:fixed;left:0;bottom:0;width:2px;height:2px;pointer-events:none;z-index:-1';
		video.srcObject = new MediaStream([track]);
		let done = false;
		const finish = (rendered: boolean) => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			clearInterval(poll);
			video.srcObject = null;
			video.remove();
			resolve(rendered);
		};
		const timer = setTimeout(() => finish(false), timeoutMs);
		let polling = false;
		const poll = setInterval(() => {
			if (!framesDecoded || polling) return;
			polling = true;
			framesDecoded().then(
				(n) => {
					polling = false;
					if (n > 0) finish(true);
				},
				() => (polling = false),
			);
		}, 150);
		document.body.append(video);
		video.requestVideoFrameCallback(() => finish(true));
		video.play().catch(() => undefined);
	});
}

/**
 * The glass-to-glass probe of bench:latency, as one init script for any page
 * (the product's call page and the baseline page alike):
 *
 * - Sender: getUserMedia answers with a canvas (320x180, painted about 30
 *   times a second) showing Date.now() as 8x6 black and white blocks: the
 *   low 32 bits of the time, then a 16-bit check of them, so a misread frame
 *   is rejected rather than counted. The microphone is a WebAudio oscillator,
 *   silent but for a 50 ms 1 kHz click at each whole second of Date.now().
 *   The real getUserMedia is still asked (and its tracks stopped at once),
 *   so permissions and device labels behave as with a real camera.
 * - Receiver: `__latency.watch(selector)` reads the blocks back from every
 *   frame each matching <video> renders (requestVideoFrameCallback, drawn
 *   into a small canvas) and records its own Date.now() beside the painted
 *   time; it also feeds the element's audio track into an AnalyserNode,
 *   polled every 10 ms, and records each click's onset.
 *
 * - `playRemoteAudio` (for the baseline page, which renders video only):
 *   every RTCPeerConnection's remote audio plays in an <audio> element, as
 *   it does in any call page, and the A/V sync is measured on it as on the
 *   product's tiles. WebRTC's lip sync can hold video back only for an
 *   audio track that plays: so the baseline cannot skip a delay the
 *   product (whose tiles play their audio) would pay.
 *
 * Every page on one machine shares the clock, so receivedAt - paintedAt is
 * the glass-to-glass latency (canvas capture, encode, network, decode,
 * render). Plain JavaScript in a string: it runs before the page's own code
 * and needs no bundle (the product's CSP does not apply to init scripts).
 */
export function latencyProbe(options: { playRemoteAudio: boolean }): string {
	return `(${PROBE})(${JSON.stringify(options)});`;
}

const PROBE = String.raw`(options) => {
	if (window.__latency) return;
	/** The page's connections (playRemoteAudio only): where a video-only element's audio is found. */
	const connections = [];
	if (options.playRemoteAudio) {
		const Native = window.RTCPeerConnection;
		window.RTCPeerConnection = class extends Native {
			constructor(...args) {
				super(...args);
				connections.push(this);
				this.addEventListener('track', (e) => {
					if (e.track.kind !== 'audio') return;
					const audio = new Audio();
					audio.srcObject = new MediaStream([e.track]);
					void audio.play();
				});
			}
		};
	}
	const COLS = 8, ROWS = 6, W = 320, H = 180, CELL = 8;
	const check = (v) => (Math.imul(v ^ 0x5bd1e995, 0x9e3779b1) >>> 16) & 0xffff;
	const state = { frames: [], onsets: [], misreads: 0, repeats: 0, watch };
	window.__latency = state;

	let source;
	function start() {
		if (source) return source;
		const canvas = document.createElement('canvas');
		canvas.width = W; canvas.height = H;
		const g = canvas.getContext('2d');
		const paint = () => {
			const v = Date.now() >>> 0;
			const c = check(v);
			for (let i = 0; i < COLS * ROWS; i++) {
				const bit = i < 32 ? (v >>> (31 - i)) & 1 : (c >>> (47 - i)) & 1;
				g.fillStyle = bit ? '#fff' : '#000';
				g.fillRect((i % COLS) * (W / COLS), Math.floor(i / COLS) * (H / ROWS), W / COLS, H / ROWS);
			}
		};
		paint();
		setInterval(paint, 1000 / 30);
		const video = canvas.captureStream(30).getVideoTracks()[0];
		const ctx = new AudioContext();
		const osc = ctx.createOscillator();
		osc.frequency.value = 1000;
		const gain = ctx.createGain();
		gain.gain.value = 0;
		const dest = ctx.createMediaStreamDestination();
		osc.connect(gain).connect(dest);
		osc.start();
		let scheduled = 0;
		setInterval(() => {
			if (ctx.state !== 'running') { void ctx.resume(); return; }
			const now = Date.now();
			const next = Math.ceil(now / 1000) * 1000;
			if (next === scheduled || next - now > 250) return;
			scheduled = next;
			const at = ctx.currentTime + (next - now) / 1000;
			gain.gain.setValueAtTime(0.8, at);
			gain.gain.setValueAtTime(0, at + 0.05);
		}, 20);
		source = { video, audio: dest.stream.getAudioTracks()[0] };
		return source;
	}
	const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
	navigator.mediaDevices.getUserMedia = async (constraints = {}) => {
		const granted = await real(constraints);
		for (const t of granted.getTracks()) t.stop();
		const s = start();
		const tracks = [];
		if (constraints.audio) tracks.push(s.audio.clone());
		if (constraints.video) tracks.push(s.video.clone());
		return new MediaStream(tracks);
	};

	const reader = document.createElement('canvas');
	reader.width = COLS * CELL; reader.height = ROWS * CELL;
	const rg = reader.getContext('2d', { willReadFrequently: true });
	/** The painted time's low 32 bits, or undefined when the check does not match. */
	function decode(video) {
		rg.drawImage(video, 0, 0, reader.width, reader.height);
		const data = rg.getImageData(0, 0, reader.width, reader.height).data;
		let v = 0, c = 0;
		for (let i = 0; i < COLS * ROWS; i++) {
			const x = (i % COLS) * CELL + CELL / 2 - 1, y = Math.floor(i / COLS) * CELL + CELL / 2 - 1;
			let sum = 0;
			for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) sum += data[((y + dy) * reader.width + x + dx) * 4 + 1];
			const bit = sum > 4 * 128 ? 1 : 0;
			if (i < 32) v = v * 2 + bit; else c = c * 2 + bit;
		}
		return check(v) === c ? v : undefined;
	}

	let audioContext;
	let next = 0;
	function listen(key, track) {
		audioContext ??= new AudioContext();
		const analyser = audioContext.createAnalyser();
		analyser.fftSize = 2048;
		audioContext.createMediaStreamSource(new MediaStream([track])).connect(analyser);
		const buf = new Float32Array(analyser.fftSize);
		let last = 0;
		setInterval(() => {
			if (audioContext.state !== 'running') { void audioContext.resume(); return; }
			analyser.getFloatTimeDomainData(buf);
			const now = Date.now();
			const i = buf.findIndex((s) => Math.abs(s) > 0.2);
			if (i < 0) return;
			const onset = now - ((buf.length - i) / audioContext.sampleRate) * 1000;
			if (onset - last > 500) state.onsets.push([key, Math.round(onset)]);
			last = Math.max(last, onset);
		}, 10);
	}

	/** The remote audio track that came with this remote video track on the same connection (the baseline's elements show video only). */
	function audioBeside(videoTrack) {
		if (!videoTrack) return undefined;
		const receivers = connections.map((pc) => pc.getReceivers()).find((rs) => rs.some((r) => r.track === videoTrack));
		return receivers?.find((r) => r.track.kind === 'audio')?.track;
	}

	function watch(selector) {
		const attach = () => {
			for (const video of document.querySelectorAll(selector)) {
				if (video.dataset.latencyKey) continue;
				const key = video.closest('[data-peer-id]')?.dataset.peerId ?? 'v' + ++next;
				video.dataset.latencyKey = key;
				let previous = -1;
				let listening = false;
				const onFrame = () => {
					const at = Date.now();
					video.requestVideoFrameCallback(onFrame);
					const audio = video.srcObject?.getAudioTracks?.()[0] ?? audioBeside(video.srcObject?.getVideoTracks?.()[0]);
					if (!listening && audio) { listening = true; listen(key, audio); }
					const v = decode(video);
					if (v === undefined) { state.misreads++; return; }
					const painted = at - ((((at % 4294967296) - v) % 4294967296) + 4294967296) % 4294967296;
					if (at - painted > 10000) { state.misreads++; return; }
					if (painted === previous) { state.repeats++; return; }
					previous = painted;
					state.frames.push([key, at, painted]);
				};
				video.requestVideoFrameCallback(onFrame);
			}
		};
		attach();
		new MutationObserver(attach).observe(document.body, { childList: true, subtree: true });
	}
}`;

/** One frame a receiver rendered: the sender's key (its peer id, or the baseline's element), when, and the time painted into it. */
export type ProbeFrame = [key: string, receivedAt: number, paintedAt: number];
/** One click a receiver heard: the sender's key and the onset (Date.now()). */
export type ProbeOnset = [key: string, at: number];

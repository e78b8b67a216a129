import type { Call, ChatEntry, RemoteConnectionStats, RemoteEvent } from '../call/Call.js';
import { h } from './dom.js';

function formatTime(at: number): string {
	return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function formatBitrate(bps: number): string {
	return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mb/s` : `${Math.round(bps / 1e3)} kb/s`;
}

/**
 * The call screen: a grid of tiles (self first), the controls, the topology
 * badge with the participant count, chat and the stats panel. It owns only
 * DOM; the Call owns media and signaling.
 */
export class CallView {
	readonly element: HTMLElement;
	readonly #grid: HTMLElement;
	readonly #status: HTMLElement;
	readonly #badge: HTMLElement;
	readonly #count: HTMLElement;
	readonly #chatLog: HTMLElement;
	readonly #statsBody: HTMLElement;
	readonly #names = new Map<string, string>();
	readonly #lastBytes = new Map<string, { bytes: number; at: number }>();
	#call: Call | undefined;
	/** Ends the screen share in progress (back to the camera); undefined when not sharing. */
	#stopShare: (() => void) | undefined;
	#statsTimer: ReturnType<typeof setInterval> | undefined;

	constructor(localStream: MediaStream | undefined, onLeave: () => void) {
		const localVideo = h('video', { autoplay: true, playsinline: true, 'data-testid': 'local-video', 'aria-label': 'Your video' });
		localVideo.muted = true;
		localVideo.srcObject = localStream ?? null;
		this.#badge = h('span', { class: 'badge', 'data-testid': 'topology', title: 'How media travels' }, 'mesh');
		this.#count = h('span', { 'data-testid': 'participant-count' }, '1');
		this.#status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
		this.#grid = h('div', { class: 'grid', role: 'list', 'aria-label': 'Participants' }, h('figure', { class: 'tile self', role: 'listitem' }, localVideo, h('figcaption', {}, 'You')));
		this.#chatLog = h('ol', { class: 'chat-log', 'aria-label': 'Chat messages', 'aria-live': 'polite' });
		const chatInput = h('input', { id: 'chat-input', 'data-testid': 'chat-input', autocomplete: 'off', maxlength: '2000', placeholder: 'Message everyone' });
		const chatForm = h('form', { class: 'chat-form' }, h('label', { for: 'chat-input', class: 'visually-hidden' }, 'Chat message'), chatInput, h('button', { type: 'submit' }, 'Send'));
		chatForm.addEventListener('submit', (event) => {
			event.preventDefault();
			const text = chatInput.value.trim();
			if (!text || !this.#call) return;
			// Shown at once, marked as sending until the server has it.
			chatInput.value = '';
			const item = this.#addChat({ from: '', displayName: '', text, sentAt: Date.now(), self: true }, 'sending');
			this.#call.sendChat(text).then(
				(entry) => this.#settleChat(item, entry, 'sent'),
				(error: unknown) => {
					this.#settleChat(item, undefined, 'failed');
					this.setStatus(`Message not sent: ${(error as Error).message}`);
				},
			);
		});
		this.#statsBody = h('tbody');
		const statsTable = h(
			'table',
			{ 'data-testid': 'stats-panel' },
			h('thead', {}, h('tr', {}, ...['Participant', 'Bitrate', 'FPS', 'Resolution', 'RTT', 'Loss', 'Path'].map((t) => h('th', { scope: 'col' }, t)))),
			this.#statsBody,
		);

		const mute = h('button', { type: 'button', 'data-testid': 'mute', 'aria-pressed': 'false' }, 'Mute');
		const camera = h('button', { type: 'button', 'data-testid': 'camera', 'aria-pressed': 'false' }, 'Camera off');
		const share = h('button', { type: 'button', 'data-testid': 'screenshare', 'aria-pressed': 'false' }, 'Share screen');
		const leave = h('button', { type: 'button', 'data-testid': 'leave', class: 'danger' }, 'Leave');
		if (!localStream?.getAudioTracks().length) mute.disabled = true;
		if (!localStream?.getVideoTracks().length) camera.disabled = share.disabled = true;
		mute.addEventListener('click', () => {
			const muted = mute.getAttribute('aria-pressed') !== 'true';
			mute.setAttribute('aria-pressed', String(muted));
			mute.textContent = muted ? 'Unmute' : 'Mute';
			void this.#call?.setMicrophoneEnabled(!muted);
		});
		camera.addEventListener('click', () => {
			const off = camera.getAttribute('aria-pressed') !== 'true';
			camera.setAttribute('aria-pressed', String(off));
			camera.textContent = off ? 'Camera on' : 'Camera off';
			void this.#call?.setCameraEnabled(!off);
		});
		share.addEventListener('click', () => void this.#toggleShare(share, localStream, localVideo));
		leave.addEventListener('click', onLeave);

		this.element = h(
			'section',
			{ class: 'call', 'aria-label': 'Call' },
			h('header', { class: 'bar' }, this.#badge, h('span', { class: 'count' }, this.#count, ' in call'), this.#status),
			this.#grid,
			h('nav', { class: 'controls', 'aria-label': 'Call controls' }, mute, camera, share, leave),
			h(
				'aside',
				{ class: 'side' },
				h('section', { class: 'chat', 'aria-label': 'Chat' }, h('h2', {}, 'Chat'), this.#chatLog, chatForm),
				h('details', { class: 'stats' }, h('summary', {}, 'Connection stats'), statsTable),
			),
		);
	}

	/** Binds the view to a joined call. */
	attach(call: Call): void {
		this.#call = call;
		// A role that may not send (a viewer) has nothing to mute or share.
		if (!call.canPublish) {
			for (const button of this.element.querySelectorAll<HTMLButtonElement>('[data-testid=mute], [data-testid=camera], [data-testid=screenshare]')) button.disabled = true;
		}
		call.onActiveSpeaker((peerId) => {
			for (const tile of this.#grid.querySelectorAll<HTMLElement>('[data-testid=remote-tile]')) {
				tile.classList.toggle('active-speaker', tile.dataset.peerId === peerId);
			}
		});
		call.onChat((entry) => this.#addChat(entry));
		call.onTopology(() => this.refresh());
		this.#statsTimer = setInterval(() => void this.#refreshStats(), 2000);
		this.refresh();
	}

	setStatus(text: string): void {
		this.#status.textContent = text;
	}

	refresh(): void {
		const topology = this.#call?.topology ?? 'mesh';
		this.#badge.textContent = topology;
		this.#badge.dataset.topology = topology;
		this.#count.textContent = String(this.#call?.participantCount ?? 1);
	}

	onRemote(event: RemoteEvent): void {
		if (event.type === 'added') {
			this.#names.set(event.peer.peerId, event.peer.displayName);
			this.#setMuted(this.#tile(event.peer.peerId), event.peer.audioMuted, event.peer.videoMuted);
		} else if (event.type === 'media') {
			const video = this.#tile(event.peerId).querySelector('video') as HTMLVideoElement;
			this.#display(video, event.stream);
		} else if (event.type === 'mediaState') {
			this.#setMuted(this.#tile(event.peerId), event.audioMuted, event.videoMuted);
		} else {
			this.#grid.querySelector(`[data-testid=remote-tile][data-peer-id="${CSS.escape(event.peerId)}"]`)?.remove();
			this.#names.delete(event.peerId);
		}
		this.refresh();
	}

	close(): void {
		clearInterval(this.#statsTimer);
	}

	#tile(peerId: string): HTMLElement {
		const existing = this.#grid.querySelector<HTMLElement>(`[data-testid=remote-tile][data-peer-id="${CSS.escape(peerId)}"]`);
		if (existing) return existing;
		const name = this.#names.get(peerId) ?? 'Participant';
		const video = h('video', { autoplay: true, playsinline: true, 'aria-label': `${name}'s video` });
		const tile = h(
			'figure',
			{ class: 'tile', role: 'listitem', 'data-testid': 'remote-tile', 'data-peer-id': peerId },
			video,
			h('figcaption', {}, h('span', { class: 'name' }, name), h('span', { class: 'muted', 'data-testid': 'remote-muted', hidden: true }, 'muted')),
		);
		this.#grid.append(tile);
		// Through the SFU, the tile's size picks the simulcast layer it receives.
		new ResizeObserver(([entry]) => {
			if (entry) this.#call?.setRemoteVideoWidth(peerId, Math.round(entry.contentRect.width * devicePixelRatio));
		}).observe(video);
		return tile;
	}

	/**
	 * Puts `stream`'s tracks on the tile. The element keeps one MediaStream of
	 * its own and only its tracks change: a migration swaps the tracks in
	 * place, so the element is never reloaded (a new srcObject restarts it
	 * and shows nothing until it has loaded again).
	 */
	#display(video: HTMLVideoElement, stream: MediaStream): void {
		let shown = video.srcObject as MediaStream | null;
		if (!shown) {
			shown = new MediaStream();
			video.srcObject = shown;
			const peerId = (video.closest('[data-peer-id]') as HTMLElement).dataset.peerId as string;
			video.requestVideoFrameCallback(() => {
				if (window.__timing) window.__timing.firstFrameAt[peerId] ??= performance.now();
			});
		}
		for (const kind of ['video', 'audio'] as const) {
			const next = kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks();
			const current = kind === 'video' ? shown.getVideoTracks() : shown.getAudioTracks();
			if (next.length === 0 || (current.length === next.length && current.every((t, i) => t === next[i]))) continue;
			for (const track of next) shown.addTrack(track);
			for (const track of current) shown.removeTrack(track);
		}
	}

	#setMuted(tile: HTMLElement, audioMuted: boolean, videoMuted: boolean): void {
		const badge = tile.querySelector<HTMLElement>('[data-testid=remote-muted]') as HTMLElement;
		badge.hidden = !audioMuted && !videoMuted;
		badge.textContent = [audioMuted ? 'mic off' : '', videoMuted ? 'camera off' : ''].filter(Boolean).join(', ');
		tile.dataset.audioMuted = String(audioMuted);
		tile.dataset.videoMuted = String(videoMuted);
	}

	/** Appends a message; the sender's own starts as `sending` and is settled by #settleChat. */
	#addChat(entry: ChatEntry, state: 'sending' | 'sent' = 'sent'): HTMLElement {
		const item = h(
			'li',
			{ 'data-testid': 'chat-message', 'data-state': state, class: entry.self ? 'self' : undefined },
			h('strong', {}, entry.self ? 'You' : entry.displayName),
			' ',
			h('time', {}, state === 'sending' ? 'sending…' : formatTime(entry.sentAt)),
			': ',
			entry.text,
		);
		this.#chatLog.append(item);
		this.#chatLog.scrollTop = this.#chatLog.scrollHeight;
		return item;
	}

	#settleChat(item: HTMLElement, entry: ChatEntry | undefined, state: 'sent' | 'failed'): void {
		item.dataset.state = state;
		const time = item.querySelector('time') as HTMLElement;
		time.textContent = entry ? formatTime(entry.sentAt) : 'not sent';
	}

	async #refreshStats(): Promise<void> {
		if (!this.#call) return;
		const stats: RemoteConnectionStats[] = await this.#call.connectionStats().catch(() => []);
		const quality = new Map(this.#call.lastQualityReport.map((q) => [q.remotePeerId, q]));
		const now = performance.now();
		this.#statsBody.replaceChildren(
			...stats.map((s) => {
				const key = `${s.peerId}:${s.via}`;
				const last = this.#lastBytes.get(key);
				this.#lastBytes.set(key, { bytes: s.bytesReceived, at: now });
				const bitrate = last ? ((s.bytesReceived - last.bytes) * 8) / ((now - last.at) / 1000) : 0;
				const q = quality.get(s.peerId) ?? quality.get('sfu');
				return h(
					'tr',
					{ 'data-peer-id': s.peerId, 'data-via': s.via },
					h('th', { scope: 'row' }, this.#names.get(s.peerId) ?? s.peerId.slice(0, 8)),
					h('td', {}, formatBitrate(Math.max(0, bitrate))),
					h('td', {}, String(Math.round(s.framesPerSecond))),
					h('td', {}, s.frameWidth ? `${s.frameWidth}×${s.frameHeight}` : '–'),
					h('td', {}, typeof q?.rttMs === 'number' ? `${Math.round(q.rttMs as number)} ms` : '–'),
					h('td', {}, typeof q?.packetLoss === 'number' ? `${((q.packetLoss as number) * 100).toFixed(1)} %` : '–'),
					h('td', {}, s.path),
				);
			}),
		);
	}

	async #toggleShare(button: HTMLButtonElement, localStream: MediaStream | undefined, localVideo: HTMLVideoElement): Promise<void> {
		if (!this.#call || !localStream) return;
		if (this.#stopShare) {
			this.#stopShare();
			return;
		}
		const camera = localStream.getVideoTracks()[0];
		try {
			const screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
			const [track] = screen.getVideoTracks();
			if (!track || !camera) return;
			await this.#call.replaceVideoTrack(track, true);
			button.setAttribute('aria-pressed', 'true');
			button.textContent = 'Stop sharing';
			const stop = () => {
				this.#stopShare = undefined;
				track.onended = null;
				void this.#call?.replaceVideoTrack(camera).then(() => {
					localVideo.srcObject = localStream;
				});
				button.setAttribute('aria-pressed', 'false');
				button.textContent = 'Share screen';
			};
			this.#stopShare = stop;
			track.onended = stop;
		} catch (error) {
			this.setStatus(`Screen sharing unavailable: ${(error as Error).message}`);
		}
	}
}

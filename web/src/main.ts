import { Call } from './call/Call.js';

// The call page: `/?room=R&name=N` joins directly; otherwise the lobby asks.

declare global {
	interface Window {
		/** Read-only hooks for tests and debugging. */
		__call?: Call;
		/** When this page started joining, and when each remote tile rendered its first frame (performance.now()). */
		__timing?: { joinStartedAt: number; firstFrameAt: Record<string, number> };
	}
}

const lobby = document.querySelector<HTMLFormElement>('#lobby') as HTMLFormElement;
const callSection = document.querySelector<HTMLElement>('#call') as HTMLElement;
const grid = document.querySelector<HTMLElement>('#grid') as HTMLElement;
const statusLine = document.querySelector<HTMLElement>('#status') as HTMLElement;
const localVideo = document.querySelector<HTMLVideoElement>('[data-testid=local-video]') as HTMLVideoElement;

function tileFor(peerId: string): HTMLElement | null {
	return grid.querySelector<HTMLElement>(`[data-testid=remote-tile][data-peer-id="${CSS.escape(peerId)}"]`);
}

function addTile(peerId: string, displayName: string): HTMLElement {
	const existing = tileFor(peerId);
	if (existing) return existing;
	const tile = document.createElement('figure');
	tile.className = 'tile';
	tile.dataset.testid = 'remote-tile';
	tile.dataset.peerId = peerId;
	const video = document.createElement('video');
	video.autoplay = true;
	video.playsInline = true;
	const caption = document.createElement('figcaption');
	caption.textContent = displayName;
	tile.append(video, caption);
	grid.append(tile);
	// Through the SFU, the tile's size picks the simulcast layer it receives.
	new ResizeObserver(([entry]) => {
		if (entry) window.__call?.setRemoteVideoWidth(peerId, Math.round(entry.contentRect.width * devicePixelRatio));
	}).observe(video);
	return tile;
}

async function getLocalStream(): Promise<MediaStream | undefined> {
	try {
		return await navigator.mediaDevices.getUserMedia({
			audio: true,
			video: { width: { ideal: 320 }, height: { ideal: 180 }, frameRate: { ideal: 15 } },
		});
	} catch (error) {
		statusLine.textContent = `Joining without camera and microphone: ${(error as Error).message}`;
		return undefined;
	}
}

async function startCall(roomId: string, displayName: string, token: string | undefined): Promise<void> {
	lobby.hidden = true;
	callSection.hidden = false;
	statusLine.textContent = `Joining ${roomId}…`;
	const timing = { joinStartedAt: performance.now(), firstFrameAt: {} as Record<string, number> };
	window.__timing = timing;
	const localStream = await getLocalStream();
	if (localStream) localVideo.srcObject = localStream;
	const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
	const call = new Call({
		signalingUrl: `${scheme}://${location.host}/ws`,
		roomId,
		displayName,
		...(token ? { token } : {}),
		localStream,
		onRemote: (event) => {
			if (event.type === 'added') addTile(event.peer.peerId, event.peer.displayName);
			else if (event.type === 'media') {
				const video = (tileFor(event.peerId) ?? addTile(event.peerId, '')).querySelector('video') as HTMLVideoElement;
				if (video.srcObject !== event.stream) {
					video.srcObject = event.stream;
					const { peerId } = event;
					video.requestVideoFrameCallback(() => {
						timing.firstFrameAt[peerId] ??= performance.now();
					});
				}
			} else tileFor(event.peerId)?.remove();
		},
	});
	window.__call = call;
	call.onSignalingState((state) => {
		if (state === 'reconnecting') statusLine.textContent = 'Connection to the server lost; reconnecting…';
		else if (state === 'joined') statusLine.textContent = `In room ${roomId}`;
		else if (state === 'closed') statusLine.textContent = 'Disconnected from the server.';
	});
	window.addEventListener('pagehide', () => call.close());
	call.onActiveSpeaker((peerId) => {
		for (const tile of grid.querySelectorAll<HTMLElement>('[data-testid=remote-tile]')) {
			tile.classList.toggle('active-speaker', tile.dataset.peerId === peerId);
		}
	});
	try {
		await call.join();
	} catch (error) {
		const code = (error as { code?: string }).code;
		statusLine.textContent = `Could not join: ${(error as Error).message}${code ? ` (${code})` : ''}`;
	}
}

const params = new URLSearchParams(location.search);
const room = params.get('room');
const name = params.get('name');
const token = params.get('token') ?? undefined;
if (room && name) {
	void startCall(room, name, token);
} else {
	lobby.hidden = false;
	lobby.addEventListener('submit', (event) => {
		event.preventDefault();
		const data = new FormData(lobby);
		const r = String(data.get('room') ?? '').trim();
		const n = String(data.get('name') ?? '').trim();
		history.replaceState(null, '', `/?room=${encodeURIComponent(r)}&name=${encodeURIComponent(n)}`);
		void startCall(r, n, token);
	});
}

import { openMedia } from '../media/openMedia.js';
import { h } from './dom.js';

export interface LobbyResult {
	roomId: string;
	displayName: string;
	stream: MediaStream | undefined;
}

/**
 * The lobby: room and name, a camera preview with device pickers, and a way
 * on when the camera is denied (retry, or join without it). With `media:
 * false` (someone joining as a viewer) it asks for no camera at all.
 */
export function showLobby(root: HTMLElement, initial: { roomId?: string; displayName?: string; media?: boolean }): Promise<LobbyResult> {
	const media = initial.media ?? true;
	return new Promise((resolve) => {
		const preview = h('video', { autoplay: true, playsinline: true, 'aria-label': 'Your camera preview', 'data-testid': 'preview' });
		preview.muted = true;
		const cameraSelect = h('select', { id: 'camera-select' });
		const micSelect = h('select', { id: 'mic-select' });
		const mediaError = h('p', { class: 'error', role: 'alert', hidden: true });
		const retry = h('button', { type: 'button', hidden: true }, 'Retry camera');
		const roomInput = h('input', { id: 'room-input', name: 'room', required: true, pattern: '[A-Za-z0-9_\\-]{1,64}', autocomplete: 'off', value: initial.roomId });
		const nameInput = h('input', { id: 'name-input', name: 'name', required: true, maxlength: '64', autocomplete: 'name', value: initial.displayName });
		const form = h(
			'form',
			{ class: 'lobby', 'aria-labelledby': 'lobby-title' },
			h('h1', { id: 'lobby-title' }, media ? 'Join a call' : 'Watch a call'),
			...(media ? [h('div', { class: 'preview' }, preview), mediaError, retry] : []),
			h('label', { for: 'room-input' }, 'Room'),
			roomInput,
			h('label', { for: 'name-input' }, 'Your name'),
			nameInput,
			...(media ? [h('label', { for: 'camera-select' }, 'Camera'), cameraSelect, h('label', { for: 'mic-select' }, 'Microphone'), micSelect] : []),
			h('button', { type: 'submit', class: 'primary' }, 'Join'),
		);
		root.replaceChildren(form);
		let stream: MediaStream | undefined;

		const fillDevices = async () => {
			const devices = await navigator.mediaDevices.enumerateDevices();
			for (const [select, kind] of [[cameraSelect, 'videoinput'], [micSelect, 'audioinput']] as const) {
				const current = stream?.getTracks().find((t) => t.kind === (kind === 'videoinput' ? 'video' : 'audio'))?.getSettings().deviceId;
				select.replaceChildren(
					...devices
						.filter((d) => d.kind === kind)
						.map((d, i) => h('option', { value: d.deviceId, selected: d.deviceId === current }, d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`)),
				);
			}
		};
		const open = async () => {
			for (const track of stream?.getTracks() ?? []) track.stop();
			const result = await openMedia(cameraSelect.value || undefined, micSelect.value || undefined);
			stream = result.stream;
			preview.srcObject = stream ?? null;
			mediaError.hidden = !result.error;
			mediaError.textContent = result.error ?? '';
			retry.hidden = !result.error;
			await fillDevices().catch(() => undefined);
		};
		cameraSelect.addEventListener('change', () => void open());
		micSelect.addEventListener('change', () => void open());
		retry.addEventListener('click', () => void open());
		form.addEventListener('submit', (event) => {
			event.preventDefault();
			resolve({ roomId: roomInput.value.trim(), displayName: nameInput.value.trim(), stream });
		});
		if (media) void open();
		(initial.roomId ? nameInput : roomInput).focus();
	});
}

import { h } from './dom.js';

/**
 * The in-call device settings: a button that opens a small panel with the
 * camera and microphone pickers. A pick calls `onSwitch`, which switches
 * the device on every media path; the pickers then show what is sent.
 */
export class DeviceMenu {
	/** The button and its panel, for the controls bar. */
	readonly element: HTMLElement;
	readonly #button: HTMLButtonElement;
	readonly #panel: HTMLElement;
	readonly #camera: HTMLSelectElement;
	readonly #mic: HTMLSelectElement;
	readonly #current: () => MediaStream | undefined;
	/** Whether a screen is shared (or its share starts or stops): the camera list is disabled, as the call refuses a camera switch then. */
	#sharing = false;

	constructor(current: () => MediaStream | undefined, onSwitch: (kind: 'audio' | 'video', deviceId: string) => Promise<void>) {
		this.#current = current;
		this.#camera = h('select', { id: 'call-camera-select', 'data-testid': 'camera-select' });
		this.#mic = h('select', { id: 'call-mic-select', 'data-testid': 'mic-select' });
		this.#panel = h(
			'div',
			{ class: 'device-panel', id: 'device-panel', role: 'group', 'aria-label': 'Camera and microphone', hidden: true },
			h('label', { for: 'call-camera-select' }, 'Camera'),
			this.#camera,
			h('label', { for: 'call-mic-select' }, 'Microphone'),
			this.#mic,
		);
		this.#button = h('button', { type: 'button', 'data-testid': 'devices', 'aria-expanded': 'false', 'aria-controls': 'device-panel', disabled: true, title: 'Switch camera or microphone' }, 'Devices');
		this.#button.addEventListener('click', () => void this.#toggle(this.#panel.hidden));
		this.#panel.addEventListener('keydown', (event) => {
			if (event.key !== 'Escape') return;
			void this.#toggle(false);
			this.#button.focus();
		});
		for (const [select, kind] of [[this.#camera, 'video'], [this.#mic, 'audio']] as const) {
			select.addEventListener('change', () => {
				select.disabled = true;
				void onSwitch(kind, select.value).finally(() => {
					select.disabled = kind === 'video' && this.#sharing;
					void this.refresh();
				});
			});
		}
		this.element = h('span', { class: 'devices' }, this.#button, this.#panel);
	}

	/** Enabled while something is sent (a viewer, or a page without camera, has nothing to switch). */
	set enabled(enabled: boolean) {
		this.#button.disabled = !enabled;
		if (!enabled) void this.#toggle(false);
	}

	/** While a screen is sent in place of the camera, the camera list is disabled (the track sent is the screen's, not a camera). */
	set sharing(sharing: boolean) {
		this.#sharing = sharing;
		this.#camera.disabled = sharing;
		this.#camera.title = sharing ? 'Stop sharing your screen to switch the camera' : '';
		if (!this.#panel.hidden) void this.refresh();
	}

	/** Lists the devices, the ones sent now selected. */
	async refresh(): Promise<void> {
		const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
		const tracks = this.#current()?.getTracks() ?? [];
		for (const [select, kind] of [[this.#camera, 'videoinput'], [this.#mic, 'audioinput']] as const) {
			const sent = tracks.find((t) => t.kind === (kind === 'videoinput' ? 'video' : 'audio'))?.getSettings().deviceId;
			select.replaceChildren(
				...devices
					.filter((d) => d.kind === kind && d.deviceId)
					.map((d, i) => h('option', { value: d.deviceId, selected: d.deviceId === sent }, d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`)),
			);
		}
		// The track sent is the screen's: no camera is the current one.
		if (this.#sharing) this.#camera.selectedIndex = -1;
	}

	async #toggle(open: boolean): Promise<void> {
		this.#panel.hidden = !open;
		this.#button.setAttribute('aria-expanded', String(open));
		if (open) await this.refresh();
	}
}

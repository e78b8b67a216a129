import { CAMERA_CONSTRAINTS } from '../media/openMedia.js';
import type { LocalMedia } from './callTypes.js';

export type DeviceSwitchErrorCode = 'NOT_SENDING' | 'CLOSED' | 'SUPERSEDED' | 'NO_TRACK' | 'SHARING';

/** Why a camera or microphone switch did not happen (a getUserMedia refusal comes through as its DOMException). */
export class DeviceSwitchError extends Error {
	readonly code: DeviceSwitchErrorCode;

	constructor(code: DeviceSwitchErrorCode, message: string) {
		super(message);
		this.name = 'DeviceSwitchError';
		this.code = code;
	}
}

/**
 * The camera and microphone a call sends: opened through the page's
 * `open()` only for a role that sends, owned (and stopped) here, with their
 * mute state. `onChange` hears every open (the stream, or why not) and
 * every release (both undefined).
 */
export class LocalTracks {
	readonly #open: () => Promise<LocalMedia>;
	readonly #onChange: (stream: MediaStream | undefined, error: string | undefined) => void;
	#stream: MediaStream | undefined;
	#error: string | undefined;
	audioMuted = false;
	videoMuted = false;

	constructor(open: () => Promise<LocalMedia>, onChange: (stream: MediaStream | undefined, error: string | undefined) => void) {
		this.#open = open;
		this.#onChange = onChange;
	}

	get stream(): MediaStream | undefined {
		return this.#stream;
	}

	get error(): string | undefined {
		return this.#error;
	}

	/** Asks the page for camera and microphone; what comes back after `gone()` is stopped at once. */
	async open(gone: () => boolean): Promise<void> {
		const { stream, error } = await this.#open().catch((e: unknown): LocalMedia => ({ error: (e as Error)?.message || String(e) }));
		if (gone()) {
			for (const track of stream?.getTracks() ?? []) track.stop();
			return;
		}
		this.#stream = stream;
		this.#error = stream ? undefined : (error ?? 'not available');
		this.audioMuted = this.videoMuted = false;
		this.#onChange(stream, this.#error);
	}

	/**
	 * Opens one device on its own (a switch mid-call): the camera with the
	 * call's small constraints. The new track carries the mute state of the
	 * one it replaces. The caller puts it in the stream (every path's
	 * replaceTrack) and stops the old one.
	 */
	async openDevice(kind: 'audio' | 'video', deviceId: string): Promise<MediaStreamTrack> {
		const stream = await navigator.mediaDevices.getUserMedia(
			kind === 'video' ? { video: { ...CAMERA_CONSTRAINTS, deviceId: { exact: deviceId } } } : { audio: { deviceId: { exact: deviceId } } },
		);
		const [track] = stream.getTracks();
		if (!track) throw new DeviceSwitchError('NO_TRACK', `the ${kind} device gave no track`);
		track.enabled = !(kind === 'audio' ? this.audioMuted : this.videoMuted);
		return track;
	}

	/** Camera and microphone off for good (a role that no longer sends, or the call ended). */
	stop(): void {
		const stream = this.#stream;
		this.#stream = undefined;
		this.#error = undefined;
		this.audioMuted = this.videoMuted = false;
		for (const track of stream?.getTracks() ?? []) track.stop();
		if (stream) this.#onChange(undefined, undefined);
	}
}

import { chromium, type Browser } from 'playwright-core';
import { writeFakeCameraClip } from './y4m.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface LaunchBrowserOptions {
	/** Another executable to start instead of CHROMIUM_PATH (e.g. a wrapper that starts it in a network namespace). */
	executablePath?: string;
	/** Flags added after the usual ones. */
	extraArgs?: readonly string[];
	/**
	 * Feed the fake camera the small clip (default true). Chromium then offers
	 * that one camera only; without it, `--use-fake-device-for-media-stream=device-count=N`
	 * gives N fake cameras (a test that switches cameras needs two).
	 */
	fakeCameraClip?: boolean;
}

/** Headless Debian Chromium with a fake camera (a small Y4M clip) and microphone. */
export async function launchBrowser(options: LaunchBrowserOptions = {}): Promise<Browser> {
	return chromium.launch({
		executablePath: options.executablePath ?? CHROMIUM_PATH,
		headless: true,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--use-fake-device-for-media-stream',
			'--use-fake-ui-for-media-stream',
			...(options.fakeCameraClip === false ? [] : [`--use-file-for-fake-video-capture=${writeFakeCameraClip()}`]),
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--no-first-run',
			// Background tabs must keep decoding: every page is "hidden" but one.
			'--disable-background-timer-throttling',
			'--disable-renderer-backgrounding',
			'--disable-backgrounding-occluded-windows',
			...(options.extraArgs ?? []),
		],
	});
}

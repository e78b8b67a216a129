import type { LocalMedia } from '../call/callTypes.js';

/*
 * Camera and microphone, small on purpose: loaded with the page's first
 * script (web/src/boot.ts opens them while the app's code loads).
 */

/** The camera the call sends: small (320x180 at 15 fps); a device switch mid-call asks for the same. */
export const CAMERA_CONSTRAINTS = { width: { ideal: 320 }, height: { ideal: 180 }, frameRate: { ideal: 15 } };

/** Opens camera and microphone (optionally specific devices); undefined plus the reason when refused. */
export async function openMedia(cameraId?: string, micId?: string): Promise<LocalMedia> {
	try {
		const stream = await navigator.mediaDevices.getUserMedia({
			audio: micId ? { deviceId: { exact: micId } } : true,
			video: cameraId ? { ...CAMERA_CONSTRAINTS, deviceId: { exact: cameraId } } : CAMERA_CONSTRAINTS,
		});
		return { stream };
	} catch (error) {
		const name = (error as DOMException).name;
		return {
			error:
				name === 'NotAllowedError'
					? 'Camera and microphone are blocked. Allow them in the browser, then retry, or join without them.'
					: `Camera or microphone unavailable (${(error as Error).message}). Retry, or join without them.`,
		};
	}
}

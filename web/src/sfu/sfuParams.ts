import { Device, type types } from 'mediasoup-client';
import { Method } from '../../../core/protocol/index.js';
import type { SignalingSession } from '../signaling/SignalingSession.js';

/**
 * The encodings to send a camera of this width with: three VP8 simulcast
 * layers (quarter, half, full) from 960 px up, two (half, full) from 480 px,
 * one below. Chromium enables only as many layers as the resolution allows
 * and keeps the lowest ones, so asking three of a 320 px camera would send
 * just the 80 px layer.
 */
export function videoEncodings(widthPx: number): RTCRtpEncodingParameters[] {
	if (widthPx >= 960) {
		return [
			{ rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
			{ rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
			{ rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
		];
	}
	if (widthPx >= 480) {
		return [
			{ rid: 'r0', scaleResolutionDownBy: 2, maxBitrate: 300_000 },
			{ rid: 'r1', scaleResolutionDownBy: 1, maxBitrate: 900_000 },
		];
	}
	return [{ maxBitrate: 600_000 }];
}

/**
 * A mediasoup-client Device loaded with the server's router capabilities
 * (the same for every router). Loading probes the browser's own
 * capabilities with a throwaway peer connection, a few hundred ms on a busy
 * machine: callers load it ahead of need.
 */
export async function loadDevice(signaling: SignalingSession): Promise<Device> {
	const { routerRtpCapabilities } = await signaling.request(Method.SfuGetRouterRtpCapabilities, {});
	const device = new Device();
	await device.load({ routerRtpCapabilities: routerRtpCapabilities as types.RtpCapabilities });
	return device;
}

/** The simulcast layer a tile this wide needs. */
export function spatialLayerForWidth(widthPx: number): number {
	if (widthPx < 240) return 0;
	if (widthPx < 480) return 1;
	return 2;
}

import type { Device, types } from 'mediasoup-client';
import { Method } from '../../../core/protocol/index.js';
import type { SignalingSession } from '../signaling/SignalingSession.js';

/**
 * One WebRTC transport to the SFU: made on the server (`made` hears its id
 * at once, so a failed session can give it back), then here, with its
 * `connect` (DTLS) and, for sending, `produce` events carried over signaling.
 */
export async function createTransport(
	signaling: SignalingSession,
	device: Device,
	direction: 'send' | 'recv',
	made: (transportId: string) => void,
): Promise<types.Transport> {
	const params = await signaling.request(Method.SfuCreateTransport, { direction });
	made(params.transportId);
	const options = {
		id: params.transportId,
		iceParameters: params.iceParameters as unknown as types.IceParameters,
		iceCandidates: params.iceCandidates as unknown as types.IceCandidate[],
		dtlsParameters: params.dtlsParameters as unknown as types.DtlsParameters,
	};
	const transport = direction === 'send' ? device.createSendTransport(options) : device.createRecvTransport(options);
	transport.on('connect', ({ dtlsParameters }, callback, errback) => {
		signaling
			.request(Method.SfuConnectTransport, {
				transportId: transport.id,
				dtlsParameters: dtlsParameters as unknown as { fingerprints: Array<Record<string, unknown>> },
			})
			.then(() => callback(), errback);
	});
	if (direction === 'send') {
		transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
			signaling
				.request(Method.SfuProduce, {
					transportId: transport.id,
					kind,
					rtpParameters: rtpParameters as unknown as { codecs: Array<Record<string, unknown>> },
					source: (appData as { source: 'camera' | 'microphone' }).source,
				})
				.then(({ producerId }) => callback({ id: producerId }), errback);
		});
	}
	return transport;
}

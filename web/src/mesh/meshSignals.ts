import type SimplePeer from 'simple-peer';
import type { MeshSignal } from '../../../core/protocol/index.js';

/** simple-peer's signal data <-> the protocol's MeshSignal. Returns null for shapes we do not relay. */
export function toMeshSignal(data: SimplePeer.SignalData): MeshSignal | null {
	switch (data.type) {
		case 'offer':
		case 'answer':
			return typeof data.sdp === 'string' ? { kind: 'description', description: { type: data.type, sdp: data.sdp } } : null;
		case 'candidate': {
			const c = data.candidate;
			return {
				kind: 'candidate',
				candidate: {
					candidate: c.candidate ?? '',
					sdpMid: c.sdpMid ?? null,
					sdpMLineIndex: c.sdpMLineIndex ?? null,
					...(c.usernameFragment !== undefined ? { usernameFragment: c.usernameFragment } : {}),
				},
			};
		}
		case 'renegotiate':
			return { kind: 'renegotiate' };
		case 'transceiverRequest': {
			const kind = data.transceiverRequest.kind;
			return kind === 'audio' || kind === 'video' ? { kind: 'transceiverRequest', mediaKind: kind } : null;
		}
		default:
			return null;
	}
}

export function fromMeshSignal(signal: MeshSignal): SimplePeer.SignalData {
	switch (signal.kind) {
		case 'description':
			return { type: signal.description.type, sdp: signal.description.sdp };
		case 'candidate':
			// simple-peer passes this straight to addIceCandidate(), which takes an init dictionary.
			return { type: 'candidate', candidate: signal.candidate as unknown as RTCIceCandidate };
		case 'renegotiate':
			return { type: 'renegotiate', renegotiate: true };
		case 'transceiverRequest':
			return { type: 'transceiverRequest', transceiverRequest: { kind: signal.mediaKind } };
	}
}

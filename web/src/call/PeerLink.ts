import type { MeshSignal } from '../../../core/protocol/index.js';

export type SendSignal = (signal: MeshSignal) => void;

/**
 * One RTCPeerConnection to one remote participant. The offerer is chosen by
 * the caller (the newcomer offers to everyone already there), so both ends
 * never offer at once. Candidates that arrive before the remote description
 * wait in a queue. Signaling steps run one at a time.
 */
export class PeerLink {
	readonly remotePeerId: string;
	readonly pc: RTCPeerConnection;
	readonly #send: SendSignal;
	readonly #pendingCandidates: RTCIceCandidateInit[] = [];
	#queue: Promise<void> = Promise.resolve();
	#closed = false;

	constructor(options: {
		remotePeerId: string;
		localStream: MediaStream | undefined;
		iceServers: RTCIceServer[];
		send: SendSignal;
		onTrack: (stream: MediaStream) => void;
	}) {
		this.remotePeerId = options.remotePeerId;
		this.#send = options.send;
		this.pc = new RTCPeerConnection({ iceServers: options.iceServers });
		for (const track of options.localStream?.getTracks() ?? []) {
			this.pc.addTrack(track, options.localStream as MediaStream);
		}
		this.pc.addEventListener('icecandidate', (event) => {
			if (!event.candidate) return;
			const init = event.candidate.toJSON();
			this.#send({ kind: 'candidate', candidate: { ...init, candidate: init.candidate ?? '' } });
		});
		this.pc.addEventListener('track', (event) => {
			const stream = event.streams[0] ?? new MediaStream([event.track]);
			options.onTrack(stream);
		});
	}

	/** Creates and sends the offer (offerer side only). */
	start(): Promise<void> {
		return this.#enqueue(async () => {
			const offer = await this.pc.createOffer();
			await this.pc.setLocalDescription(offer);
			this.#send({ kind: 'description', description: { type: 'offer', sdp: offer.sdp ?? '' } });
		});
	}

	handleSignal(signal: MeshSignal): Promise<void> {
		return this.#enqueue(async () => {
			if (signal.kind === 'candidate') {
				if (this.pc.remoteDescription) {
					await this.pc.addIceCandidate(signal.candidate);
				} else {
					this.#pendingCandidates.push(signal.candidate);
				}
				return;
			}
			await this.pc.setRemoteDescription(signal.description);
			for (const candidate of this.#pendingCandidates.splice(0)) {
				await this.pc.addIceCandidate(candidate);
			}
			if (signal.description.type === 'offer') {
				const answer = await this.pc.createAnswer();
				await this.pc.setLocalDescription(answer);
				this.#send({ kind: 'description', description: { type: 'answer', sdp: answer.sdp ?? '' } });
			}
		});
	}

	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.pc.close();
	}

	#enqueue(step: () => Promise<void>): Promise<void> {
		const run = this.#queue.then(() => (this.#closed ? undefined : step()));
		// Keep the queue alive after a failed step; the caller still sees the error.
		this.#queue = run.catch(() => undefined);
		return run;
	}
}

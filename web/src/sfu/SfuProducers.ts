import type { types } from 'mediasoup-client';
import { Method } from '../../../core/protocol/index.js';
import type { SignalingSession } from '../signaling/SignalingSession.js';
import { videoEncodings } from './sfuParams.js';

type Kind = 'audio' | 'video';

/**
 * What one SFU session sends: a producer per local track (video as up to
 * three simulcast layers, by camera size), paused and resumed on the server
 * too when the track is muted, and swapped in place on a camera switch.
 */
export class SfuProducers {
	readonly #signaling: SignalingSession;
	readonly #producers = new Map<Kind, types.Producer>();
	/** The track a replaceTrack() asked for, per kind: a producer still being made when it came takes it once made. */
	readonly #latest = new Map<Kind, MediaStreamTrack>();

	constructor(signaling: SignalingSession) {
		this.#signaling = signaling;
	}

	has(kind: Kind): boolean {
		return this.#producers.has(kind);
	}

	/** Produces `track` on `send`; dropped at once if the session is `gone()` by the time it exists. */
	async produce(send: types.Transport, track: MediaStreamTrack, gone: () => boolean): Promise<void> {
		const kind = track.kind as Kind;
		const producer = await send.produce({
			track,
			// The track may be shared (the mesh uses it too): closing the producer must not stop it.
			stopTracks: false,
			...(kind === 'video' ? { encodings: videoEncodings(track.getSettings().width ?? 640), codecOptions: { videoGoogleStartBitrate: 1000 } } : {}),
			appData: { source: kind === 'video' ? 'camera' : 'microphone' },
		});
		if (gone() || send.closed) {
			producer.close();
			return;
		}
		if (!track.enabled) {
			producer.pause();
			await this.#signaling.request(Method.SfuPauseProducer, { producerId: producer.id });
		}
		this.#producers.set(kind, producer);
		const latest = this.#latest.get(kind);
		if (latest && latest !== track && latest.readyState === 'live') await producer.replaceTrack({ track: latest });
	}

	/** Mute: pauses the producer here and on the server, so no RTP for it reaches anyone. */
	async setEnabled(kind: Kind, enabled: boolean): Promise<void> {
		const producer = this.#producers.get(kind);
		if (!producer) return;
		if (enabled) {
			producer.resume();
			await this.#signaling.request(Method.SfuResumeProducer, { producerId: producer.id });
		} else {
			producer.pause();
			await this.#signaling.request(Method.SfuPauseProducer, { producerId: producer.id });
		}
	}

	async replaceTrack(newTrack: MediaStreamTrack): Promise<void> {
		this.#latest.set(newTrack.kind as Kind, newTrack);
		await this.#producers.get(newTrack.kind as Kind)?.replaceTrack({ track: newTrack });
	}

	closeAll(): void {
		for (const producer of this.#producers.values()) producer.close();
		this.#producers.clear();
		this.#latest.clear();
	}
}

import type { Device } from 'mediasoup-client';
import type { RepairRecord } from '../participant/RemoteParticipant.js';
import type { RepairPolicy } from '../participant/repair.js';
import { loadDevice } from '../sfu/sfuParams.js';
import { SfuSession } from '../sfu/SfuSession.js';
import type { SignalingSession } from '../signaling/SignalingSession.js';

export interface SfuPathOptions {
	signaling: SignalingSession;
	/** What this client sends, and whether its role sends at all, when the session is built. */
	localStream: () => MediaStream | undefined;
	publish: () => boolean;
	repairPolicy: () => RepairPolicy;
	preferredWidth?: (peerId: string) => number | undefined;
	onStream: (peerId: string, stream: MediaStream) => void;
	onPeerClosed: (peerId: string) => void;
	onActiveSpeaker: (peerId: string | null) => void;
	onRepair: (record: RepairRecord) => void;
	/** The session closed: every remote stream it delivered is gone. */
	onClosed: () => void;
	/** A build for `epoch` failed (attempt 1, 2, …): retry it, or stop (the caller reports it). */
	onBuildFailed: (epoch: number, error: unknown, attempt: number) => 'retry' | 'stop';
}

/**
 * The call's path through the SFU, as a whole: the SfuSession while there
 * is one, built on demand (with retries the caller decides on), and the
 * mediasoup-client Device, loaded ahead of need so a migration does not wait
 * for it (every router has the same capabilities: one Device per call).
 */
export class SfuPath {
	readonly #options: SfuPathOptions;
	#session: SfuSession | undefined;
	#device: Promise<Device> | undefined;
	#preloadTimer: ReturnType<typeof setTimeout> | undefined;
	#disposed = false;
	#handlerName: string | undefined;
	/** Counts close()s: a retry scheduled before one is not for the path after it. */
	#closes = 0;

	constructor(options: SfuPathOptions) {
		this.#options = options;
	}

	get session(): SfuSession | undefined {
		return this.#session;
	}

	/** Which mediasoup-client handler this browser got (e.g. `Chrome111`, `Firefox120`), once the Device loaded. */
	get handlerName(): string | undefined {
		return this.#handlerName;
	}

	/** Loads the Device after `delayMs` (the call settles first); a failure is retried at the next build. */
	preloadDevice(delayMs: number): void {
		clearTimeout(this.#preloadTimer);
		this.#preloadTimer = setTimeout(() => void this.#device$().catch(() => undefined), delayMs);
	}

	/** Builds the session; a failed build is closed (and forgotten) before the error goes on, so a later one starts afresh. */
	async open(): Promise<void> {
		if (this.#session || this.#disposed) return;
		const o = this.#options;
		const session = new SfuSession({
			signaling: o.signaling,
			localStream: o.localStream(),
			publish: o.publish(),
			device: () => this.#device$(),
			repairPolicy: o.repairPolicy,
			...(o.preferredWidth ? { preferredWidth: o.preferredWidth } : {}),
		});
		session.on('remotestream', o.onStream);
		session.on('remoteclosed', o.onPeerClosed);
		session.on('activespeaker', o.onActiveSpeaker);
		session.on('repair', o.onRepair);
		this.#session = session;
		try {
			await session.start();
		} catch (error) {
			if (this.#session === session) this.#drop();
			throw error;
		}
	}

	/** Builds the session for migration (or settled room) `epoch`, retrying while `onBuildFailed` says so; `onBuilt` once it is up. */
	ensure(epoch: number, onBuilt: () => void, attempt = 1): void {
		const closes = this.#closes;
		this.open().then(onBuilt, (error: unknown) => {
			console.warn(`SFU path failed (attempt ${attempt})`, error);
			if (this.#disposed || closes !== this.#closes || this.#options.onBuildFailed(epoch, error, attempt) !== 'retry') return;
			setTimeout(() => {
				// The room left the SFU meanwhile (the path was closed): no retry.
				if (!this.#disposed && closes === this.#closes) this.ensure(epoch, onBuilt, attempt + 1);
			}, 1000 * attempt);
		});
	}

	/** The room left the SFU: the session closes, and a build retry pending is off. */
	close(): void {
		this.#closes++;
		this.#drop();
	}

	#drop(): void {
		const session = this.#session;
		this.#session = undefined;
		session?.close();
		this.#options.onClosed();
	}

	/** Closes here and asks the server to close this session's transports (a new set follows on the same socket). */
	async release(): Promise<void> {
		const session = this.#session;
		this.#session = undefined;
		await session?.closeAndRelease();
	}

	/** For good: no session, no preload, no retries. Idempotent. */
	dispose(): void {
		this.#disposed = true;
		clearTimeout(this.#preloadTimer);
		const session = this.#session;
		this.#session = undefined;
		session?.close();
	}

	#device$(): Promise<Device> {
		const device =
			this.#device ??
			loadDevice(this.#options.signaling).then(
				(loaded) => {
					this.#handlerName = loaded.handlerName;
					return loaded;
				},
				(error: unknown) => {
					this.#device = undefined;
					throw error;
				},
			);
		this.#device = device;
		return device;
	}
}

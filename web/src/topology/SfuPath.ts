import type { Device } from 'mediasoup-client';
import type { RepairRecord } from '../participant/RemoteParticipant.js';
import type { RepairPolicy } from '../participant/repair.js';
import type * as SfuCode from '../sfu/sfuCode.js';
import type { SfuSession } from '../sfu/SfuSession.js';
import type { SignalingSession } from '../signaling/SignalingSession.js';

let sfuCode: Promise<typeof SfuCode> | undefined;

/**
 * Fetches the SFU's code (its own chunk), once per page; a failed fetch is
 * tried again at the next call. Called early where the SFU will be needed
 * soon (a join into a room on the SFU), so the fetch overlaps other work.
 */
export function loadSfuCode(): Promise<typeof SfuCode> {
	sfuCode ??= import('../sfu/sfuCode.js').catch((error: unknown) => {
		sfuCode = undefined;
		throw error;
	});
	return sfuCode;
}

/** Each call's Device, by its signaling session: every router has the same capabilities, so one per call. */
const devices = new WeakMap<SignalingSession, Promise<Device>>();

/**
 * The call's mediasoup-client Device, loaded with the server's router
 * capabilities (with the SFU's code), once; a failed load is tried again at
 * the next call. A join into a room on the SFU starts it while the camera
 * opens; loading probes the browser with a throwaway peer connection.
 */
export function loadSfuDevice(signaling: SignalingSession): Promise<Device> {
	let device = devices.get(signaling);
	if (!device) {
		const loading = loadSfuCode().then(({ loadDevice }) => loadDevice(signaling));
		loading.catch(() => {
			if (devices.get(signaling) === loading) devices.delete(signaling);
		});
		devices.set(signaling, loading);
		device = loading;
	}
	return device;
}

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
		const closes = this.#closes;
		const { SfuSession } = await loadSfuCode();
		if (this.#session || this.#disposed) return;
		if (closes !== this.#closes) throw new Error('the SFU path was closed while its code loaded');
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
		return loadSfuDevice(this.#options.signaling).then((device) => {
			this.#handlerName = device.handlerName;
			return device;
		});
	}
}

import type { types } from 'mediasoup-client';
import { Method } from '../../../core/protocol/index.js';
import { watchLiveness } from '../media/liveness.js';
import type { RepairRecord } from '../participant/RemoteParticipant.js';
import { Repairer, type RepairEffect, type RepairPolicy } from '../participant/repair.js';
import type { SignalingSession } from '../signaling/SignalingSession.js';
import { markJoin } from '../util/joinTimeline.js';
import { statsOf } from '../media/statsOf.js';

export interface SfuRepairOptions {
	signaling: SignalingSession;
	policy: () => RepairPolicy;
	/** The session's transports now. */
	transports: () => types.Transport[];
	/** Runs an ICE restart in the session's queue (one operation at a time). */
	enqueue: (operation: () => Promise<void>) => Promise<void>;
	/** Makes both transports again. */
	rebuild: () => Promise<void>;
	onRecord: (record: RepairRecord) => void;
}

/**
 * The repair of one SFU session's transports, seen as one path: down if
 * any transport is, up once every one is. The first attempt restarts ICE
 * on the transports that are down (`sfu.restartIce`: new credentials from
 * the server); each later one rebuilds both transports.
 */
export class SfuRepair {
	readonly #options: SfuRepairOptions;
	readonly #repairer: Repairer;
	/** Each transport's connection state, as mediasoup-client reports it (`disconnected` too while it receives nothing). */
	readonly #states = new Map<string, types.ConnectionState>();
	/** Transports that received nothing for a while, though ICE still says connected. */
	readonly #stalled = new Set<string>();
	#generation = 0;
	#closed = false;

	constructor(options: SfuRepairOptions) {
		this.#options = options;
		this.#repairer = new Repairer({ policy: options.policy, onEffect: (effect) => this.#onEffect(effect) });
	}

	/** ICE restarts and rebuilds so far. */
	get generation(): number {
		return this.#generation;
	}

	watch(transport: types.Transport): void {
		let stopLiveness: (() => void) | undefined;
		transport.observer.on('close', () => stopLiveness?.());
		transport.on('connectionstatechange', (state) => {
			if (transport.closed || this.#closed) return;
			this.#states.set(transport.id, state);
			if (state === 'connected') {
				markJoin('connected');
				// A cut shows here seconds before ICE says so.
				stopLiveness ??= watchLiveness(
					() => statsOf(transport),
					(alive) => {
						if (alive) this.#stalled.delete(transport.id);
						else this.#stalled.add(transport.id);
						this.#update();
					},
				);
			}
			this.#update();
		});
	}

	#update(): void {
		if (this.#closed) return;
		const states = this.#options
			.transports()
			.map((t) => (this.#stalled.has(t.id) && this.#states.get(t.id) === 'connected' ? 'disconnected' : this.#states.get(t.id)))
			// A transport ICE never started on (a send transport with nothing produced, a recv one with nothing consumed) neither holds the path up nor down.
			.filter((s) => s !== undefined && s !== 'new');
		if (states.includes('failed')) this.#repairer.connection('failed');
		else if (states.includes('disconnected')) this.#repairer.connection('disconnected');
		else if (states.length > 0 && states.every((s) => s === 'connected')) this.#repairer.connection('connected');
	}

	/** The transports were closed on purpose (a rebuild, a restart): their states are forgotten, the outage goes on. */
	forgetTransports(): void {
		this.#states.clear();
		this.#stalled.clear();
	}

	close(): void {
		this.#closed = true;
		this.#repairer.close();
	}

	#onEffect(effect: RepairEffect): void {
		if (this.#closed) return;
		const record = (action: RepairRecord['action']) => this.#options.onRecord({ path: 'sfu', action, at: Date.now() });
		if (effect.type === 'recovered') {
			record('recovered');
		} else if (effect.type === 'gaveUp') {
			record('gave-up');
		} else if (effect.attempt === 1) {
			this.#generation++;
			record('ice-restart');
			this.#options.enqueue(() => this.#restartIce()).catch((error: unknown) => console.warn('ICE restart failed', error));
		} else {
			this.#generation++;
			record('rebuild');
			this.#options.rebuild().catch((error: unknown) => console.warn('SFU rebuild failed', error));
		}
	}

	/** New ICE credentials from the server for every transport that is not connected, and a restart with them. */
	async #restartIce(): Promise<void> {
		const down = this.#options.transports().filter((t) => this.#states.get(t.id) !== 'connected' || this.#stalled.has(t.id));
		await Promise.all(
			down.map(async (transport) => {
				const { iceParameters } = await this.#options.signaling.request(Method.SfuRestartIce, { transportId: transport.id });
				if (!transport.closed) await transport.restartIce({ iceParameters: iceParameters as unknown as types.IceParameters });
			}),
		);
	}
}

import { cpus } from 'node:os';
import { EventEmitter } from 'node:events';
import mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { MediasoupConfig } from '../../core/config/index.js';
import type { Logger } from '../logger.js';
import { mediaCodecs } from './mediaCodecs.js';

type WorkerPoolEvents = {
	/** A worker process is up (at start, or replacing a dead one). */
	workerstarted: [worker: types.Worker];
	/** A worker process died; its routers are gone. A replacement was started. */
	workerdied: [worker: types.Worker, error: Error];
};

/**
 * The mediasoup worker processes: one per core by default. Routers go to the
 * least-loaded worker (fewest routers), unless the caller names one. The pool
 * also counts the peers placed on each worker's routers (rooms report
 * them), so a broadcast can put each viewer on the worker that carries the
 * fewest. A worker that dies is replaced, and `workerdied` lets room owners
 * re-create what it held.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
	readonly #config: MediasoupConfig;
	readonly #logger: Logger;
	readonly #workers: types.Worker[] = [];
	readonly #routerCount = new Map<types.Worker, number>();
	/** Peers placed on each worker's routers, all rooms together. */
	readonly #peerCount = new Map<types.Worker, number>();
	readonly #routerWorker = new WeakMap<types.Router, types.Worker>();
	readonly #closedPids: number[] = [];
	#rtpCapabilities: types.RtpCapabilities | undefined;
	#closed = false;

	private constructor(config: MediasoupConfig, logger: Logger) {
		super();
		this.#config = config;
		this.#logger = logger;
	}

	/** Starts the configured number of workers (0 = one per CPU core). */
	static async create(config: MediasoupConfig, logger: Logger): Promise<WorkerPool> {
		const pool = new WorkerPool(config, logger.child({ module: 'WorkerPool' }));
		const count = config.numWorkers > 0 ? config.numWorkers : Math.max(1, cpus().length);
		try {
			for (let i = 0; i < count; i++) {
				await pool.#startWorker();
			}
			// Every router has the same codecs, so the same capabilities: read them once
			// from a router closed at once, and hand them out without holding one per room.
			const probe = await pool.createRouter({ probe: true });
			pool.#rtpCapabilities = probe.rtpCapabilities;
			probe.close();
		} catch (error) {
			pool.close();
			throw error;
		}
		return pool;
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** The RTP capabilities every router of this pool has (clients load their Device with them ahead of need). */
	get routerRtpCapabilities(): types.RtpCapabilities {
		if (!this.#rtpCapabilities) throw new Error('WorkerPool not started');
		return this.#rtpCapabilities;
	}

	get workers(): readonly types.Worker[] {
		return this.#workers;
	}

	/** Creates a router with the product's codecs on `worker`, or on the one with the fewest routers. */
	async createRouter(appData: Record<string, unknown> = {}, on?: types.Worker): Promise<types.Router> {
		if (this.#closed) throw new Error('WorkerPool closed');
		const worker = on ?? this.#leastLoaded();
		const router = await worker.createRouter({ mediaCodecs, appData: { ...appData, workerPid: worker.pid } });
		this.#routerWorker.set(router, worker);
		this.#routerCount.set(worker, (this.#routerCount.get(worker) ?? 0) + 1);
		router.observer.once('close', () => {
			this.#routerCount.set(worker, Math.max(0, (this.#routerCount.get(worker) ?? 1) - 1));
		});
		return router;
	}

	/** The worker a router of this pool lives on. */
	workerOf(router: types.Router): types.Worker | undefined {
		return this.#routerWorker.get(router);
	}

	/** The live worker carrying the fewest placed peers (then the fewest routers). */
	leastBusyWorker(): types.Worker {
		let best: types.Worker | undefined;
		const key = (w: types.Worker) => [this.#peerCount.get(w) ?? 0, this.#routerCount.get(w) ?? 0] as const;
		for (const worker of this.#workers) {
			if (!best) {
				best = worker;
				continue;
			}
			const [peers, routers] = key(worker);
			const [bestPeers, bestRouters] = key(best);
			if (peers < bestPeers || (peers === bestPeers && routers < bestRouters)) best = worker;
		}
		if (!best) throw new Error('WorkerPool has no worker');
		return best;
	}

	/** A room placed a peer on `router` (+1) or let it go (-1). */
	notePlaced(router: types.Router, delta: 1 | -1): void {
		const worker = this.#routerWorker.get(router);
		if (!worker || !this.#peerCount.has(worker)) return;
		this.#peerCount.set(worker, Math.max(0, (this.#peerCount.get(worker) ?? 0) + delta));
	}

	/** Peers placed per worker pid (for stats and tests). */
	get placedPeers(): Record<number, number> {
		return Object.fromEntries(this.#workers.map((w) => [w.pid, this.#peerCount.get(w) ?? 0]));
	}

	/** Ends every worker process. Idempotent. */
	close(): void {
		if (this.#closed) return;
		this.#closed = true;
		for (const worker of this.#workers) {
			this.#closedPids.push(worker.pid);
			worker.close();
		}
		this.#workers.length = 0;
		this.#routerCount.clear();
		this.#peerCount.clear();
		this.removeAllListeners();
	}

	/**
	 * close(), then waits until every worker process has exited, so a
	 * shutting-down server leaves no orphan. Kills stragglers after `timeoutMs`.
	 */
	async closeAndWait(timeoutMs = 5_000): Promise<void> {
		this.close();
		const deadline = Date.now() + timeoutMs;
		let alive = this.#closedPids.filter(isAlive);
		while (alive.length > 0 && Date.now() < deadline) {
			await new Promise((resolve) => setTimeout(resolve, 20));
			alive = alive.filter(isAlive);
		}
		for (const pid of alive) {
			this.#logger.warn({ pid }, 'worker did not exit; killing it');
			process.kill(pid, 'SIGKILL');
		}
	}

	#leastLoaded(): types.Worker {
		let best: types.Worker | undefined;
		for (const worker of this.#workers) {
			if (!best || (this.#routerCount.get(worker) ?? 0) < (this.#routerCount.get(best) ?? 0)) {
				best = worker;
			}
		}
		if (!best) throw new Error('WorkerPool has no worker');
		return best;
	}

	async #startWorker(): Promise<types.Worker> {
		const worker = await mediasoup.createWorker({
			logLevel: this.#config.logLevel,
			rtcMinPort: this.#config.rtcMinPort,
			rtcMaxPort: this.#config.rtcMaxPort,
		});
		this.#workers.push(worker);
		this.#routerCount.set(worker, 0);
		this.#peerCount.set(worker, 0);
		this.#logger.info({ pid: worker.pid }, 'worker started');
		this.emit('workerstarted', worker);
		worker.on('died', (error: Error) => {
			this.#logger.error({ pid: worker.pid, err: error }, 'worker died');
			const index = this.#workers.indexOf(worker);
			if (index !== -1) this.#workers.splice(index, 1);
			this.#routerCount.delete(worker);
			this.#peerCount.delete(worker);
			if (this.#closed) return;
			this.emit('workerdied', worker, error);
			this.#startWorker().catch((err: unknown) => {
				this.#logger.error({ err }, 'could not replace dead worker');
			});
		});
		return worker;
	}
}

function isAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

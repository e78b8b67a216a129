import { Counter, Gauge, type Registry } from 'prom-client';
import type { types } from 'mediasoup';
import type { WorkerPool } from './WorkerPool.js';

interface Bytes {
	in: number;
	out: number;
}

/**
 * Counts what the SFU holds and carries, from mediasoup's observer events:
 * live routers, transports, producers and consumers, and the RTP bytes that
 * went through its transports (a mesh room must leave this at zero).
 * Transport byte counters are read with getStats() at scrape time; a closed
 * transport keeps contributing its last reading.
 */
export class SfuStats {
	readonly #routers = new Set<types.Router>();
	readonly #transports = new Map<types.Transport, Bytes>();
	readonly #producers = new Set<types.Producer>();
	readonly #consumers = new Set<types.Consumer>();
	readonly #closedBytes: Bytes = { in: 0, out: 0 };
	readonly #exposed: Bytes = { in: 0, out: 0 };

	constructor(pool: WorkerPool, registry: Registry) {
		for (const worker of pool.workers) this.#watchWorker(worker);
		pool.on('workerstarted', (worker) => this.#watchWorker(worker));
		const registers = [registry];
		const gauge = (name: string, help: string, read: () => number) =>
			new Gauge({
				name,
				help,
				registers,
				collect() {
					this.set(read());
				},
			});
		gauge('streaming_sfu_workers', 'Live mediasoup worker processes', () => pool.workers.length);
		gauge('streaming_sfu_routers', 'Live mediasoup routers', () => this.#routers.size);
		gauge('streaming_sfu_transports', 'Live mediasoup transports', () => this.#transports.size);
		gauge('streaming_sfu_producers', 'Live mediasoup producers', () => this.#producers.size);
		gauge('streaming_sfu_consumers', 'Live mediasoup consumers', () => this.#consumers.size);
		new Gauge({
			name: 'streaming_sfu_worker_cpu_seconds',
			help: 'CPU time (user + system) used by each mediasoup worker process since it started',
			labelNames: ['pid'],
			registers,
			async collect() {
				this.reset();
				await Promise.all(
					pool.workers.map(async (worker) => {
						const usage = await worker.getResourceUsage().catch(() => undefined);
						// ru_utime / ru_stime are in milliseconds.
						if (usage) this.set({ pid: String(worker.pid) }, (usage.ru_utime + usage.ru_stime) / 1000);
					}),
				);
			},
		});
		const collectRtpBytes = async (counter: Counter<'direction'>): Promise<void> => {
			const total = await this.rtpBytes();
			counter.inc({ direction: 'in' }, total.in - this.#exposed.in);
			counter.inc({ direction: 'out' }, total.out - this.#exposed.out);
			this.#exposed.in = total.in;
			this.#exposed.out = total.out;
		};
		new Counter({
			name: 'streaming_sfu_rtp_bytes_total',
			help: 'RTP bytes through mediasoup transports, by direction (in: received from clients, out: sent to them)',
			labelNames: ['direction'],
			registers,
			async collect() {
				await collectRtpBytes(this);
			},
		});
	}

	get counts(): { routers: number; transports: number; producers: number; consumers: number } {
		return {
			routers: this.#routers.size,
			transports: this.#transports.size,
			producers: this.#producers.size,
			consumers: this.#consumers.size,
		};
	}

	/** RTP bytes so far, all transports, live and closed. */
	async rtpBytes(): Promise<Bytes> {
		await Promise.all(
			[...this.#transports.keys()].map(async (transport) => {
				try {
					const [stat] = (await transport.getStats()) as Array<{ rtpBytesReceived?: number; rtpBytesSent?: number }>;
					const last = this.#transports.get(transport);
					if (last && stat) {
						last.in = stat.rtpBytesReceived ?? last.in;
						last.out = stat.rtpBytesSent ?? last.out;
					}
				} catch {
					// Closed meanwhile: its last reading moved to the closed total.
				}
			}),
		);
		const total = { ...this.#closedBytes };
		for (const bytes of this.#transports.values()) {
			total.in += bytes.in;
			total.out += bytes.out;
		}
		return total;
	}

	#watchWorker(worker: types.Worker): void {
		worker.observer.on('newrouter', (router: types.Router) => {
			this.#routers.add(router);
			router.observer.once('close', () => this.#routers.delete(router));
			router.observer.on('newtransport', (transport: types.Transport) => this.#watchTransport(transport));
		});
	}

	#watchTransport(transport: types.Transport): void {
		this.#transports.set(transport, { in: 0, out: 0 });
		transport.observer.once('close', () => {
			const last = this.#transports.get(transport);
			if (last) {
				this.#closedBytes.in += last.in;
				this.#closedBytes.out += last.out;
			}
			this.#transports.delete(transport);
		});
		transport.observer.on('newproducer', (producer: types.Producer) => {
			this.#producers.add(producer);
			producer.observer.once('close', () => this.#producers.delete(producer));
		});
		transport.observer.on('newconsumer', (consumer: types.Consumer) => {
			this.#consumers.add(consumer);
			consumer.observer.once('close', () => this.#consumers.delete(consumer));
		});
	}
}

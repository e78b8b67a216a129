import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RepairActionSchema, TopologySchema } from '../../core/protocol/index.js';

/** Live counts read at scrape time. */
export interface MetricsSources {
	rooms: () => number;
	/** Live rooms per topology state (mesh, escalating, sfu, deescalating). */
	roomsByTopology: () => Record<string, number>;
	peers: () => number;
	connections: () => number;
}

/** A method's per-request metrics: a request came in; one was answered after `seconds`. */
export interface MethodMetrics {
	received(): void;
	answered(seconds: number): void;
}

/**
 * The server's Prometheus metrics, on a registry of its own (so several
 * servers in one test process never share counters). Served at /metrics.
 */
export class Metrics {
	readonly registry = new Registry();
	readonly messages: Counter<'method'>;
	readonly errors: Counter<'code'>;
	readonly requestDuration: Histogram<'method'>;
	readonly heartbeatDrops: Counter;
	readonly resumes: Counter<'result'>;
	readonly migrations: Counter<'direction' | 'result'>;
	readonly migrationDuration: Histogram<'direction'>;
	readonly migrationStragglers: Counter;
	readonly internalErrors: Counter<'where'>;
	readonly upgradesRefused: Counter<'code'>;
	readonly closes: Counter<'reason'>;
	readonly sfuTransportStates: Counter<'layer' | 'state'>;
	readonly mediaRepairs: Counter<'path' | 'action'>;
	readonly #byMethod = new Map<string, MethodMetrics>();

	constructor(sources: MetricsSources) {
		const registers = [this.registry];
		collectDefaultMetrics({ register: this.registry, prefix: 'streaming_' });
		new Gauge({
			name: 'streaming_signaling_connections',
			help: 'Open signaling WebSocket connections',
			registers,
			collect() {
				this.set(sources.connections());
			},
		});
		new Gauge({
			name: 'streaming_rooms',
			help: 'Live rooms',
			registers,
			collect() {
				this.set(sources.rooms());
			},
		});
		new Gauge({
			name: 'streaming_rooms_by_topology',
			help: 'Live rooms by topology state: mesh, escalating, sfu, deescalating',
			labelNames: ['topology'],
			registers,
			collect() {
				for (const [topology, count] of Object.entries(sources.roomsByTopology())) this.set({ topology }, count);
			},
		});
		new Gauge({
			name: 'streaming_peers',
			help: 'Peers in rooms, including those within their resume grace period',
			registers,
			collect() {
				this.set(sources.peers());
			},
		});
		this.messages = new Counter({
			name: 'streaming_signaling_messages_total',
			help: 'Signaling requests received, by method (unknown methods count as "unknown")',
			labelNames: ['method'],
			registers,
		});
		this.errors = new Counter({
			name: 'streaming_signaling_errors_total',
			help: 'Signaling error responses and refusals, by error code',
			labelNames: ['code'],
			registers,
		});
		this.requestDuration = new Histogram({
			name: 'streaming_signaling_request_duration_seconds',
			help: 'Time from a request frame arriving to its response being sent',
			labelNames: ['method'],
			buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
			registers,
		});
		this.heartbeatDrops = new Counter({
			name: 'streaming_signaling_heartbeat_drops_total',
			help: 'Sockets dropped for not answering a heartbeat ping',
			registers,
		});
		this.resumes = new Counter({
			name: 'streaming_signaling_resumes_total',
			help: 'Resume attempts, by result',
			labelNames: ['result'],
			registers,
		});
		this.migrations = new Counter({
			name: 'streaming_topology_migrations_total',
			help: 'Topology migrations by direction (escalate: mesh to SFU, deescalate: back) and result (committed, aborted)',
			labelNames: ['direction', 'result'],
			registers,
		});
		this.migrationDuration = new Histogram({
			name: 'streaming_topology_migration_duration_seconds',
			help: 'From the decision to migrate to the commit, by direction',
			labelNames: ['direction'],
			buckets: [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 13, 20],
			registers,
		});
		this.migrationStragglers = new Counter({
			name: 'streaming_topology_migration_stragglers_total',
			help: 'Peers told to continue on the new path without having confirmed it renders (migration timeout)',
			registers,
		});
		this.internalErrors = new Counter({
			name: 'streaming_internal_errors_total',
			help: 'Errors caught by a last-resort guard (http, upgrade, process): each one is a bug; malformed input never gets there',
			labelNames: ['where'],
			registers,
		});
		this.upgradesRefused = new Counter({
			name: 'streaming_signaling_upgrades_refused_total',
			help: 'WebSocket upgrades answered with an HTTP error, by code (BAD_REQUEST, NOT_FOUND, ORIGIN_NOT_ALLOWED, TOO_MANY_CONNECTIONS, ...)',
			labelNames: ['code'],
			registers,
		});
		this.closes = new Counter({
			name: 'streaming_signaling_limit_closes_total',
			help: 'Sockets the server closed for a limit: join_timeout (never joined), slow_reader (stopped reading)',
			labelNames: ['reason'],
			registers,
		});
		this.sfuTransportStates = new Counter({
			name: 'streaming_sfu_transport_state_changes_total',
			help: 'WebRTC transport ICE and DTLS state changes seen by the server, by layer (ice, dtls) and new state',
			labelNames: ['layer', 'state'],
			registers,
		});
		this.mediaRepairs = new Counter({
			name: 'streaming_media_repairs_total',
			help: 'Media path repairs browsers reported (media.repair), by path (mesh, sfu) and action (ice-restart, recreate, rebuild, recovered, gave-up)',
			labelNames: ['path', 'action'],
			registers,
		});
		// Every series exists from the start, so a dashboard reads 0 rather than nothing.
		for (const direction of ['escalate', 'deescalate']) {
			for (const result of ['committed', 'aborted']) this.migrations.inc({ direction, result }, 0);
		}
		for (const where of ['http', 'upgrade', 'process']) this.internalErrors.inc({ where }, 0);
		for (const reason of ['join_timeout', 'slow_reader']) this.closes.inc({ reason }, 0);
		for (const path of TopologySchema.options) {
			for (const action of RepairActionSchema.options) this.mediaRepairs.inc({ path, action }, 0);
		}
	}

	/**
	 * One method's request counter and duration histogram, labelled once and
	 * kept: the per-request path then builds no label object. Methods are the
	 * protocol's (and "unknown"), so this stays small.
	 */
	forMethod(method: string): MethodMetrics {
		let children = this.#byMethod.get(method);
		if (!children) {
			const labels = { method };
			children = {
				received: () => this.messages.inc(labels),
				answered: (seconds) => this.requestDuration.observe(labels, seconds),
			};
			this.#byMethod.set(method, children);
		}
		return children;
	}

	get contentType(): string {
		return this.registry.contentType;
	}

	text(): Promise<string> {
		return this.registry.metrics();
	}
}

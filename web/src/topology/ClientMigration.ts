import type { NotificationData, Topology, TopologyState } from '../../../core/protocol/index.js';
import { Emitter } from '../util/Emitter.js';
import { newRecord, type MigrationRecord } from './MigrationRecord.js';

/** What the topology badge says. */
export type TopologyLabel = Topology | 'migrating';

/** What a migration does to this client's media: carried out by MediaPaths. */
export interface MigrationEffects {
	/** Builds `target` beside the current path; each tile swaps to it once its new source renders. */
	build(target: Topology, epoch: number): void;
	/** Settles on `topology`: it is opened if need be, every tile shows it now, the other path closes. */
	settle(topology: Topology, epoch: number): void;
	/** The path each remote tile shows now (undefined: nothing yet). */
	shownPaths(): Array<Topology | undefined>;
	/** Says `topology.ready` for `epoch`; rejects when it did not get through (`stale`: the epoch is over). */
	ready(epoch: number): Promise<void>;
}

export type ClientMigrationEvents = {
	topology: [label: TopologyLabel];
	/** This client takes part in a migration; its record is then updated in place as it goes. */
	migration: [record: MigrationRecord];
};

/** Without a deadline from the server (a migration adopted from a snapshot), tiles swap within this. */
const ADOPTED_TIMEOUT_MS = 12_000;

interface Migration {
	epoch: number;
	target: Topology;
	/** `building` until no tile shows the old path; then `confirmed` (topology.ready sent). */
	phase: 'building' | 'confirmed';
	/** The server's deadline for this migration, from its prepare. */
	timeoutMs: number;
	/** Telemetry only: nothing here decides on it. */
	record: MigrationRecord;
}

/**
 * This client's side of the room's migrations, as the topology machine
 * commands them (topology.prepare, commit, abort): which path it is
 * committed to, where the room heads, when to confirm (`topology.ready`
 * once no tile shows the old path), and how to catch up from the snapshot a
 * resume gives. What each step does to the media is MigrationEffects'.
 */
export class ClientMigration extends Emitter<ClientMigrationEvents> {
	readonly #effects: MigrationEffects;
	#mode: Topology;
	#current: Migration | undefined;
	/** Whether this client takes part (a broadcast's audience does not). */
	#migrates: boolean;
	/**
	 * The newest epoch this client has heard of. What the server held for it
	 * while it reconnected is replayed after the resume answer it resynced
	 * from: anything older than that is history, not news.
	 */
	#epoch = -1;
	#closed = false;

	constructor(options: { mode: Topology; migrates: boolean; effects: MigrationEffects }) {
		super();
		this.#mode = options.mode;
		this.#migrates = options.migrates;
		this.#effects = options.effects;
	}

	/** The path this client is committed to. */
	get mode(): Topology {
		return this.#mode;
	}

	get label(): TopologyLabel {
		return this.#current ? 'migrating' : this.#mode;
	}

	/** Where the room is heading: the migration's target, else the committed path. */
	get heading(): Topology {
		return this.#current?.target ?? this.#mode;
	}

	get migrating(): { epoch: number; target: Topology; timeoutMs: number; record: MigrationRecord } | undefined {
		return this.#current;
	}

	set migrates(migrates: boolean) {
		this.#migrates = migrates;
	}

	/**
	 * A migration in flight when this client arrived on its target (a join, a
	 * role change, a resume): it confirms like everyone else.
	 */
	adopt({ state, epoch }: { state: TopologyState; epoch: number }, extra: Partial<MigrationRecord>): MigrationRecord | undefined {
		if (!this.#migrates || (state !== 'escalating' && state !== 'deescalating') || this.#current) return undefined;
		this.#epoch = Math.max(this.#epoch, epoch);
		const target: Topology = state === 'escalating' ? 'sfu' : 'mesh';
		const record = newRecord(epoch, target, 0, extra);
		this.#current = { epoch, target, phase: 'building', timeoutMs: ADOPTED_TIMEOUT_MS, record };
		return record;
	}

	prepare(data: NotificationData<'topology.prepare'>): void {
		if (this.#closed || !this.#migrates || data.epoch <= this.#epoch) return;
		this.#epoch = data.epoch;
		this.#begin({ epoch: data.epoch, target: data.target, phase: 'building', timeoutMs: data.timeoutMs, record: newRecord(data.epoch, data.target, data.decidedAt, { reason: data.reason }) });
	}

	/** The room committed (or rolled back) migration `epoch`: settle on `topology` (a stale epoch is ignored). */
	end(epoch: number, topology: Topology, result: 'committed' | 'aborted', stragglers?: string[]): void {
		if (this.#closed || !this.#migrates || (this.#current && this.#current.epoch !== epoch)) return;
		// A replayed end of a migration this client has caught up with already.
		if (!this.#current && (epoch < this.#epoch || (epoch === this.#epoch && topology === this.#mode))) return;
		this.#epoch = Math.max(this.#epoch, epoch);
		const record = this.#current?.record;
		if (record) {
			if (stragglers) record.stragglers = stragglers;
			record.endedAt = Date.now();
		}
		this.#settle(topology, epoch);
		if (record) {
			record.oldClosedAt = Date.now();
			record.result = result;
		}
	}

	/**
	 * The signaling channel came back (a resume): what the room did meanwhile
	 * is in its snapshot. A migration this client missed is joined; one that
	 * ended meanwhile is settled the way the room settled it.
	 */
	resync({ state, epoch }: { state: TopologyState; epoch: number }): void {
		if (this.#closed || !this.#migrates) return;
		const current = this.#current;
		this.#epoch = Math.max(this.#epoch, epoch);
		if (state === 'mesh' || state === 'sfu') {
			if (current) this.end(current.epoch, state, state === current.target ? 'committed' : 'aborted');
			else if (state !== this.#mode) this.#settle(state, epoch);
			return;
		}
		if (current?.epoch === epoch) return;
		// Another migration runs now: the one this client was in ended on the path the new one leaves.
		const before: Topology = state === 'escalating' ? 'mesh' : 'sfu';
		if (current) this.end(current.epoch, before, before === current.target ? 'committed' : 'aborted');
		if (this.adopt({ state, epoch }, { resynced: true }) && this.#current) this.#begin(this.#current);
	}

	/**
	 * No remote tile shows the old path any more, and the new one shows
	 * someone (it works for us): say so. A tile with nothing on it yet
	 * (someone who joined on the target) does not hold this up.
	 */
	checkReady(): void {
		const migration = this.#current;
		if (!migration || migration.phase !== 'building' || this.#closed) return;
		const old: Topology = migration.target === 'mesh' ? 'sfu' : 'mesh';
		const shown = this.#effects.shownPaths();
		if (shown.includes(old)) return;
		if (shown.length > 0 && !shown.includes(migration.target)) return;
		migration.phase = 'confirmed';
		migration.record.readyAt = Date.now();
		this.#effects.ready(migration.epoch).catch((error: unknown) => {
			if (error === 'stale' || this.#current !== migration) return;
			// Lost on the way (the socket dropped mid-request): say it again shortly.
			console.warn(`topology.ready ${migration.epoch} not delivered; retrying`, error);
			migration.phase = 'building';
			setTimeout(() => this.checkReady(), 500);
		});
	}

	close(): void {
		this.#closed = true;
		this.removeAllListeners();
	}

	#begin(migration: Migration): void {
		this.#current = migration;
		this.emit('topology', this.label);
		this.emit('migration', migration.record);
		this.#effects.build(migration.target, migration.epoch);
		this.checkReady();
	}

	#settle(topology: Topology, epoch: number): void {
		this.#current = undefined;
		this.#mode = topology;
		this.#effects.settle(topology, epoch);
		this.emit('topology', this.label);
	}
}

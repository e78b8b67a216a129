import type { MigrationReason, Topology } from '../../../core/protocol/index.js';

/**
 * One migration as this client lived it: telemetry only (tests and the
 * migration bench read it; nothing decides on it). Times are Date.now(); the
 * server's decidedAt is on the same clock when both run on one machine.
 */
export interface MigrationRecord {
	epoch: number;
	target: Topology;
	/** What started it (the prepare's reason); unknown for a migration adopted from a snapshot (a join or resume during it). */
	reason?: MigrationReason;
	decidedAt: number;
	preparedAt: number;
	/** When this client's side of the new path was built (SFU transports and producers; mesh connections are created at once). */
	builtAt?: number;
	/** When each remote tile swapped to the new path. */
	swappedAt: Record<string, number>;
	readyAt?: number;
	/** When the commit (or abort) arrived. */
	endedAt?: number;
	/** When the old path was closed on this client. */
	oldClosedAt?: number;
	result?: 'committed' | 'aborted';
	/** This client joined during the migration, straight onto its target (decidedAt is then unknown: 0). */
	joinedDuring?: boolean;
	/** This client learnt of the migration from the snapshot a resume gave (it missed the prepare while reconnecting). */
	resynced?: boolean;
	/** Peers the server committed without their confirmation (the timeout passed). */
	stragglers?: string[];
}

export function newRecord(epoch: number, target: Topology, decidedAt: number, extra: Partial<MigrationRecord> = {}): MigrationRecord {
	return { epoch, target, decidedAt, preparedAt: Date.now(), swappedAt: {}, ...extra };
}

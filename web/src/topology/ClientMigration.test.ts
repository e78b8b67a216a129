import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Topology } from '../../../core/protocol/index.js';
import { ClientMigration, type MigrationEffects } from './ClientMigration.js';
import type { MigrationRecord } from './MigrationRecord.js';

/** Effects that only record what they were asked; the tiles show what `shown` says. */
function harness(mode: Topology, migrates = true) {
	const calls: string[] = [];
	const shown: Array<Topology | undefined> = [];
	let ready: (epoch: number) => Promise<void> = async () => undefined;
	const effects: MigrationEffects = {
		build: (target, epoch) => calls.push(`build ${target} ${epoch}`),
		settle: (topology, epoch) => calls.push(`settle ${topology} ${epoch}`),
		shownPaths: () => shown,
		ready: (epoch) => {
			calls.push(`ready ${epoch}`);
			return ready(epoch);
		},
	};
	const migration = new ClientMigration({ mode, migrates, effects });
	const records: MigrationRecord[] = [];
	const labels: string[] = [];
	migration.on('migration', (r) => records.push(r));
	migration.on('topology', (l) => labels.push(l));
	return {
		migration,
		calls,
		shown,
		records,
		labels,
		failReady: (with_: unknown) => {
			ready = () => Promise.reject(with_);
		},
	};
}

const prepare = (epoch: number, target: Topology) => ({ epoch, target, reason: 'participants' as const, decidedAt: 1, timeoutMs: 4000 });
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ClientMigration', () => {
	beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout'] }));
	afterEach(() => vi.useRealTimers());

	it('builds the target, confirms once no tile shows the old path, and settles on commit', async () => {
		const h = harness('mesh');
		h.shown.push('mesh', 'mesh');
		h.migration.prepare(prepare(2, 'sfu'));
		expect(h.calls).toEqual(['build sfu 2']);
		expect(h.migration.label).toBe('migrating');
		expect(h.migration.migrating?.timeoutMs).toBe(4000);
		h.shown.splice(0, 2, 'sfu', 'mesh');
		h.migration.checkReady();
		expect(h.calls).toEqual(['build sfu 2']); // one tile still on the mesh
		h.shown.splice(1, 1, 'sfu');
		h.migration.checkReady();
		h.migration.checkReady(); // once only
		expect(h.calls).toEqual(['build sfu 2', 'ready 2']);
		h.migration.end(7, 'sfu', 'committed'); // another epoch: ignored
		expect(h.migration.label).toBe('migrating');
		h.migration.end(2, 'sfu', 'committed', ['x']);
		expect(h.calls.at(-1)).toBe('settle sfu 2');
		expect(h.migration.mode).toBe('sfu');
		expect(h.records[0]).toMatchObject({ epoch: 2, target: 'sfu', reason: 'participants', result: 'committed', stragglers: ['x'] });
		expect(h.labels).toEqual(['migrating', 'sfu']);
	});

	it('says topology.ready again when it was lost, but not for an epoch that is over', async () => {
		const h = harness('mesh');
		h.failReady(new Error('socket dropped'));
		h.migration.prepare(prepare(3, 'sfu'));
		await flush();
		vi.advanceTimersByTime(500);
		expect(h.calls.filter((c) => c.startsWith('ready'))).toEqual(['ready 3', 'ready 3']);
		h.failReady('stale');
		vi.advanceTimersByTime(500);
		await flush();
		vi.advanceTimersByTime(5000);
		expect(h.calls.filter((c) => c.startsWith('ready'))).toHaveLength(3);
	});

	describe('resync after a resume', () => {
		it('a commit missed while reconnecting: settles on it, recorded as committed', () => {
			const h = harness('mesh');
			h.shown.push('mesh');
			h.migration.prepare(prepare(4, 'sfu'));
			h.migration.resync({ state: 'sfu', epoch: 4 });
			expect(h.calls).toEqual(['build sfu 4', 'settle sfu 4']);
			expect(h.records[0]?.result).toBe('committed');
		});

		it('an abort missed while reconnecting: back to the room’s path, recorded as aborted', () => {
			const h = harness('mesh');
			h.shown.push('mesh');
			h.migration.prepare(prepare(5, 'sfu'));
			h.migration.resync({ state: 'mesh', epoch: 5 });
			expect(h.calls.at(-1)).toBe('settle mesh 5');
			expect(h.migration.label).toBe('mesh');
			expect(h.records[0]?.result).toBe('aborted');
		});

		it('a prepare missed while reconnecting: joins the migration, its record says so', () => {
			const h = harness('sfu');
			h.shown.push('sfu');
			h.migration.resync({ state: 'deescalating', epoch: 6 });
			expect(h.calls).toEqual(['build mesh 6']);
			expect(h.records[0]).toMatchObject({ epoch: 6, target: 'mesh', resynced: true });
			expect(h.migration.label).toBe('migrating');
		});

		it('a whole migration missed: settles where the room is now', () => {
			const h = harness('mesh');
			h.migration.resync({ state: 'sfu', epoch: 8 });
			expect(h.calls).toEqual(['settle sfu 8']);
			expect(h.migration.mode).toBe('sfu');
		});

		it('a different migration in flight than its own: ends its own, joins the room’s', () => {
			const h = harness('mesh');
			h.shown.push('mesh');
			h.migration.prepare(prepare(9, 'sfu'));
			h.migration.resync({ state: 'escalating', epoch: 10 });
			expect(h.calls).toEqual(['build sfu 9', 'settle mesh 9', 'build sfu 10']);
			expect(h.records.map((r) => [r.epoch, r.result])).toEqual([
				[9, 'aborted'],
				[10, undefined],
			]);
		});

		it('its own migration committed while away and the next one begun: settles on the path the new one leaves', () => {
			const h = harness('mesh');
			h.shown.push('mesh');
			h.migration.prepare(prepare(1, 'sfu'));
			h.migration.resync({ state: 'deescalating', epoch: 2 });
			// The tile shows the mesh already (the fake's shown paths): ready at once.
			expect(h.calls).toEqual(['build sfu 1', 'settle sfu 1', 'build mesh 2', 'ready 2']);
			expect(h.records.map((r) => [r.epoch, r.result])).toEqual([
				[1, 'committed'],
				[2, undefined],
			]);
		});

		it('what the server held while it was away, replayed after the resume answer, changes nothing', () => {
			const h = harness('mesh');
			h.shown.push('sfu');
			h.migration.resync({ state: 'sfu', epoch: 4 });
			expect(h.calls).toEqual(['settle sfu 4']);
			h.migration.prepare(prepare(3, 'sfu'));
			h.migration.end(3, 'sfu', 'committed');
			h.migration.prepare(prepare(4, 'sfu'));
			h.migration.end(4, 'sfu', 'committed');
			expect(h.calls).toEqual(['settle sfu 4']);
			expect(h.migration.label).toBe('sfu');
			// News again: the next epoch.
			h.migration.prepare(prepare(5, 'mesh'));
			expect(h.calls.at(-1)).toBe('build mesh 5');
		});

		it('nothing changed: nothing happens; and a client that does not migrate (an audience) ignores it all', () => {
			const h = harness('sfu');
			h.migration.resync({ state: 'sfu', epoch: 1 });
			expect(h.calls).toEqual([]);
			const audience = harness('sfu', false);
			audience.migration.prepare(prepare(2, 'mesh'));
			audience.migration.resync({ state: 'deescalating', epoch: 2 });
			expect(audience.calls).toEqual([]);
		});
	});
});

import { describe, expect, it } from 'vitest';
import { latencyMigrationText } from './markdown.js';
import type { LatencyResult, LatencyWindows } from './results.js';

function windows(overrides: Partial<LatencyWindows> = {}): LatencyWindows {
	return {
		runsDone: 3,
		runs: 3,
		frames: 150,
		newcomerFrames: 0,
		medianMs: 30,
		p95Ms: 45,
		steadyMedianMs: 26,
		windowMs: [1400, 1500, 1600],
		p95Ratio: 1.73,
		runRatios: [1.8, 1.9, 2.1],
		maxRatio: 2.1,
		notes: [],
		failures: [],
		...overrides,
	};
}

function migration(overrides: Partial<LatencyResult['migration']> = {}): LatencyResult['migration'] {
	return {
		...windows({ newcomerFrames: 40, runRatios: [2.55, 3.38, 2.9], maxRatio: 3.38, p95Ms: 63, p95Ratio: 2.42 }),
		goalMet: false,
		steadyFloor: windows({ runRatios: [1.5, 1.7, 1.6], maxRatio: 1.7 }),
		joinFloor: windows({ windowMs: [1500, 1500, 1500], runRatios: [2.4, 2.6, 2.2], maxRatio: 2.6 }),
		vsJoinFloor: 3.38 / 2.6,
		...overrides,
	};
}

/** The rows of the first markdown table in `text`, cells trimmed (header and separator dropped). */
function tableRows(text: string): string[][] {
	const lines = text.split('\n').filter((l) => l.startsWith('|'));
	return lines.slice(2).map((l) =>
		l
			.slice(1, -1)
			.split(' | ')
			.map((c) => c.trim()),
	);
}

describe('latencyMigrationText', () => {
	it('states the goal as not met and puts both floors and the ratio to the join floor beside it', () => {
		const text = latencyMigrationText(migration());
		expect(text).toContain('the worst frame was 3.38x the steady median of 26 ms (goal: at most 2x): **not met**');
		expect(text).toContain('1.70x at rest');
		expect(text).toContain('2.60x while a third joined');
		expect(text).toContain("the migration's worst was 1.30x the join's");
	});

	it('has a row per window with p95 / steady median and the worst per run', () => {
		const rows = tableRows(latencyMigrationText(migration()));
		expect(rows.map((r) => r[0])).toEqual(['migration: decision -> commit', 'steady floor: the last window ms of the steady measurement', 'join floor: a 3rd joins, no migration (MESH_MAX_PEERS=3)']);
		const [during, steady, join] = rows as [string[], string[], string[]];
		expect(during.slice(1, 11)).toEqual(['3/3', '1400, 1500, 1600', "150 (40 the 3rd's)", '30', '63', '26', '2.42', '3.38 (2.55, 3.38, 2.90)', '**no**', '-']);
		expect(steady[3]).toBe('150');
		expect(steady[8]).toBe('1.70 (1.50, 1.70, 1.60)');
		expect(steady[9]).toBe('-');
		expect(join[2]).toBe('1500, 1500, 1500');
		expect(join[8]).toBe('2.60 (2.40, 2.60, 2.20)');
	});

	it('says met when it is, and shows notes, failures and runs with no frame', () => {
		const text = latencyMigrationText(
			migration({
				goalMet: true,
				maxRatio: 1.9,
				runRatios: [1.9],
				runsDone: 1,
				failures: ['run 1: the migration was aborted'],
				joinFloor: windows({ runsDone: 1, runRatios: [Number.NaN], maxRatio: Number.NaN, notes: ['run 0: recorded 3000 ms after the join'], failures: ['run 2: the room migrated'] }),
				vsJoinFloor: Number.NaN,
			}),
		);
		expect(text).toContain('(goal: at most 2x): met.');
		expect(text).toContain("the migration's worst was -x the join's. Failures: run 1: the migration was aborted.");
		const [during, , join] = tableRows(text) as [string[], string[], string[]];
		expect(during[9]).toBe('yes');
		expect(during[10]).toBe('run 1: the migration was aborted');
		expect(join[8]).toBe('- (-)');
		expect(join[10]).toBe('run 0: recorded 3000 ms after the join; run 2: the room migrated');
	});
});

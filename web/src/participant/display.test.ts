import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Topology } from '../../../core/protocol/index.js';
import { displayStep, initialDisplay, type DisplayEffect, type DisplayInput, type DisplayState } from './display.js';

function run(state: DisplayState, ...inputs: DisplayInput[]): { state: DisplayState; effects: DisplayEffect[] } {
	const effects: DisplayEffect[] = [];
	for (const input of inputs) {
		const step = displayStep(state, input);
		state = step.state;
		effects.push(...step.effects);
	}
	return { state, effects };
}

const av = { video: true, audio: true };

describe('display model', () => {
	it('shows the first source at once', () => {
		const { state, effects } = run(initialDisplay('mesh'), { type: 'source', path: 'mesh', gen: 0, ...av });
		expect(effects).toEqual([{ type: 'show', path: 'mesh', gen: 0 }]);
		expect(state.shown).toMatchObject({ path: 'mesh', gen: 0 });
	});

	it('a migration: the new source is probed off screen, and the tile swaps once it rendered', () => {
		let { state } = run(initialDisplay('mesh'), { type: 'source', path: 'mesh', gen: 0, ...av }, { type: 'heading', path: 'sfu' });
		let step = run(state, { type: 'source', path: 'sfu', gen: 0, video: false, audio: true });
		expect(step.effects).toEqual([]); // its video consumer is on its way
		step = run(step.state, { type: 'source', path: 'sfu', gen: 0, ...av });
		expect(step.effects).toEqual([{ type: 'probe', path: 'sfu', gen: 0 }]);
		({ state } = step);
		expect(state.shown?.path).toBe('mesh');
		step = run(state, { type: 'probed', path: 'sfu', gen: 0 });
		expect(step.effects).toEqual([{ type: 'show', path: 'sfu', gen: 0 }]);
	});

	it('a repair: a new generation of the shown path swaps in only once it rendered; the old one closing changes nothing', () => {
		const { state } = run(initialDisplay('mesh'), { type: 'source', path: 'mesh', gen: 0, ...av });
		const step = run(state, { type: 'source', path: 'mesh', gen: 1, ...av });
		expect(step.effects).toEqual([{ type: 'probe', path: 'mesh', gen: 1 }]);
		expect(step.state.shown).toMatchObject({ path: 'mesh', gen: 0 });
		const after = run(step.state, { type: 'probed', path: 'mesh', gen: 1 }, { type: 'sourceClosed', path: 'mesh', gen: 0 });
		expect(after.effects).toEqual([{ type: 'show', path: 'mesh', gen: 1 }]);
		expect(after.state.shown).toMatchObject({ path: 'mesh', gen: 1 });
	});

	it('a commit shows the target at once (a straggler swaps without waiting)', () => {
		const { state } = run(initialDisplay('mesh'), { type: 'source', path: 'mesh', gen: 0, ...av }, { type: 'heading', path: 'sfu' }, { type: 'source', path: 'sfu', gen: 0, ...av });
		expect(run(state, { type: 'settle', path: 'sfu' }).effects).toEqual([{ type: 'show', path: 'sfu', gen: 0 }]);
	});

	it('falls back to the other path when the shown one closes', () => {
		const { state } = run(initialDisplay('sfu'), { type: 'source', path: 'sfu', gen: 0, ...av }, { type: 'source', path: 'mesh', gen: 0, ...av });
		const step = run(state, { type: 'sourceClosed', path: 'sfu' });
		expect(step.effects).toEqual([{ type: 'show', path: 'mesh', gen: 0 }]);
	});

	it('does not swap to a source without the audio the tile plays', () => {
		const { state } = run(initialDisplay('mesh'), { type: 'source', path: 'mesh', gen: 0, ...av }, { type: 'heading', path: 'sfu' });
		const step = run(state, { type: 'source', path: 'sfu', gen: 0, video: true, audio: false }, { type: 'probed', path: 'sfu', gen: 0 });
		expect(step.state.shown?.path).toBe('mesh');
		expect(run(step.state, { type: 'source', path: 'sfu', gen: 0, ...av }).effects).toEqual([{ type: 'show', path: 'sfu', gen: 0 }]);
	});
});

type Command =
	| { type: 'source'; path: Topology; newGen: boolean; video: boolean; audio: boolean }
	| { type: 'probed'; path: Topology }
	| { type: 'sourceClosed'; path: Topology }
	| { type: 'heading'; path: Topology }
	| { type: 'settle'; path: Topology }
	| { type: 'videoMuted'; muted: boolean };

const path = fc.constantFrom<Topology>('mesh', 'sfu');
const command: fc.Arbitrary<Command> = fc.oneof(
	fc.record({ type: fc.constant('source' as const), path, newGen: fc.boolean(), video: fc.boolean(), audio: fc.boolean() }),
	fc.record({ type: fc.constant('probed' as const), path }),
	fc.record({ type: fc.constant('sourceClosed' as const), path }),
	fc.record({ type: fc.constant('heading' as const), path }),
	fc.record({ type: fc.constant('settle' as const), path }),
	fc.record({ type: fc.constant('videoMuted' as const), muted: fc.boolean() }),
);

/** What each input did, for the coverage check: `input -> effect` (or `-> nothing`). */
const REACHED = [
	'source -> show',
	'source -> probe',
	'source -> nothing',
	'probed -> show',
	'probed -> nothing',
	'sourceClosed -> show',
	'sourceClosed -> nothing',
	'heading -> probe',
	'heading -> show',
	'heading -> nothing',
	'settle -> show',
	'settle -> nothing',
	'videoMuted -> nothing',
];

describe('display model, model-based', () => {
	const seen = new Set<string>();
	afterAll(() => expect([...seen].sort()).toEqual([...REACHED].sort()));

	it('shows only sources that deliver, swaps only to rendered ones (or on commit), and ends on where the room heads', () => {
		fc.assert(
			fc.property(fc.constantFrom<Topology>('mesh', 'sfu'), fc.array(command, { maxLength: 30 }), (heading, commands) => {
				let state = initialDisplay(heading);
				const gens: Record<Topology, number> = { mesh: 0, sfu: 0 };
				/** Probes started and not yet answered. */
				const probes = new Set<string>();
				const apply = (input: DisplayInput) => {
					const before = state;
					const step = displayStep(state, input);
					state = step.state;
					seen.add(`${input.type} -> ${step.effects.map((e) => e.type).join('+') || 'nothing'}`);
					for (const effect of step.effects) {
						const source = state.sources[effect.path];
						expect(source?.gen, `${effect.type} of a source that does not deliver`).toBe(effect.gen);
						if (effect.type === 'probe') {
							expect(source?.video).toBe(true);
							probes.add(`${effect.path}:${effect.gen}`);
							continue;
						}
						// A swap away from a source that still plays: on commit, or to a source that rendered and carries the audio.
						const playing = before.shown;
						const swap = playing && (playing.path !== effect.path || playing.gen !== effect.gen);
						// (Closing the shown source falls back to the other at once: nothing better to show.)
						if (swap && input.type !== 'settle' && input.type !== 'sourceClosed') {
							expect(source?.probed || !source?.video || state.videoMuted, 'swapped to a source that had not rendered').toBe(true);
							expect(source?.audio || !playing.audio, 'swapped to a source without the audio').toBe(true);
						}
					}
					const lastShow = step.effects.filter((e) => e.type === 'show').at(-1);
					if (lastShow) expect(state.shown).toMatchObject({ path: lastShow.path, gen: lastShow.gen });
					if (input.type === 'settle' && state.sources[input.path]) expect(state.shown?.path).toBe(input.path);
				};
				for (const c of commands) {
					if (c.type === 'source') {
						if (c.newGen) gens[c.path]++;
						apply({ type: 'source', path: c.path, gen: gens[c.path], video: c.video, audio: c.audio });
					} else if (c.type === 'probed') {
						const key = `${c.path}:${gens[c.path]}`;
						if (probes.delete(key)) apply({ type: 'probed', path: c.path, gen: gens[c.path] });
					} else if (c.type === 'sourceClosed') {
						apply({ type: 'sourceClosed', path: c.path });
					} else {
						apply(c);
					}
				}
				// Every probe answered: a tile whose heading source delivers what it plays ends on it.
				for (const key of [...probes]) {
					const [p, g] = key.split(':') as [Topology, string];
					probes.delete(key);
					apply({ type: 'probed', path: p, gen: Number(g) });
				}
				const target = state.sources[state.heading];
				const playing = state.shown;
				if (target && (target.audio || !playing?.audio) && (target.video || state.videoMuted || !playing?.video) && probes.size === 0) {
					expect(state.shown?.path).toBe(state.heading);
				}
			}),
			// A fixed seed: the coverage check after the walks must not depend on luck.
			{ numRuns: 2000, seed: 20_261_127 },
		);
	});
});

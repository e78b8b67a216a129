import type { Topology } from '../../../core/protocol/index.js';

/**
 * Which path one remote participant's tile shows, as a pure model. Paths
 * (the mesh, the SFU) deliver sources; a repaired mesh pair delivers a new
 * generation of its source. The tile swaps to a new source only once it
 * has rendered a few frames off screen (`probe`) and carries the audio the
 * tile plays: make before break, so a migration or a repair shows at most
 * a frozen frame, never a black one.
 */

/** What one path delivers for the participant now. */
export interface Source {
	/** Which connection delivers it: a repaired mesh pair counts up. */
	gen: number;
	video: boolean;
	audio: boolean;
	/** The off-screen probe runs. */
	probing: boolean;
	/** The probe finished (frames rendered, or its time ran out). */
	probed: boolean;
}

export interface Shown {
	path: Topology;
	gen: number;
	video: boolean;
	audio: boolean;
}

export interface DisplayState {
	/** Where the room is heading: a migration's target, else its settled path. */
	heading: Topology;
	/** What the tile plays: which source, and what it carried when last shown (a repaired pair's old connection stays on until the new one renders). */
	shown: Shown | null;
	sources: Partial<Record<Topology, Source>>;
	/** The participant's camera is off: nothing to wait for frames of. */
	videoMuted: boolean;
}

export type DisplayInput =
	| { type: 'source'; path: Topology; gen: number; video: boolean; audio: boolean }
	| { type: 'probed'; path: Topology; gen: number }
	/** The path stopped delivering (only that generation, when given). */
	| { type: 'sourceClosed'; path: Topology; gen?: number }
	/** A migration is prepared (or rolled back): the tile moves there once that source renders. */
	| { type: 'heading'; path: Topology }
	/** The room is committed to `path`: the tile shows it now if it delivers. */
	| { type: 'settle'; path: Topology }
	| { type: 'videoMuted'; muted: boolean };

export type DisplayEffect = { type: 'show'; path: Topology; gen: number } | { type: 'probe'; path: Topology; gen: number };

export interface DisplayStep {
	state: DisplayState;
	effects: DisplayEffect[];
}

export function initialDisplay(heading: Topology, videoMuted = false): DisplayState {
	return { heading, shown: null, sources: {}, videoMuted };
}

const other = (path: Topology): Topology => (path === 'mesh' ? 'sfu' : 'mesh');

function isShown(state: DisplayState, path: Topology): boolean {
	const source = state.sources[path];
	return !!source && state.shown?.path === path && state.shown.gen === source.gen;
}

function show(state: DisplayState, path: Topology, effects: DisplayEffect[]): DisplayState {
	const source = state.sources[path];
	if (!source) return state;
	effects.push({ type: 'show', path, gen: source.gen });
	return { ...state, shown: { path, gen: source.gen, video: source.video, audio: source.audio } };
}

/** Swaps to `path` once it has rendered and carries the audio the tile plays; starts the probe if it has not. */
function trySwap(state: DisplayState, path: Topology, effects: DisplayEffect[]): DisplayState {
	const source = state.sources[path];
	if (!source || source.probing || isShown(state, path)) return state;
	const playing = state.shown;
	// The video track is on its way (SFU consumers come one by one), unless nothing on the tile shows video either.
	if (!source.video && !state.videoMuted && (!playing || playing.video)) return state;
	if (source.video && !source.probed && !state.videoMuted) {
		effects.push({ type: 'probe', path, gen: source.gen });
		return { ...state, sources: { ...state.sources, [path]: { ...source, probing: true } } };
	}
	// The audio consumer is on its way: its arrival tries again.
	if (playing?.audio && !source.audio) return state;
	return show(state, path, effects);
}

export function displayStep(state: DisplayState, input: DisplayInput): DisplayStep {
	const effects: DisplayEffect[] = [];
	let next = state;
	switch (input.type) {
		case 'source': {
			const { path, gen, video, audio } = input;
			const previous = state.sources[path];
			const source: Source =
				previous && previous.gen === gen ? { ...previous, video, audio } : { gen, video, audio, probing: false, probed: false };
			next = { ...state, sources: { ...state.sources, [path]: source } };
			if (state.shown?.path === path && state.shown.gen === gen) {
				next = show(next, path, effects); // its tracks changed: the tile takes them
			} else if (!state.shown && (path === state.heading || !state.sources[state.heading])) {
				next = show(next, path, effects); // nothing on the tile: show at once
			} else if (path === state.heading || state.shown?.path === path) {
				next = trySwap(next, path, effects);
			}
			break;
		}
		case 'probed': {
			const source = state.sources[input.path];
			if (!source || source.gen !== input.gen) break;
			next = { ...state, sources: { ...state.sources, [input.path]: { ...source, probing: false, probed: true } } };
			if (input.path === state.heading || state.shown?.path === input.path) next = trySwap(next, input.path, effects);
			break;
		}
		case 'sourceClosed': {
			const { path, gen } = input;
			const source = state.sources[path];
			let sources = state.sources;
			if (source && (gen === undefined || source.gen === gen)) {
				sources = { ...state.sources };
				delete sources[path];
			}
			next = { ...state, sources };
			if (state.shown?.path === path && (gen === undefined || state.shown.gen === gen)) {
				next = { ...next, shown: null };
				if (sources[other(path)]) next = show(next, other(path), effects);
			}
			break;
		}
		case 'heading':
			next = { ...state, heading: input.path };
			if (state.sources[input.path]) next = trySwap(next, input.path, effects);
			break;
		case 'settle':
			next = { ...state, heading: input.path };
			if (state.sources[input.path] && !isShown(state, input.path)) next = show(next, input.path, effects);
			break;
		case 'videoMuted':
			next = { ...state, videoMuted: input.muted };
			break;
	}
	return { state: next, effects };
}

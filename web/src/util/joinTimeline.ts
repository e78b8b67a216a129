/**
 * When each step of this page's join happened, in ms since the navigation
 * (performance.now()), each step recorded once: the first time it happens.
 * The join bench reads it (window.__timing.marks) to show where a join's
 * time goes, and the browser's profiler shows the same marks; nothing in
 * the app depends on it.
 */
export type JoinStep =
	/** The page's first script runs (boot.ts: it starts a direct link's join). */
	| 'script'
	/** The app's code runs (fetched and parsed, while the join went on). */
	| 'app'
	/** The signaling socket is open. */
	| 'socketOpen'
	/** The join's answer arrived. */
	| 'joined'
	/** Camera and microphone are open (or failed). */
	| 'localMedia'
	/** The media paths start (mesh links, or the SFU session). */
	| 'mediaPaths'
	/** The first offer or answer this page sent. */
	| 'descriptionSent'
	/** The first offer or answer this page received. */
	| 'descriptionReceived'
	/** The first remote media arrived (a mesh pair's stream, or an SFU consumer's track). */
	| 'remoteMedia'
	/** The first media connection is up (a mesh pair's ICE, or an SFU transport). */
	| 'connected'
	/** The first remote tile rendered a frame. */
	| 'firstFrame';

export const joinTimeline: Partial<Record<JoinStep, number>> = {};

/** Records `step` once (the first time), also as a User Timing mark (`join:<step>`) that the browser's profiler shows. */
export function markJoin(step: JoinStep): void {
	if (joinTimeline[step] !== undefined || typeof performance === 'undefined') return;
	joinTimeline[step] = performance.mark?.(`join:${step}`)?.startTime ?? performance.now();
}

import type { LostPath } from '../call/callTypes.js';
import { h } from './dom.js';

/** What a person reads when repairing gave up: whose video is gone, and that rejoining tries afresh. */
export function describeLost(lost: readonly LostPath[]): string {
	const sfu = lost.some((l) => l.path === 'sfu');
	const names = lost.flatMap((l) => (l.path === 'mesh' ? [l.displayName] : []));
	const what = sfu
		? 'Lost the connection to the media server: you no longer see or hear the call.'
		: `Lost the connection to ${names.join(', ')}: you no longer see or hear ${names.length > 1 ? 'them' : 'this participant'}.`;
	return `${what} Check your network, then rejoin.`;
}

/**
 * The banner shown when the call gave up repairing a media path: what was
 * lost, and a Rejoin button (joining again builds every path afresh). It
 * hides itself when the paths come back.
 */
export class MediaLostBanner {
	readonly element: HTMLElement;
	readonly #text: HTMLElement;

	constructor(onRejoin: () => void) {
		this.#text = h('p', {});
		const rejoin = h('button', { type: 'button', 'data-testid': 'rejoin' }, 'Rejoin');
		rejoin.addEventListener('click', () => {
			rejoin.disabled = true;
			onRejoin();
		});
		this.element = h('section', { class: 'media-lost', role: 'alert', 'data-testid': 'media-lost', hidden: true }, this.#text, rejoin);
	}

	show(lost: readonly LostPath[]): void {
		this.element.hidden = lost.length === 0;
		this.#text.textContent = lost.length === 0 ? '' : describeLost(lost);
	}
}

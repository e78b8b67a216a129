import { CloseCode, SignalingError } from '../../../core/protocol/index.js';

type Attrs = Record<string, string | boolean | undefined>;

/** Creates an element: `h('button', { type: 'button', 'data-testid': 'mute' }, 'Mute')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
	tag: K,
	attrs: Attrs = {},
	...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
	const el = document.createElement(tag);
	for (const [key, value] of Object.entries(attrs)) {
		if (value === undefined || value === false) continue;
		el.setAttribute(key, value === true ? '' : value);
	}
	el.append(...children);
	return el;
}

/** What a person should read for a join failure with this protocol error code. */
export function explainJoinError(error: unknown): string {
	const code = error instanceof SignalingError ? error.code : undefined;
	switch (code) {
		case 'ROOM_FULL':
			return 'This room is full. Try again later or pick another room.';
		case 'TOKEN_REQUIRED':
			return 'This room needs an invitation link (an access token).';
		case 'TOKEN_EXPIRED':
			return 'Your invitation link has expired. Ask for a new one.';
		case 'TOKEN_INVALID':
		case 'TOKEN_WRONG_ROOM':
			return 'Your invitation link is not valid for this room.';
		case 'CLOSED':
		case 'TIMEOUT':
			return 'The server cannot be reached. Check your connection and try again.';
		default:
			return `Could not join: ${(error as Error).message}`;
	}
}

/** What a person should read when the server ended their session (a 4xxx close code, core/protocol/closeCodes.ts). */
export function explainClose(closeCode: number, reason: string): string {
	switch (closeCode) {
		case CloseCode.RemovedByHost:
			return 'A host removed you from the call.';
		case CloseCode.RoomEnded:
			return 'A host ended this call for everyone.';
		case CloseCode.RoomDeleted:
			return 'This room was closed.';
		case CloseCode.NoLongerAdmitted:
			return reason === 'TOKEN_REQUIRED'
				? 'This room now needs an invitation link (an access token); you were let out.'
				: 'This room is now smaller than the number of people in it; you were let out.';
		case CloseCode.Unauthorized:
			return reason === 'TOKEN_EXPIRED' ? 'Your invitation has expired, and the call ended for you. Ask for a new link.' : 'Your invitation link is no longer valid. Ask for a new one.';
		case CloseCode.Replaced:
			return 'You joined this call from another tab or device.';
		case CloseCode.ProtocolMismatch:
			return 'This page is out of date. Reload it.';
		default:
			return `Disconnected from the server (${closeCode}). Reload to join again.`;
	}
}

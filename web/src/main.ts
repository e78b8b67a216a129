import { Call } from './call/Call.js';
import { CallView } from './ui/CallView.js';
import { CloseCode } from '../../core/protocol/index.js';
import { explainClose, explainJoinError, h } from './ui/dom.js';
import { openMedia, showLobby } from './ui/Lobby.js';

// The call app: `/?room=R&name=N[&token=T]` joins directly; otherwise the lobby asks.

declare global {
	interface Window {
		/** Read-only hooks for tests and debugging. */
		__call?: Call;
		/** When this page started joining, and when each remote tile rendered its first frame (performance.now()). */
		__timing?: { joinStartedAt: number; firstFrameAt: Record<string, number> };
	}
}

const root = document.querySelector<HTMLElement>('#app') as HTMLElement;
const params = new URLSearchParams(location.search);
/**
 * An access token arrives in the link (`&token=`), but must not stay in the
 * address bar, the history or a shared screenshot: it moves to this tab's
 * sessionStorage (so Rejoin and reload still work) and leaves the URL. A
 * browser that blocks storage still joins with the link's token.
 */
const tokens = {
	take(roomId: string | null): string | undefined {
		const fromLink = params.get('token') ?? undefined;
		if (!roomId) return fromLink;
		try {
			if (fromLink) sessionStorage.setItem(`token:${roomId}`, fromLink);
			return fromLink ?? sessionStorage.getItem(`token:${roomId}`) ?? undefined;
		} catch {
			return fromLink;
		}
	},
	/** A token the server refused is not offered again. */
	forget(roomId: string): void {
		try {
			sessionStorage.removeItem(`token:${roomId}`);
		} catch {
			// Storage blocked: nothing was kept.
		}
	},
};

async function startCall(roomId: string, displayName: string, localStream: MediaStream | undefined, mediaError?: string): Promise<void> {
	window.__timing = { joinStartedAt: performance.now(), firstFrameAt: {} };
	const token = tokens.take(roomId);
	history.replaceState(null, '', `/?room=${encodeURIComponent(roomId)}&name=${encodeURIComponent(displayName)}`);
	const view = new CallView(localStream, () => {
		call.close();
		view.close();
		for (const track of localStream?.getTracks() ?? []) track.stop();
		const rejoin = h('a', { href: location.href, class: 'button' }, 'Rejoin');
		root.replaceChildren(h('section', { class: 'left', 'aria-live': 'polite' }, h('h1', {}, 'You left the call.'), rejoin));
	});
	root.replaceChildren(view.element);
	view.setStatus(mediaError ? `Joining without camera and microphone: ${mediaError}` : `Joining ${roomId}…`);
	const call = new Call({
		signalingUrl: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
		roomId,
		displayName,
		...(token ? { token } : {}),
		localStream,
		onRemote: (event) => view.onRemote(event),
	});
	window.__call = call;
	call.onSignalingState((state) => {
		if (state === 'joined') view.setStatus(`In ${roomId}`);
		else if (state === 'closed') view.setStatus('Disconnected from the server. Reload to join again.');
	});
	call.onClosed((closeCode, reason) => {
		if (closeCode === CloseCode.Unauthorized) tokens.forget(roomId);
		if (closeCode !== undefined) view.setStatus(explainClose(closeCode, reason ?? ''));
	});
	call.onReconnecting((attempt) => view.setStatus(`Connection to the server lost; reconnecting (attempt ${attempt})…`));
	window.addEventListener('pagehide', () => call.close());
	try {
		await call.join();
		view.attach(call);
		if (!call.canPublish) view.setStatus(`Watching ${roomId} as a viewer: your camera and microphone stay off.`);
		else if (mediaError) view.setStatus(`In ${roomId}, without camera and microphone.`);
	} catch (error) {
		if (/^TOKEN_/.test((error as { code?: string }).code ?? '')) tokens.forget(roomId);
		view.setStatus(explainJoinError(error));
	}
}

/**
 * The role an access token names, read without checking its signature (the
 * server checks it): a viewer is never asked for its camera and microphone.
 */
function tokenRole(token: string | undefined): string | undefined {
	try {
		const payload = token?.split('.')[1];
		return payload ? (JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { role?: string }).role : undefined;
	} catch {
		return undefined;
	}
}

const room = params.get('room');
const name = params.get('name');
const viewer = tokenRole(tokens.take(room)) === 'viewer';
if (room && name && viewer) {
	void startCall(room, name, undefined);
} else if (room && name) {
	void openMedia().then(({ stream, error }) => startCall(room, name, stream, error));
} else {
	void showLobby(root, { ...(room ? { roomId: room } : {}), media: !viewer }).then(({ roomId, displayName, stream }) =>
		startCall(roomId, displayName, stream, stream || viewer ? undefined : 'not available'),
	);
}

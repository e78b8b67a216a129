// First: before any schema is made (zod reads the setting when each is built).
import './util/zodJitless.js';
import { Call, type LocalMedia } from './call/Call.js';
import { CallView } from './ui/CallView.js';
import { CloseCode, ErrorCode, SignalingError, asRole, type Role } from '../../core/protocol/index.js';
import type { EarlyStart } from './boot.js';
import { linkToken } from './call/linkToken.js';
import { missingForCalls, openedFirst } from './media/firstMedia.js';
import { signalingUrl, type EarlyJoin } from './signaling/EarlyJoin.js';
import { explainClose, explainJoinError, h } from './ui/dom.js';
import { showLobby } from './ui/Lobby.js';
import { joinTimeline, markJoin, type JoinStep } from './util/joinTimeline.js';

// The call app: `/?room=R&name=N[&role=R][&token=T]` joins directly (begun by boot.ts); otherwise the lobby asks.

declare global {
	interface Window {
		/** Read-only hooks for tests and debugging. */
		__call?: Call;
		/** When this page started joining, and when each remote tile rendered its first frame (performance.now()). */
		__timing?: { joinStartedAt: number; firstFrameAt: Record<string, number>; marks: Partial<Record<JoinStep, number>> };
	}
}

const root = document.querySelector<HTMLElement>('#app') as HTMLElement;
const params = new URLSearchParams(location.search);
/** Automatic rejoins: at most one per 30 s, so a room that cannot be reached does not reload the page in a loop. */
const rejoins = {
	/** Resolves true once the server answers /healthz (every 2 s, for at most 2 minutes). */
	async whenReachable(): Promise<boolean> {
		for (let attempt = 0; attempt < 60; attempt++) {
			const ok = await fetch('/healthz', { cache: 'no-store' }).then(
				(res) => res.ok,
				() => false,
			);
			if (ok) return true;
			await new Promise((resolve) => setTimeout(resolve, 2000));
		}
		return false;
	},
	allowed(): boolean {
		try {
			const last = Number(sessionStorage.getItem('rejoinedAt') ?? 0);
			if (Date.now() - last < 30_000) return false;
			sessionStorage.setItem('rejoinedAt', String(Date.now()));
			return true;
		} catch {
			return false;
		}
	},
};

/**
 * Joins and shows the call. Camera and microphone open only after the join,
 * and only if the role it gave sends (and again on a promotion to a
 * broadcast's stage): `localMedia` is how the call asks for them.
 */
async function startCall(
	roomId: string,
	displayName: string,
	role: Role | undefined,
	localMedia: () => Promise<LocalMedia>,
	earlyJoin?: EarlyJoin,
): Promise<Call> {
	// A direct link's join began in the first script (boot.ts), before this code loaded.
	window.__timing = { joinStartedAt: (earlyJoin && joinTimeline.script) ?? performance.now(), firstFrameAt: {}, marks: joinTimeline };
	const token = linkToken.take(params, roomId);
	const query = new URLSearchParams({ room: roomId, name: displayName, ...(role ? { role } : {}) });
	history.replaceState(null, '', `/?${query.toString()}`);
	const view = new CallView((how) => {
		call.close();
		view.close();
		if (how === 'rejoin') {
			// A fresh join builds every media path again (the same link: room, name, role, token).
			location.reload();
			return;
		}
		const rejoin = h('a', { href: location.href, class: 'button' }, 'Rejoin');
		const heading = how === 'ended' ? 'You ended the call for everyone.' : 'You left the call.';
		root.replaceChildren(h('section', { class: 'left', 'aria-live': 'polite' }, h('h1', {}, heading), rejoin));
	});
	root.replaceChildren(view.element);
	view.setStatus(`Joining ${roomId}…`);
	const call = new Call({
		signalingUrl: signalingUrl(),
		roomId,
		displayName,
		...(token ? { token } : {}),
		...(role ? { role } : {}),
		localMedia,
		onRemote: (event) => view.onRemote(event),
		...(earlyJoin ? { earlyJoin } : {}),
	});
	window.__call = call;
	call.on('localMedia', (stream) => view.setLocalMedia(stream));
	call.on('signalingState', (state) => {
		if (state === 'joined') view.setStatus(`In ${roomId}`);
		else if (state === 'closed') view.setStatus('Disconnected from the server. Reload to join again.');
	});
	// The session is over however it ended: the view stops its timers and listeners, and stays to say why.
	call.on('closed', () => view.close());
	/** The server said why it ended the session: that stays the status. */
	let explained = false;
	call.on('closed', (closeCode, reason, errorCode) => {
		if (closeCode === CloseCode.Unauthorized) linkToken.forget(roomId);
		if (closeCode !== undefined) {
			view.setStatus(explainClose(closeCode, reason ?? ''));
			explained = true;
		}
		// The server no longer knows this session (the node holding the room went away, or the resume grace ran out):
		// join again, once, as a fresh participant; the room is on a live node by then.
		if (errorCode === ErrorCode.ResumeFailed && rejoins.allowed()) {
			view.setStatus('The call moved to another server; joining again…');
			setTimeout(() => location.reload(), 500);
		} else if (errorCode === ErrorCode.Closed && closeCode === undefined && reconnecting) {
			// Reconnecting gave up (the grace ran out): join again as soon as the server answers.
			view.setStatus('Connection to the server lost; joining again when it answers…');
			void rejoins.whenReachable().then((reachable) => {
				if (reachable && rejoins.allowed()) location.reload();
				else view.setStatus('Disconnected from the server. Reload to join again.');
			});
		}
	});
	let reconnecting = false;
	call.on('signalingState', (state) => {
		if (state !== 'closed') reconnecting = state === 'reconnecting';
	});
	call.on('reconnecting', (attempt) => view.setStatus(`Connection to the server lost; reconnecting (attempt ${attempt})…`));
	window.addEventListener('pagehide', () => call.close());
	try {
		await call.join();
		view.attach(call);
		if (call.roomKind === 'broadcast') {
			view.setStatus(call.canPublish ? (call.localMediaError ? `On stage in ${roomId}, without camera and microphone: ${call.localMediaError}` : `On stage in ${roomId}`) : `Watching ${roomId}. Raise your hand to speak.`);
		} else if (!call.canPublish) {
			view.setStatus(`Watching ${roomId} as a viewer: your camera and microphone stay off.`);
		} else if (call.localMediaError) {
			view.setStatus(`In ${roomId}, without camera and microphone: ${call.localMediaError}`);
		} else {
			view.setStatus(`In ${roomId}`);
		}
	} catch (error) {
		if (error instanceof SignalingError && error.code.startsWith('TOKEN_')) linkToken.forget(roomId);
		if (!explained) view.setStatus(explainJoinError(error));
	}
	return call;
}

/**
 * Starts the app, with what the page's first script began (boot.ts): for a
 * direct link, the join already sent and the camera it opens.
 */
export function start(early: EarlyStart | undefined): void {
	markJoin('app');
	const room = params.get('room');
	const name = params.get('name');
	const missing = missingForCalls();
	/** The role asked for in the link (`&role=host`): a broadcast grants it without a token. */
	const askedRole = asRole(params.get('role'));
	const viewer = (linkToken.role(linkToken.take(params, room)) ?? askedRole) === 'viewer';
	if (missing) {
		// A clear answer instead of a blank page or a call that never connects.
		root.replaceChildren(
			h(
				'section',
				{ class: 'unsupported', role: 'alert', 'data-testid': 'unsupported' },
				h('h1', {}, 'This browser cannot join calls'),
				h('p', {}, `It has no ${missing}, which calls need. Open this link in a current Chrome, Edge, Firefox or Safari.`),
			),
		);
	} else if (room && name) {
		// The camera the first script opened is the call's first.
		const media = openedFirst(early?.media);
		void startCall(room, name, askedRole, media.open, early?.join).then(media.release);
	} else {
		void showLobby(root, { ...(room ? { roomId: room } : {}), media: !viewer }).then(async ({ roomId, displayName, stream }) => {
			// The lobby's preview is the first camera the call asks for.
			const media = openedFirst(Promise.resolve(stream ? { stream } : viewer ? undefined : { error: 'not available' }));
			await startCall(roomId, displayName, askedRole, media.open);
			await media.release();
		});
	}
}

import { REACTIONS, type RaisedHand, type Role } from '../../../core/protocol/index.js';
import { DeviceSwitchError, type Call, type ChatEntry, type ReactionCounts, type RemoteConnectionStats, type RemoteEvent } from '../call/Call.js';
import type { RepairRecord } from '../participant/RemoteParticipant.js';
import { h } from './dom.js';
import { MediaLostBanner } from './MediaLostBanner.js';
import { Inspector } from './Inspector.js';
import { inboundLoss, qualityOf, reportFor, sfuQualityOf, type InboundPackets } from './connectionQuality.js';
import { DeviceMenu } from './DeviceMenu.js';
import { SHORTCUT_KEYS, isTypingTarget, shortcutFor } from './shortcuts.js';
import { TileStage } from './TileStage.js';
import { markJoin } from '../util/joinTimeline.js';

/** The stats panel's repairs cell for one row: how many times its path was repaired, and the last step. */
function repairsOf(repairs: readonly RepairRecord[], row: RemoteConnectionStats): string {
	const mine = repairs.filter((r) => r.path === row.via && (r.path === 'sfu' || r.peerId === row.peerId));
	const steps = mine.filter((r) => r.action !== 'recovered' && r.action !== 'gave-up').length;
	const last = mine.at(-1);
	return last ? `${steps} (${last.action})` : '0';
}

function formatTime(at: number): string {
	return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function formatBitrate(bps: number): string {
	return bps >= 1e6 ? `${(bps / 1e6).toFixed(1)} Mb/s` : `${Math.round(bps / 1e3)} kb/s`;
}

/** Why a switch or a share did not happen, in words: a DeviceSwitchError's code, else the error's own message. */
const SWITCH_ERROR_TEXT: Record<DeviceSwitchError['code'], string> = {
	SUPERSEDED: 'the call changed while switching; try again',
	SHARING: 'stop sharing your screen first',
	NOT_SENDING: 'your camera and microphone are not being sent',
	CLOSED: 'the call has ended',
	NO_TRACK: 'the device gave no picture or sound',
};

function switchErrorText(error: unknown): string {
	return error instanceof DeviceSwitchError ? SWITCH_ERROR_TEXT[error.code] : (error as Error).message;
}

/** The screen share: none; starting (the picker is open, or the share waits its turn); sending, with what ends it; or stopping (back to the camera). */
type ScreenShare = { state: 'none' } | { state: 'starting' } | { state: 'sharing'; stop: () => void } | { state: 'stopping' };

/** How the page leaves the call: the user left, a host ended it, or the user rejoins (a fresh join). */
export type LeaveKind = 'left' | 'ended' | 'rejoin';

/**
 * The call screen: a grid of tiles (self first), the controls, the topology
 * badge with the participant count, chat and the stats panel. It owns only
 * DOM; the Call owns media and signaling.
 *
 * A broadcast shows a stage instead of the grid: the hosts' and speakers'
 * tiles, large; the audience size; reactions; for viewers a raise-hand
 * toggle (no camera controls); for hosts the raised hands with promote and
 * remove, demote and remove on each speaker's tile, and end-the-room.
 */
export class CallView {
	readonly element: HTMLElement;
	/** The stage: tiles placed by the layout (grid or speaker), pages, pin, the movable self view. */
	readonly #stage: TileStage;
	readonly #grid: HTMLElement;
	readonly #devices: DeviceMenu;
	readonly #selfTile: HTMLElement;
	readonly #localVideo: HTMLVideoElement;
	readonly #status: HTMLElement;
	readonly #lostBanner: MediaLostBanner;
	/** The topology inspector: its toggle in the bar, its panel in the side column. */
	readonly #inspector = new Inspector();
	readonly #badge: HTMLElement;
	readonly #count: HTMLElement;
	readonly #countLabel: HTMLElement;
	readonly #audience: HTMLElement;
	readonly #audienceCount: HTMLElement;
	readonly #chatLog: HTMLElement;
	readonly #statsBody: HTMLElement;
	readonly #mute: HTMLButtonElement;
	readonly #camera: HTMLButtonElement;
	readonly #share: HTMLButtonElement;
	readonly #raiseHand: HTMLButtonElement;
	readonly #endRoom: HTMLButtonElement;
	readonly #reactions: HTMLElement;
	readonly #reactionCounts: HTMLElement;
	readonly #hostPanel: HTMLElement;
	readonly #handQueue: HTMLElement;
	readonly #names = new Map<string, string>();
	readonly #roles = new Map<string, Role>();
	/** Reactions seen since joining, per emoji. */
	readonly #reactionTotals = new Map<string, number>();
	readonly #lastBytes = new Map<string, { bytes: number; at: number }>();
	/** Each remote's SFU consumers' packet counters at the last stats read, and the loss since the one before. */
	readonly #sfuPackets = new Map<string, InboundPackets & { loss: number | null }>();
	#call: Call | undefined;
	#localStream: MediaStream | undefined;
	#screenShare: ScreenShare = { state: 'none' };
	/** After close(): a late attach() starts no timer or listener. */
	#closed = false;
	#statsTimer: ReturnType<typeof setInterval> | undefined;
	/** The keyboard shortcuts' listener on the document, while attached. */
	#onKey: ((event: KeyboardEvent) => void) | undefined;

	constructor(onLeave: (how: LeaveKind) => void) {
		const localVideo = h('video', { autoplay: true, playsinline: true, 'data-testid': 'local-video', 'aria-label': 'Your video' });
		localVideo.muted = true;
		this.#localVideo = localVideo;
		this.#badge = h('span', { class: 'badge', 'data-testid': 'topology', title: 'How media travels' }, 'mesh');
		this.#count = h('span', { 'data-testid': 'participant-count' }, '1');
		this.#countLabel = h('span', {}, ' in call');
		this.#audienceCount = h('span', { 'data-testid': 'audience-count' }, '0');
		this.#audience = h('span', { class: 'count audience', hidden: true }, this.#audienceCount, ' watching');
		this.#status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
		this.#lostBanner = new MediaLostBanner(() => onLeave('rejoin'));
		this.#selfTile = h('figure', { class: 'tile self', role: 'listitem' }, localVideo, h('figcaption', {}, 'You'));
		this.#stage = new TileStage(this.#selfTile);
		this.#grid = this.#stage.element;
		this.#devices = new DeviceMenu(() => this.#localStream, (kind, deviceId) => this.#switchDevice(kind, deviceId));
		this.#chatLog = h('ol', { class: 'chat-log', 'aria-label': 'Chat messages', 'aria-live': 'polite' });
		const chatInput = h('input', { id: 'chat-input', 'data-testid': 'chat-input', autocomplete: 'off', maxlength: '2000', placeholder: 'Message everyone' });
		const chatForm = h('form', { class: 'chat-form' }, h('label', { for: 'chat-input', class: 'visually-hidden' }, 'Chat message'), chatInput, h('button', { type: 'submit' }, 'Send'));
		chatForm.addEventListener('submit', (event) => {
			event.preventDefault();
			const text = chatInput.value.trim();
			if (!text || !this.#call) return;
			// Shown at once, marked as sending until the server has it.
			chatInput.value = '';
			const item = this.#addChat({ from: '', displayName: '', text, sentAt: Date.now(), self: true }, 'sending');
			this.#call.sendChat(text).then(
				(entry) => this.#settleChat(item, entry, 'sent'),
				(error: unknown) => {
					this.#settleChat(item, undefined, 'failed');
					this.setStatus(`Message not sent: ${(error as Error).message}`);
				},
			);
		});
		this.#statsBody = h('tbody');
		const statsTable = h(
			'table',
			{ 'data-testid': 'stats-panel' },
			h('thead', {}, h('tr', {}, ...['Participant', 'Bitrate', 'FPS', 'Resolution', 'RTT', 'Loss', 'Repairs', 'Path'].map((t) => h('th', { scope: 'col' }, t)))),
			this.#statsBody,
		);

		const mute = h('button', { type: 'button', 'data-testid': 'mute', 'aria-pressed': 'false', disabled: true, title: 'Microphone (Ctrl/Cmd+D)', 'aria-keyshortcuts': SHORTCUT_KEYS['toggle-mute'] }, 'Mute');
		const camera = h('button', { type: 'button', 'data-testid': 'camera', 'aria-pressed': 'false', disabled: true, title: 'Camera (Ctrl/Cmd+E)', 'aria-keyshortcuts': SHORTCUT_KEYS['toggle-camera'] }, 'Camera off');
		const share = h('button', { type: 'button', 'data-testid': 'screenshare', 'aria-pressed': 'false', disabled: true }, 'Share screen');
		const leave = h('button', { type: 'button', 'data-testid': 'leave', class: 'danger' }, 'Leave');
		this.#mute = mute;
		this.#camera = camera;
		this.#share = share;
		this.#raiseHand = h('button', { type: 'button', 'data-testid': 'raise-hand', 'aria-pressed': 'false', hidden: true }, 'Raise hand');
		this.#raiseHand.addEventListener('click', () => void this.#toggleHand());
		this.#endRoom = h('button', { type: 'button', 'data-testid': 'end-room', class: 'danger', hidden: true }, 'End for everyone');
		this.#endRoom.addEventListener('click', () => {
			if (!this.#call) return;
			this.#endRoom.disabled = true;
			this.#call.endRoom().then(
				() => onLeave('ended'),
				(error: unknown) => {
					this.#endRoom.disabled = false;
					this.setStatus(`Could not end the call: ${(error as Error).message}`);
				},
			);
		});
		this.#reactionCounts = h('ul', { class: 'reaction-counts', 'data-testid': 'reaction-counts', 'aria-label': 'Reactions so far', 'aria-live': 'polite' });
		this.#reactions = h(
			'section',
			{ class: 'reactions', 'aria-label': 'Reactions', hidden: true },
			...REACTIONS.map((emoji) => {
				const button = h('button', { type: 'button', 'data-testid': 'reaction', 'data-emoji': emoji, 'aria-label': `React ${emoji}` }, emoji);
				button.addEventListener('click', () => {
					this.#call?.stage.react(emoji).catch((error: unknown) => this.setStatus(`Reaction not sent: ${(error as Error).message}`));
				});
				return button;
			}),
			this.#reactionCounts,
		);
		this.#handQueue = h('ol', { class: 'hand-queue', 'data-testid': 'hand-queue', 'aria-label': 'Raised hands' });
		this.#hostPanel = h(
			'section',
			{ class: 'host-panel', 'aria-label': 'Raised hands', hidden: true },
			h('h2', {}, 'Raised hands'),
			this.#handQueue,
		);
		mute.addEventListener('click', () => {
			const muted = mute.getAttribute('aria-pressed') !== 'true';
			mute.setAttribute('aria-pressed', String(muted));
			mute.textContent = muted ? 'Unmute' : 'Mute';
			void this.#call?.setMicrophoneEnabled(!muted);
		});
		camera.addEventListener('click', () => {
			const off = camera.getAttribute('aria-pressed') !== 'true';
			camera.setAttribute('aria-pressed', String(off));
			camera.textContent = off ? 'Camera on' : 'Camera off';
			void this.#call?.setCameraEnabled(!off);
		});
		share.addEventListener('click', () => void this.#toggleShare());
		leave.addEventListener('click', () => onLeave('left'));

		this.element = h(
			'section',
			{ class: 'call', 'aria-label': 'Call' },
			h('header', { class: 'bar' }, this.#badge, h('span', { class: 'count' }, this.#count, this.#countLabel), this.#audience, this.#status, this.#inspector.toggle),
			this.#lostBanner.element,
			this.#grid,
			h('nav', { class: 'controls', 'aria-label': 'Call controls' }, mute, camera, share, this.#devices.element, this.#stage.toolbar, this.#raiseHand, this.#reactions, this.#endRoom, leave),
			h(
				'aside',
				{ class: 'side' },
				this.#inspector.element,
				this.#hostPanel,
				h('section', { class: 'chat', 'aria-label': 'Chat' }, h('h2', {}, 'Chat'), this.#chatLog, chatForm),
				h('details', { class: 'stats' }, h('summary', {}, 'Connection stats'), statsTable),
			),
		);
	}

	/** The camera and microphone the call sends now (none: a viewer, or denied). */
	setLocalMedia(stream: MediaStream | undefined): void {
		this.#localStream = stream;
		this.#localVideo.srcObject = stream ?? null;
		this.#setPressed(this.#mute, false, 'Mute');
		this.#setPressed(this.#camera, false, 'Camera off');
		this.#mute.disabled = !stream?.getAudioTracks().length;
		this.#camera.disabled = !stream?.getVideoTracks().length;
		// The stream a share ran in is gone: so is the share (the call stopped the camera it put aside). One starting or stopping settles itself.
		this.#setShare(this.#screenShare.state === 'sharing' ? { state: 'none' } : this.#screenShare);
		this.#devices.enabled = !!stream;
	}

	/** Binds the view to a joined call. */
	attach(call: Call): void {
		if (this.#closed) return;
		this.#call = call;
		if (call.roomKind === 'broadcast') {
			this.element.classList.add('broadcast');
			this.#grid.dataset.testid = 'stage';
			this.#grid.setAttribute('aria-label', 'Stage');
			this.#countLabel.textContent = ' on stage';
			this.#audience.hidden = false;
			this.#reactions.hidden = false;
			call.on('audience', () => this.refresh());
			call.on('hands', (hands) => this.#showHands(hands));
			call.on('reactions', (counts) => this.#showReactions(counts));
			call.on('role', (role) => {
				this.setStatus(role === 'viewer' ? 'You are back in the audience.' : 'You are on stage.');
				this.#applyRole();
			});
			call.on('localMedia', (stream, error) => {
				if (!stream && error) this.setStatus(`You are on stage, without camera and microphone: ${error}`);
			});
			this.#showHands([...call.stage.hands]);
		}
		this.#applyRole();
		call.on('activeSpeaker', (peerId) => this.#stage.setActiveSpeaker(peerId));
		this.#onKey = (event) => this.#shortcut(event);
		document.addEventListener('keydown', this.#onKey);
		call.on('chat', (entry) => this.#addChat(entry));
		call.on('topology', () => this.refresh());
		call.on('mediaLost', (lost) => this.#lostBanner.show(lost));
		this.#inspector.attach(call);
		this.#statsTimer = setInterval(() => void this.#refreshStats(), 2000);
		this.refresh();
	}

	setStatus(text: string): void {
		this.#status.textContent = text;
	}

	refresh(): void {
		const call = this.#call;
		const topology = call?.topology ?? 'mesh';
		this.#badge.textContent = topology;
		this.#badge.dataset.topology = topology;
		// A broadcast counts its stage (self only when on it) and, apart, its audience.
		const count = call?.roomKind === 'broadcast' ? call.participantCount - (call.canPublish ? 0 : 1) : (call?.participantCount ?? 1);
		this.#count.textContent = String(count);
		this.#audienceCount.textContent = String(call?.stage.audienceCount ?? 0);
	}

	onRemote(event: RemoteEvent): void {
		if (event.type === 'added') {
			this.#names.set(event.peer.peerId, event.peer.displayName);
			this.#roles.set(event.peer.peerId, event.peer.role);
			const tile = this.#tile(event.peer.peerId);
			this.#setMuted(tile, event.peer.audioMuted, event.peer.videoMuted);
			this.#renderTileActions(tile, event.peer.peerId);
		} else if (event.type === 'media') {
			const video = this.#tile(event.peerId).querySelector('video') as HTMLVideoElement;
			this.#display(video, event.stream);
		} else if (event.type === 'mediaState') {
			this.#setMuted(this.#tile(event.peerId), event.audioMuted, event.videoMuted);
		} else {
			this.#stage.remove(event.peerId);
			this.#sfuPackets.delete(event.peerId);
			this.#names.delete(event.peerId);
			this.#roles.delete(event.peerId);
		}
		this.refresh();
	}

	/** What this peer's role offers: camera controls for a role that sends, the stage tools by broadcast role. */
	#applyRole(): void {
		const call = this.#call;
		if (!call) return;
		const broadcast = call.roomKind === 'broadcast';
		const sends = call.canPublish;
		// A role that may not send has nothing to mute or share; a broadcast's viewer does not see those controls at all.
		for (const button of [this.#mute, this.#camera, this.#share]) {
			if (!sends) button.disabled = true;
			button.hidden = broadcast && !sends;
		}
		this.#selfTile.hidden = broadcast && !sends;
		this.#stage.relayout();
		this.#raiseHand.hidden = !(broadcast && call.role === 'viewer');
		this.#setPressed(this.#raiseHand, call.stage.handRaised, call.stage.handRaised ? 'Lower hand' : 'Raise hand');
		this.#raiseHand.disabled = false;
		this.#endRoom.hidden = !(broadcast && call.canManage);
		this.#hostPanel.hidden = !(broadcast && call.canManage);
		for (const tile of this.#grid.querySelectorAll<HTMLElement>('[data-testid=remote-tile]')) this.#renderTileActions(tile, tile.dataset.peerId as string);
		this.refresh();
	}

	/** A host's buttons on a stage tile: demote (a speaker) and remove. */
	#renderTileActions(tile: HTMLElement, peerId: string): void {
		tile.querySelector('.tile-actions')?.remove();
		const call = this.#call;
		if (!call || call.roomKind !== 'broadcast' || !call.canManage) return;
		const name = this.#names.get(peerId) ?? 'this speaker';
		const actions = h('div', { class: 'tile-actions' });
		if (this.#roles.get(peerId) === 'participant') {
			actions.append(this.#actionButton('demote', peerId, 'To audience', `Send ${name} back to the audience`, () => call.stage.demote(peerId)));
		}
		actions.append(this.#actionButton('remove', peerId, 'Remove', `Remove ${name} from the call`, () => call.removePeer(peerId)));
		tile.append(actions);
	}

	/** A button for a host's action on one peer: disabled while the request is out, its failure said in the status line. */
	#actionButton(testid: string, peerId: string, label: string, ariaLabel: string, action: () => Promise<void>): HTMLButtonElement {
		const button = h('button', { type: 'button', 'data-testid': testid, 'data-peer-id': peerId, 'aria-label': ariaLabel }, label);
		button.addEventListener('click', () => {
			button.disabled = true;
			action().then(
				() => undefined,
				(error: unknown) => {
					button.disabled = false;
					this.setStatus(`${label} failed: ${(error as Error).message}`);
				},
			);
		});
		return button;
	}

	/** A host's queue of raised hands, oldest first, each with promote and remove. */
	#showHands(hands: RaisedHand[]): void {
		const call = this.#call;
		if (!call) return;
		this.#handQueue.replaceChildren(
			...hands.map((hand) =>
				h(
					'li',
					{ 'data-testid': 'hand', 'data-peer-id': hand.peerId },
					h('span', { class: 'name' }, hand.displayName),
					this.#actionButton('promote', hand.peerId, 'Bring on stage', `Bring ${hand.displayName} on stage`, () => call.stage.promote(hand.peerId)),
					this.#actionButton('remove', hand.peerId, 'Remove', `Remove ${hand.displayName} from the call`, () => call.removePeer(hand.peerId)),
				),
			),
		);
		if (hands.length === 0) this.#handQueue.append(h('li', { class: 'empty' }, 'No hands up.'));
	}

	/** Adds a batch of the room's reactions to the totals shown; the emojis of this batch pop. */
	#showReactions(counts: ReactionCounts): void {
		for (const { emoji, count } of counts) this.#reactionTotals.set(emoji, (this.#reactionTotals.get(emoji) ?? 0) + count);
		const fresh = new Set(counts.map((c) => c.emoji));
		this.#reactionCounts.replaceChildren(
			...REACTIONS.filter((emoji) => this.#reactionTotals.has(emoji)).map((emoji) => {
				const total = this.#reactionTotals.get(emoji) ?? 0;
				return h('li', { 'data-emoji': emoji, 'data-count': String(total), class: fresh.has(emoji) ? 'fresh' : undefined, 'aria-label': `${emoji} ${total}` }, `${emoji} ${total}`);
			}),
		);
	}

	async #toggleHand(): Promise<void> {
		const call = this.#call;
		if (!call) return;
		const raised = this.#raiseHand.getAttribute('aria-pressed') !== 'true';
		this.#raiseHand.disabled = true;
		try {
			await call.stage.raiseHand(raised);
			this.#setPressed(this.#raiseHand, raised, raised ? 'Lower hand' : 'Raise hand');
			this.setStatus(raised ? 'Your hand is up: a host may bring you on stage.' : 'Your hand is down.');
		} catch (error) {
			this.setStatus(`Could not ${raised ? 'raise' : 'lower'} your hand: ${(error as Error).message}`);
		} finally {
			this.#raiseHand.disabled = false;
		}
	}

	#setPressed(button: HTMLButtonElement, pressed: boolean, text: string): void {
		button.setAttribute('aria-pressed', String(pressed));
		button.textContent = text;
	}

	close(): void {
		this.#closed = true;
		clearInterval(this.#statsTimer);
		this.#inspector.close();
		this.#stage.close();
		if (this.#onKey) document.removeEventListener('keydown', this.#onKey);
		this.#onKey = undefined;
	}

	/** Ctrl/Cmd+D mutes, Ctrl/Cmd+E turns the camera off and on (shortcuts.ts); not while typing. */
	#shortcut(event: KeyboardEvent): void {
		const action = shortcutFor({ key: event.key, ctrlKey: event.ctrlKey, metaKey: event.metaKey, altKey: event.altKey, shiftKey: event.shiftKey, repeat: event.repeat, typing: isTypingTarget(event.target) });
		const button = action === 'toggle-mute' ? this.#mute : action === 'toggle-camera' ? this.#camera : undefined;
		if (!button || button.disabled || button.hidden) return;
		event.preventDefault();
		button.click();
	}

	/** A camera or microphone picked mid-call: switched on every path, the self view follows. */
	async #switchDevice(kind: 'audio' | 'video', deviceId: string): Promise<void> {
		const call = this.#call;
		if (!call) return;
		try {
			// While a screen is shared the call refuses a camera switch (DeviceSwitchError SHARING), said below.
			const track = await call.switchDevice(kind, deviceId);
			if (kind === 'video') this.#reloadSelfView();
			this.setStatus(`${kind === 'video' ? 'Camera' : 'Microphone'}: ${track.label || 'switched'}`);
		} catch (error) {
			this.setStatus(`Could not switch the ${kind === 'video' ? 'camera' : 'microphone'}: ${switchErrorText(error)}`);
		}
	}

	#tile(peerId: string): HTMLElement {
		const existing = this.#grid.querySelector<HTMLElement>(`[data-testid=remote-tile][data-peer-id="${CSS.escape(peerId)}"]`);
		if (existing) return existing;
		const name = this.#names.get(peerId) ?? 'Participant';
		const video = h('video', { autoplay: true, playsinline: true, 'aria-label': `${name}'s video` });
		const tip = h('span', { class: 'tooltip', role: 'tooltip', id: `quality-${peerId}` }, 'Not measured yet');
		// Focusable, so the reason shows on keyboard focus as on hover.
		const quality = h('span', { class: 'quality', 'data-testid': 'quality', 'data-level': 'unknown', tabindex: '0', role: 'img', 'aria-label': 'Connection: not measured yet', 'aria-describedby': tip.id }, tip);
		const tile = h(
			'figure',
			{ class: 'tile', role: 'listitem', 'data-testid': 'remote-tile', 'data-peer-id': peerId },
			video,
			quality,
			h('figcaption', {}, h('span', { class: 'name' }, name), h('span', { class: 'muted', 'data-testid': 'remote-muted', hidden: true }, 'muted')),
		);
		this.#stage.add(tile, peerId, name);
		// Through the SFU, the tile's size picks the simulcast layer it receives.
		new ResizeObserver(([entry]) => {
			if (entry) this.#call?.setRemoteVideoWidth(peerId, Math.round(entry.contentRect.width * devicePixelRatio));
		}).observe(video);
		return tile;
	}

	/**
	 * Puts `stream`'s tracks on the tile. The element keeps one MediaStream of
	 * its own and only its tracks change: a migration swaps the tracks in
	 * place, so the element is never reloaded (a new srcObject restarts it
	 * and shows nothing until it has loaded again).
	 */
	#display(video: HTMLVideoElement, stream: MediaStream): void {
		let shown = video.srcObject as MediaStream | null;
		if (!shown) {
			shown = new MediaStream();
			video.srcObject = shown;
			const peerId = (video.closest('[data-peer-id]') as HTMLElement).dataset.peerId as string;
			video.requestVideoFrameCallback(() => {
				if (window.__timing) window.__timing.firstFrameAt[peerId] ??= performance.now();
				markJoin('firstFrame');
			});
		}
		for (const kind of ['video', 'audio'] as const) {
			const next = kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks();
			const current = kind === 'video' ? shown.getVideoTracks() : shown.getAudioTracks();
			if (next.length === 0 || (current.length === next.length && current.every((t, i) => t === next[i]))) continue;
			for (const track of next) shown.addTrack(track);
			for (const track of current) shown.removeTrack(track);
		}
	}

	#setMuted(tile: HTMLElement, audioMuted: boolean, videoMuted: boolean): void {
		const badge = tile.querySelector<HTMLElement>('[data-testid=remote-muted]') as HTMLElement;
		badge.hidden = !audioMuted && !videoMuted;
		badge.textContent = [audioMuted ? 'mic off' : '', videoMuted ? 'camera off' : ''].filter(Boolean).join(', ');
		tile.dataset.audioMuted = String(audioMuted);
		tile.dataset.videoMuted = String(videoMuted);
	}

	/** Appends a message; the sender's own starts as `sending` and is settled by #settleChat. */
	#addChat(entry: ChatEntry, state: 'sending' | 'sent' = 'sent'): HTMLElement {
		const item = h(
			'li',
			{ 'data-testid': 'chat-message', 'data-state': state, class: entry.self ? 'self' : undefined },
			h('strong', {}, entry.self ? 'You' : entry.displayName),
			' ',
			h('time', {}, state === 'sending' ? 'sending…' : formatTime(entry.sentAt)),
			': ',
			entry.text,
		);
		this.#chatLog.append(item);
		this.#chatLog.scrollTop = this.#chatLog.scrollHeight;
		return item;
	}

	#settleChat(item: HTMLElement, entry: ChatEntry | undefined, state: 'sent' | 'failed'): void {
		item.dataset.state = state;
		const time = item.querySelector('time') as HTMLElement;
		time.textContent = entry ? formatTime(entry.sentAt) : 'not sent';
	}

	async #refreshStats(): Promise<void> {
		if (!this.#call) return;
		const stats: RemoteConnectionStats[] = await this.#call.connectionStats().catch(() => []);
		const quality = new Map(this.#call.lastQualityReport.map((q) => [q.remotePeerId, q]));
		// Off the SFU its counters mean nothing to a later SFU: a return there starts from fresh consumers.
		if (this.#call.mediaMode !== 'sfu') this.#sfuPackets.clear();
		for (const s of stats.filter((row) => row.via === 'sfu')) {
			const now = { lost: s.packetsLost, received: s.packetsReceived };
			this.#sfuPackets.set(s.peerId, { ...now, loss: inboundLoss(this.#sfuPackets.get(s.peerId), now) });
		}
		this.#showQuality();
		const now = performance.now();
		this.#statsBody.replaceChildren(
			...stats.map((s) => {
				const key = `${s.peerId}:${s.via}`;
				const last = this.#lastBytes.get(key);
				this.#lastBytes.set(key, { bytes: s.bytesReceived, at: now });
				const bitrate = last ? ((s.bytesReceived - last.bytes) * 8) / ((now - last.at) / 1000) : 0;
				const q = quality.get(s.peerId) ?? quality.get('sfu');
				return h(
					'tr',
					{ 'data-peer-id': s.peerId, 'data-via': s.via },
					h('th', { scope: 'row' }, this.#names.get(s.peerId) ?? s.peerId.slice(0, 8)),
					h('td', {}, formatBitrate(Math.max(0, bitrate))),
					h('td', {}, String(Math.round(s.framesPerSecond))),
					h('td', {}, s.frameWidth ? `${s.frameWidth}×${s.frameHeight}` : '–'),
					h('td', {}, typeof q?.rttMs === 'number' ? `${Math.round(q.rttMs as number)} ms` : '–'),
					h('td', {}, typeof q?.packetLoss === 'number' ? `${((q.packetLoss as number) * 100).toFixed(1)} %` : '–'),
					h('td', {}, repairsOf(this.#call?.repairs ?? [], s)),
					h('td', {}, s.path),
				);
			}),
		);
	}

	/**
	 * Each remote tile's connection level (good / fair / poor / unknown) and
	 * its reason: on the mesh its pair's last quality report; on the SFU this
	 * client's link to the SFU and that remote's own loss (its consumers).
	 */
	#showQuality(): void {
		const call = this.#call;
		if (!call) return;
		const sfuLink = call.lastQualityReport.find((q) => q.remotePeerId === 'sfu');
		for (const tile of this.#grid.querySelectorAll<HTMLElement>('[data-testid=remote-tile]')) {
			const badge = tile.querySelector<HTMLElement>('[data-testid=quality]');
			if (!badge) continue;
			const peerId = tile.dataset.peerId as string;
			const { level, reason } =
				call.mediaMode === 'sfu'
					? sfuQualityOf(sfuLink, this.#sfuPackets.get(peerId)?.loss ?? null, this.#names.get(peerId) ?? 'them')
					: qualityOf(reportFor(call.lastQualityReport, peerId, call.mediaMode));
			badge.dataset.level = level;
			badge.setAttribute('aria-label', `Connection ${level === 'unknown' ? 'not measured yet' : `${level}: ${reason}`}`);
			(badge.firstElementChild as HTMLElement).textContent = level === 'unknown' ? reason : `${level[0]?.toUpperCase()}${level.slice(1)}: ${reason}`;
		}
	}

	/** The local stream changed in place (a switch, a share): load it again so the self view shows what is sent. */
	#reloadSelfView(): void {
		if (!this.#localStream) return;
		this.#localVideo.srcObject = null;
		this.#localVideo.srcObject = this.#localStream;
	}

	/**
	 * Starts or stops sending a screen in place of the camera. The call puts
	 * the camera aside in turn with device switches (Call.shareScreen), so a
	 * camera picked just before is the one that comes back.
	 */
	async #toggleShare(): Promise<void> {
		const call = this.#call;
		if (!call || !this.#localStream) return;
		const share = this.#screenShare;
		if (share.state === 'sharing') share.stop();
		if (share.state !== 'none') return;
		this.#setShare({ state: 'starting' });
		let track: MediaStreamTrack | undefined;
		try {
			[track] = (await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false })).getVideoTracks();
			if (!track) throw new Error('the picker gave no screen');
			await call.shareScreen(track);
		} catch (error) {
			track?.stop();
			this.#setShare({ state: 'none' });
			this.setStatus(`Screen sharing unavailable: ${switchErrorText(error)}`);
			return;
		}
		const screen = track;
		const stop = () => {
			screen.onended = null;
			this.#setShare({ state: 'stopping' });
			call.stopSharing().then(
				() => {
					this.#setShare({ state: 'none' });
					this.#reloadSelfView();
				},
				(error: unknown) => {
					// The screen is still sent when the call kept the camera aside: Stop sharing can be tried again.
					if (call.sharing) screen.onended = stop;
					this.#setShare(call.sharing ? { state: 'sharing', stop } : { state: 'none' });
					this.setStatus(`Could not go back to the camera: ${switchErrorText(error)}`);
				},
			);
		};
		this.#setShare({ state: 'sharing', stop });
		screen.onended = stop;
		// The screen ended while the share waited its turn: its onended came before anyone listened.
		if (screen.readyState === 'ended') stop();
	}

	/** The share button and the camera list follow the share: disabled while it starts or stops, the camera not switchable meanwhile. */
	#setShare(share: ScreenShare): void {
		this.#screenShare = share;
		this.#setPressed(this.#share, share.state === 'sharing', share.state === 'sharing' ? 'Stop sharing' : 'Share screen');
		this.#share.disabled = share.state === 'starting' || share.state === 'stopping' || this.#camera.disabled;
		this.#devices.sharing = share.state !== 'none';
	}
}

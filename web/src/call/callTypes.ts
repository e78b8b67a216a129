import type { NotificationData, PeerInfo, RaisedHand, Role } from '../../../core/protocol/index.js';
import type { RepairRecord } from '../participant/RemoteParticipant.js';
import type { EarlyJoin } from '../signaling/EarlyJoin.js';
import type { SessionState } from '../signaling/SignalingSession.js';
import type { TopologyLabel } from '../topology/MediaPaths.js';

export type RemoteEvent =
	| { type: 'added'; peer: PeerInfo }
	| { type: 'media'; peerId: string; stream: MediaStream }
	| { type: 'mediaState'; peerId: string; audioMuted: boolean; videoMuted: boolean }
	| { type: 'removed'; peerId: string };

export interface ChatEntry {
	from: string;
	displayName: string;
	text: string;
	sentAt: number;
	self: boolean;
}

/** Camera and microphone as the page opened them, or why it could not. */
export interface LocalMedia {
	stream?: MediaStream;
	error?: string;
}

/** Reactions counted per emoji (one `reactions` batch). */
export type ReactionCounts = NotificationData<'reactions'>['counts'];

/** A media path that repairing gave up on: a mesh pair (with whom), or the path to the SFU. */
export type LostPath = { path: 'mesh'; peerId: string; displayName: string } | { path: 'sfu' };

export interface CallOptions {
	signalingUrl: string;
	roomId: string;
	displayName: string;
	/** Access token for rooms that require one. */
	token?: string;
	/** The role asked for without a token (a broadcast grants it; its default is viewer). */
	role?: Role;
	/**
	 * Opens camera and microphone. Called only once the role is known to
	 * publish: after the join response, and again on each promotion to the
	 * stage. The call owns what it returns and stops it when it no longer sends.
	 */
	localMedia: () => Promise<LocalMedia>;
	onRemote: (event: RemoteEvent) => void;
	/** The join the page's first script already sent (its room, name, token and role win over the fields above). */
	earlyJoin?: EarlyJoin;
}

export type CallEvents = {
	activeSpeaker: [peerId: string | null];
	chat: [entry: ChatEntry];
	topology: [label: TopologyLabel];
	data: [peerId: string, message: string];
	/** A broadcast's audience size changed. */
	audience: [count: number];
	/** A host of a broadcast: the raised hands, oldest first. */
	hands: [hands: RaisedHand[]];
	/** Reactions since the last batch, counted per emoji. */
	reactions: [counts: ReactionCounts];
	/** This peer's own role changed (brought on stage, or back to the audience), by that host. */
	role: [role: Role, by: string];
	/** This client's camera and microphone: opened (the stream, or the error why not), or released (both undefined). */
	localMedia: [stream: MediaStream | undefined, error: string | undefined];
	/** The signaling channel's state; media keeps flowing while it is `reconnecting`. */
	signalingState: [state: SessionState];
	/** Attempt numbers while the signaling channel reconnects. */
	reconnecting: [attempt: number];
	/** The session ended for good; `closeCode` (4xxx) and its reason when the server ended it. */
	closed: [closeCode: number | undefined, reason: string | undefined, errorCode: string | undefined];
	/** A media path was repaired, given up on, or came back. */
	repair: [record: RepairRecord];
	/** The media paths repairing gave up on, now (empty: none). */
	mediaLost: [lost: LostPath[]];
};

/**
 * The protocol's names and numbers, without a schema: what a page can use
 * before the app's code (and zod) has loaded (web/src/boot.ts sends the
 * join with them). index.ts exports it beside the schemas.
 */

/** Bumped on every incompatible change; checked at `join`. */
export const PROTOCOL_VERSION = 1;

/**
 * The meta tag in the call app's page that names the role a plain link to
 * its room (no role asked, no token) joins in, when the server knows it:
 * the page's first script opens the camera beside the join for a role that
 * sends (server/http/appPage.ts, web/src/boot.ts).
 */
export const PLAIN_LINK_ROLE_META = 'se-plain-link-role';

/** Largest frame either end accepts, in bytes. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

export const Method = {
	Join: 'join',
	Resume: 'resume',
	Leave: 'leave',
	Signal: 'signal',
	QualityReport: 'qualityReport',
	/** Text chat to everyone in the room. */
	Chat: 'chat',
	/** Tell the room this peer muted or unmuted. */
	MediaState: 'mediaState',
	SfuGetRouterRtpCapabilities: 'sfu.getRouterRtpCapabilities',
	SfuJoin: 'sfu.join',
	SfuCreateTransport: 'sfu.createTransport',
	SfuConnectTransport: 'sfu.connectTransport',
	/** Fresh ICE parameters for one of the caller's transports (after its ICE failed or the network changed). */
	SfuRestartIce: 'sfu.restartIce',
	/** Closes one of the caller's transports (and what is on it), freeing its direction for a new one. */
	SfuCloseTransport: 'sfu.closeTransport',
	SfuProduce: 'sfu.produce',
	SfuPauseProducer: 'sfu.pauseProducer',
	SfuResumeProducer: 'sfu.resumeProducer',
	SfuCloseProducer: 'sfu.closeProducer',
	SfuResumeConsumer: 'sfu.resumeConsumer',
	SfuSetConsumerPreferredLayers: 'sfu.setConsumerPreferredLayers',
	/** Every remote participant renders through the migration's new path. */
	TopologyReady: 'topology.ready',
	/** This client cannot build the migration's new path: the room rolls back. */
	TopologyFailed: 'topology.failed',
	/** A host removes another peer from the room (its socket closes with 4008). */
	RoomRemovePeer: 'room.removePeer',
	/** A host ends the room for everyone (every other socket closes with 4009). */
	RoomEnd: 'room.end',
	/** A viewer of a broadcast raises (or lowers) its hand to speak. */
	HandRaise: 'hand.raise',
	/** A host brings a viewer of a broadcast onto the stage (it may publish from now on). */
	StagePromote: 'stage.promote',
	/** A host sends a speaker back to the audience (its producers close). */
	StageDemote: 'stage.demote',
	/** An emoji reaction; the room sees them counted, once a second. */
	Reaction: 'reaction',
	/** The browser repaired (or gave up on) one of its media paths: counted by the server. */
	MediaRepair: 'media.repair',
	/** The room's topology and each participant's latest quality report: what the topology inspector draws. */
	RoomInspect: 'room.inspect',
} as const;
export type Method = (typeof Method)[keyof typeof Method];

export const Notification = {
	PeerJoined: 'peerJoined',
	PeerLeft: 'peerLeft',
	Signal: 'signal',
	ChatMessage: 'chatMessage',
	PeerMediaState: 'peerMediaState',
	/** A paused consumer for another peer's producer: consume it, then `sfu.resumeConsumer`. */
	SfuNewConsumer: 'sfu.newConsumer',
	SfuConsumerClosed: 'sfu.consumerClosed',
	/** The producer behind a consumer was paused (muted) or resumed. */
	SfuConsumerPaused: 'sfu.consumerPaused',
	SfuConsumerResumed: 'sfu.consumerResumed',
	/** The loudest peer of the room, or null in silence. */
	SfuActiveSpeaker: 'sfu.activeSpeaker',
	/** The room's SFU side was lost (worker died): drop transports and start over. */
	SfuRestart: 'sfu.restart',
	/** A migration starts: build the `target` path beside the current one and swap tiles as it renders. */
	TopologyPrepare: 'topology.prepare',
	/** The migration is done: close the old path. */
	TopologyCommit: 'topology.commit',
	/** The migration failed: the room stays on (or returns to) `topology`; drop the other path. */
	TopologyAbort: 'topology.abort',
	/** Fresh TURN credentials, sent before the current ones expire: use them for new ICE gathering. */
	IceServers: 'iceServers',
	/** This peer's own role changed (promoted to the stage, or back to the audience), with where its media goes now. */
	RoleChanged: 'roleChanged',
	/** A broadcast's audience size (rounded by `announcedAudience`); when it changes, at most once per `broadcast.updateIntervalMs`. */
	Audience: 'audience',
	/** To hosts of a broadcast: the raised hands, oldest first; at most once per `broadcast.updateIntervalMs`. */
	Hands: 'hands',
	/** Reactions since the last batch, counted per emoji; at most once per `broadcast.updateIntervalMs`. */
	Reactions: 'reactions',
} as const;
export type Notification = (typeof Notification)[keyof typeof Notification];

export function encodeRequest(id: number, method: string, data: unknown): string {
	return JSON.stringify({ id, method, data });
}

export function encodeOk(id: number, data: unknown): string {
	return JSON.stringify({ id, ok: true, data });
}

export function encodeError(id: number, code: string, reason: string): string {
	return JSON.stringify({ id, ok: false, errorCode: code, errorReason: reason });
}

export function encodeNotification(method: string, data: unknown): string {
	return JSON.stringify({ method, data });
}

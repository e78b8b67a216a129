/**
 * WebSocket close codes of the signaling channel. 1000-1015 are the
 * standard ones; 4000-4999 is the application range. The reason text of a
 * 4xxx close is the ErrorCode that caused it, when there is one, so a client
 * can say why without parsing prose.
 */
export const CloseCode = {
	/** Client: a leave. */
	Normal: 1000,
	/** Client: the page is going away (a leave). Server: shutting down. */
	GoingAway: 1001,
	/** A binary frame was sent. */
	Unsupported: 1003,
	/** Never sent in a close frame: the socket ended without one (a drop). Relays between nodes pass it on to mean a drop. */
	Abnormal: 1006,
	/** The rate limit was exceeded repeatedly. */
	PolicyViolation: 1008,
	/** A frame exceeded MAX_MESSAGE_BYTES. */
	TooBig: 1009,
	/** Several nodes: the node that holds this room went away (or Redis did): reconnect. */
	ServiceRestart: 1012,
	/** The client's protocol version differs from the server's. */
	ProtocolMismatch: 4001,
	/** The peer resumed on another connection. */
	Replaced: 4002,
	/** The access token is missing, invalid, expired or for another room. */
	Unauthorized: 4003,
	/** The room was deleted through the API. */
	RoomDeleted: 4004,
	/** The socket did not join (or resume) within `limits.joinTimeoutMs`. */
	JoinTimeout: 4005,
	/** The client stopped reading: more than `limits.maxQueuedBytes` waited to be sent to it. */
	SlowReader: 4006,
	/** The room's settings changed (claimed through the API) and this peer no longer qualifies; the reason names the ErrorCode. */
	NoLongerAdmitted: 4007,
	/** A host removed this peer from the room. */
	RemovedByHost: 4008,
	/** A host ended the room for everyone. */
	RoomEnded: 4009,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close codes after which resuming is pointless: the server ended the peer on purpose. */
export const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set<number>([
	CloseCode.ProtocolMismatch,
	CloseCode.Replaced,
	CloseCode.Unauthorized,
	CloseCode.RoomDeleted,
	CloseCode.NoLongerAdmitted,
	CloseCode.RemovedByHost,
	CloseCode.RoomEnded,
]);

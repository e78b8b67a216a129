/**
 * Machine-readable error codes. They travel on the wire as `errorCode` in an
 * error response, so both ends can branch on them; `errorReason` keeps the
 * human-readable message.
 */
export const ErrorCode = {
	/** The frame was not valid JSON, or not text. */
	BadJson: 'BAD_JSON',
	/** The frame was JSON but not a request, response or notification. */
	BadMessage: 'BAD_MESSAGE',
	/** The method is not part of the protocol. */
	UnknownMethod: 'UNKNOWN_METHOD',
	/** The method is known but its `data` does not match its schema. */
	InvalidData: 'INVALID_DATA',
	/** The client speaks another protocol version. */
	ProtocolMismatch: 'PROTOCOL_MISMATCH',
	/** A request that needs a joined peer arrived before `join`. */
	NotJoined: 'NOT_JOINED',
	/** `join` was sent twice on one connection. */
	AlreadyJoined: 'ALREADY_JOINED',
	/** The target peer is not in the sender's room. */
	PeerNotFound: 'PEER_NOT_FOUND',
	/** The room requires an access token and none was given. */
	TokenRequired: 'TOKEN_REQUIRED',
	/** The token's signature or shape is wrong (tampered, or not ours). */
	TokenInvalid: 'TOKEN_INVALID',
	/** The token has expired. */
	TokenExpired: 'TOKEN_EXPIRED',
	/** The token names another room. */
	TokenWrongRoom: 'TOKEN_WRONG_ROOM',
	/** The room has as many peers as its settings allow. */
	RoomFull: 'ROOM_FULL',
	/** The server holds as many rooms as it may (`limits.maxRooms`): no new room now. */
	TooManyRooms: 'TOO_MANY_ROOMS',
	/** The peer's role does not allow this request (a viewer publishing, say); see core/protocol/permissions.ts. */
	PermissionDenied: 'PERMISSION_DENIED',
	/** A per-peer cap was reached (one send and one receive transport, one producer per source). */
	LimitExceeded: 'LIMIT_EXCEEDED',
	/** The request belongs to the other room kind (a raised hand in a meeting). */
	WrongRoomKind: 'WRONG_ROOM_KIND',
	/** The target peer's role does not fit the request (promoting a speaker, demoting a viewer or a host). */
	WrongRole: 'WRONG_ROLE',
	/** Several nodes share rooms through Redis, and Redis is out of reach now: try again shortly. */
	ClusterUnavailable: 'CLUSTER_UNAVAILABLE',
	/** The resume token is unknown, used, or its grace period ran out. */
	ResumeFailed: 'RESUME_FAILED',
	/** Too many messages on this connection; slow down. */
	RateLimited: 'RATE_LIMITED',
	/** An SFU request in a room whose media does not go through the SFU. */
	WrongMediaMode: 'WRONG_MEDIA_MODE',
	/** The transport, producer or consumer named is not this peer's (or is gone). */
	SfuObjectNotFound: 'SFU_OBJECT_NOT_FOUND',
	/** mediasoup refused the request (bad parameters, unsupported codec...). */
	SfuRejected: 'SFU_REJECTED',
	/** A topology answer for a migration that is over (or not this room's current one). */
	StaleEpoch: 'STALE_EPOCH',
	/** The request did not get a response in time (client side). */
	Timeout: 'TIMEOUT',
	/** The connection closed while the request was pending (client side). */
	Closed: 'CLOSED',
	/** A bug or unexpected failure on the server. */
	Internal: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error that carries a protocol error code. */
export class SignalingError extends Error {
	readonly code: ErrorCode;

	constructor(code: ErrorCode, message: string) {
		super(message);
		this.name = 'SignalingError';
		this.code = code;
	}
}

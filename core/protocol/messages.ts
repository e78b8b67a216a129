import { z } from 'zod';
import { MAX_MESSAGE_BYTES, Method, Notification } from './wire.js';
import { ROLES, type Role } from './roles.js';

/**
 * The signaling protocol: one WebSocket per participant, three envelopes
 * (request, response, notification), every payload described by a schema
 * that both ends validate at runtime. See docs/protocol.md.
 */


// ---------------------------------------------------------------- shared parts

const id = z.string().min(1).max(64);
export const PeerIdSchema = id;
export const RoomIdSchema = z
	.string()
	.min(1)
	.max(64)
	.regex(/^[A-Za-z0-9_-]+$/, 'room id: letters, digits, "_" and "-" only');
export const DisplayNameSchema = z.string().trim().min(1).max(64);
export const RoleSchema = z.enum(ROLES) satisfies z.ZodType<Role>;

export const MediaStateSchema = z.object({
	audioMuted: z.boolean(),
	videoMuted: z.boolean(),
});
export type MediaState = z.infer<typeof MediaStateSchema>;

export const PeerInfoSchema = z.object({
	peerId: PeerIdSchema,
	displayName: DisplayNameSchema,
	role: RoleSchema,
	/** What the peer says of its microphone and camera (for tiles). */
	audioMuted: z.boolean(),
	videoMuted: z.boolean(),
});
export type PeerInfo = z.infer<typeof PeerInfoSchema>;

/** An SDP offer or answer, as RTCSessionDescriptionInit carries it. */
export const SessionDescriptionSchema = z.object({
	type: z.enum(['offer', 'answer']),
	sdp: z.string().max(MAX_MESSAGE_BYTES),
});

/** One trickled ICE candidate, as RTCIceCandidateInit carries it. */
export const IceCandidateSchema = z.object({
	candidate: z.string().max(1024),
	sdpMid: z.string().max(64).nullable().optional(),
	sdpMLineIndex: z.number().int().min(0).max(255).nullable().optional(),
	usernameFragment: z.string().max(256).nullable().optional(),
});

/** What one mesh peer relays to another through the server. */
export const MeshSignalSchema = z.discriminatedUnion('kind', [
	z.object({ kind: z.literal('description'), description: SessionDescriptionSchema }),
	z.object({ kind: z.literal('candidate'), candidate: IceCandidateSchema }),
	/** The answerer asks the offerer to negotiate again (it has new tracks). */
	z.object({ kind: z.literal('renegotiate') }),
	/** The answerer asks the offerer for a transceiver of this kind. */
	z.object({ kind: z.literal('transceiverRequest'), mediaKind: z.enum(['audio', 'video']) }),
]);
export type MeshSignal = z.infer<typeof MeshSignalSchema>;

/**
 * Which connection of a mesh pair a signal belongs to: 0 for the first, +1
 * each time the pair's offerer re-creates it (a repair). The answerer
 * follows a newer generation and drops signals of older ones. Absent: 0.
 */
export const MeshGenerationSchema = z.number().int().min(0).max(1_000_000).optional();

/** An ICE server as RTCIceServer describes it; TURN entries carry REST credentials. */
export const IceServerSchema = z.object({
	urls: z.array(z.string().min(1).max(512)).min(1).max(8),
	username: z.string().max(256).optional(),
	credential: z.string().max(256).optional(),
});
export type IceServer = z.infer<typeof IceServerSchema>;

/** How one connection is doing, measured by the sending browser every few seconds. */
export const ConnectionQualitySchema = z.object({
	/** The other end: a peer id (mesh) or "sfu". */
	remotePeerId: z.string().min(1).max(64),
	/** direct (host/srflx), relay (TURN), or sfu. */
	path: z.enum(['direct', 'relay', 'sfu']),
	/** What this client is sending on the connection, all streams together. */
	outboundBitrateBps: z.number().nonnegative(),
	/** The congestion controller's estimate of what could be sent; null before it has one. */
	availableOutgoingBitrateBps: z.number().nonnegative().nullable(),
	rttMs: z.number().nonnegative().nullable(),
	/** Fraction of inbound packets lost since the last report, 0..1; null before any arrive. */
	packetLoss: z.number().min(0).max(1).nullable(),
});
export type ConnectionQuality = z.infer<typeof ConnectionQualitySchema>;

export const QualityReportSchema = z.object({
	/** The measurement window in ms. */
	intervalMs: z.number().int().positive().max(60_000),
	connections: z.array(ConnectionQualitySchema).max(100),
});
export type QualityReport = z.infer<typeof QualityReportSchema>;

// ---------------------------------------------------------------- SFU (mediasoup)

/**
 * mediasoup's RTP and transport parameter objects. Checked here for shape
 * (objects with their required arrays); mediasoup validates them in depth
 * and its refusals come back as SFU_REJECTED.
 */
const obj = z.record(z.string(), z.unknown());
export const RtpCapabilitiesSchema = z.looseObject({ codecs: z.array(obj).max(64).optional(), headerExtensions: z.array(obj).max(64).optional() });
export const RtpParametersSchema = z.looseObject({ codecs: z.array(obj).min(1).max(16), encodings: z.array(obj).max(8).optional() });
export const DtlsParametersSchema = z.looseObject({ fingerprints: z.array(obj).min(1).max(8), role: z.string().optional() });
export const MediaKindSchema = z.enum(['audio', 'video']);
export const MediaSourceSchema = z.enum(['camera', 'microphone', 'screen']);
export type MediaSource = z.infer<typeof MediaSourceSchema>;
const sfuId = z.string().min(1).max(64);

// ---------------------------------------------------------------- topology

/** Where a room's media travels: peer to peer (mesh) or through the SFU. Also names a media path (`media.repair`). */
export const TopologySchema = z.enum(['mesh', 'sfu']);
export type Topology = z.infer<typeof TopologySchema>;
/** The room's topology, or the migration under way: the topology machine's top-level states (core/topology). */
export const TopologyStateSchema = z.enum(['mesh', 'escalating', 'sfu', 'deescalating']);
export type TopologyState = z.infer<typeof TopologyStateSchema>;
/** meeting: everyone publishes and sees everyone. broadcast: a stage publishes to a receive-only audience. */
export const RoomKindSchema = z.enum(['meeting', 'broadcast']);
export type RoomKind = z.infer<typeof RoomKindSchema>;
const epoch = z.number().int().nonnegative();

/** What started a migration (`topology.prepare`'s `reason`). */
export const MigrationReason = {
	/** Participants (in a broadcast: the stage) exceed meshMaxPeers. */
	Participants: 'participants',
	/** A broadcast has an audience: viewers receive only through the SFU. */
	Audience: 'audience',
	/** A peer's n-1 mesh streams do not fit its measured uplink (sustained). */
	Uplink: 'uplink',
	/** Inbound packet loss past maxPacketLoss (sustained). */
	Loss: 'loss',
	/** Round-trip time past maxRttMs (sustained). */
	Rtt: 'rtt',
	/** Back to the mesh: few enough participants, no pressure, for the cooldown. */
	ParticipantsLow: 'participants-low',
} as const;
export type MigrationReason = (typeof MigrationReason)[keyof typeof MigrationReason];
export const MigrationReasonSchema = z.enum(MigrationReason);

// ---------------------------------------------------------------- media repair

/**
 * How a browser repairs a media path whose ICE connection broke, as the
 * join and resume answers tell it (config `repair`).
 */
export const RepairPolicySchema = z.object({
	/** An ICE `disconnected` path is left this long to recover by itself before the browser repairs it. */
	disconnectedGraceMs: z.number().int().min(0).max(60_000),
	/** The browser keeps repairing one path this long, then gives up and tells the user. */
	giveUpMs: z.number().int().min(1000).max(600_000),
});
export type RepairPolicy = z.infer<typeof RepairPolicySchema>;

/**
 * One step of a media path's repair, as `media.repair` reports it:
 * ice-restart (new ICE credentials on the same connection), recreate (a new
 * peer connection or transport), rebuild (the whole path: every connection
 * or transport of it), recovered (the path carries media again), gave-up
 * (past `giveUpMs`; the user is told).
 */
export const RepairActionSchema = z.enum(['ice-restart', 'recreate', 'rebuild', 'recovered', 'gave-up']);
export type RepairAction = z.infer<typeof RepairActionSchema>;

// ---------------------------------------------------------------- broadcast

/** The reactions a room accepts. */
export const REACTIONS = ['👍', '❤️', '😂', '👏', '🎉', '😮'] as const;
export const ReactionSchema = z.enum(REACTIONS);
export type Reaction = z.infer<typeof ReactionSchema>;

export const RaisedHandSchema = z.object({
	peerId: PeerIdSchema,
	displayName: DisplayNameSchema,
	/** Server time (ms since the epoch) the hand went up. */
	raisedAt: z.number(),
});
export type RaisedHand = z.infer<typeof RaisedHandSchema>;

/**
 * The audience size as rooms announce it: exact below 100, then to two
 * significant digits (1,534 reads 1,500). A count announced to everyone
 * changes only every few joins of a large audience, so a viewer's join
 * costs the room O(1) messages however large the audience.
 */
export function announcedAudience(count: number): number {
	if (count < 100) return count;
	const step = 10 ** (Math.floor(Math.log10(count)) - 1);
	return Math.round(count / step) * step;
}

/** At most this many hands are up at once in one room (LIMIT_EXCEEDED past it). */
export const MAX_RAISED_HANDS = 200;

// ---------------------------------------------------------------- inspection

/** `room.inspect` lists at most this many participants (the others are counted in `truncated.participants`). */
export const MAX_INSPECTED_PARTICIPANTS = 50;
/** `room.inspect` lists at most this many connections in all (the others are counted in `truncated.connections`). */
export const MAX_INSPECTED_CONNECTIONS = 200;

/** One connection of a participant's latest quality report, as `room.inspect` gives it (numbers rounded). */
export const InspectedConnectionSchema = ConnectionQualitySchema.pick({
	remotePeerId: true,
	path: true,
	outboundBitrateBps: true,
	rttMs: true,
	packetLoss: true,
});
export type InspectedConnection = z.infer<typeof InspectedConnectionSchema>;

export const InspectedParticipantSchema = z.object({
	peerId: PeerIdSchema,
	displayName: DisplayNameSchema,
	role: RoleSchema,
	/** Its latest quality report (only connections to the room's stage or the SFU); null before the first. */
	quality: z
		.object({
			/** Server time (ms since the epoch) the report arrived. */
			receivedAt: z.number(),
			intervalMs: z.number().int().positive().max(60_000),
			connections: z.array(InspectedConnectionSchema).max(MAX_INSPECTED_CONNECTIONS),
		})
		.nullable(),
});
export type InspectedParticipant = z.infer<typeof InspectedParticipantSchema>;

/** The answer to `room.inspect`: bounded (about 40 KB at most), whatever the room's size. */
export const RoomInspectionSchema = z.object({
	roomKind: RoomKindSchema,
	topology: z.object({ state: TopologyStateSchema, epoch }),
	/** Server time of the answer: a report's age is `now - receivedAt`, on one clock. */
	now: z.number(),
	/** How often each participant reports. */
	qualityReportIntervalMs: z.number().int().positive(),
	/** The stage (everyone, in a meeting), oldest first; the asker included. */
	participants: z.array(InspectedParticipantSchema).max(MAX_INSPECTED_PARTICIPANTS),
	/** What the caps left out. */
	truncated: z.object({ participants: z.number().int().nonnegative(), connections: z.number().int().nonnegative() }),
});
export type RoomInspection = z.infer<typeof RoomInspectionSchema>;


/** Request payload and response payload per method. */
export const requestSchemas = {
	[Method.Join]: z.object({
		protocolVersion: z.number().int(),
		roomId: RoomIdSchema,
		displayName: DisplayNameSchema,
		/** Signed access token (JWT); required by rooms that ask for one. */
		token: z.string().min(1).max(4096).optional(),
		/**
		 * The role asked for without a token. An open broadcast room grants it
		 * (default: viewer); an open meeting grants participant or viewer
		 * (default: participant) and refuses host with PERMISSION_DENIED. With
		 * a token, the token's role applies and this is ignored.
		 */
		role: RoleSchema.optional(),
	}),
	[Method.Resume]: z.object({
		protocolVersion: z.number().int(),
		/** From the last join or resume response. */
		resumeToken: z.string().min(1).max(256),
	}),
	[Method.Leave]: z.object({}).strict(),
	[Method.Signal]: z.object({
		to: PeerIdSchema,
		signal: MeshSignalSchema,
		generation: MeshGenerationSchema,
	}),
	[Method.QualityReport]: QualityReportSchema,
	[Method.Chat]: z.object({ text: z.string().trim().min(1).max(2000) }),
	[Method.MediaState]: MediaStateSchema,
	[Method.SfuGetRouterRtpCapabilities]: z.object({}),
	[Method.SfuJoin]: z.object({ rtpCapabilities: RtpCapabilitiesSchema }),
	[Method.SfuCreateTransport]: z.object({ direction: z.enum(['send', 'recv']) }),
	[Method.SfuConnectTransport]: z.object({ transportId: sfuId, dtlsParameters: DtlsParametersSchema }),
	[Method.SfuRestartIce]: z.object({ transportId: sfuId }),
	[Method.SfuCloseTransport]: z.object({ transportId: sfuId }),
	[Method.SfuProduce]: z.object({
		transportId: sfuId,
		kind: MediaKindSchema,
		rtpParameters: RtpParametersSchema,
		source: MediaSourceSchema,
		/** Start paused (joining muted). */
		paused: z.boolean().optional(),
	}),
	[Method.SfuPauseProducer]: z.object({ producerId: sfuId }),
	[Method.SfuResumeProducer]: z.object({ producerId: sfuId }),
	[Method.SfuCloseProducer]: z.object({ producerId: sfuId }),
	[Method.SfuResumeConsumer]: z.object({ consumerId: sfuId }),
	[Method.SfuSetConsumerPreferredLayers]: z.object({
		consumerId: sfuId,
		spatialLayer: z.number().int().min(0).max(2),
		temporalLayer: z.number().int().min(0).max(2).optional(),
	}),
	[Method.TopologyReady]: z.object({ epoch }),
	[Method.TopologyFailed]: z.object({ epoch, reason: z.string().min(1).max(256) }),
	[Method.RoomRemovePeer]: z.object({ peerId: PeerIdSchema }),
	[Method.RoomEnd]: z.object({}).strict(),
	[Method.HandRaise]: z.object({ raised: z.boolean() }),
	[Method.StagePromote]: z.object({ peerId: PeerIdSchema }),
	[Method.StageDemote]: z.object({ peerId: PeerIdSchema }),
	[Method.Reaction]: z.object({ emoji: ReactionSchema }),
	[Method.MediaRepair]: z
		.object({
			/** The path repaired: a mesh pair's connection, or this peer's SFU transports. */
			path: TopologySchema,
			action: RepairActionSchema,
			/** A mesh path: the remote peer of the pair. */
			peerId: PeerIdSchema.optional(),
		})
		.refine((d) => d.path === 'mesh' || d.peerId === undefined, { message: 'only for a mesh path', path: ['peerId'] }),
	[Method.RoomInspect]: z.object({}).strict(),
} as const;

/** Where a peer's media goes: the room's topology (or a migration's target), and the room's state and epoch. */
const PlacementShape = {
	/** Where this peer's media goes: the room's topology, or the target of a migration in flight. */
	mediaMode: TopologySchema,
	/** The room's topology state and migration epoch; in `escalating`/`deescalating` send `topology.ready` for it once every remote renders. */
	topology: z.object({ state: TopologyStateSchema, epoch }),
};

const JoinedSchema = z.object({
	peerId: PeerIdSchema,
	roomId: RoomIdSchema,
	role: RoleSchema,
	displayName: DisplayNameSchema,
	/** Everyone else in the room. */
	peers: z.array(PeerInfoSchema),
	/** Presents this identity again after a dropped socket (`resume`); single use. */
	resumeToken: z.string().min(1).max(256),
	/** How long after a drop `resume` is still accepted. */
	resumeGraceMs: z.number().int().nonnegative(),
	/** STUN/TURN servers for peer connections, with fresh time-limited credentials (renewed by `iceServers` notifications). */
	iceServers: z.array(IceServerSchema),
	/** When the TURN credentials in `iceServers` stop working (ms since the epoch); null without TURN. */
	iceServersExpireAt: z.number().nullable(),
	/** `relay` forces every peer connection through TURN (hides addresses). */
	iceTransportPolicy: z.enum(['all', 'relay']),
	/** Send a `qualityReport` this often. */
	qualityReportIntervalMs: z.number().int().positive(),
	/** How to repair a broken media path (and report each step with `media.repair`). */
	repair: RepairPolicySchema,
	...PlacementShape,
	roomKind: RoomKindSchema,
	/**
	 * Viewers in the room (as `announcedAudience` rounds them). In a
	 * broadcast, `peers` lists only the stage (hosts and speakers): the
	 * audience is this count, kept current by `audience` notifications.
	 */
	audience: z.number().int().nonnegative(),
	/** A host of a broadcast: the raised hands now (then `hands` notifications); empty otherwise. */
	hands: z.array(RaisedHandSchema).max(MAX_RAISED_HANDS),
	/** This peer's own hand is up (a viewer of a broadcast that resumed). */
	handRaised: z.boolean(),
});

export const responseSchemas = {
	[Method.Join]: JoinedSchema,
	[Method.Resume]: JoinedSchema,
	[Method.Leave]: z.object({}),
	[Method.Signal]: z.object({}),
	[Method.QualityReport]: z.object({}),
	[Method.Chat]: z.object({ sentAt: z.number() }),
	[Method.MediaState]: z.object({}),
	[Method.SfuGetRouterRtpCapabilities]: z.object({ routerRtpCapabilities: RtpCapabilitiesSchema }),
	[Method.SfuJoin]: z.object({}),
	[Method.SfuCreateTransport]: z.object({
		transportId: sfuId,
		iceParameters: obj,
		iceCandidates: z.array(obj),
		dtlsParameters: DtlsParametersSchema,
	}),
	[Method.SfuConnectTransport]: z.object({}),
	[Method.SfuRestartIce]: z.object({ iceParameters: obj }),
	[Method.SfuCloseTransport]: z.object({}),
	[Method.SfuProduce]: z.object({ producerId: sfuId }),
	[Method.SfuPauseProducer]: z.object({}),
	[Method.SfuResumeProducer]: z.object({}),
	[Method.SfuCloseProducer]: z.object({}),
	[Method.SfuResumeConsumer]: z.object({}),
	[Method.SfuSetConsumerPreferredLayers]: z.object({}),
	[Method.TopologyReady]: z.object({}),
	[Method.TopologyFailed]: z.object({}),
	[Method.RoomRemovePeer]: z.object({}),
	[Method.RoomEnd]: z.object({}).strict(),
	[Method.HandRaise]: z.object({}),
	[Method.StagePromote]: z.object({}),
	[Method.StageDemote]: z.object({}),
	[Method.Reaction]: z.object({}),
	[Method.MediaRepair]: z.object({}),
	[Method.RoomInspect]: RoomInspectionSchema,
} as const;

export const notificationSchemas = {
	[Notification.PeerJoined]: PeerInfoSchema,
	[Notification.PeerLeft]: z.object({ peerId: PeerIdSchema }),
	[Notification.Signal]: z.object({
		from: PeerIdSchema,
		signal: MeshSignalSchema,
		generation: MeshGenerationSchema,
	}),
	[Notification.ChatMessage]: z.object({
		from: PeerIdSchema,
		displayName: DisplayNameSchema,
		text: z.string().min(1).max(2000),
		sentAt: z.number(),
	}),
	[Notification.PeerMediaState]: MediaStateSchema.extend({ peerId: PeerIdSchema }),
	[Notification.SfuNewConsumer]: z.object({
		consumerId: sfuId,
		producerId: sfuId,
		peerId: PeerIdSchema,
		kind: MediaKindSchema,
		source: MediaSourceSchema,
		rtpParameters: RtpParametersSchema,
		/** The producer is paused (the sender is muted). */
		producerPaused: z.boolean(),
	}),
	[Notification.SfuConsumerClosed]: z.object({ consumerId: sfuId }),
	[Notification.SfuConsumerPaused]: z.object({ consumerId: sfuId }),
	[Notification.SfuConsumerResumed]: z.object({ consumerId: sfuId }),
	[Notification.SfuActiveSpeaker]: z.object({ peerId: PeerIdSchema.nullable() }),
	[Notification.SfuRestart]: z.object({ reason: z.string().max(256) }),
	[Notification.TopologyPrepare]: z.object({
		epoch,
		target: TopologySchema,
		reason: MigrationReasonSchema,
		/** Server time (ms since the epoch) of the decision: migration durations are measured from it. */
		decidedAt: z.number(),
		/** The migration's deadline: this long after the notification the server commits (stragglers go on anyway) or, with nobody ready, rolls back. */
		timeoutMs: z.number().int().min(0).max(120_000),
	}),
	[Notification.TopologyCommit]: z.object({
		epoch,
		topology: TopologySchema,
		/** Peers that had not confirmed in time: they continue on the new path anyway. */
		stragglers: z.array(PeerIdSchema),
	}),
	[Notification.TopologyAbort]: z.object({ epoch, topology: TopologySchema, reason: z.string().max(256) }),
	[Notification.IceServers]: z.object({
		iceServers: z.array(IceServerSchema),
		/** When these credentials stop working (ms since the epoch); null when there are none. */
		expiresAt: z.number().nullable(),
	}),
	[Notification.RoleChanged]: z.object({
		role: RoleSchema,
		/** Who changed it (the host's peer id). */
		by: PeerIdSchema,
		...PlacementShape,
	}),
	[Notification.Audience]: z.object({ count: z.number().int().nonnegative() }),
	[Notification.Hands]: z.object({ hands: z.array(RaisedHandSchema).max(MAX_RAISED_HANDS) }),
	[Notification.Reactions]: z.object({
		counts: z.array(z.object({ emoji: ReactionSchema, count: z.number().int().positive() })).max(REACTIONS.length),
	}),
} as const;

export type RequestData<M extends Method> = z.infer<(typeof requestSchemas)[M]>;
export type ResponseData<M extends Method> = z.infer<(typeof responseSchemas)[M]>;
export type NotificationData<N extends Notification> = z.infer<(typeof notificationSchemas)[N]>;

// ---------------------------------------------------------------- envelopes

export const RequestEnvelopeSchema = z.object({
	id: z.number().int().nonnegative(),
	method: z.string().min(1).max(64),
	/** Absent reads as {}: a request without data is still a request, answered with its id. */
	data: z.unknown().optional(),
});

export const ResponseEnvelopeSchema = z.union([
	z.object({ id: z.number().int().nonnegative(), ok: z.literal(true), data: z.unknown() }),
	z.object({
		id: z.number().int().nonnegative(),
		ok: z.literal(false),
		errorCode: z.string(),
		errorReason: z.string(),
	}),
]);

export const NotificationEnvelopeSchema = z.object({
	method: z.string().min(1).max(64),
	data: z.unknown(),
});

export type RequestEnvelope = z.infer<typeof RequestEnvelopeSchema>;
export type ResponseEnvelope = z.infer<typeof ResponseEnvelopeSchema>;
export type NotificationEnvelope = z.infer<typeof NotificationEnvelopeSchema>;

export type TypedRequest = {
	[M in Method]: { id: number; method: M; data: RequestData<M> };
}[Method];

export type TypedNotification = {
	[N in Notification]: { method: N; data: NotificationData<N> };
}[Notification];

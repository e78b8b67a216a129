import { z } from 'zod';
import { PeerInfoSchema, QualityReportSchema, RoomIdSchema, RoomKindSchema, TopologyStateSchema } from './messages.js';

/**
 * The HTTP room API (`/api/rooms`): what an operator or an app backend sends
 * to create a room with its own settings ahead of the first join.
 */
const RoomSettingsShape = z.object({
	/** meeting (everyone publishes) or broadcast (a stage and a receive-only audience). */
	kind: RoomKindSchema,
	/** Most peers the room admits at once, audience included; further joins get ROOM_FULL. */
	maxPeers: z.number().int().min(1).max(100_000),
	/** Joins must carry a signed access token for this room. */
	requireToken: z.boolean(),
	/** Move to the SFU when participants (in a broadcast: the stage) exceed this; 0: the room is on the SFU from its first participant. A broadcast with an audience is on the SFU whatever this says. */
	meshMaxPeers: z.number().int().min(0).max(1000),
	/** Eligible to return to the mesh at or below this many participants. */
	meshMinPeers: z.number().int().min(0).max(1000),
	/** How long the room must stay eligible before returning to the mesh. */
	deescalateCooldownMs: z.number().int().min(0).max(3_600_000),
});

/** A room's settings: the server's defaults, overridden per room through the API. */
export const RoomSettingsSchema = RoomSettingsShape.refine((s) => s.meshMaxPeers === 0 || s.meshMinPeers <= s.meshMaxPeers, {
	message: 'must not exceed meshMaxPeers',
	path: ['meshMinPeers'],
});
export type RoomSettings = z.infer<typeof RoomSettingsSchema>;

export const CreateRoomRequestSchema = z
	.object({
		/** Omitted: the server picks one. */
		roomId: RoomIdSchema.optional(),
		settings: RoomSettingsShape.partial().strict().default({}),
	})
	.strict();
export type CreateRoomRequest = z.infer<typeof CreateRoomRequestSchema>;

export const RoomDescriptionSchema = z.object({
	roomId: RoomIdSchema,
	settings: RoomSettingsShape,
	/** Where the room's media travels now (the topology machine's state) and its migration epoch. */
	topology: z.object({ state: TopologyStateSchema, epoch: z.number().int().nonnegative() }),
	peers: z.number().int().nonnegative(),
	/** Viewers among `peers` (in a broadcast: the audience). */
	audience: z.number().int().nonnegative(),
	/** Created through the API: lives until deleted, even when empty. */
	persistent: z.boolean(),
});
export type RoomDescription = z.infer<typeof RoomDescriptionSchema>;

/** Error body of every non-2xx API answer. */
export const ApiErrorSchema = z.object({ error: z.string(), message: z.string() });

/** `GET /api/rooms/:id`: the room and who is in it, with each peer's latest quality report. */
/** A simulcast layer pair as mediasoup reports it (spatial 0 is the smallest). */
const ConsumerLayersSchema = z.object({ spatialLayer: z.number().int(), temporalLayer: z.number().int().optional() });

/**
 * One SFU consumer of a participant: `preferredLayers` is what the receiver
 * asked for (its tile's size), `currentLayers` what the SFU forwards now
 * (bandwidth may hold it lower); both null when not simulcast, or nothing is
 * forwarded yet.
 */
export const SfuConsumerSummarySchema = z.object({
	producerPeerId: z.string(),
	kind: z.enum(['audio', 'video']),
	preferredLayers: ConsumerLayersSchema.nullable(),
	currentLayers: ConsumerLayersSchema.nullable(),
});
export type SfuConsumerSummary = z.infer<typeof SfuConsumerSummarySchema>;

export const RoomDetailsSchema = RoomDescriptionSchema.extend({
	participants: z.array(
		PeerInfoSchema.extend({
			/** `disconnected` while within its resume grace. */
			state: z.enum(['connected', 'disconnected']),
			quality: z.object({ receivedAt: z.number(), report: QualityReportSchema }).nullable(),
			/** Its consumers on the SFU (empty in a mesh room): whose media, and which simulcast layers it asked for and gets. */
			consumers: z.array(SfuConsumerSummarySchema),
		}),
	),
	/** The room's routers on the SFU (empty for a mesh room): which worker process each lives on. */
	sfuRouters: z.array(z.object({ routerId: z.string(), workerPid: z.number().int() })),
});
export type RoomDetails = z.infer<typeof RoomDetailsSchema>;

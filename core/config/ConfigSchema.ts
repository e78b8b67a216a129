import { z } from 'zod';
import { RepairPolicySchema } from '../protocol/messages.js';

/**
 * The server's whole configuration, with its defaults. The server loads it
 * from these defaults, then an optional JSON file, then environment
 * overrides (server/config/loadConfig.ts), and refuses to start when any key
 * is invalid, naming the key.
 */

const port = z.number().int().min(0).max(65535);

export const MediasoupConfigSchema = z
	.object({
		/** Workers to start; 0 means one per CPU core. */
		numWorkers: z.number().int().min(0).max(256).default(0),
		/** UDP/TCP port range for WebRTC transports. */
		rtcMinPort: port.min(1).default(40000),
		rtcMaxPort: port.min(1).default(49999),
		/**
		 * The address the WebRTC transports listen on. `auto`: 127.0.0.1 plus
		 * every non-internal IPv4 address of the machine, each announced as
		 * itself, resolved at start (server/sfu/listenIps.ts): a browser on the
		 * same machine reaches the SFU over loopback or, Firefox (no loopback
		 * ICE candidates), over the machine's own address. An explicit address
		 * is used alone, with announcedIp.
		 */
		listenIp: z
			.string()
			.refine((v) => v === 'auto' || z.ipv4().safeParse(v).success || z.ipv6().safeParse(v).success, 'an IPv4 or IPv6 address, or "auto"')
			.default('auto'),
		/** Public IP announced in ICE candidates when listenIp is not reachable (NAT, 0.0.0.0). Needs an explicit listenIp. */
		announcedIp: z.string().min(1).optional(),
		logLevel: z.enum(['debug', 'warn', 'error', 'none']).default('warn'),
	})
	.refine((c) => c.rtcMinPort <= c.rtcMaxPort, {
		message: 'rtcMinPort must not exceed rtcMaxPort',
		path: ['rtcMinPort'],
	})
	.refine((c) => c.announcedIp === undefined || c.listenIp !== 'auto', {
		message: 'needs an explicit listenIp (MEDIASOUP_LISTEN_IP): with "auto" each address is announced as itself',
		path: ['announcedIp'],
	});

export const TurnConfigSchema = z
	.object({
		/** When false, clients get no TURN server and connect directly or not at all. */
		enabled: z.boolean().default(false),
		/** URLs handed to browsers, e.g. ["turn:turn.example.com:3478?transport=udp"]. */
		urls: z.array(z.string().regex(/^turns?:/, 'must start with turn: or turns:')).default([]),
		/** Shared with coturn (`static-auth-secret`); signs the REST credentials. */
		secret: z.string().min(16, 'at least 16 characters').optional(),
		realm: z.string().min(1).default('streaming-engine'),
		/** How long a credential stays valid; never past the session's access token. Renewed through signaling before it expires. */
		credentialTtlSeconds: z.number().int().min(10).max(86_400).default(3600),
		/** The same for peers who joined an open room without a token: short, since anyone may join. */
		openRoomCredentialTtlSeconds: z.number().int().min(10).max(86_400).default(600),
		/** coturn's own sockets. */
		listeningIp: z.string().min(1).default('0.0.0.0'),
		listeningPort: port.min(1).default(3478),
		relayIp: z.string().min(1).optional(),
		externalIp: z.string().min(1).optional(),
		minPort: port.min(1).default(49160),
		maxPort: port.min(1).default(49400),
		/** Tests on one machine only: lets coturn relay to 127.0.0.1. Never in production. */
		allowLoopbackPeers: z.boolean().default(false),
		/** `relay` makes browsers use only TURN candidates (privacy: no address leaves the relay). */
		iceTransportPolicy: z.enum(['all', 'relay']).default('all'),
	})
	.refine((c) => c.minPort <= c.maxPort, { message: 'minPort must not exceed maxPort', path: ['minPort'] })
	.refine((c) => !c.enabled || c.secret !== undefined, { message: 'required when turn.enabled', path: ['secret'] })
	.refine((c) => !c.enabled || c.urls.length > 0, { message: 'required when turn.enabled', path: ['urls'] })
	.refine((c) => c.enabled || c.iceTransportPolicy === 'all', {
		message: 'relay needs turn.enabled',
		path: ['iceTransportPolicy'],
	});

export const SignalingConfigSchema = z.object({
	/** The server pings every socket this often; one unanswered ping drops it at the next. */
	heartbeatIntervalMs: z.number().int().min(50).max(300_000).default(5000),
	/** How long a dropped peer keeps its identity for `resume`; others see no leave meanwhile. */
	resumeGraceMs: z.number().int().min(0).max(600_000).default(10_000),
	/** Notifications held for a dropped peer; past this the peer is removed. */
	outboxLimit: z.number().int().min(1).max(100_000).default(1000),
	/** How often each client reports connection quality (bitrate, RTT, loss, path). */
	qualityReportIntervalMs: z.number().int().min(250).max(60_000).default(2000),
	/** Per-connection token bucket: sustained rate and burst. */
	rateLimit: z
		.object({
			messagesPerSecond: z.number().positive().max(100_000).default(100),
			burst: z.number().int().min(1).max(100_000).default(200),
		})
		.default(() => ({ messagesPerSecond: 100, burst: 200 })),
});

/**
 * What one client, or all of them, can make the server hold. Each limit
 * answers with a typed error or close code (docs/security.md).
 */
export const LimitsConfigSchema = z
	.object({
		/** Signaling sockets open at once, in total; past it an upgrade is refused with 503. */
		maxConnections: z.number().int().min(1).max(1_000_000).default(10_000),
		/** Signaling sockets open at once from one source address; past it an upgrade is refused with 429. */
		maxConnectionsPerAddress: z.number().int().min(1).max(1_000_000).default(100),
		/** A socket that has not joined (or resumed) by then is closed with 4005. */
		joinTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
		/** Rooms at once; a join or POST that would make another gets TOO_MANY_ROOMS. */
		maxRooms: z.number().int().min(1).max(1_000_000).default(5000),
		/** Bytes waiting to be written to one socket; past it the client is not reading: its socket is cut and its peer removed. */
		maxQueuedBytes: z.number().int().min(16 * 1024).max(256 * 1024 * 1024).default(1024 * 1024),
		/** Bytes of notifications held for a dropped peer during its resume grace; past it the peer is removed. */
		resumeQueueBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(512 * 1024),
		/** The same, for all dropped peers together: past it, the peer whose notification does not fit is removed. */
		resumeQueueBytesTotal: z.number().int().min(1024).max(4 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
	})
	// A resume replays the whole held queue at once: it must fit the socket's own queue with room to spare.
	.refine((l) => l.resumeQueueBytes <= l.maxQueuedBytes / 2, { message: 'must be at most half of maxQueuedBytes', path: ['resumeQueueBytes'] });

/** What the HTTP side accepts. */
export const HttpConfigSchema = z.object({
	/**
	 * Origins allowed to open a signaling socket (e.g. "https://meet.example.com"); empty: any.
	 * Browsers always send Origin on a WebSocket upgrade; clients that send none (bots, tests) are let through.
	 */
	allowedOrigins: z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin: scheme://host[:port], no path')).max(100).default([]),
	/** Behind a reverse proxy: take the client's address from the last X-Forwarded-For entry (for per-address limits). */
	trustProxy: z.boolean().default(false),
});

/** Where /metrics is served. */
export const MetricsConfigSchema = z.object({
	/** A separate port for /metrics (then it is served only there, without the API key); unset: on the main port, behind auth.apiKey when set. */
	port: port.optional(),
	/** Interface of that separate port. */
	host: z.string().min(1).default('127.0.0.1'),
});

export const RoomsConfigSchema = z.object({
	/** Default cap for meetings (rooms created on demand, or through the API without their own maxPeers). */
	maxPeers: z.number().int().min(1).max(100_000).default(50),
	/** Default cap for broadcast rooms, audience included. */
	broadcastMaxPeers: z.number().int().min(1).max(100_000).default(5000),
});

/** Broadcast rooms: how their audience-sized signaling is paced and bounded. */
export const BroadcastConfigSchema = z.object({
	/** Audience counts, raised hands and reaction counts go out at most this often (batched). */
	updateIntervalMs: z.number().int().min(100).max(60_000).default(1000),
	/** Chat from a broadcast's viewers, for the whole room: sustained messages per second and burst (each goes to everyone). */
	viewerChatPerSecond: z.number().positive().max(10_000).default(5),
	viewerChatBurst: z.number().int().min(1).max(10_000).default(10),
	/** Chat from one viewer: sustained messages per second and burst. */
	chatPerViewerPerSecond: z.number().positive().max(1000).default(0.5),
	chatPerViewerBurst: z.number().int().min(1).max(1000).default(3),
	/** Reactions from one peer: sustained per second and burst (they reach the room as counts). */
	reactionsPerSecond: z.number().positive().max(1000).default(2),
	reactionsBurst: z.number().int().min(1).max(1000).default(5),
	/** The simulcast layer a viewer's consumers start on (0: the lowest, about 300 kbit/s); the tile asks for more. */
	viewerSpatialLayer: z.number().int().min(0).max(2).default(0),
});

/**
 * When a room moves its media from the mesh to the SFU and back (the
 * topology machine, core/topology). README, "Tuning escalation", says what
 * each key trades off. Rooms can override the first three through the room API.
 */
export const TopologyConfigSchema = z
	.object({
		/** Escalate to the SFU when participants exceed this; 0 puts every room on the SFU from its first participant. */
		meshMaxPeers: z.number().int().min(0).max(1000).default(4),
		/** Eligible to return to the mesh at or below this many participants. */
		meshMinPeers: z.number().int().min(0).max(1000).default(2),
		/**
		 * How long a room must stay eligible before it returns to the mesh (doubled after each failed return in a row,
		 * at most 16 times: core/topology returnHoldMs); also the hold-off after any migration.
		 */
		deescalateCooldownMs: z.number().int().min(0).max(3_600_000).default(10_000),
		/** How long clients get to prepare the new path; then the room commits (someone is ready) or rolls back. */
		migrationTimeoutMs: z.number().int().min(500).max(120_000).default(10_000),
		/** A peer's n-1 mesh streams, at the bitrate it sends each, times this, must fit its measured uplink. 0 turns the uplink trigger off. */
		uplinkHeadroom: z.number().min(0).max(10).default(1),
		/** Inbound packet loss (0..1) above which a peer counts as struggling; 1 turns the loss trigger off. */
		maxPacketLoss: z.number().min(0).max(1).default(0.1),
		/** Round-trip time above which a peer counts as struggling; 0 turns the RTT trigger off. */
		maxRttMs: z.number().int().min(0).max(60_000).default(1000),
		/** A quality trigger fires only after a peer's reports show it this long without a break. */
		qualityWindowMs: z.number().int().min(0).max(600_000).default(10_000),
	})
	.refine((t) => t.meshMaxPeers === 0 || t.meshMinPeers <= t.meshMaxPeers, {
		message: 'must not exceed meshMaxPeers (the room would return to the mesh at a size it leaves it)',
		path: ['meshMinPeers'],
	});

/**
 * How browsers repair a broken media path (a mesh pair's connection, or
 * their SFU transports); sent to each in its join and resume answer
 * (`repair`). The bounds are the protocol's (RepairPolicySchema).
 */
export const RepairConfigSchema = z.object({
	/** A path that is down (ICE `disconnected`, or nothing received for 2.5 s) is left this long to recover by itself before the browser repairs it. */
	disconnectedGraceMs: RepairPolicySchema.shape.disconnectedGraceMs.default(1000),
	/** The browser keeps repairing one path this long before it gives up and tells the user. */
	giveUpMs: RepairPolicySchema.shape.giveUpMs.default(20_000),
});

export const SfuConfigSchema = z.object({
	/** Peers placed on one router before the room takes another router (on another worker) and pipes between them. */
	maxPeersPerRouter: z.number().int().min(1).max(10_000).default(200),
	/** Bitrate the SFU assumes towards a browser before its estimate converges. */
	initialAvailableOutgoingBitrate: z.number().int().min(100_000).max(100_000_000).default(1_000_000),
	/** Loudest-speaker detection: AudioLevelObserver interval and threshold (dBov). */
	activeSpeakerIntervalMs: z.number().int().min(100).max(10_000).default(800),
	activeSpeakerThresholdDb: z.number().int().min(-127).max(0).default(-80),
	/** Key-frame requests reaching a video publisher are coalesced to at most one per this interval (mediasoup's keyFrameRequestDelay). */
	keyFrameRequestDelayMs: z.number().int().min(0).max(10_000).default(1000),
});

export const AuthConfigSchema = z
	.object({
		/** HS256 key for access tokens (at least 32 characters). */
		tokenSecret: z.string().min(32, 'at least 32 characters').optional(),
		/** Every room requires a token (otherwise only rooms created with requireToken). */
		requireTokens: z.boolean().default(false),
		/** Bearer key for the room API (and /metrics); unset means both are open (local use). */
		apiKey: z.string().min(16, 'at least 16 characters').optional(),
		/** Longest a token may live (exp - iat); a token without exp or iat is refused. */
		maxTokenAgeSeconds: z.number().int().min(60).max(20 * 86_400).default(86_400),
	})
	.refine((a) => !a.requireTokens || a.tokenSecret !== undefined, {
		message: 'required when auth.requireTokens',
		path: ['tokenSecret'],
	});

/**
 * Several nodes on Redis (server/cluster). Without `redisUrl` the server is
 * one node with no Redis, as before.
 */
export const ClusterConfigSchema = z.object({
	/** e.g. redis://127.0.0.1:6379; unset: a single node. */
	redisUrl: z.string().regex(/^rediss?:\/\/\S+$/, 'a redis:// or rediss:// URL').optional(),
	/** This node's id in the registry (letters, digits, "-"); unset: a random one at each start. */
	nodeId: z.string().regex(/^[A-Za-z0-9-]{1,32}$/, '1-32 letters, digits or "-"').optional(),
	/** The URL clients reach this node at, recorded in the registry for operators (e.g. wss://node-a.example.com). */
	advertiseUrl: z.string().min(1).max(512).optional(),
	/** How often a node renews its registry entry and the rooms it owns. */
	heartbeatIntervalMs: z.number().int().min(100).max(60_000).default(2000),
	/** A node (and its rooms) whose heartbeat is older than this is gone: its rooms may be claimed again. */
	nodeTtlMs: z.number().int().min(300).max(600_000).default(6000),
	/** Where this node's pipe transports (a broadcast's stage piped between nodes) listen; unset: mediasoup.listenIp, or 127.0.0.1 when that is `auto`. */
	pipeListenIp: z.string().min(1).optional(),
	/** The address other nodes reach those pipes at (a private network's address, not the public one behind NAT); unset: mediasoup.announcedIp, else the listen address. */
	pipeAnnouncedIp: z.string().min(1).optional(),
	/** Encrypt media between nodes (SRTP on the pipe transports). */
	pipeSrtp: z.boolean().default(false),
}).refine((c) => c.nodeTtlMs >= 2 * c.heartbeatIntervalMs, { message: 'must be at least twice heartbeatIntervalMs', path: ['nodeTtlMs'] });
export type ClusterConfig = z.infer<typeof ClusterConfigSchema>;

export const ServerConfigSchema = z.object({
	/** HTTP and WebSocket port; 0 picks a free one (tests). */
	port: port.default(8080),
	/** Interface the HTTP server binds. */
	host: z.string().min(1).default('0.0.0.0'),
	logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
	mediasoup: MediasoupConfigSchema.default(() => MediasoupConfigSchema.parse({})),
	turn: TurnConfigSchema.default(() => TurnConfigSchema.parse({})),
	signaling: SignalingConfigSchema.default(() => SignalingConfigSchema.parse({})),
	rooms: RoomsConfigSchema.default(() => RoomsConfigSchema.parse({})),
	broadcast: BroadcastConfigSchema.default(() => BroadcastConfigSchema.parse({})),
	topology: TopologyConfigSchema.default(() => TopologyConfigSchema.parse({})),
	sfu: SfuConfigSchema.default(() => SfuConfigSchema.parse({})),
	repair: RepairConfigSchema.default(() => RepairConfigSchema.parse({})),
	auth: AuthConfigSchema.default(() => AuthConfigSchema.parse({})),
	limits: LimitsConfigSchema.default(() => LimitsConfigSchema.parse({})),
	http: HttpConfigSchema.default(() => HttpConfigSchema.parse({})),
	metrics: MetricsConfigSchema.default(() => MetricsConfigSchema.parse({})),
	cluster: ClusterConfigSchema.default(() => ClusterConfigSchema.parse({})),
});

export type MediasoupConfig = z.infer<typeof MediasoupConfigSchema>;
export type TurnConfig = z.infer<typeof TurnConfigSchema>;
export type SignalingConfig = z.infer<typeof SignalingConfigSchema>;
export type AuthConfig = z.infer<typeof AuthConfigSchema>;
export type SfuConfig = z.infer<typeof SfuConfigSchema>;
export type RepairConfig = z.infer<typeof RepairConfigSchema>;
export type TopologyConfig = z.infer<typeof TopologyConfigSchema>;
export type LimitsConfig = z.infer<typeof LimitsConfigSchema>;
export type HttpConfig = z.infer<typeof HttpConfigSchema>;
export type MetricsConfig = z.infer<typeof MetricsConfigSchema>;
export type BroadcastConfig = z.infer<typeof BroadcastConfigSchema>;
export type ServerConfig = z.infer<typeof ServerConfigSchema>;

/** The embedded default configuration: what `npm start` runs with. */
export function defaultServerConfig(): ServerConfig {
	return ServerConfigSchema.parse({});
}

import { readFileSync } from 'node:fs';
import { ServerConfigSchema, type ServerConfig } from '../../core/config/index.js';

/** Thrown when the configuration is invalid; the message names the key. */
export class ConfigError extends Error {
	readonly code = 'INVALID_CONFIG';
	readonly key: string;

	constructor(key: string, message: string) {
		super(`invalid config "${key}": ${message}`);
		this.name = 'ConfigError';
		this.key = key;
	}
}

type Env = Record<string, string | undefined>;

/** Environment variable -> config key path and value kind. */
const envOverrides: ReadonlyArray<[env: string, path: string[], kind: 'int' | 'number' | 'string' | 'bool' | 'list']> = [
	['PORT', ['port'], 'int'],
	['HOST', ['host'], 'string'],
	['LOG_LEVEL', ['logLevel'], 'string'],
	['MEDIASOUP_NUM_WORKERS', ['mediasoup', 'numWorkers'], 'int'],
	['MEDIASOUP_LISTEN_IP', ['mediasoup', 'listenIp'], 'string'],
	['MEDIASOUP_ANNOUNCED_IP', ['mediasoup', 'announcedIp'], 'string'],
	['MEDIASOUP_MIN_PORT', ['mediasoup', 'rtcMinPort'], 'int'],
	['MEDIASOUP_MAX_PORT', ['mediasoup', 'rtcMaxPort'], 'int'],
	['MEDIASOUP_LOG_LEVEL', ['mediasoup', 'logLevel'], 'string'],
	['HEARTBEAT_INTERVAL_MS', ['signaling', 'heartbeatIntervalMs'], 'int'],
	['RESUME_GRACE_MS', ['signaling', 'resumeGraceMs'], 'int'],
	['RATE_LIMIT_PER_SECOND', ['signaling', 'rateLimit', 'messagesPerSecond'], 'int'],
	['RATE_LIMIT_BURST', ['signaling', 'rateLimit', 'burst'], 'int'],
	['ROOM_MAX_PEERS', ['rooms', 'maxPeers'], 'int'],
	['ROOM_BROADCAST_MAX_PEERS', ['rooms', 'broadcastMaxPeers'], 'int'],
	['BROADCAST_UPDATE_INTERVAL_MS', ['broadcast', 'updateIntervalMs'], 'int'],
	['BROADCAST_VIEWER_SPATIAL_LAYER', ['broadcast', 'viewerSpatialLayer'], 'int'],
	['SFU_KEY_FRAME_REQUEST_DELAY_MS', ['sfu', 'keyFrameRequestDelayMs'], 'int'],
	['MESH_MAX_PEERS', ['topology', 'meshMaxPeers'], 'int'],
	['MESH_MIN_PEERS', ['topology', 'meshMinPeers'], 'int'],
	['DEESCALATE_COOLDOWN_MS', ['topology', 'deescalateCooldownMs'], 'int'],
	['MIGRATION_TIMEOUT_MS', ['topology', 'migrationTimeoutMs'], 'int'],
	['ESCALATE_UPLINK_HEADROOM', ['topology', 'uplinkHeadroom'], 'number'],
	['ESCALATE_MAX_PACKET_LOSS', ['topology', 'maxPacketLoss'], 'number'],
	['ESCALATE_MAX_RTT_MS', ['topology', 'maxRttMs'], 'int'],
	['ESCALATE_QUALITY_WINDOW_MS', ['topology', 'qualityWindowMs'], 'int'],
	['SFU_MAX_PEERS_PER_ROUTER', ['sfu', 'maxPeersPerRouter'], 'int'],
	['REPAIR_DISCONNECTED_GRACE_MS', ['repair', 'disconnectedGraceMs'], 'int'],
	['REPAIR_GIVE_UP_MS', ['repair', 'giveUpMs'], 'int'],
	['AUTH_TOKEN_SECRET', ['auth', 'tokenSecret'], 'string'],
	['AUTH_REQUIRE_TOKENS', ['auth', 'requireTokens'], 'bool'],
	['API_KEY', ['auth', 'apiKey'], 'string'],
	['TURN_ENABLED', ['turn', 'enabled'], 'bool'],
	['TURN_URLS', ['turn', 'urls'], 'list'],
	['TURN_SECRET', ['turn', 'secret'], 'string'],
	['TURN_REALM', ['turn', 'realm'], 'string'],
	['TURN_LISTENING_IP', ['turn', 'listeningIp'], 'string'],
	['TURN_LISTENING_PORT', ['turn', 'listeningPort'], 'int'],
	['TURN_RELAY_IP', ['turn', 'relayIp'], 'string'],
	['TURN_EXTERNAL_IP', ['turn', 'externalIp'], 'string'],
	['TURN_MIN_PORT', ['turn', 'minPort'], 'int'],
	['TURN_MAX_PORT', ['turn', 'maxPort'], 'int'],
	['TURN_CREDENTIAL_TTL_SECONDS', ['turn', 'credentialTtlSeconds'], 'int'],
	['ICE_TRANSPORT_POLICY', ['turn', 'iceTransportPolicy'], 'string'],
	['QUALITY_REPORT_INTERVAL_MS', ['signaling', 'qualityReportIntervalMs'], 'int'],
	['TURN_OPEN_ROOM_CREDENTIAL_TTL_SECONDS', ['turn', 'openRoomCredentialTtlSeconds'], 'int'],
	['AUTH_MAX_TOKEN_AGE_SECONDS', ['auth', 'maxTokenAgeSeconds'], 'int'],
	['MAX_CONNECTIONS', ['limits', 'maxConnections'], 'int'],
	['MAX_CONNECTIONS_PER_ADDRESS', ['limits', 'maxConnectionsPerAddress'], 'int'],
	['JOIN_TIMEOUT_MS', ['limits', 'joinTimeoutMs'], 'int'],
	['MAX_ROOMS', ['limits', 'maxRooms'], 'int'],
	['MAX_QUEUED_BYTES', ['limits', 'maxQueuedBytes'], 'int'],
	['RESUME_QUEUE_BYTES', ['limits', 'resumeQueueBytes'], 'int'],
	['RESUME_QUEUE_BYTES_TOTAL', ['limits', 'resumeQueueBytesTotal'], 'int'],
	['ALLOWED_ORIGINS', ['http', 'allowedOrigins'], 'list'],
	['TRUST_PROXY', ['http', 'trustProxy'], 'bool'],
	['METRICS_PORT', ['metrics', 'port'], 'int'],
	['METRICS_HOST', ['metrics', 'host'], 'string'],
	['REDIS_URL', ['cluster', 'redisUrl'], 'string'],
	['NODE_ID', ['cluster', 'nodeId'], 'string'],
	['ADVERTISE_URL', ['cluster', 'advertiseUrl'], 'string'],
	['CLUSTER_HEARTBEAT_INTERVAL_MS', ['cluster', 'heartbeatIntervalMs'], 'int'],
	['CLUSTER_NODE_TTL_MS', ['cluster', 'nodeTtlMs'], 'int'],
	['PIPE_LISTEN_IP', ['cluster', 'pipeListenIp'], 'string'],
	['PIPE_ANNOUNCED_IP', ['cluster', 'pipeAnnouncedIp'], 'string'],
	['PIPE_SRTP', ['cluster', 'pipeSrtp'], 'bool'],
];

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
	let node = target;
	for (const key of path.slice(0, -1)) {
		const next = node[key];
		if (typeof next !== 'object' || next === null || Array.isArray(next)) {
			node[key] = {};
		}
		node = node[key] as Record<string, unknown>;
	}
	node[path[path.length - 1] as string] = value;
}

/**
 * Loads the configuration: embedded defaults, then the JSON file named by
 * CONFIG_FILE (if any), then environment overrides. Throws ConfigError
 * naming the first invalid key.
 */
export function loadConfig(env: Env = process.env): ServerConfig {
	let raw: Record<string, unknown> = {};
	const file = env.CONFIG_FILE;
	if (file) {
		let text: string;
		try {
			text = readFileSync(file, 'utf8');
		} catch (error) {
			throw new ConfigError('CONFIG_FILE', `cannot read ${file}: ${(error as Error).message}`);
		}
		try {
			const parsed: unknown = JSON.parse(text);
			if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
				throw new Error('top level must be an object');
			}
			raw = parsed as Record<string, unknown>;
		} catch (error) {
			throw new ConfigError('CONFIG_FILE', `${file} is not a JSON object: ${(error as Error).message}`);
		}
	}
	/** Dotted key -> the env variable that set it, to name both in an error. */
	const setByEnv = new Map<string, string>();
	for (const [name, path, kind] of envOverrides) {
		const value = env[name];
		if (value === undefined || value === '') continue;
		setByEnv.set(path.join('.'), name);
		if (kind === 'int') {
			if (!/^-?\d+$/.test(value.trim())) {
				throw new ConfigError(name, `expected an integer, got "${value}"`);
			}
			setPath(raw, path, Number(value));
		} else if (kind === 'number') {
			if (!/^-?(\d+\.?\d*|\.\d+)$/.test(value.trim())) {
				throw new ConfigError(name, `expected a number, got "${value}"`);
			}
			setPath(raw, path, Number(value));
		} else if (kind === 'bool') {
			if (!/^(true|false|1|0)$/.test(value.trim())) {
				throw new ConfigError(name, `expected true or false, got "${value}"`);
			}
			setPath(raw, path, /^(true|1)$/.test(value.trim()));
		} else if (kind === 'list') {
			setPath(
				raw,
				path,
				value
					.split(',')
					.map((v) => v.trim())
					.filter(Boolean),
			);
		} else {
			setPath(raw, path, value);
		}
	}
	const result = ServerConfigSchema.safeParse(raw);
	if (!result.success) {
		const issue = result.error.issues[0];
		const key = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
		const env = setByEnv.get(key);
		throw new ConfigError(key, `${issue?.message ?? 'invalid'}${env ? ` (set by ${env})` : ''}`);
	}
	return result.data;
}

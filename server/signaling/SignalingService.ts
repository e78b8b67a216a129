import { randomUUID } from 'node:crypto';
import type { BroadcastConfig, LimitsConfig, RepairConfig, SignalingConfig } from '../../core/config/index.js';
import {
	CloseCode,
	ErrorCode,
	Notification,
	PROTOCOL_VERSION,
	SignalingError,
	announcedAudience,
	encodeNotification,
	type NotificationData,
	type Reaction,
	type RequestData,
	type ResponseData,
	type Role,
	type RoomSettings,
	type TypedRequest,
} from '../../core/protocol/index.js';
import type { AudienceBatch } from './Audience.js';
import type { AccessTokens } from '../auth/AccessTokens.js';
import type { SfuRoom } from '../sfu/SfuRoom.js';
import type { SfuRooms } from '../sfu/SfuRooms.js';
import type { IssuedIceServers, TurnCredentials } from '../turn/TurnCredentials.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/Metrics.js';
import { HeldBytes } from './HeldBytes.js';
import { Peer, type OutboxLimits, type PeerChannel } from './Peer.js';
import { InspectionCache, inspectRoom } from './RoomInspection.js';
import type { Room } from './Room.js';
import type { RoomRegistry } from './RoomRegistry.js';

type Joined = ResponseData<'join'>;

/** How long one room.inspect answer serves every asker in its room (the inspector polls every 2 s). */
const INSPECTION_MAX_AGE_MS = 1000;

/**
 * What peers can do to rooms: join, resume, leave, drop, signal. Every
 * membership change runs through its room's queue, so concurrent joins and
 * leaves of one room never interleave; different rooms run independently.
 */
export class SignalingService {
	readonly #registry: RoomRegistry;
	readonly #tokens: AccessTokens;
	readonly #sfu: SfuRooms;
	readonly #turn: TurnCredentials;
	readonly #iceTransportPolicy: 'all' | 'relay';
	readonly #config: SignalingConfig;
	readonly #broadcastConfig: BroadcastConfig;
	readonly #repair: RepairConfig;
	readonly #metrics: Metrics;
	readonly #outboxLimits: OutboxLimits;
	readonly #requireTokens: boolean;
	readonly #logger: Logger;
	readonly #nodeId: string | undefined;
	readonly #inspections = new InspectionCache<Room>(INSPECTION_MAX_AGE_MS);

	constructor(options: {
		registry: RoomRegistry;
		tokens: AccessTokens;
		sfu: SfuRooms;
		turn: TurnCredentials;
		iceTransportPolicy: 'all' | 'relay';
		config: SignalingConfig;
		broadcast: BroadcastConfig;
		/** How browsers repair media paths: sent in join and resume answers. */
		repair: RepairConfig;
		limits: LimitsConfig;
		requireTokens: boolean;
		metrics: Metrics;
		logger: Logger;
		/** This node's id when several share rooms (resume tokens name it). */
		nodeId?: string;
	}) {
		this.#nodeId = options.nodeId;
		this.#registry = options.registry;
		this.#tokens = options.tokens;
		this.#sfu = options.sfu;
		this.#turn = options.turn;
		this.#iceTransportPolicy = options.iceTransportPolicy;
		this.#config = options.config;
		this.#broadcastConfig = options.broadcast;
		this.#repair = options.repair;
		this.#metrics = options.metrics;
		this.#outboxLimits = {
			count: options.config.outboxLimit,
			bytes: options.limits.resumeQueueBytes,
			total: new HeldBytes(options.limits.resumeQueueBytesTotal),
		};
		this.#requireTokens = options.requireTokens;
		this.#logger = options.logger;
	}

	async join(channel: PeerChannel, data: RequestData<'join'>): Promise<{ peer: Peer; response: Joined }> {
		checkVersion(data.protocolVersion);
		const existing = this.#registry.get(data.roomId);
		const needsToken = this.#requireTokens || (existing?.settings.requireToken ?? false);
		if (needsToken && data.token === undefined) {
			throw new SignalingError(ErrorCode.TokenRequired, `room "${data.roomId}" requires an access token`);
		}
		// A token offered to an open room is still checked: a bad one is never ignored.
		const grant = data.token === undefined ? undefined : await this.#tokens.verify(data.token, data.roomId);

		const room = this.#registry.acquire(data.roomId);
		try {
			return await room.queue.push(async () => {
				if (!channel.open) throw new SignalingError(ErrorCode.Closed, 'the connection closed before the join');
				if (room.closed) throw new SignalingError(ErrorCode.PeerNotFound, `room "${room.id}" was deleted`);
				if (room.settings.requireToken && !grant) {
					throw new SignalingError(ErrorCode.TokenRequired, `room "${room.id}" requires an access token`);
				}
				if (room.size >= room.settings.maxPeers) {
					throw new SignalingError(ErrorCode.RoomFull, `room "${room.id}" is full (${room.settings.maxPeers} peers)`);
				}
				const id = randomUUID();
				const peer = new Peer({
					id,
					identity: grant?.identity ?? id,
					displayName: grant?.displayName ?? data.displayName,
					role: roleFor(room.kind, grant?.role, data.role),
					roomId: room.id,
					channel,
					...(grant ? { tokenExpiresAt: grant.expiresAt } : {}),
					...(this.#nodeId ? { nodeId: this.#nodeId } : {}),
				});
				const peers = room.peerInfos();
				// The topology is decided before the answer: a join that tips the room
				// over starts the migration (the others get topology.prepare first), and
				// the newcomer goes straight to the target instead of migrating twice.
				// A broadcast's viewer only counts: any audience puts the room on the SFU.
				const onStage = room.onStage(peer);
				const placement = onStage ? room.topology.peerJoined(peer.id) : room.topology.audienceChanged(room.audienceSize + 1);
				peer.via = channel.via;
				room.addPeer(peer);
				this.#registry.indexResumeToken(peer);
				// The session lasts as long as its token.
				peer.expireWithToken(() => this.end(peer, 'access token expired', { code: CloseCode.Unauthorized, reason: ErrorCode.TokenExpired }));
				// Others hear of a stage member at once; of a viewer only in the next audience count.
				if (onStage) this.broadcast(room, Notification.PeerJoined, peer.info, peer.id);
				if (peer.role === 'viewer') room.audience.changed();
				this.#logger.info({ roomId: room.id, peerId: peer.id, role: peer.role, mediaMode: placement.mediaMode }, 'peer joined');
				return { peer, response: this.#describe(room, peer, peers, placement) };
			}, 'join');
		} finally {
			this.#registry.release(room);
		}
	}

	async resume(
		channel: PeerChannel,
		data: RequestData<'resume'>,
	): Promise<{ peer: Peer; response: Joined; replay: string[] }> {
		checkVersion(data.protocolVersion);
		const peer = this.#registry.peerByResumeToken(data.resumeToken);
		const room = peer && this.#registry.get(peer.roomId);
		if (!peer || !room) {
			throw new SignalingError(ErrorCode.ResumeFailed, 'resume token unknown or expired; join again');
		}
		return this.#queued(room, 'resume', () => {
			// Closed while queued (its join deadline, say): resuming now would hand a fresh token to nobody.
			if (!channel.open) throw new SignalingError(ErrorCode.Closed, 'the connection closed before the resume');
			if (peer.state === 'closed' || peer.resumeToken !== data.resumeToken) {
				throw new SignalingError(ErrorCode.ResumeFailed, 'resume token unknown or expired; join again');
			}
			// The session lasts as long as the token it was opened with, not one reconnect longer.
			if (peer.tokenExpired()) throw new SignalingError(ErrorCode.TokenExpired, 'the access token of this session expired; join again with a new one');
			const replay = peer.reconnect(channel);
			// A broadcast viewer's media is served where its socket is (several nodes): back through another node, it builds it again there.
			if (channel.via !== peer.via && !room.onStage(peer)) {
				replay.push(encodeNotification(Notification.SfuRestart, { reason: 'your media moved to another node' }));
			}
			peer.via = channel.via;
			const previous = peer.resumeToken;
			peer.rotateResumeToken();
			this.#registry.indexResumeToken(peer, previous);
			this.#logger.info({ roomId: room.id, peerId: peer.id, replayed: replay.length }, 'peer resumed');
			return { peer, response: this.#describe(room, peer, room.peerInfos(peer.id), room.topology.placement), replay };
		});
	}

	/** An explicit leave through `channel`: the peer is gone at once. */
	async leave(peer: Peer, channel: PeerChannel): Promise<void> {
		if (!peer.isAttachedTo(channel)) return;
		await this.#removeWhenQueued(peer, 'left');
	}

	/** The peer's socket `channel` dropped: keep its place for the grace period. */
	disconnected(peer: Peer, channel: PeerChannel): void {
		// Not its socket any more (resumed elsewhere, or removed): nothing to do.
		if (!peer.isAttachedTo(channel)) return;
		if (this.#config.resumeGraceMs === 0) {
			void this.#removeWhenQueued(peer, 'dropped');
			return;
		}
		peer.disconnect(this.#config.resumeGraceMs, this.#outboxLimits, () => void this.#removeWhenQueued(peer, 'resume grace expired'));
	}

	/** Relays a mesh signal to a peer of the sender's own room. */
	signal(from: Peer, data: RequestData<'signal'>): void {
		const room = this.#registry.get(from.roomId);
		// Looked up in the sender's own room: another room's peer is unreachable.
		const target = room?.getPeer(data.to);
		// A broadcast's viewers take no part in the mesh (and are not reachable one by one).
		if (!room || !target || target === from || !room.onStage(from) || !room.onStage(target)) {
			throw new SignalingError(ErrorCode.PeerNotFound, `no peer "${data.to}" in this room`);
		}
		this.#deliver(room, target, Notification.Signal, { from: from.id, signal: data.signal, ...(data.generation !== undefined ? { generation: data.generation } : {}) });
	}

	/** Keeps the peer's latest connection-quality report and hands it to the room's topology machine. */
	qualityReport(peer: Peer, report: RequestData<'qualityReport'>): void {
		const receivedAt = Date.now();
		peer.quality = { report, receivedAt };
		const room = this.#registry.get(peer.roomId);
		// What a mesh would cost is judged by the stage: a broadcast's audience is never on the mesh.
		if (room?.getPeer(peer.id) === peer && room.onStage(peer)) room.topology.qualityReport(peer.id, report, room.stageSize, receivedAt);
	}

	/**
	 * The peer repaired one of its media paths (or gave up on it): counted in
	 * `streaming_media_repairs_total{path, action}`. A mesh path names its
	 * other end, which must be another stage member of the room (as for `signal`).
	 */
	mediaRepair(peer: Peer, data: RequestData<'media.repair'>): void {
		const room = this.#roomOf(peer);
		if (data.peerId !== undefined) {
			const remote = room.getPeer(data.peerId);
			if (!remote || remote === peer || !room.onStage(peer) || !room.onStage(remote)) {
				throw new SignalingError(ErrorCode.PeerNotFound, `no peer "${data.peerId}" in this room`);
			}
		}
		this.#metrics.mediaRepairs.inc({ path: data.path, action: data.action });
		// Its SFU path is back: pictures restart at once from a key frame, both ways.
		if (data.path === 'sfu' && data.action === 'recovered') this.#sfu.get(room.id)?.refreshAfterOutage(peer.id);
		const fields = { roomId: room.id, peerId: peer.id, path: data.path, action: data.action, remotePeerId: data.peerId };
		if (data.action === 'gave-up') this.#logger.warn(fields, 'media path repair gave up');
		else this.#logger.debug(fields, 'media path repair');
	}

	/**
	 * The room's topology and each stage member's latest quality report, for
	 * the topology inspector (bounded: inspectRoom). Anyone on the stage may
	 * ask; a broadcast's audience may not (PERMISSION_DENIED): it sees the
	 * stage, not who is connected to whom, and thousands of viewers polling
	 * would cost the room's node for nothing they are shown. One answer serves
	 * the whole room for up to a second (InspectionCache).
	 */
	inspect(peer: Peer): ResponseData<'room.inspect'> {
		const room = this.#roomOf(peer);
		if (!room.onStage(peer)) {
			throw new SignalingError(ErrorCode.PermissionDenied, `a viewer of a broadcast may not inspect the room (room.inspect)`);
		}
		const now = Date.now();
		return this.#inspections.get(room, now, () =>
			inspectRoom({
				kind: room.kind,
				topology: room.topology.placement.topology,
				stage: [...room.peers].filter((p) => room.onStage(p)),
				qualityReportIntervalMs: this.#config.qualityReportIntervalMs,
				now,
			}),
		);
	}

	/** The peer renders every remote through the migration's new path. */
	topologyReady(peer: Peer, epoch: number): void {
		this.#roomOf(peer).topology.ready(peer.id, epoch);
	}

	/** The peer could not build the migration's new path: the room rolls back. */
	topologyFailed(peer: Peer, epoch: number, reason: string): void {
		this.#roomOf(peer).topology.failed(peer.id, epoch, reason);
	}

	/**
	 * The room API claims a room that a join made: it persists from now on,
	 * with `settings`. Peers that no longer qualify (no token where one is now
	 * required, or past the new maxPeers, latest joiners first) are closed with
	 * 4007 and the ErrorCode as the reason, and the others see them leave.
	 */
	claim(room: Room, settings: RoomSettings): Promise<void> {
		return this.#queued(room, 'claim', () => {
			// Out first, then the new settings: the topology machine judges the room it keeps.
			let kept = 0;
			for (const peer of [...room.peers]) {
				const refusal =
					settings.requireToken && peer.tokenExpiresAt === undefined ? ErrorCode.TokenRequired : kept >= settings.maxPeers ? ErrorCode.RoomFull : undefined;
				if (refusal === undefined) {
					kept++;
					continue;
				}
				peer.close(CloseCode.NoLongerAdmitted, refusal);
				this.#removeNow(room, peer, `no longer admitted: ${refusal}`);
			}
			room.claim(settings);
			this.#logger.info({ roomId: room.id, settings, peers: room.size }, 'room claimed through the API');
		});
	}

	/** A host removes another peer: its socket closes with 4008, the others see it leave. */
	async removeByHost(host: Peer, peerId: string): Promise<void> {
		const room = this.#roomOf(host);
		const target = room.getPeer(peerId);
		if (!target || target === host) throw new SignalingError(ErrorCode.PeerNotFound, `no other peer "${peerId}" in this room`);
		await this.#queued(room, 'remove by host', () => {
			if (room.getPeer(peerId) !== target) return;
			target.close(CloseCode.RemovedByHost, 'REMOVED_BY_HOST');
			this.#removeNow(room, target, `removed by host ${host.id}`);
		});
	}

	/** A host ends the room for everyone else: their sockets close with 4009 (ROOM_ENDED), and they are gone at once. */
	async endRoom(host: Peer): Promise<void> {
		const room = this.#roomOf(host);
		await this.#queued(room, 'end room', () => {
			for (const peer of [...room.peers]) {
				if (peer === host) continue;
				peer.close(CloseCode.RoomEnded, 'ROOM_ENDED');
				this.#removeNow(room, peer, `room ended by host ${host.id}`);
			}
			this.#logger.info({ roomId: room.id, hostId: host.id }, 'room ended by host');
		});
	}

	/** A viewer of a broadcast raises or lowers its hand; the hosts see the queue in the next batch. */
	raiseHand(peer: Peer, raised: boolean): void {
		const room = this.#broadcastOf(peer);
		room.audience.setHand(peer, raised);
	}

	/**
	 * A host brings a viewer onto the stage: it may publish from now on.
	 * Everyone else sees it join (peerJoined, as a participant); it gets
	 * roleChanged with where its media goes, and its hand goes down.
	 */
	async promote(host: Peer, peerId: string): Promise<void> {
		const room = this.#broadcastOf(host);
		await this.#queued(room, 'promote', () => {
			const target = this.#targetIn(room, host, peerId);
			if (target.role !== 'viewer') throw new SignalingError(ErrorCode.WrongRole, `peer "${peerId}" is on the stage already`);
			room.audience.lowerHand(target.id);
			this.#changeRole(room, host, target, 'participant');
			this.broadcast(room, Notification.PeerJoined, target.info, target.id);
		});
	}

	/**
	 * A host sends a speaker back to the audience: its producers and send
	 * transport close on the server at once; everyone else sees it leave the
	 * stage (peerLeft); it gets roleChanged.
	 */
	async demote(host: Peer, peerId: string): Promise<void> {
		const room = this.#broadcastOf(host);
		await this.#queued(room, 'demote', () => {
			const target = this.#targetIn(room, host, peerId);
			if (target.role !== 'participant') {
				throw new SignalingError(ErrorCode.WrongRole, target.role === 'viewer' ? `peer "${peerId}" is not on the stage` : `a host stays on the stage; remove it instead`);
			}
			this.#sfu.get(room.id)?.closeSendSide(target.id);
			this.#changeRole(room, host, target, 'viewer');
			this.broadcast(room, Notification.PeerLeft, { peerId: target.id }, target.id);
		});
	}

	/** An emoji reaction: the room sees the counts in the next batch. */
	react(peer: Peer, emoji: Reaction): void {
		this.#roomOf(peer).audience.react(peer, emoji);
	}

	/** Chat: to everyone else in the room, with the sender's name; the sender gets the timestamp. A broadcast paces its viewers' chat. */
	chat(peer: Peer, data: RequestData<'chat'>): ResponseData<'chat'> {
		const room = this.#registry.get(peer.roomId);
		const sentAt = Date.now();
		if (room && !room.onStage(peer)) room.audience.admitViewerChat(peer);
		if (room) {
			this.broadcast(room, Notification.ChatMessage, { from: peer.id, displayName: peer.displayName, text: data.text, sentAt }, peer.id);
		}
		return { sentAt };
	}

	/** Mute state for the others' tiles (media itself is muted by the client). */
	mediaState(peer: Peer, data: RequestData<'mediaState'>): void {
		peer.mediaState = { audioMuted: data.audioMuted, videoMuted: data.videoMuted };
		const room = this.#registry.get(peer.roomId);
		if (room) this.broadcast(room, Notification.PeerMediaState, { peerId: peer.id, ...peer.mediaState }, peer.id);
	}

	/**
	 * An `sfu.*` request: only in rooms whose media goes through the SFU (or is
	 * moving there). The router capabilities are the exception: the same for
	 * every router, asked ahead of any migration so the client's Device is
	 * loaded before it is needed.
	 */
	async sfuRequest(peer: Peer, request: Extract<TypedRequest, { method: `sfu.${string}` }>): Promise<unknown> {
		if (request.method === 'sfu.getRouterRtpCapabilities') {
			return { routerRtpCapabilities: this.#sfu.routerRtpCapabilities as unknown as Record<string, unknown> };
		}
		const room = this.#registry.get(peer.roomId);
		if (!room || !room.topology.allowsSfu) {
			throw new SignalingError(ErrorCode.WrongMediaMode, `room "${peer.roomId}" carries media peer to peer now, not through the SFU`);
		}
		const sfu = this.sfuRoomOf(room);
		const id = peer.id;
		switch (request.method) {
			case 'sfu.join': {
				// A broadcast's viewers start on the small layer; their tiles ask for more.
				const startLayer = room.onStage(peer) ? undefined : this.#broadcastConfig.viewerSpatialLayer;
				return sfu.join(id, request.data, startLayer).then(() => ({}));
			}
			case 'sfu.createTransport':
				return sfu.createTransport(id, request.data);
			case 'sfu.connectTransport':
				return sfu.connectTransport(id, request.data).then(() => ({}));
			case 'sfu.restartIce':
				return sfu.restartIce(id, request.data.transportId);
			case 'sfu.closeTransport':
				return sfu.closeTransport(id, request.data.transportId).then(() => ({}));
			case 'sfu.produce':
				return sfu.produce(id, request.data);
			case 'sfu.pauseProducer':
				return sfu.pauseProducer(id, request.data.producerId).then(() => ({}));
			case 'sfu.resumeProducer':
				return sfu.resumeProducer(id, request.data.producerId).then(() => ({}));
			case 'sfu.closeProducer':
				return sfu.closeProducer(id, request.data.producerId).then(() => ({}));
			case 'sfu.resumeConsumer':
				return sfu.resumeConsumer(id, request.data.consumerId).then(() => ({}));
			case 'sfu.setConsumerPreferredLayers':
				return sfu.setConsumerPreferredLayers(id, request.data).then(() => ({}));
		}
	}

	/** The room's SFU side, created on first use; its notifications go to the room's peers. */
	sfuRoomOf(room: Room): SfuRoom {
		return this.#sfu.getOrCreate(room.id, room.kind, (peerId, method, data) => {
			const target = this.#registry.get(room.id)?.getPeer(peerId);
			if (target) this.#deliver(room, target, method, data);
		});
	}

	/** Sends a room's audience batch: the count and reactions to everyone, the hands to its hosts. */
	sendAudienceBatch(room: Room, batch: AudienceBatch): void {
		if (batch.count !== undefined && room.kind === 'broadcast') this.broadcast(room, Notification.Audience, { count: batch.count });
		if (batch.reactions) this.broadcast(room, Notification.Reactions, { counts: batch.reactions });
		if (batch.hands) {
			const text = encodeNotification(Notification.Hands, { hands: batch.hands });
			for (const peer of room.peers) if (peer.role === 'host') this.#deliverText(room, peer, text);
		}
	}

	#roomOf(peer: Peer): Room {
		const room = this.#registry.get(peer.roomId);
		if (!room || room.getPeer(peer.id) !== peer) throw new SignalingError(ErrorCode.PeerNotFound, 'not in a room');
		return room;
	}

	#broadcastOf(peer: Peer): Room {
		const room = this.#roomOf(peer);
		if (room.kind !== 'broadcast') throw new SignalingError(ErrorCode.WrongRoomKind, `room "${room.id}" is a meeting: it has no stage or audience`);
		return room;
	}

	/** Another peer of the host's room (looked up in the room's queue, so after the changes before it). */
	#targetIn(room: Room, host: Peer, peerId: string): Peer {
		const target = room.getPeer(peerId);
		if (!target || target === host) throw new SignalingError(ErrorCode.PeerNotFound, `no other peer "${peerId}" in this room`);
		return target;
	}

	/** Moves `target` between the audience and the stage (the caller runs in the room's queue) and tells it where its media goes now. */
	#changeRole(room: Room, host: Peer, target: Peer, role: Role): void {
		room.setRole(target, role);
		this.#sfu.get(room.id)?.setStartLayer(target.id, role === 'viewer' ? this.#broadcastConfig.viewerSpatialLayer : undefined);
		// The stage changes first, then the audience: the topology machine judges the room as it is now.
		if (room.onStage(target)) room.topology.peerJoined(target.id);
		else room.topology.peerLeft(target.id);
		room.topology.audienceChanged(room.audienceSize);
		room.audience.changed();
		target.notify(Notification.RoleChanged, { role, by: host.id, ...room.topology.placement });
		this.#logger.info({ roomId: room.id, peerId: target.id, role, by: host.id }, 'role changed');
	}

	#describe(room: Room, peer: Peer, peers: Joined['peers'], placement: Pick<Joined, 'mediaMode' | 'topology'>): Joined {
		return {
			roomKind: room.kind,
			audience: announcedAudience(room.audienceSize),
			hands: room.kind === 'broadcast' && peer.role === 'host' ? room.audience.hands : [],
			handRaised: room.audience.hasHand(peer.id),
			peerId: peer.id,
			roomId: peer.roomId,
			role: peer.role,
			displayName: peer.displayName,
			peers,
			resumeToken: peer.resumeToken,
			resumeGraceMs: this.#config.resumeGraceMs,
			...this.#issueIceServers(peer),
			iceTransportPolicy: this.#iceTransportPolicy,
			qualityReportIntervalMs: this.#config.qualityReportIntervalMs,
			repair: { disconnectedGraceMs: this.#repair.disconnectedGraceMs, giveUpMs: this.#repair.giveUpMs },
			...placement,
		};
	}

	/**
	 * TURN credentials for `peer`, bounded by its token, and the renewal of
	 * them at half their life for as long as the token allows. A peer whose
	 * socket is down then gets fresh ones in its resume answer instead.
	 */
	#issueIceServers(peer: Peer): { iceServers: IssuedIceServers['iceServers']; iceServersExpireAt: number | null } {
		const issued = this.#turn.iceServersFor(peer.identity, peer.tokenExpiresAt);
		const { expiresAt } = issued;
		const renewable = expiresAt !== null && (peer.tokenExpiresAt === undefined || expiresAt + 1000 <= peer.tokenExpiresAt);
		if (renewable) {
			peer.scheduleIceRefresh(Math.max(1000, (expiresAt - Date.now()) / 2), () => {
				if (peer.state !== 'connected') return;
				const next = this.#issueIceServers(peer);
				peer.notify(Notification.IceServers, { iceServers: next.iceServers, expiresAt: next.iceServersExpireAt });
			});
		}
		return { iceServers: issued.iceServers, iceServersExpireAt: expiresAt };
	}

	/** A notification to every peer of the room but `exceptId`, encoded once for all. */
	broadcast<N extends Notification>(room: Room, method: N, data: NotificationData<N>, exceptId?: string): void {
		const text = encodeNotification(method, data);
		for (const peer of room.peers) {
			if (peer.id !== exceptId) this.#deliverText(room, peer, text);
		}
	}

	/**
	 * Ends a peer on the server's own account (its client stopped reading, its
	 * token expired): no resume; with a close code its socket closes with it;
	 * the others see it leave.
	 */
	end(peer: Peer, why: string, close?: { code: number; reason: string }): void {
		peer.close(close?.code, close?.reason);
		void this.#removeWhenQueued(peer, why);
	}

	#deliver(room: Room, peer: Peer, method: string, data: unknown): void {
		this.#deliverText(room, peer, encodeNotification(method, data));
	}

	#deliverText(room: Room, peer: Peer, text: string): void {
		if (peer.deliver(text) === 'overflow') {
			// Holding more would lose the oldest; end the peer instead, visibly.
			this.#logger.warn({ roomId: room.id, peerId: peer.id }, 'outbox full while disconnected; removing peer');
			void this.#removeWhenQueued(peer, 'outbox overflow');
		}
	}

	/** Takes `peer` out of `room` now (the caller runs in the room's queue): the others see it leave; its SFU side closes. */
	#removeNow(room: Room, peer: Peer, why: string): void {
		if (!room.removePeer(peer.id)) return;
		peer.close();
		const onStage = room.onStage(peer);
		if (onStage) room.topology.peerLeft(peer.id);
		else room.topology.audienceChanged(room.audienceSize);
		room.audience.lowerHand(peer.id);
		if (peer.role === 'viewer') room.audience.changed();
		this.#sfu.get(room.id)?.removePeer(peer.id);
		this.#registry.peerRemoved(room, peer);
		if (onStage) this.broadcast(room, Notification.PeerLeft, { peerId: peer.id });
		this.#logger.info({ roomId: room.id, peerId: peer.id, why }, 'peer left');
	}

	/** Runs `task` in `room`'s queue (after the membership changes before it), holding the room against disposal meanwhile. */
	async #queued<T>(room: Room, name: string, task: () => T): Promise<T> {
		room.hold();
		try {
			return await room.queue.push(async () => task(), name);
		} finally {
			this.#registry.release(room);
		}
	}

	async #removeWhenQueued(peer: Peer, why: string): Promise<void> {
		const room = this.#registry.get(peer.roomId);
		if (!room) return;
		try {
			await this.#queued(room, 'remove', () => this.#removeNow(room, peer, why));
		} catch (error) {
			// The room was closed (deleted or server shutdown) meanwhile: nothing left to remove.
			this.#logger.debug({ err: error, peerId: peer.id }, 'remove skipped');
		}
	}
}

/**
 * The role a joiner gets. A token decides (its role is the grant); without
 * one, an open broadcast room grants what is asked (a viewer by default),
 * and an open meeting makes a participant, or a viewer when asked: only a
 * token makes a meeting's host.
 */
function roleFor(kind: Room['kind'], granted: Role | undefined, asked: Role | undefined): Role {
	if (granted) return granted;
	if (kind === 'broadcast') return asked ?? 'viewer';
	if (asked === 'host') throw new SignalingError(ErrorCode.PermissionDenied, 'only an access token makes the host of a meeting');
	return asked ?? 'participant';
}

function checkVersion(version: number): void {
	if (version !== PROTOCOL_VERSION) {
		throw new SignalingError(
			ErrorCode.ProtocolMismatch,
			`protocol version ${version} not supported; server speaks ${PROTOCOL_VERSION}`,
		);
	}
}

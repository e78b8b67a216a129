import {
	MAX_INSPECTED_CONNECTIONS,
	MAX_INSPECTED_PARTICIPANTS,
	type InspectedConnection,
	type InspectedParticipant,
	type QualityReport,
	type Role,
	type RoomInspection,
	type RoomKind,
	type TopologyState,
} from '../../core/protocol/index.js';

/** What an inspection reads of one stage member. */
export interface InspectedPeer {
	readonly id: string;
	readonly displayName: string;
	readonly role: Role;
	readonly quality: { report: QualityReport; receivedAt: number } | undefined;
}

/**
 * The answer to `room.inspect`: the room's topology and, per stage member
 * (oldest first), its latest quality report. Bounded whatever the room or
 * the reports hold: at most MAX_INSPECTED_PARTICIPANTS participants and
 * MAX_INSPECTED_CONNECTIONS connections, only those to another listed
 * member or to the SFU (a report names any string; the browser draws only
 * these), numbers rounded. What the caps leave out is counted.
 */
export function inspectRoom(room: {
	kind: RoomKind;
	topology: { state: TopologyState; epoch: number };
	stage: readonly InspectedPeer[];
	qualityReportIntervalMs: number;
	now: number;
}): RoomInspection {
	const listed = room.stage.slice(0, MAX_INSPECTED_PARTICIPANTS);
	const ids = new Set(listed.map((p) => p.id));
	let budget = MAX_INSPECTED_CONNECTIONS;
	let droppedConnections = 0;
	const participants = listed.map((peer): InspectedParticipant => {
		const info = { peerId: peer.id, displayName: peer.displayName, role: peer.role };
		if (!peer.quality) return { ...info, quality: null };
		const connections: InspectedConnection[] = [];
		for (const c of peer.quality.report.connections) {
			if (c.remotePeerId !== 'sfu' && (c.remotePeerId === peer.id || !ids.has(c.remotePeerId))) continue;
			if (budget === 0) {
				droppedConnections++;
				continue;
			}
			budget--;
			connections.push({
				remotePeerId: c.remotePeerId,
				path: c.path,
				outboundBitrateBps: Math.round(c.outboundBitrateBps),
				rttMs: c.rttMs === null ? null : Math.round(c.rttMs * 10) / 10,
				packetLoss: c.packetLoss === null ? null : Math.round(c.packetLoss * 10_000) / 10_000,
			});
		}
		return { ...info, quality: { receivedAt: peer.quality.receivedAt, intervalMs: peer.quality.report.intervalMs, connections } };
	});
	return {
		roomKind: room.kind,
		topology: room.topology,
		now: room.now,
		qualityReportIntervalMs: room.qualityReportIntervalMs,
		participants,
		truncated: { participants: room.stage.length - listed.length, connections: droppedConnections },
	};
}

/**
 * The latest answer per room, reused while younger than `maxAgeMs`: an
 * answer does not depend on who asks, and each one walks the room (a whole
 * audience, in a broadcast), so many inspectors polling a room, or one
 * asking in a loop, cost one walk per window. Rooms are held weakly: a
 * deleted room's answer goes with it.
 */
export class InspectionCache<R extends object> {
	readonly #answers = new WeakMap<R, RoomInspection>();
	readonly #maxAgeMs: number;

	constructor(maxAgeMs: number) {
		this.#maxAgeMs = maxAgeMs;
	}

	/** The room's answer as of less than maxAgeMs before `now` (its `now` says when), or a fresh one from `inspect`. */
	get(room: R, now: number, inspect: () => RoomInspection): RoomInspection {
		const cached = this.#answers.get(room);
		// A clock that stepped back makes the cached answer unusable, not everlasting.
		if (cached && now >= cached.now && now - cached.now < this.#maxAgeMs) return cached;
		const answer = inspect();
		this.#answers.set(room, answer);
		return answer;
	}
}

import type { TypedRequest } from './messages.js';
import { Capability } from './roles.js';
import { Method } from './wire.js';

/**
 * The capability a request needs, or null for those every joined peer (or a
 * socket not yet joined) may send: join, resume, leave, quality reports,
 * migration answers, media repair reports (a viewer repairs its SFU
 * receive transport too) and the room's inspection (anyone in a meeting;
 * the server refuses a broadcast's audience, which sees only the stage).
 */
export function requiredCapability(request: TypedRequest): Capability | null {
	switch (request.method) {
		case Method.Join:
		case Method.Resume:
		case Method.Leave:
		case Method.QualityReport:
		case Method.TopologyReady:
		case Method.TopologyFailed:
		case Method.MediaRepair:
		case Method.RoomInspect:
			return null;
		case Method.Chat:
		case Method.Reaction:
			return Capability.Chat;
		case Method.HandRaise:
			return Capability.RaiseHand;
		case Method.MediaState:
		case Method.SfuProduce:
		case Method.SfuPauseProducer:
		case Method.SfuResumeProducer:
		case Method.SfuCloseProducer:
			return Capability.Publish;
		case Method.SfuCreateTransport:
			return request.data.direction === 'send' ? Capability.Publish : Capability.Subscribe;
		case Method.Signal:
			// An offer or answer that sends media, or a request for a transceiver to send on, is publishing.
			if (request.data.signal.kind === 'transceiverRequest') return Capability.Publish;
			if (request.data.signal.kind === 'description' && descriptionSendsMedia(request.data.signal.description.sdp)) {
				return Capability.Publish;
			}
			return Capability.Subscribe;
		case Method.SfuGetRouterRtpCapabilities:
		case Method.SfuJoin:
		case Method.SfuConnectTransport:
		case Method.SfuRestartIce:
		case Method.SfuCloseTransport:
		case Method.SfuResumeConsumer:
		case Method.SfuSetConsumerPreferredLayers:
			return Capability.Subscribe;
		case Method.RoomRemovePeer:
		case Method.RoomEnd:
		case Method.StagePromote:
		case Method.StageDemote:
			return Capability.ManageRoom;
	}
}

/**
 * Whether an SDP offer or answer may send audio or video. Read
 * conservatively, the way a browser could take it: an m=audio or m=video
 * section sends unless it says itself, in an exact direction attribute,
 * that it is recvonly or inactive (a session-level direction is not
 * trusted: Chromium ignores it; a section with no direction is sendrecv).
 * A section with port 0 is rejected and sends nothing, unless it is
 * `a=bundle-only` (then it is live, on the bundle's transport).
 */
export function descriptionSendsMedia(sdp: string): boolean {
	let section: { media: boolean; port: string; bundleOnly: boolean; directions: string[] } | undefined;
	const sends = (s: NonNullable<typeof section>): boolean => {
		if (!s.media || (s.port === '0' && !s.bundleOnly)) return false;
		return s.directions.length === 0 || s.directions.some((d) => d !== 'recvonly' && d !== 'inactive');
	};
	for (const line of sdp.split(/\r?\n/)) {
		if (line.startsWith('m=')) {
			if (section && sends(section)) return true;
			const [kind, port = ''] = line.slice(2).split(' ');
			section = { media: kind === 'audio' || kind === 'video', port: port.split('/')[0] as string, bundleOnly: false, directions: [] };
			continue;
		}
		if (!section) continue;
		if (/^a=bundle-only *$/.test(line)) section.bundleOnly = true;
		// Only what a browser reads as a direction (trailing spaces allowed, nothing else); anything
		// else that looks like one ("a=recvonly\t") counts as an unknown direction: sending.
		const direction = /^a=(sendrecv|sendonly|recvonly|inactive)(.*)$/.exec(line);
		if (direction) section.directions.push(/^ *$/.test(direction[2] as string) ? (direction[1] as string) : 'unknown');
	}
	return section !== undefined && sends(section);
}

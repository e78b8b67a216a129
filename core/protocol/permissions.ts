import { Method, type Role, type TypedRequest } from './messages.js';

/**
 * What each role may do, in one place. The server checks every request
 * against it (PERMISSION_DENIED otherwise), and the browser reads it to
 * decide what to offer (a viewer opens no camera).
 *
 *   publish     send media: a send transport, producers, mute state, mesh offers that send
 *   subscribe   receive media: receive transports, consumers, mesh connections
 *   chat        send chat messages
 *   manageRoom  remove other peers from the room
 */
export const Capability = {
	Publish: 'publish',
	Subscribe: 'subscribe',
	Chat: 'chat',
	ManageRoom: 'manageRoom',
} as const;
export type Capability = (typeof Capability)[keyof typeof Capability];

export const ROLE_CAPABILITIES: Readonly<Record<Role, ReadonlySet<Capability>>> = {
	host: new Set([Capability.Publish, Capability.Subscribe, Capability.Chat, Capability.ManageRoom]),
	participant: new Set([Capability.Publish, Capability.Subscribe, Capability.Chat]),
	viewer: new Set([Capability.Subscribe, Capability.Chat]),
};

export function can(role: Role, capability: Capability): boolean {
	return ROLE_CAPABILITIES[role].has(capability);
}

/**
 * The capability a request needs, or null for those every joined peer (or a
 * socket not yet joined) may send: join, resume, leave, quality reports and
 * migration answers.
 */
export function requiredCapability(request: TypedRequest): Capability | null {
	switch (request.method) {
		case Method.Join:
		case Method.Resume:
		case Method.Leave:
		case Method.QualityReport:
		case Method.TopologyReady:
		case Method.TopologyFailed:
			return null;
		case Method.Chat:
			return Capability.Chat;
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
		case Method.SfuResumeConsumer:
		case Method.SfuSetConsumerPreferredLayers:
			return Capability.Subscribe;
		case Method.RoomRemovePeer:
			return Capability.ManageRoom;
	}
}

/**
 * Whether an SDP offers or answers to send audio or video: some m=audio or
 * m=video section is sendrecv or sendonly (sendrecv is the default when a
 * section, and the session, name no direction). A section with port 0 is
 * rejected and sends nothing.
 */
export function descriptionSendsMedia(sdp: string): boolean {
	const lines = sdp.split(/\r?\n/);
	let sessionDirection = 'sendrecv';
	let section: { media: boolean; rejected: boolean; direction: string | undefined } | undefined;
	const sends = (s: NonNullable<typeof section>) =>
		s.media && !s.rejected && ['sendrecv', 'sendonly'].includes(s.direction ?? sessionDirection);
	for (const line of lines) {
		if (line.startsWith('m=')) {
			if (section && sends(section)) return true;
			const [kind, port] = line.slice(2).split(' ');
			section = { media: kind === 'audio' || kind === 'video', rejected: port === '0', direction: undefined };
			continue;
		}
		const direction = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/.exec(line)?.[1];
		if (!direction) continue;
		if (section) section.direction = direction;
		else sessionDirection = direction;
	}
	return section !== undefined && sends(section);
}

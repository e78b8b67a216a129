/** A valid `join` answer for the signaling tests (a participant alone in a meeting on the mesh), with `overrides`. */
export function joinAnswer(overrides: Record<string, unknown> = {}): Record<string, unknown> {
	return {
		peerId: 'p1',
		roomId: 'r',
		role: 'participant',
		displayName: 'A',
		peers: [],
		resumeToken: 't',
		resumeGraceMs: 10_000,
		iceServers: [],
		iceServersExpireAt: null,
		iceTransportPolicy: 'all',
		qualityReportIntervalMs: 2000,
		repair: { disconnectedGraceMs: 2000, giveUpMs: 20_000 },
		mediaMode: 'mesh',
		topology: { state: 'mesh', epoch: 0 },
		roomKind: 'meeting',
		audience: 0,
		hands: [],
		handRaised: false,
		...overrides,
	};
}

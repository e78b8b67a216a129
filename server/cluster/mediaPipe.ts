import type { MediaSource } from '../../core/protocol/index.js';

/**
 * The messages that pipe a broadcast's stage from the room's node (the
 * origin) to a node whose viewers consume there (an edge), on the cluster
 * bus as type `p` with the room id as subject and one of these as JSON.
 *
 *   edge -> origin  attach {edge, ip, port}   viewers here: this is my pipe transport
 *   origin -> edge  attached {ip, port, producers} | refused {reason}
 *   origin -> edge  producer {producer} | closed {producerId} | paused {producerId} | resumed {producerId}
 *   edge -> origin  detach {edge}             no viewer here any more: close the pipe
 *   origin -> edge  gone {}                   the room (or its SFU side) ended here
 */
export const PIPE = 'p';

/** A stage producer as the origin pipes it: its id there, and the pipe consumer's RTP parameters to produce with. */
export interface PipedProducer {
	id: string;
	kind: 'audio' | 'video';
	rtpParameters: unknown;
	paused: boolean;
	peerId: string;
	source: MediaSource;
}

export type PipeMessage =
	| { op: 'attach'; edge: string; ip: string; port: number }
	| { op: 'attached'; ip: string; port: number; producers: PipedProducer[] }
	| { op: 'refused'; reason: string }
	| { op: 'producer'; producer: PipedProducer }
	| { op: 'closed' | 'paused' | 'resumed'; producerId: string }
	| { op: 'detach'; edge: string }
	| { op: 'gone' };

export function parsePipeMessage(body: string): PipeMessage | undefined {
	try {
		const message = JSON.parse(body) as PipeMessage;
		return typeof message === 'object' && message !== null && typeof message.op === 'string' ? message : undefined;
	} catch {
		return undefined;
	}
}

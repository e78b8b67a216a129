import type { types } from 'mediasoup';
import type { ClusterConfig, MediasoupConfig } from '../../core/config/index.js';
import type { MediaSource } from '../../core/protocol/index.js';
import { resolvePipeListenIp } from '../sfu/listenIps.js';

/**
 * The messages that pipe a broadcast's stage from the room's node (the
 * origin) to a node whose viewers consume there (an edge), on the cluster
 * bus as type `p` with the room id as subject and one of these as JSON.
 *
 *   edge -> origin  attach {edge, ip, port, srtp?}   viewers here: this is my pipe transport
 *   origin -> edge  attached {ip, port, srtp?, producers} | refused {reason}
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
	| { op: 'attach'; edge: string; ip: string; port: number; srtp?: types.SrtpParameters }
	| { op: 'attached'; ip: string; port: number; srtp?: types.SrtpParameters; producers: PipedProducer[] }
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

/** A pipe transport on `router` as this node makes them: RTX on, at its pipe address (resolvePipeListenIp), SRTP when configured. */
export function createPipe(router: types.Router, cluster: ClusterConfig, mediasoup: MediasoupConfig): Promise<types.PipeTransport> {
	return router.createPipeTransport({ listenIp: resolvePipeListenIp(cluster, mediasoup), enableRtx: true, enableSrtp: cluster.pipeSrtp });
}

/** What the other end needs to connect to `pipe`. */
export function pipeAddress(pipe: types.PipeTransport): { ip: string; port: number; srtp?: types.SrtpParameters } {
	const { localIp, localPort } = pipe.tuple;
	return { ip: localIp, port: localPort, ...(pipe.srtpParameters ? { srtp: pipe.srtpParameters } : {}) };
}

/** Connects `pipe` to the other end's address. */
export function connectPipe(pipe: types.PipeTransport, to: { ip: string; port: number; srtp?: types.SrtpParameters }): Promise<void> {
	return pipe.connect({ ip: to.ip, port: to.port, ...(to.srtp ? { srtpParameters: to.srtp } : {}) });
}

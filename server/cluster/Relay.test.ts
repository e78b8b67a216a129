import { describe, expect, it } from 'vitest';
import { nodeOfResumeToken } from '../signaling/Peer.js';
import { ClusterNode } from './ClusterNode.js';
import { parsePipeMessage } from './mediaPipe.js';
import { RelaySocket } from './Relay.js';

describe('relayed connections', () => {
	it('name the node that holds their socket, whatever the node id holds', () => {
		expect(ClusterNode.nodeOfConnection('node-a-17')).toBe('node-a');
		expect(ClusterNode.nodeOfConnection('3f9a01bc-2')).toBe('3f9a01bc');
	});

	it('resume tokens name the node holding the session; a single node\'s tokens name none', () => {
		expect(nodeOfResumeToken('node-b.Zm9vYmFy')).toBe('node-b');
		expect(nodeOfResumeToken('Zm9vYmFy-_')).toBeUndefined();
	});

	it('a RelaySocket passes frames both ways, closes once, and tells the edge its close code', () => {
		const sent: Array<[string, string]> = [];
		const socket = new RelaySocket('node-b-1', (type, body) => sent.push([type, body]));
		const received: string[] = [];
		const closes: number[] = [];
		socket.on('message', (data) => received.push(data));
		socket.on('close', (code) => closes.push(code));
		socket.receive('{"id":1,"method":"leave"}');
		socket.send('{"id":1,"ok":true,"data":{}}');
		socket.close(4008, 'REMOVED_BY_HOST');
		socket.close(1000, 'again');
		socket.send('lost');
		socket.receive('lost');
		expect(received).toEqual(['{"id":1,"method":"leave"}']);
		expect(sent).toEqual([
			['f', '{"id":1,"ok":true,"data":{}}'],
			['c', '4008 REMOVED_BY_HOST'],
		]);
		expect(closes).toEqual([4008]);
	});

	it('a RelaySocket the edge closed does not echo the close back', () => {
		const sent: Array<[string, string]> = [];
		const socket = new RelaySocket('node-b-2', (type, body) => sent.push([type, body]));
		const closes: number[] = [];
		socket.on('close', (code) => closes.push(code));
		socket.remoteClosed(1001);
		socket.close();
		expect(closes).toEqual([1001]);
		expect(sent).toEqual([]);
	});

	it('pipe messages that are not JSON objects with an op are dropped', () => {
		expect(parsePipeMessage('{"op":"gone"}')).toEqual({ op: 'gone' });
		for (const bad of ['', 'gone', '[]', 'null', '{"op":1}', '{"x":"gone"}']) expect(parsePipeMessage(bad)).toBeUndefined();
	});
});

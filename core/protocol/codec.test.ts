import { describe, expect, it } from 'vitest';
import { decodeEnvelope, parseNotification, parseRequest } from './codec.js';
import { ErrorCode, SignalingError } from './errors.js';
import { MAX_MESSAGE_BYTES } from './wire.js';

function codeOf(fn: () => unknown): string | undefined {
	try {
		fn();
	} catch (error) {
		return error instanceof SignalingError ? error.code : 'not a SignalingError';
	}
	return undefined;
}

describe('decodeEnvelope()', () => {
	it('tells the three envelopes apart', () => {
		expect(decodeEnvelope('{"id":1,"method":"join","data":{}}').kind).toBe('request');
		expect(decodeEnvelope('{"id":1,"ok":true,"data":{}}').kind).toBe('response');
		expect(decodeEnvelope('{"id":1,"ok":false,"errorCode":"X","errorReason":"y"}').kind).toBe('response');
		expect(decodeEnvelope('{"method":"peerLeft","data":{"peerId":"p"}}').kind).toBe('notification');
	});

	it('rejects non-JSON with BAD_JSON', () => {
		expect(codeOf(() => decodeEnvelope('{nope'))).toBe(ErrorCode.BadJson);
	});

	it('rejects arrays, scalars and shapeless objects with BAD_MESSAGE', () => {
		expect(codeOf(() => decodeEnvelope('[1,2]'))).toBe(ErrorCode.BadMessage);
		expect(codeOf(() => decodeEnvelope('42'))).toBe(ErrorCode.BadMessage);
		expect(codeOf(() => decodeEnvelope('{"id":"one","method":"join"}'))).toBe(ErrorCode.BadMessage);
		expect(codeOf(() => decodeEnvelope('{"id":-1,"method":"join"}'))).toBe(ErrorCode.BadMessage);
		expect(codeOf(() => decodeEnvelope('{"data":{}}'))).toBe(ErrorCode.BadMessage);
	});

	it('rejects frames longer than MAX_MESSAGE_BYTES before parsing', () => {
		expect(codeOf(() => decodeEnvelope(`"${'a'.repeat(MAX_MESSAGE_BYTES)}"`))).toBe(ErrorCode.BadMessage);
	});
});

describe('parseRequest()', () => {
	it('accepts a valid join and trims the display name', () => {
		const req = parseRequest({ id: 1, method: 'join', data: { protocolVersion: 1, roomId: 'r1', displayName: '  Ann ' } });
		expect(req).toEqual({ id: 1, method: 'join', data: { protocolVersion: 1, roomId: 'r1', displayName: 'Ann' } });
	});

	it('an unknown method is UNKNOWN_METHOD', () => {
		expect(codeOf(() => parseRequest({ id: 1, method: 'nope', data: {} }))).toBe(ErrorCode.UnknownMethod);
	});

	it('missing fields, wrong types and bad room ids are INVALID_DATA', () => {
		expect(codeOf(() => parseRequest({ id: 1, method: 'join', data: { roomId: 'r' } }))).toBe(ErrorCode.InvalidData);
		expect(codeOf(() => parseRequest({ id: 1, method: 'join', data: { protocolVersion: '1', roomId: 'r', displayName: 'a' } }))).toBe(
			ErrorCode.InvalidData,
		);
		expect(codeOf(() => parseRequest({ id: 1, method: 'join', data: { protocolVersion: 1, roomId: 'a b', displayName: 'a' } }))).toBe(
			ErrorCode.InvalidData,
		);
		expect(codeOf(() => parseRequest({ id: 1, method: 'join', data: { protocolVersion: 1, roomId: 'r', displayName: '   ' } }))).toBe(
			ErrorCode.InvalidData,
		);
	});

	it('signal accepts a description or a candidate, nothing else', () => {
		const ok = { to: 'p', signal: { kind: 'candidate', candidate: { candidate: 'c', sdpMid: '0', sdpMLineIndex: 0 } } };
		expect(parseRequest({ id: 2, method: 'signal', data: ok }).method).toBe('signal');
		const bad = { to: 'p', signal: { kind: 'description', description: { type: 'pranswer', sdp: '' } } };
		expect(codeOf(() => parseRequest({ id: 2, method: 'signal', data: bad }))).toBe(ErrorCode.InvalidData);
	});
});

describe('parseNotification()', () => {
	it('validates the payload of a known notification', () => {
		expect(parseNotification({ method: 'peerLeft', data: { peerId: 'p1' } })).toEqual({ method: 'peerLeft', data: { peerId: 'p1' } });
		expect(codeOf(() => parseNotification({ method: 'peerLeft', data: {} }))).toBe(ErrorCode.InvalidData);
		expect(codeOf(() => parseNotification({ method: 'bogus', data: {} }))).toBe(ErrorCode.UnknownMethod);
	});

	it('topology.prepare carries a known reason and the deadline (0 to 120 s)', () => {
		const prepare = { epoch: 2, target: 'mesh', reason: 'participants-low', decidedAt: 1, timeoutMs: 10_000 };
		expect(parseNotification({ method: 'topology.prepare', data: prepare }).data).toEqual(prepare);
		expect(codeOf(() => parseNotification({ method: 'topology.prepare', data: { ...prepare, reason: 'whim' } }))).toBe(ErrorCode.InvalidData);
		expect(codeOf(() => parseNotification({ method: 'topology.prepare', data: { ...prepare, timeoutMs: 120_001 } }))).toBe(ErrorCode.InvalidData);
		const { timeoutMs: _left, ...withoutDeadline } = prepare;
		expect(codeOf(() => parseNotification({ method: 'topology.prepare', data: withoutDeadline }))).toBe(ErrorCode.InvalidData);
	});
});

describe('media.repair', () => {
	it('names a mesh pair by its remote peer; an SFU path names none', () => {
		const mesh = { path: 'mesh', action: 'ice-restart', peerId: 'p2' };
		expect(parseRequest({ id: 3, method: 'media.repair', data: mesh }).data).toEqual(mesh);
		expect(parseRequest({ id: 3, method: 'media.repair', data: { path: 'sfu', action: 'gave-up' } }).data).toEqual({ path: 'sfu', action: 'gave-up' });
		expect(codeOf(() => parseRequest({ id: 3, method: 'media.repair', data: { path: 'sfu', action: 'recreate', peerId: 'p2' } }))).toBe(ErrorCode.InvalidData);
		expect(codeOf(() => parseRequest({ id: 3, method: 'media.repair', data: { path: 'mesh', action: 'reboot' } }))).toBe(ErrorCode.InvalidData);
	});
});

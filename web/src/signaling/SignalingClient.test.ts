import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, Method, PROTOCOL_VERSION, SignalingError } from '../../../core/protocol/index.js';
import { joinAnswer } from './joinAnswer.fixture.js';
import { SignalingClient, type WebSocketLike } from './SignalingClient.js';

/** An in-memory socket: records what the client sends, lets the test answer. */
class FakeSocket implements WebSocketLike {
	readyState = 0;
	sent: string[] = [];
	#listeners = new Map<string, Array<(event: never) => void>>();

	addEventListener(type: string, listener: (event: never) => void): void {
		this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
	}
	send(data: string): void {
		this.sent.push(data);
	}
	close(code = 1000, reason = ''): void {
		this.readyState = 3;
		this.fire('close', { code, reason });
	}
	fire(type: string, event: unknown = {}): void {
		for (const l of this.#listeners.get(type) ?? []) l(event as never);
	}
	open(): void {
		this.readyState = 1;
		this.fire('open');
	}
	reply(data: unknown): void {
		this.fire('message', { data: JSON.stringify(data) });
	}
}

async function connected(timeoutMs = 1000): Promise<{ client: SignalingClient; socket: FakeSocket }> {
	const socket = new FakeSocket();
	const pending = SignalingClient.connect('ws://test/ws', { createSocket: () => socket, requestTimeoutMs: timeoutMs });
	socket.open();
	return { client: await pending, socket };
}

const joinData = { protocolVersion: PROTOCOL_VERSION, roomId: 'r', displayName: 'A' };

afterEach(() => {
	vi.useRealTimers();
});

describe('SignalingClient', () => {
	it('request() resolves with the validated response data', async () => {
		const { client, socket } = await connected();
		const result = client.request(Method.Join, joinData);
		const sent = JSON.parse(socket.sent[0] as string) as { id: number; method: string };
		expect(sent.method).toBe('join');
		const joined = joinAnswer({ role: 'host' });
		socket.reply({ id: sent.id, ok: true, data: joined });
		await expect(result).resolves.toEqual(joined);
	});

	it('request() rejects with the server error code', async () => {
		const { client, socket } = await connected();
		const result = client.request(Method.Leave, {});
		socket.reply({ id: 1, ok: false, errorCode: 'NOT_JOINED', errorReason: 'join first' });
		await expect(result).rejects.toMatchObject({ code: ErrorCode.NotJoined, message: 'join first' });
	});

	it('a response whose data breaks the schema rejects with INVALID_DATA', async () => {
		const { client, socket } = await connected();
		const result = client.request(Method.Join, joinData);
		socket.reply({ id: 1, ok: true, data: { peerId: 5 } });
		await expect(result).rejects.toMatchObject({ code: ErrorCode.InvalidData });
	});

	it('request() rejects with TIMEOUT when no response comes', async () => {
		vi.useFakeTimers();
		const { client } = await connected(500);
		const result = client.request(Method.Leave, {});
		vi.advanceTimersByTime(501);
		await expect(result).rejects.toMatchObject({ code: ErrorCode.Timeout });
	});

	it('close rejects every pending request with CLOSED, and later requests too', async () => {
		const { client, socket } = await connected();
		const a = client.request(Method.Leave, {});
		const b = client.request(Method.Join, joinData);
		socket.close(1006, 'gone');
		await expect(a).rejects.toBeInstanceOf(SignalingError);
		await expect(a).rejects.toMatchObject({ code: ErrorCode.Closed });
		await expect(b).rejects.toMatchObject({ code: ErrorCode.Closed });
		await expect(client.request(Method.Leave, {})).rejects.toMatchObject({ code: ErrorCode.Closed });
	});

	it('notifications arrive as typed events; invalid ones as protocolerror', async () => {
		const { client, socket } = await connected();
		const left = vi.fn();
		const protocolError = vi.fn();
		client.on('peerLeft', left);
		client.on('protocolerror', protocolError);
		socket.reply({ method: 'peerLeft', data: { peerId: 'p9' } });
		socket.reply({ method: 'peerLeft', data: { who: 'p9' } });
		expect(left).toHaveBeenCalledWith({ peerId: 'p9' });
		expect(left).toHaveBeenCalledTimes(1);
		expect(protocolError.mock.calls[0]?.[0]).toMatchObject({ code: ErrorCode.InvalidData });
	});

	it('connect() rejects with CLOSED when the socket never opens', async () => {
		const socket = new FakeSocket();
		const pending = SignalingClient.connect('ws://test/ws', { createSocket: () => socket });
		socket.close(1006);
		await expect(pending).rejects.toMatchObject({ code: ErrorCode.Closed });
	});
});

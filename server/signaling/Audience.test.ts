import { describe, expect, it } from 'vitest';
import { BroadcastConfigSchema } from '../../core/config/index.js';
import { ErrorCode, MAX_RAISED_HANDS } from '../../core/protocol/index.js';
import { Audience, type AudienceBatch } from './Audience.js';
import { Peer, type PeerChannel } from './Peer.js';

const channel: PeerChannel = { open: true, send: () => undefined, close: () => undefined };
const peer = (id: string) => new Peer({ id, identity: id, displayName: `name-${id}`, role: 'viewer', roomId: 'r', channel });

function make(overrides: Partial<ReturnType<typeof BroadcastConfigSchema.parse>> = {}) {
	let size = 0;
	const batches: AudienceBatch[] = [];
	const audience = new Audience(BroadcastConfigSchema.parse({ updateIntervalMs: 60_000, ...overrides }), () => size, (b) => batches.push(b));
	return { audience, batches, setSize: (n: number) => (size = n) };
}

describe('Audience', () => {
	it('sends the count only when it changed since the last batch', () => {
		const { audience, batches, setSize } = make({ updateIntervalMs: 100 });
		setSize(3);
		audience.changed();
		expect(batches).toEqual([{ count: 3 }]);
		audience.close();
	});

	it('keeps hands oldest first, once each, and lowers them', () => {
		const { audience } = make();
		const [a, b, c] = [peer('a'), peer('b'), peer('c')];
		audience.setHand(b, true);
		audience.setHand(a, true);
		audience.setHand(b, true);
		audience.setHand(c, true);
		expect(audience.hands.map((h) => h.peerId)).toEqual(['b', 'a', 'c']);
		expect(audience.hands[0]).toMatchObject({ peerId: 'b', displayName: 'name-b' });
		audience.setHand(a, false);
		audience.lowerHand('c');
		expect(audience.hands.map((h) => h.peerId)).toEqual(['b']);
		expect(audience.hasHand('b')).toBe(true);
		expect(audience.hasHand('a')).toBe(false);
		audience.close();
	});

	it('refuses a hand past MAX_RAISED_HANDS with LIMIT_EXCEEDED', () => {
		const { audience } = make();
		for (let i = 0; i < MAX_RAISED_HANDS; i++) audience.setHand(peer(`p${i}`), true);
		expect(() => audience.setHand(peer('one-more'), true)).toThrow(expect.objectContaining({ code: ErrorCode.LimitExceeded }));
		audience.close();
	});

	it('tallies reactions into the next batch, and paces each peer', () => {
		const { audience, batches } = make({ reactionsBurst: 3, reactionsPerSecond: 0.001 });
		const [a, b] = [peer('a'), peer('b')];
		audience.react(a, '👏');
		audience.react(a, '👏');
		audience.react(b, '🎉');
		audience.react(a, '🎉');
		expect(() => audience.react(a, '👏')).toThrow(expect.objectContaining({ code: ErrorCode.RateLimited }));
		// The first reaction flushed at once; the rest wait for the interval.
		expect(batches).toEqual([{ reactions: [{ emoji: '👏', count: 1 }] }]);
		audience.close();
	});

	it('paces a viewer\'s chat, and the audience\'s together', () => {
		const { audience } = make({ chatPerViewerBurst: 2, chatPerViewerPerSecond: 0.001, viewerChatBurst: 3, viewerChatPerSecond: 0.001 });
		const [a, b] = [peer('a'), peer('b')];
		audience.admitViewerChat(a);
		audience.admitViewerChat(a);
		expect(() => audience.admitViewerChat(a)).toThrow(expect.objectContaining({ code: ErrorCode.RateLimited }));
		audience.admitViewerChat(b);
		// b has its own allowance left, but the room's is spent.
		expect(() => audience.admitViewerChat(b)).toThrow(expect.objectContaining({ code: ErrorCode.RateLimited }));
		audience.close();
	});
});

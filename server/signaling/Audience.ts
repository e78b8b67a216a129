import type { BroadcastConfig } from '../../core/config/index.js';
import { ErrorCode, MAX_RAISED_HANDS, SignalingError, announcedAudience, type RaisedHand, type Reaction } from '../../core/protocol/index.js';
import { Batcher } from './Batcher.js';
import type { Peer } from './Peer.js';
import { RateLimiter } from './RateLimiter.js';

/** What one batch carries: only the parts that changed since the last. */
export interface AudienceBatch {
	/** The audience size (as `announcedAudience` rounds it), when it differs from the one last sent. */
	count?: number;
	/** The raised hands (for hosts), when they changed. */
	hands?: RaisedHand[];
	/** Reactions since the last batch, per emoji. */
	reactions?: Array<{ emoji: Reaction; count: number }>;
}

/**
 * What a room tells everyone in batches instead of one message per event:
 * the audience count, the queue of raised hands, reaction tallies. At most
 * one batch per `broadcast.updateIntervalMs`, so a thousand viewers joining
 * cost each peer one message a second, not a thousand; and the count is
 * rounded for large audiences, so a trickle of joins into a large audience
 * does not cost every peer a message per join either. Also paces what
 * viewers may send to everyone: chat (per viewer and for the whole room)
 * and reactions (per peer).
 */
export class Audience {
	readonly #config: BroadcastConfig;
	readonly #batcher: Batcher;
	/** Oldest first (a Map keeps insertion order). */
	readonly #hands = new Map<string, RaisedHand>();
	#handsChanged = false;
	#reactions: Partial<Record<Reaction, number>> = {};
	#hasReactions = false;
	#lastCount = 0;
	/** Every viewer's chat together: each message goes to the whole audience. */
	readonly #viewerChat: RateLimiter;

	readonly #size: () => number;

	/** `size()` reads the audience now; `send` delivers a batch. */
	constructor(config: BroadcastConfig, size: () => number, send: (batch: AudienceBatch) => void) {
		this.#config = config;
		this.#size = size;
		this.#viewerChat = new RateLimiter(config.viewerChatPerSecond, config.viewerChatBurst);
		this.#batcher = new Batcher(config.updateIntervalMs, () => {
			const batch: AudienceBatch = {};
			const count = announcedAudience(this.#size());
			if (count !== this.#lastCount) batch.count = this.#lastCount = count;
			if (this.#handsChanged) batch.hands = this.hands;
			if (this.#hasReactions) batch.reactions = Object.entries(this.#reactions).map(([emoji, count]) => ({ emoji: emoji as Reaction, count }));
			this.#handsChanged = this.#hasReactions = false;
			this.#reactions = {};
			if (batch.count !== undefined || batch.hands || batch.reactions) send(batch);
		});
	}

	/** The audience grew or shrank: everyone hears of it in the next batch. */
	changed(): void {
		this.#batcher.mark();
	}

	get hands(): RaisedHand[] {
		return [...this.#hands.values()];
	}

	hasHand(peerId: string): boolean {
		return this.#hands.has(peerId);
	}

	/** Raises or lowers `peer`'s hand; LIMIT_EXCEEDED when MAX_RAISED_HANDS are up already. */
	setHand(peer: Peer, raised: boolean): void {
		if (!raised) {
			this.lowerHand(peer.id);
			return;
		}
		if (this.#hands.has(peer.id)) return;
		if (this.#hands.size >= MAX_RAISED_HANDS) {
			throw new SignalingError(ErrorCode.LimitExceeded, `${MAX_RAISED_HANDS} hands are up already; try again later`);
		}
		this.#hands.set(peer.id, { peerId: peer.id, displayName: peer.displayName, raisedAt: Date.now() });
		this.#handsChanged = true;
		this.#batcher.mark();
	}

	lowerHand(peerId: string): void {
		if (!this.#hands.delete(peerId)) return;
		this.#handsChanged = true;
		this.#batcher.mark();
	}

	/** Counts a reaction for the next batch; RATE_LIMITED past the peer's own pace. */
	react(peer: Peer, emoji: Reaction): void {
		peer.buckets.reactions ??= new RateLimiter(this.#config.reactionsPerSecond, this.#config.reactionsBurst);
		if (!peer.buckets.reactions.tryTake()) throw new SignalingError(ErrorCode.RateLimited, 'too many reactions; slow down');
		this.#reactions[emoji] = (this.#reactions[emoji] ?? 0) + 1;
		this.#hasReactions = true;
		this.#batcher.mark();
	}

	/** A viewer's chat message may go to everyone: its own pace and the room's; RATE_LIMITED otherwise. */
	admitViewerChat(peer: Peer): void {
		peer.buckets.chat ??= new RateLimiter(this.#config.chatPerViewerPerSecond, this.#config.chatPerViewerBurst);
		if (!peer.buckets.chat.tryTake()) throw new SignalingError(ErrorCode.RateLimited, 'viewers may chat only every few seconds; slow down');
		if (!this.#viewerChat.tryTake()) throw new SignalingError(ErrorCode.RateLimited, 'the audience is chatting faster than the room shows; try again shortly');
	}

	/** Stops batching. Idempotent. */
	close(): void {
		this.#batcher.close();
	}
}

import { Method, Notification, type RaisedHand, type Reaction } from '../../../core/protocol/index.js';
import type { Joined, SignalingSession } from '../signaling/SignalingSession.js';
import type { ReactionCounts } from './callTypes.js';

export interface StageOptions {
	signaling: SignalingSession;
	/** Whether this peer's role manages the room now (a host hears the raised hands). */
	canManage: () => boolean;
	onAudience: (count: number) => void;
	onHands: (hands: RaisedHand[]) => void;
	onReactions: (counts: ReactionCounts) => void;
}

/**
 * A broadcast as this client sees it: the audience's size, the raised hands
 * (a host's view), its own hand, the room's reactions, and the requests
 * about the stage its role may make. In a meeting the audience is 0 and
 * the hands are none.
 */
export class Stage {
	readonly #options: StageOptions;
	#audience = 0;
	#hands: RaisedHand[] = [];
	#handRaised = false;

	constructor(options: StageOptions) {
		this.#options = options;
		const { signaling } = options;
		signaling.subscribe(Notification.Audience, ({ count }) => this.#setAudience(count));
		signaling.subscribe(Notification.Hands, ({ hands }) => this.#setHands(hands));
		signaling.subscribe(Notification.Reactions, ({ counts }) => options.onReactions(counts));
		signaling.subscribe('reconnected', (joined) => {
			this.#setAudience(joined.audience);
			if (options.canManage()) this.#setHands(joined.hands);
			this.#handRaised = joined.handRaised;
		});
	}

	/** How many watch the broadcast (its viewers); 0 in a meeting. */
	get audienceCount(): number {
		return this.#audience;
	}

	/** A host's view: the raised hands, oldest first. */
	get hands(): readonly RaisedHand[] {
		return this.#hands;
	}

	/** This viewer's own hand is up. */
	get handRaised(): boolean {
		return this.#handRaised;
	}

	/** The stage as the join answer gave it. */
	joined(joined: Joined): void {
		this.#audience = joined.audience;
		this.#hands = joined.hands;
		this.#handRaised = joined.handRaised;
	}

	/** This peer is on stage now: its hand is down. */
	onStage(): void {
		this.#handRaised = false;
	}

	/** A viewer raises (or lowers) its hand; resolves once the server has it. */
	async raiseHand(raised: boolean): Promise<void> {
		await this.#options.signaling.request(Method.HandRaise, { raised });
		this.#handRaised = raised;
	}

	/** A host brings a viewer with its hand up onto the stage. */
	async promote(peerId: string): Promise<void> {
		await this.#options.signaling.request(Method.StagePromote, { peerId });
	}

	/** A host sends a speaker back to the audience. */
	async demote(peerId: string): Promise<void> {
		await this.#options.signaling.request(Method.StageDemote, { peerId });
	}

	/** An emoji reaction; everyone sees the room's reactions counted, once a second. */
	async react(emoji: Reaction): Promise<void> {
		await this.#options.signaling.request(Method.Reaction, { emoji });
	}

	#setAudience(count: number): void {
		if (count === this.#audience) return;
		this.#audience = count;
		this.#options.onAudience(count);
	}

	#setHands(hands: RaisedHand[]): void {
		this.#hands = hands;
		this.#options.onHands(hands);
	}
}

import { createHmac } from 'node:crypto';
import type { TurnConfig } from '../../core/config/index.js';
import type { IceServer } from '../../core/protocol/index.js';

/**
 * Time-limited TURN credentials in coturn's REST scheme (`use-auth-secret`):
 * username "<unix expiry>:<identity>", credential
 * base64(HMAC-SHA1(secret, username)). coturn recomputes the HMAC with the
 * shared secret and refuses the allocation once the expiry has passed, so
 * the server never has to tell coturn about a user.
 */
export class TurnCredentials {
	readonly #config: TurnConfig;
	readonly #now: () => number;

	constructor(config: TurnConfig, now: () => number = Date.now) {
		this.#config = config;
		this.#now = now;
	}

	get enabled(): boolean {
		return this.#config.enabled;
	}

	/** The ICE servers for one participant: TURN with fresh credentials, or none. */
	iceServersFor(identity: string): IceServer[] {
		if (!this.#config.enabled || !this.#config.secret) return [];
		const expiry = Math.floor(this.#now() / 1000) + this.#config.credentialTtlSeconds;
		// ':' separates expiry and identity; keep the identity from adding another.
		const username = `${expiry}:${identity.replaceAll(':', '_')}`;
		return [{ urls: [...this.#config.urls], username, credential: turnPassword(this.#config.secret, username) }];
	}
}

export function turnPassword(secret: string, username: string): string {
	return createHmac('sha1', secret).update(username).digest('base64');
}

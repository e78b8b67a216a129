import { createHmac } from 'node:crypto';
import type { TurnConfig } from '../../core/config/index.js';
import type { IceServer } from '../../core/protocol/index.js';

/** ICE servers for one participant and when their TURN credentials stop working. */
export interface IssuedIceServers {
	iceServers: IceServer[];
	/** ms since the epoch; null when there is no TURN server. */
	expiresAt: number | null;
}

/**
 * Time-limited TURN credentials in coturn's REST scheme (`use-auth-secret`):
 * username "<unix expiry>:<identity>", credential
 * base64(HMAC-SHA1(secret, username)). coturn recomputes the HMAC with the
 * shared secret and refuses the allocation once the expiry has passed, so
 * the server never has to tell coturn about a user.
 *
 * A credential lives `credentialTtlSeconds`, or `openRoomCredentialTtlSeconds`
 * for a peer that joined without a token, and never past the session's
 * access token. The signaling service renews it before it expires, for as
 * long as the session lasts. Being stateless, a credential cannot be revoked:
 * it outlives a session that ends early by at most its (short) TTL.
 */
export class TurnCredentials {
	readonly #config: TurnConfig;
	readonly #now: () => number;

	constructor(config: TurnConfig, now: () => number = Date.now) {
		this.#config = config;
		this.#now = now;
	}

	get enabled(): boolean {
		return this.#config.enabled && this.#config.secret !== undefined;
	}

	/**
	 * The ICE servers for one participant: TURN with fresh credentials, or
	 * none. `tokenExpiresAt` (ms) bounds them for a peer with a token; without
	 * one the open-room TTL applies.
	 */
	iceServersFor(identity: string, tokenExpiresAt: number | undefined): IssuedIceServers {
		if (!this.#config.enabled || !this.#config.secret) return { iceServers: [], expiresAt: null };
		const now = this.#now();
		const ttlMs = 1000 * (tokenExpiresAt === undefined ? this.#config.openRoomCredentialTtlSeconds : this.#config.credentialTtlSeconds);
		const expiresAt = Math.floor(Math.min(now + ttlMs, tokenExpiresAt ?? Infinity) / 1000) * 1000;
		// ':' separates expiry and identity; keep the identity from adding another.
		const username = `${expiresAt / 1000}:${identity.replaceAll(':', '_')}`;
		return {
			iceServers: [{ urls: [...this.#config.urls], username, credential: turnPassword(this.#config.secret, username) }],
			expiresAt,
		};
	}
}

export function turnPassword(secret: string, username: string): string {
	return createHmac('sha1', secret).update(username).digest('base64');
}

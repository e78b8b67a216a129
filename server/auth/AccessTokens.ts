import { SignJWT, errors, jwtVerify } from 'jose';
import { z } from 'zod';
import { ErrorCode, RoleSchema, RoomIdSchema, SignalingError, type Role } from '../../core/protocol/index.js';

const ISSUER = 'streaming-engine';
const AUDIENCE = 'streaming-engine:room';

const ClaimsSchema = z.object({
	sub: z.string().min(1).max(128),
	room: RoomIdSchema,
	role: RoleSchema,
	name: z.string().min(1).max(64).optional(),
});

/** What a verified access token grants. */
export interface AccessGrant {
	roomId: string;
	identity: string;
	role: Role;
	displayName?: string;
}

/** A verified token: its grant, and until when the session it opens is good (ms since the epoch). */
export interface VerifiedGrant extends AccessGrant {
	/** exp, or iat + auth.maxTokenAgeSeconds if that comes first. */
	expiresAt: number;
}

/**
 * Room access tokens: HS256 JWTs naming the room, the identity and the role,
 * with `exp` and `iat` required. verify() throws SignalingError with
 * TOKEN_EXPIRED (past exp, or older than `maxAgeSeconds`), TOKEN_WRONG_ROOM
 * or TOKEN_INVALID (tampered, foreign, malformed, no exp or iat).
 */
export class AccessTokens {
	readonly #key: Uint8Array | undefined;
	readonly #maxAgeSeconds: number;

	constructor(secret: string | undefined, maxAgeSeconds = 86_400) {
		this.#key = secret === undefined ? undefined : new TextEncoder().encode(secret);
		this.#maxAgeSeconds = maxAgeSeconds;
	}

	/** False when no secret is configured: no token can be issued or checked. */
	get enabled(): boolean {
		return this.#key !== undefined;
	}

	async sign(grant: AccessGrant, ttlSeconds: number): Promise<string> {
		const jwt = new SignJWT({ room: grant.roomId, role: grant.role, ...(grant.displayName ? { name: grant.displayName } : {}) })
			.setProtectedHeader({ alg: 'HS256' })
			.setSubject(grant.identity)
			.setIssuer(ISSUER)
			.setAudience(AUDIENCE)
			.setIssuedAt()
			.setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
		return jwt.sign(this.#requireKey());
	}

	async verify(token: string, roomId: string): Promise<VerifiedGrant> {
		let payload: { exp?: number; iat?: number };
		try {
			({ payload } = await jwtVerify(token, this.#requireKey(), {
				issuer: ISSUER,
				audience: AUDIENCE,
				algorithms: ['HS256'],
				requiredClaims: ['exp', 'iat'],
				maxTokenAge: this.#maxAgeSeconds,
				clockTolerance: 30,
			}));
		} catch (error) {
			if (error instanceof errors.JWTExpired) {
				throw new SignalingError(ErrorCode.TokenExpired, `access token expired (or older than ${this.#maxAgeSeconds} s)`);
			}
			if (error instanceof errors.JWTClaimValidationFailed && (error.claim === 'exp' || error.claim === 'iat')) {
				throw new SignalingError(ErrorCode.TokenInvalid, `access token needs a valid ${error.claim} claim`);
			}
			throw new SignalingError(ErrorCode.TokenInvalid, 'access token is not valid');
		}
		const claims = ClaimsSchema.safeParse(payload);
		if (!claims.success) {
			throw new SignalingError(ErrorCode.TokenInvalid, 'access token lacks room, sub or role');
		}
		if (claims.data.room !== roomId) {
			throw new SignalingError(ErrorCode.TokenWrongRoom, `access token is for another room`);
		}
		const expiresAt = Math.min(payload.exp as number, (payload.iat as number) + this.#maxAgeSeconds) * 1000;
		return {
			roomId: claims.data.room,
			identity: claims.data.sub,
			role: claims.data.role,
			...(claims.data.name ? { displayName: claims.data.name } : {}),
			expiresAt,
		};
	}

	#requireKey(): Uint8Array {
		if (!this.#key) {
			throw new SignalingError(ErrorCode.TokenInvalid, 'this server has no token secret (auth.tokenSecret)');
		}
		return this.#key;
	}
}

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './httpUtil.js';

/** The operator's bearer key for the room API and /metrics (`auth.apiKey`). */
export class ApiKey {
	readonly #key: Buffer;

	constructor(key: string) {
		this.#key = Buffer.from(key);
	}

	/** Throws 401 UNAUTHORIZED unless the request carries `Authorization: Bearer <key>`. */
	authorize(req: IncomingMessage): void {
		const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
		const given = Buffer.from(match?.[1] ?? '');
		if (given.length !== this.#key.length || !timingSafeEqual(given, this.#key)) {
			throw new HttpError(401, 'UNAUTHORIZED', 'missing or wrong API key');
		}
	}
}

/**
 * An access token arrives in the link (`&token=`), but must not stay in the
 * address bar, the history or a shared screenshot: it moves to this tab's
 * sessionStorage (so Rejoin and reload still work) and leaves the URL (the
 * call page rewrites it). A browser that blocks storage still joins with
 * the link's token. Small on purpose: the page's first script reads it.
 */
import { asRole, type Role } from '../../../core/protocol/roles.js';

export const linkToken = {
	take(params: URLSearchParams, roomId: string | null): string | undefined {
		const fromLink = params.get('token') ?? undefined;
		if (!roomId) return fromLink;
		try {
			if (fromLink) sessionStorage.setItem(`token:${roomId}`, fromLink);
			return fromLink ?? sessionStorage.getItem(`token:${roomId}`) ?? undefined;
		} catch {
			return fromLink;
		}
	},
	/**
	 * The role a token names, read without checking its signature (the
	 * server checks it, and a token's role always wins): what the page may
	 * expect before the join is answered.
	 */
	role(token: string | undefined): Role | undefined {
		try {
			const payload = token?.split('.')[1];
			return payload ? asRole((JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as { role?: unknown }).role) : undefined;
		} catch {
			return undefined;
		}
	},
	/** A token the server refused is not offered again. */
	forget(roomId: string): void {
		try {
			sessionStorage.removeItem(`token:${roomId}`);
		} catch {
			// Storage blocked: nothing was kept.
		}
	},
};

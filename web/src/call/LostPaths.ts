import type { Topology } from '../../../core/protocol/index.js';
import type { RepairRecord } from '../participant/RemoteParticipant.js';
import type { LostPath } from './callTypes.js';

/**
 * The media paths repairing gave up on, as the user is told of them: a
 * give-up adds one, its recovery removes it, and so do the room leaving
 * that path (a migration) or the participant leaving. Each change returns
 * true, so the caller says so once.
 */
export class LostPaths {
	readonly #lost = new Map<string, LostPath>();

	get all(): LostPath[] {
		return [...this.#lost.values()];
	}

	/** A repair step; `nameOf` gives a mesh pair's other end its name. Returns whether the lost paths changed. */
	record({ path, action, peerId }: RepairRecord, nameOf: (peerId: string) => string | undefined): boolean {
		const key = path === 'mesh' ? `mesh:${peerId}` : 'sfu';
		if (action === 'gave-up') {
			this.#lost.set(key, path === 'mesh' ? { path, peerId: peerId ?? '', displayName: (peerId && nameOf(peerId)) || 'a participant' } : { path });
			return true;
		}
		return action === 'recovered' && this.#lost.delete(key);
	}

	/** The room settled on `settled`: a path it left is no longer lost. */
	settled(settled: Topology): boolean {
		const before = this.#lost.size;
		for (const [key, lost] of this.#lost) if (lost.path !== settled) this.#lost.delete(key);
		return this.#lost.size !== before;
	}

	/** The media paths were built anew (a role change): nothing of the old ones is lost any more. */
	clear(): boolean {
		const had = this.#lost.size > 0;
		this.#lost.clear();
		return had;
	}

	peerLeft(peerId: string): boolean {
		return this.#lost.delete(`mesh:${peerId}`);
	}
}

import type { PeerInfo, Role } from '../../core/protocol/index.js';

/** Sends one notification to this peer's signaling connection. */
export type NotifyFn = (method: string, data: unknown) => void;

/** A participant that has joined a room, as the server knows it. */
export class Peer {
	readonly id: string;
	readonly displayName: string;
	readonly role: Role;
	readonly roomId: string;
	readonly #notify: NotifyFn;

	constructor(options: { id: string; displayName: string; role: Role; roomId: string; notify: NotifyFn }) {
		this.id = options.id;
		this.displayName = options.displayName;
		this.role = options.role;
		this.roomId = options.roomId;
		this.#notify = options.notify;
	}

	get info(): PeerInfo {
		return { peerId: this.id, displayName: this.displayName, role: this.role };
	}

	notify(method: string, data: unknown): void {
		this.#notify(method, data);
	}
}

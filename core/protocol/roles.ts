/**
 * Roles and their capabilities, without a schema: a page reads them before
 * the app's code (and zod) has loaded (web/src/boot.ts: a viewer opens no
 * camera). messages.ts builds RoleSchema from ROLES.
 */

export const ROLES = ['host', 'participant', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** `value` if it names a role, else undefined. */
export function asRole(value: unknown): Role | undefined {
	return (ROLES as readonly unknown[]).includes(value) ? (value as Role) : undefined;
}

/**
 * What each role may do, in one place. The server checks every request
 * against it (PERMISSION_DENIED otherwise), and the browser reads it to
 * decide what to offer (a viewer opens no camera).
 *
 *   publish     send media: a send transport, producers, mute state, mesh offers that send
 *   subscribe   receive media: receive transports, consumers, mesh connections
 *   chat        send chat messages and reactions
 *   raiseHand   ask to speak in a broadcast (a viewer: the others are on stage already)
 *   manageRoom  remove other peers, end the room, promote viewers to the stage and demote speakers
 */
export const Capability = {
	Publish: 'publish',
	Subscribe: 'subscribe',
	Chat: 'chat',
	RaiseHand: 'raiseHand',
	ManageRoom: 'manageRoom',
} as const;
export type Capability = (typeof Capability)[keyof typeof Capability];

export const ROLE_CAPABILITIES: Readonly<Record<Role, ReadonlySet<Capability>>> = {
	host: new Set([Capability.Publish, Capability.Subscribe, Capability.Chat, Capability.ManageRoom]),
	participant: new Set([Capability.Publish, Capability.Subscribe, Capability.Chat]),
	viewer: new Set([Capability.Subscribe, Capability.Chat, Capability.RaiseHand]),
};

export function can(role: Role, capability: Capability): boolean {
	return ROLE_CAPABILITIES[role].has(capability);
}

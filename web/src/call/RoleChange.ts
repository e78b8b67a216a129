import type { Topology } from '../../../core/protocol/index.js';
import type { TopologyLabel } from '../topology/MediaPaths.js';

/**
 * What a client does with its media paths when its own role changes in a
 * broadcast (`roleChanged`): a viewer brought on stage starts sending, a
 * speaker sent back to the audience stops.
 *
 *   none                the role change does not change whether it sends
 *   publish-in-place    on the SFU, and told to stay there: a send transport and producers beside the consumers
 *   unpublish-in-place  on the SFU: producers and the send transport close, the consumers stay
 *   rebuild             anything else (on the mesh, mid-migration, or told to go elsewhere):
 *                       the media paths are built again from the new placement
 */
export type RoleChangePlan = 'none' | 'publish-in-place' | 'unpublish-in-place' | 'rebuild';

export interface RoleChangeInput {
	/** Whether the old role sent media. */
	publishing: boolean;
	/** Whether the new role sends media. */
	willPublish: boolean;
	/** This client's paths now: `migrating` while it holds two. */
	label: TopologyLabel;
	/** Where the server says this peer's media goes from now on. */
	mediaMode: Topology;
}

export function planRoleChange({ publishing, willPublish, label, mediaMode }: RoleChangeInput): RoleChangePlan {
	if (publishing === willPublish) return 'none';
	// Only a client settled on the SFU can add or drop its sending side without touching what it receives.
	const inPlace = label === 'sfu' && mediaMode === 'sfu';
	if (!inPlace) return 'rebuild';
	return willPublish ? 'publish-in-place' : 'unpublish-in-place';
}

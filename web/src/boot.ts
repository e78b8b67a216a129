import { Capability, asRole, can, type Role } from '../../core/protocol/roles.js';
import { PLAIN_LINK_ROLE_META } from '../../core/protocol/wire.js';
import type { LocalMedia } from './call/callTypes.js';
import { linkToken } from './call/linkToken.js';
import { missingForCalls } from './media/firstMedia.js';
import { openMedia } from './media/openMedia.js';
import { EarlyJoin, signalingUrl } from './signaling/EarlyJoin.js';
import { markJoin } from './util/joinTimeline.js';

/**
 * The page's first script, small on purpose (no schema, no WebRTC code).
 * A direct link (`/?room=R&name=N`) starts joining here, before the app's
 * code has even loaded: the signaling socket opens and the join goes out at
 * once, and camera and microphone open for a role that sends (a viewer is
 * never asked): beside the join when the link or its token names that role,
 * else as soon as the answer gives it. Meanwhile the app (main.ts)
 * runs and takes over the join, the camera and every frame the socket got.
 * Without a direct link the app starts as before (the lobby).
 */

markJoin('script');

/** What the first script began for the app: the join, and the camera it opens once the join says this role sends. */
export interface EarlyStart {
	join: EarlyJoin;
	/** Resolves undefined when the role does not send (or the join failed): nothing was opened. */
	media: Promise<LocalMedia | undefined>;
}

function startEarly(): EarlyStart | undefined {
	const params = new URLSearchParams(location.search);
	const roomId = params.get('room');
	const displayName = params.get('name');
	// A browser without WebRTC is told so by the app; a page without a direct link shows the lobby.
	if (!roomId || !displayName || missingForCalls()) return undefined;
	const token = linkToken.take(params, roomId);
	const role = asRole(params.get('role'));
	const join = new EarlyJoin(signalingUrl(), { roomId, displayName, ...(token ? { token } : {}), ...(role ? { role } : {}) });
	const sends = (given: Role | undefined) => given !== undefined && can(given, Capability.Publish);
	// A token's role is the one granted, and an open room grants the role a link asks for (or refuses the join);
	// a plain link's role is the room's to say, and the page says it when the server knew (server/http/appPage.ts).
	// Known to send: the camera opens beside the join. Otherwise it waits for the join's answer.
	const known = token ? linkToken.role(token) : (role ?? asRole(document.querySelector<HTMLMetaElement>(`meta[name="${PLAIN_LINK_ROLE_META}"]`)?.content));
	const media = sends(known) ? openMedia() : join.role.then((given) => (sends(given) ? openMedia() : undefined));
	return { join, media };
}

const early = startEarly();
// The app chunk was fetched and compiled alongside this script (index.html preloads it): it runs now.
import('./main.js')
	.then(({ start }) => start(early))
	.catch((error: unknown) => {
		// The app's code did not load (or could not start): leave the room rather than sit in it unseen.
		early?.join.socket.close(1000, 'app failed to load');
		void early?.media.then((media) => media?.stream?.getTracks().forEach((track) => track.stop()));
		const app = document.querySelector('#app');
		if (app) app.textContent = `The app could not load (${String(error)}). Reload the page to try again.`;
	});

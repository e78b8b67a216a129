import { PLAIN_LINK_ROLE_META, type Role } from '../../core/protocol/index.js';

/**
 * The app's page (index.html as built) with the role a plain link to its
 * room joins in, when the server knows it. Roles are fixed words, never
 * anything from the request.
 */
export function appPageWith(html: string, plainLinkRole: Role): string {
	return html.replace('</head>', `\t<meta name="${PLAIN_LINK_ROLE_META}" content="${plainLinkRole}" />\n\t</head>`);
}

import { parseArgs } from 'node:util';
import { RoleSchema } from '../../core/protocol/index.js';
import { loadConfig } from '../config/loadConfig.js';
import { AccessTokens } from './AccessTokens.js';

// `npm run token -- --room R --identity alice [--role host] [--name Alice] [--ttl 3600]`
// prints an access token signed with the configured auth.tokenSecret.

const { values } = parseArgs({
	options: {
		room: { type: 'string' },
		identity: { type: 'string' },
		role: { type: 'string', default: 'participant' },
		name: { type: 'string' },
		ttl: { type: 'string', default: '3600' },
	},
});

try {
	const config = loadConfig();
	if (!values.room || !values.identity) throw new Error('--room and --identity are required');
	const role = RoleSchema.parse(values.role);
	const ttl = Number(values.ttl);
	if (!Number.isInteger(ttl) || ttl <= 0) throw new Error('--ttl must be a positive number of seconds');
	const tokens = new AccessTokens(config.auth.tokenSecret);
	if (!tokens.enabled) throw new Error('set AUTH_TOKEN_SECRET (auth.tokenSecret) to sign tokens');
	const token = await tokens.sign(
		{ roomId: values.room, identity: values.identity, role, ...(values.name ? { displayName: values.name } : {}) },
		ttl,
	);
	process.stdout.write(`${token}\n`);
} catch (error) {
	process.stderr.write(`${(error as Error).message}\n`);
	process.exit(2);
}

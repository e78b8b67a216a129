import { writeFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../server/config/loadConfig.js';
import { renderTurnserverConf } from './renderTurnserverConf.js';

// `npm run turn:config [-- <out file>]`: writes coturn's config from the same
// config the server reads (defaults, CONFIG_FILE, env), to stdout or a file.

try {
	const config = loadConfig();
	const text = renderTurnserverConf(config.turn);
	const out = process.argv[2];
	if (out) writeFileSync(out, text, { mode: 0o600 });
	else process.stdout.write(text);
} catch (error) {
	process.stderr.write(`${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
	process.exit(2);
}

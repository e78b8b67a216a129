import { z } from 'zod';

/*
 * The page's CSP forbids eval: zod must not try to compile its parsers
 * (each attempt logs a violation). zod reads the setting as each schema is
 * built, so the app imports this module before anything else.
 */
z.config({ jitless: true });

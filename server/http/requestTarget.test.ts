import { describe, expect, it } from 'vitest';
import { parseTarget } from './requestTarget.js';

describe('parseTarget', () => {
	it('reads origin-form and absolute-form targets', () => {
		expect(parseTarget('/api/rooms/a%20b?x=1')).toMatchObject({ path: '/api/rooms/a b', rawPath: '/api/rooms/a%20b' });
		expect(parseTarget('/ws?x=1')?.query.get('x')).toBe('1');
		expect(parseTarget('http://example.com/healthz')?.path).toBe('/healthz');
		expect(parseTarget('http://example.com')?.path).toBe('/');
	});

	it.each([
		['empty', ''],
		['undefined', undefined],
		['asterisk-form', '*'],
		['authority-form', 'example.com:443'],
		['scheme-relative', '//%/x'],
		['scheme-relative ws', '//%/ws'],
		['bad escape', '/api/rooms/%zz'],
		['truncated escape', '/%'],
		['encoded NUL', '/a%00b'],
		['encoded newline', '/a%0d%0ab'],
		['encoded double slash', '/%2F%2Fevil'],
		['no leading slash', 'ws'],
		['too long', `/${'a'.repeat(9000)}`],
	])('refuses %s without throwing', (_name, target) => {
		expect(parseTarget(target)).toBeUndefined();
	});
});

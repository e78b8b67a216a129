import { describe, expect, it } from 'vitest';
import { LostPaths } from './LostPaths.js';

const names = (id: string) => ({ bob: 'Bob' })[id];

describe('LostPaths', () => {
	it('a give-up adds a path (with the other end’s name), its recovery removes it; other steps change nothing', () => {
		const lost = new LostPaths();
		expect(lost.record({ path: 'mesh', action: 'recreate', peerId: 'bob', at: 1 }, names)).toBe(false);
		expect(lost.record({ path: 'mesh', action: 'gave-up', peerId: 'bob', at: 2 }, names)).toBe(true);
		expect(lost.record({ path: 'sfu', action: 'gave-up', at: 3 }, names)).toBe(true);
		expect(lost.all).toEqual([{ path: 'mesh', peerId: 'bob', displayName: 'Bob' }, { path: 'sfu' }]);
		expect(lost.record({ path: 'mesh', action: 'recovered', peerId: 'carol', at: 4 }, names)).toBe(false);
		expect(lost.record({ path: 'mesh', action: 'recovered', peerId: 'bob', at: 5 }, names)).toBe(true);
		expect(lost.all).toEqual([{ path: 'sfu' }]);
	});

	it('forgets a path the room left, and a participant who left', () => {
		const lost = new LostPaths();
		lost.record({ path: 'mesh', action: 'gave-up', peerId: 'bob', at: 1 }, names);
		lost.record({ path: 'mesh', action: 'gave-up', peerId: 'dan', at: 1 }, names);
		expect(lost.all[1]).toMatchObject({ displayName: 'a participant' });
		expect(lost.peerLeft('dan')).toBe(true);
		expect(lost.settled('mesh')).toBe(false);
		expect(lost.settled('sfu')).toBe(true);
		expect(lost.all).toEqual([]);
	});
});

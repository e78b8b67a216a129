import { describe, expect, it } from 'vitest';
import { planRoleChange } from './RoleChange.js';

describe('planRoleChange()', () => {
	it('a viewer on the SFU brought on stage publishes in place; demoted again it unpublishes in place', () => {
		expect(planRoleChange({ publishing: false, willPublish: true, label: 'sfu', mediaMode: 'sfu' })).toBe('publish-in-place');
		expect(planRoleChange({ publishing: true, willPublish: false, label: 'sfu', mediaMode: 'sfu' })).toBe('unpublish-in-place');
	});

	it('a client on the mesh, or holding two paths mid-migration, or sent to the other topology rebuilds', () => {
		expect(planRoleChange({ publishing: true, willPublish: false, label: 'mesh', mediaMode: 'sfu' })).toBe('rebuild');
		expect(planRoleChange({ publishing: true, willPublish: false, label: 'migrating', mediaMode: 'sfu' })).toBe('rebuild');
		expect(planRoleChange({ publishing: false, willPublish: true, label: 'sfu', mediaMode: 'mesh' })).toBe('rebuild');
		expect(planRoleChange({ publishing: false, willPublish: true, label: 'migrating', mediaMode: 'sfu' })).toBe('rebuild');
	});

	it('a change that keeps sending (or not sending) touches nothing', () => {
		expect(planRoleChange({ publishing: true, willPublish: true, label: 'mesh', mediaMode: 'sfu' })).toBe('none');
		expect(planRoleChange({ publishing: false, willPublish: false, label: 'sfu', mediaMode: 'sfu' })).toBe('none');
	});
});

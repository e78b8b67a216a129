import { describe, expect, it } from 'vitest';
import { shortcutFor, type KeyPress } from './shortcuts.js';

const press = (key: string, more: Partial<KeyPress> = {}): KeyPress => ({ key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, repeat: false, typing: false, ...more });

describe('shortcutFor', () => {
	it('m and Ctrl/Cmd+D mute; v and Ctrl/Cmd+E toggle the camera', () => {
		expect(shortcutFor(press('m'))).toBe('toggle-mute');
		expect(shortcutFor(press('M'))).toBe('toggle-mute');
		expect(shortcutFor(press('d', { ctrlKey: true }))).toBe('toggle-mute');
		expect(shortcutFor(press('d', { metaKey: true }))).toBe('toggle-mute');
		expect(shortcutFor(press('v'))).toBe('toggle-camera');
		expect(shortcutFor(press('e', { ctrlKey: true }))).toBe('toggle-camera');
	});

	it('does nothing while typing, on repeats, with Alt, Shift+letter, or Ctrl with another key', () => {
		expect(shortcutFor(press('m', { typing: true }))).toBeUndefined();
		expect(shortcutFor(press('d', { ctrlKey: true, typing: true }))).toBeUndefined();
		expect(shortcutFor(press('m', { repeat: true }))).toBeUndefined();
		expect(shortcutFor(press('m', { altKey: true }))).toBeUndefined();
		expect(shortcutFor(press('M', { shiftKey: true }))).toBeUndefined();
		expect(shortcutFor(press('m', { ctrlKey: true }))).toBeUndefined();
		expect(shortcutFor(press('d'))).toBeUndefined();
	});
});

import { describe, expect, it } from 'vitest';
import { isTypingTarget, shortcutFor, type KeyPress } from './shortcuts.js';

const press = (key: string, more: Partial<KeyPress> = {}): KeyPress => ({ key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, repeat: false, typing: false, ...more });

describe('shortcutFor', () => {
	it('Ctrl/Cmd+D mutes; Ctrl/Cmd+E toggles the camera', () => {
		expect(shortcutFor(press('d', { ctrlKey: true }))).toBe('toggle-mute');
		expect(shortcutFor(press('d', { metaKey: true }))).toBe('toggle-mute');
		expect(shortcutFor(press('D', { ctrlKey: true }))).toBe('toggle-mute');
		expect(shortcutFor(press('e', { ctrlKey: true }))).toBe('toggle-camera');
		expect(shortcutFor(press('e', { metaKey: true }))).toBe('toggle-camera');
	});

	it('has no single-letter keys (WCAG 2.1.4): m, v, d and e alone do nothing', () => {
		for (const key of ['m', 'M', 'v', 'V', 'd', 'e']) expect(shortcutFor(press(key))).toBeUndefined();
	});

	it('does nothing while typing, on repeats, with Alt or Shift, or Ctrl with another key', () => {
		expect(shortcutFor(press('d', { ctrlKey: true, typing: true }))).toBeUndefined();
		expect(shortcutFor(press('d', { ctrlKey: true, repeat: true }))).toBeUndefined();
		expect(shortcutFor(press('d', { ctrlKey: true, altKey: true }))).toBeUndefined();
		expect(shortcutFor(press('D', { ctrlKey: true, shiftKey: true }))).toBeUndefined();
		expect(shortcutFor(press('m', { ctrlKey: true }))).toBeUndefined();
	});
});

/**
 * A stand-in for a DOM element (the unit tests run without a DOM): a tag,
 * attributes and a parent, with the closest() and isContentEditable that
 * isTypingTarget reads. closest() understands tag names and
 * `[attr="value"]`; any other selector throws, so a change to
 * isTypingTarget's selector cannot pass unnoticed.
 */
class FakeElement {
	constructor(
		readonly tag: string,
		readonly attrs: Record<string, string> = {},
		readonly parent?: FakeElement,
	) {}

	/** As in the DOM: inherited from the nearest ancestor that says, `contenteditable="false"` ends it. */
	get isContentEditable(): boolean {
		const value = this.attrs.contenteditable;
		if (value !== undefined) return value === '' || value === 'true' || value === 'plaintext-only';
		return this.parent?.isContentEditable ?? false;
	}

	closest(selectors: string): FakeElement | null {
		const tests = selectors.split(',').map((s) => s.trim()).map((selector) => {
			if (/^[a-z]+$/.test(selector)) return (e: FakeElement) => e.tag === selector;
			const attr = /^\[([a-z-]+)="([^"]*)"\]$/.exec(selector);
			if (attr) return (e: FakeElement) => e.attrs[attr[1] as string] === attr[2];
			throw new Error(`the fake element does not understand the selector ${selector}`);
		});
		return tests.some((t) => t(this)) ? this : (this.parent?.closest(selectors) ?? null);
	}
}

const target = (e: FakeElement) => e as unknown as EventTarget;

describe('isTypingTarget', () => {
	const body = new FakeElement('body');

	it('is true in an input, a textarea, a select, and anything inside contenteditable', () => {
		expect(isTypingTarget(target(new FakeElement('input', {}, body)))).toBe(true);
		expect(isTypingTarget(target(new FakeElement('textarea', {}, body)))).toBe(true);
		expect(isTypingTarget(target(new FakeElement('select', {}, body)))).toBe(true);
		// A select's option gets the key in some browsers: still the select.
		expect(isTypingTarget(target(new FakeElement('option', {}, new FakeElement('select', {}, body))))).toBe(true);
		const editor = new FakeElement('div', { contenteditable: 'true' }, body);
		expect(isTypingTarget(target(editor))).toBe(true);
		expect(isTypingTarget(target(new FakeElement('span', {}, editor)))).toBe(true);
		expect(isTypingTarget(target(new FakeElement('div', { contenteditable: '' }, body)))).toBe(true);
		expect(isTypingTarget(target(new FakeElement('div', { contenteditable: 'plaintext-only' }, body)))).toBe(true);
	});

	it('is false on the page, a button, contenteditable="false", and a target that is no element', () => {
		expect(isTypingTarget(target(body))).toBe(false);
		expect(isTypingTarget(target(new FakeElement('button', {}, body)))).toBe(false);
		expect(isTypingTarget(target(new FakeElement('div', { contenteditable: 'false' }, body)))).toBe(false);
		expect(isTypingTarget(null)).toBe(false);
		expect(isTypingTarget({} as EventTarget)).toBe(false);
	});
});

/** What a call's keyboard shortcut does. */
export type ShortcutAction = 'toggle-mute' | 'toggle-camera';

/** The keys, as `aria-keyshortcuts` spells them (and README's "Keyboard shortcuts" lists them). */
export const SHORTCUT_KEYS: Record<ShortcutAction, string> = {
	'toggle-mute': 'Control+D Meta+D',
	'toggle-camera': 'Control+E Meta+E',
};

/** The parts of a KeyboardEvent a shortcut depends on. */
export interface KeyPress {
	key: string;
	ctrlKey: boolean;
	metaKey: boolean;
	altKey: boolean;
	shiftKey: boolean;
	repeat: boolean;
	/** Whether the key went to a text field (input, textarea, select, contenteditable): then it is typing. */
	typing: boolean;
}

/**
 * The action of a key press: Ctrl/Cmd+D mutes, Ctrl/Cmd+E turns the camera
 * off and on (Meet's keys). No single-letter keys: a speech-input user's
 * stray word would mute them, and WCAG 2.1.4 asks such keys to be
 * optional. Nothing while typing, on a held key's repeats, or with Alt or
 * Shift.
 */
export function shortcutFor(press: KeyPress): ShortcutAction | undefined {
	if (press.typing || press.repeat || press.altKey || press.shiftKey || !(press.ctrlKey || press.metaKey)) return undefined;
	const key = press.key.toLowerCase();
	return key === 'd' ? 'toggle-mute' : key === 'e' ? 'toggle-camera' : undefined;
}

/** Whether a key event's target is somewhere people type. */
export function isTypingTarget(target: EventTarget | null): boolean {
	const el = target as HTMLElement | null;
	if (!el || typeof el.closest !== 'function') return false;
	return el.isContentEditable || el.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]') !== null;
}

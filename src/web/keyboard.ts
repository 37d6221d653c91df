import { useEffect, useRef } from 'react';

/**
 * Keyboard shortcuts for reviewing a queue. A plain key (`j`, `k`, `a`, `r`, `Enter`) never fires
 * while the focus is in something one types into (an input, a textarea, a select, an editable
 * element), nor with Ctrl, Meta or Alt held, nor when something else already handled the key;
 * `Mod+Enter` (Ctrl or Cmd with Enter) fires anywhere, including in the note being typed.
 */
export type ShortcutKey = 'j' | 'k' | 'a' | 'r' | 'Enter' | 'Mod+Enter';

export type ShortcutMap = Partial<Record<ShortcutKey, (event: KeyboardEvent) => void>>;

/** Whether the element takes typed text: shortcuts made of plain keys must leave it alone. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).tagName !== 'string') return false;
  const el = target as HTMLElement;
  if (el.isContentEditable || el.getAttribute('contenteditable') === 'true') return true;
  const tag = el.tagName.toLowerCase();
  if (tag === 'textarea' || tag === 'select') return true;
  if (tag !== 'input') return false;
  const type = (el.getAttribute('type') ?? 'text').toLowerCase();
  // Checkboxes, radios and buttons take no text: j/k/a/r still mean the shortcuts there.
  return !['checkbox', 'radio', 'button', 'submit', 'reset', 'image', 'file', 'range', 'color'].includes(type);
}

/** The shortcut an event means, or null. */
export function shortcutOf(
  event: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey' | 'target'>,
): ShortcutKey | null {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !event.altKey) return 'Mod+Enter';
  if (event.ctrlKey || event.metaKey || event.altKey) return null;
  if (isTypingTarget(event.target)) return null;
  if (event.key === 'Enter') {
    // Enter on a link, a button or a checkbox already means something there.
    const tag = (event.target as Element | null)?.tagName?.toLowerCase();
    if (tag === 'a' || tag === 'button' || tag === 'input' || tag === 'summary') return null;
    return 'Enter';
  }
  if (event.shiftKey) return null;
  const key = event.key.toLowerCase();
  return key === 'j' || key === 'k' || key === 'a' || key === 'r' ? key : null;
}

/** Listens for `shortcuts` on the document while `enabled`. */
export function useShortcuts(shortcuts: ShortcutMap, enabled = true): void {
  const ref = useRef(shortcuts);
  ref.current = shortcuts;
  useEffect(() => {
    if (!enabled) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.isComposing) return;
      const key = shortcutOf(event);
      const handler = key ? ref.current[key] : undefined;
      if (!handler) return;
      event.preventDefault();
      handler(event);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [enabled]);
}

// The dashboard's keyboard shortcuts, as data and pure decisions; components/shortcuts.tsx wires
// them to the page. None fires while the reader types in a field or a dialog is open.

export const SHORTCUTS: { keys: string[]; does: string }[] = [
  { keys: ['j'], does: 'next item or row' },
  { keys: ['k'], does: 'previous item or row' },
  { keys: ['o', 'Enter'], does: 'open the item or row (fold or unfold an item)' },
  { keys: ['a'], does: 'approve (opens the dialog)' },
  { keys: ['r'], does: 'reject (opens the dialog)' },
  { keys: ['?'], does: 'show these shortcuts' },
];

export type ShortcutCommand =
  | { kind: 'move'; by: 1 | -1 }
  | { kind: 'open' }
  | { kind: 'action'; key: 'a' | 'r' }
  | { kind: 'help' };

interface KeyTarget {
  tagName: string;
  isContentEditable?: boolean;
  type?: string;
}

const TYPING_INPUTS = new Set(['text', 'search', 'email', 'url', 'tel', 'password', 'number', 'date', '']);

/** Whether keys typed here are text: inputs that take text, text areas, selects, editable content. */
export function isTypingTarget(target: KeyTarget | null): boolean {
  if (!target) return false;
  const tag = target.tagName.toUpperCase();
  if (tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable) return true;
  return tag === 'INPUT' && TYPING_INPUTS.has((target.type ?? '').toLowerCase());
}

export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  target: KeyTarget | null;
  /** The focused element is a list entry itself (a row or an item), not a control inside one. */
  onNavItem: boolean;
  dialogOpen: boolean;
}

/** The command a key press asks for, or null when it is not a shortcut here. */
export function commandFor(press: KeyPress): ShortcutCommand | null {
  if (press.ctrlKey || press.metaKey || press.altKey || press.dialogOpen || isTypingTarget(press.target)) return null;
  switch (press.key) {
    case 'j':
      return { kind: 'move', by: 1 };
    case 'k':
      return { kind: 'move', by: -1 };
    case 'o':
      return { kind: 'open' };
    case 'Enter':
      // Enter on a link or button does what it always does; on a row or an item it opens it.
      return press.onNavItem ? { kind: 'open' } : null;
    case 'a':
    case 'r':
      return { kind: 'action', key: press.key };
    case '?':
      return { kind: 'help' };
    default:
      return null;
  }
}

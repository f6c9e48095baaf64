// What an item did, from the target's history: applied a → b, rolled back b → c, moved by others.
import { describe, expect, it } from 'vitest';
import { itemStory } from '../../src/web/lib/item-history.js';
import { commandFor, isTypingTarget } from '../../src/web/lib/shortcuts.js';
import type { HistoryEntry } from '../../src/web/lib/types.js';

const entry = (version: number, change_set: string, extra: Partial<HistoryEntry> = {}): HistoryEntry => ({
  version,
  present: true,
  state: { v: version },
  operation: 'UPDATE',
  change_set,
  change_set_uuid: `uuid-${change_set}`,
  item: null,
  actor: 'Agent-C',
  at: '2026-12-01T10:00:00Z',
  ...extra,
});

describe('itemStory', () => {
  const history = [
    entry(1, 'CS-BASE', { operation: 'CREATE' }),
    entry(2, 'CS-1', { item: 'item-1' }),
    entry(3, 'CS-OTHER'),
    entry(4, 'CS-1', { item: 'item-1', operation: 'ROLLBACK', state: { v: 1 } }),
  ];

  it('tells the write the item made and what its rollback restored, from the history', () => {
    const story = itemStory({ id: 'item-1', base_version: 1, applied_version: 2 }, 'uuid-CS-1', history);
    expect(story.applied?.from).toEqual({ present: true, version: 1, state: { v: 1 } });
    expect(story.applied?.to).toEqual({ present: true, version: 2, state: { v: 2 } });
    expect(story.restored?.from.version).toBe(3);
    expect(story.restored?.to).toEqual({ present: true, version: 4, state: { v: 1 } });
    expect(story.movedBy.map((h) => h.change_set)).toEqual(['CS-OTHER']);
  });

  it('names who moved the target since the version an unapplied item was based on', () => {
    const story = itemStory({ id: 'item-9', base_version: 1, applied_version: null }, 'uuid-CS-9', history.slice(0, 3));
    expect(story.applied).toBeNull();
    expect(story.movedBy.map((h) => [h.change_set, h.version])).toEqual([
      ['CS-1', 2],
      ['CS-OTHER', 3],
    ]);
    expect(itemStory({ id: 'x', applied_version: null }, 'u', history).movedBy).toEqual([]);
  });

  it('shows a created target as coming from absence', () => {
    const story = itemStory({ id: 'c', applied_version: 1 }, 'uuid-CS-BASE', [entry(1, 'CS-BASE', { item: 'c' })]);
    expect(story.applied?.from).toEqual({ present: false, version: 0, state: null });
  });
});

describe('keyboard shortcuts', () => {
  const press = (key: string, extra: Partial<Parameters<typeof commandFor>[0]> = {}) =>
    commandFor({
      key,
      ctrlKey: false,
      metaKey: false,
      altKey: false,
      target: { tagName: 'BODY' },
      onNavItem: false,
      dialogOpen: false,
      ...extra,
    });

  it('moves, opens, approves, rejects and helps, but not while typing, with a modifier or under a dialog', () => {
    expect(press('j')).toEqual({ kind: 'move', by: 1 });
    expect(press('k')).toEqual({ kind: 'move', by: -1 });
    expect(press('o')).toEqual({ kind: 'open' });
    expect(press('Enter')).toBeNull(); // Enter on a link or button keeps its own meaning
    expect(press('Enter', { onNavItem: true })).toEqual({ kind: 'open' });
    expect(press('a')).toEqual({ kind: 'action', key: 'a' });
    expect(press('r')).toEqual({ kind: 'action', key: 'r' });
    expect(press('?')).toEqual({ kind: 'help' });
    expect(press('a', { target: { tagName: 'TEXTAREA' } })).toBeNull();
    expect(press('j', { target: { tagName: 'INPUT', type: 'search' } })).toBeNull();
    expect(press('j', { ctrlKey: true })).toBeNull();
    expect(press('a', { dialogOpen: true })).toBeNull();
    expect(isTypingTarget({ tagName: 'INPUT', type: 'checkbox' })).toBe(false);
    expect(isTypingTarget({ tagName: 'DIV', isContentEditable: true })).toBe(true);
  });
});

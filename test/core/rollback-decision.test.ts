import { describe, expect, it } from 'vitest';
import type { StoredItem } from '../../src/core/item-record.js';
import { targetKey } from '../../src/core/item-semantics.js';
import {
  assertMayForce,
  decideRollback,
  describeMoved,
  itemsToRollBack,
  movedSince,
} from '../../src/core/rollback-decision.js';
import type { ResourceState } from '../../src/core/types.js';

/** An item applied as version `version` of config/`target_id`, having found `previous`. */
const applied = (
  key: string,
  target_id: string,
  version: number,
  order: number,
  previous: { present: boolean; state: unknown },
): StoredItem => ({
  key,
  operation_type: 'UPDATE',
  target_type: 'config',
  target_id,
  depends_on: [],
  id: `id-${key}`,
  sequence: order,
  status: 'APPLIED',
  error: null,
  applied_version: version,
  previous_present: previous.present,
  previous_state: previous.state as StoredItem['previous_state'],
  previous_version: version - 1,
  applied_order: order,
});
const states = (entries: [string, ResourceState][]) => new Map(entries.map(([id, s]) => [targetKey('config', id), s]));
const target = (target_id: string) => ({ target_type: 'config', target_id });

describe('movedSince', () => {
  const a1 = applied('a1', 'a', 3, 1, { present: true, state: { n: 0 } });
  const a2 = applied('a2', 'a', 4, 2, { present: true, state: { n: 1 } });

  it('finds nothing when every target is still at the version last written, with no gap', () => {
    expect(movedSince([a1, a2], states([['a', { present: true, state: { n: 2 }, version: 4 }]]))).toEqual([]);
  });

  it('finds a target written since (its version moved on)', () => {
    expect(movedSince([a1, a2], states([['a', { present: true, state: {}, version: 5 }]]))).toEqual([
      { ...target('a'), after_version: 3, last_version: 4, writes: 2 },
    ]);
  });

  it('finds a gap: another writer between two of its writes, even when the last version is its own', () => {
    const late = applied('a2', 'a', 5, 2, { present: true, state: { n: 9 } });
    expect(movedSince([a1, late], states([['a', { present: true, state: {}, version: 5 }]]))).toEqual([
      { ...target('a'), after_version: 3, last_version: 5, writes: 2 },
    ]);
  });
});

describe('decideRollback', () => {
  const created = applied('c', 'c', 1, 1, { present: false, state: null });
  const first = applied('u1', 'u', 2, 2, { present: true, state: { n: 1 } });
  const second = applied('u2', 'u', 3, 3, { present: true, state: { n: 2 } });
  const current = states([
    ['c', { present: true, state: { made: true }, version: 1 }],
    ['u', { present: true, state: { n: 3 }, version: 3 }],
  ]);
  const input = {
    changeSetId: 'CS-1',
    applied: [created, first, second],
    targets: [target('c'), target('u')],
    states: current,
    moved: [],
    force: false,
  };

  it('restores newest first, one new version per item, ending where each target started', () => {
    const decision = decideRollback(input);
    if ('conflict' in decision) throw decision.conflict;
    expect(decision.history.map((h) => [h.item, h.version, h.present, h.state, h.operation])).toEqual([
      ['id-u2', 4, true, { n: 2 }, 'ROLLBACK'],
      ['id-u1', 5, true, { n: 1 }, 'ROLLBACK'],
      ['id-c', 2, false, null, 'ROLLBACK'],
    ]);
    expect(decision.states).toEqual([
      { ...target('c'), present: false, state: null, version: 2 },
      { ...target('u'), present: true, state: { n: 1 }, version: 5 },
    ]);
    expect(decision.updates.map((u) => [u.id, u.status, u.applied_version])).toEqual([
      ['id-u2', 'ROLLED_BACK', 3],
      ['id-u1', 'ROLLED_BACK', 2],
      ['id-c', 'ROLLED_BACK', 1],
    ]);
    expect(decision.overridden).toEqual([]);
  });

  const later = new Map([
    [targetKey('config', 'u'), [{ version: 4, change_set: 'CS-2', present: true, state: { n: 7 } }]],
  ]);
  const movedStates = states([
    ['c', { present: true, state: { made: true }, version: 1 }],
    ['u', { present: true, state: { n: 7 }, version: 4 }],
  ]);
  const moved = describeMoved(movedSince(input.applied, movedStates), movedStates, later);

  it('refuses with CONFLICT, naming who wrote what since, when a target moved', () => {
    const decision = decideRollback({ ...input, states: movedStates, moved });
    if (!('conflict' in decision)) throw new Error('expected a conflict');
    expect(decision.conflict).toMatchObject({
      code: 'CONFLICT',
      message: 'cannot roll back CS-1: config/u was changed by CS-2 after CS-1 wrote it',
      details: [
        {
          target_type: 'config',
          target_id: 'u',
          change_sets: ['CS-2'],
          version_written: 2,
          current_version: 4,
          later_writes: [{ version: 4, change_set: 'CS-2' }],
        },
      ],
    });
  });

  it('forced, overwrites the later write and says what it overwrote', () => {
    const decision = decideRollback({ ...input, states: movedStates, moved, force: true });
    if ('conflict' in decision) throw decision.conflict;
    expect(decision.states.find((s) => s.target_id === 'u')).toEqual({
      ...target('u'),
      present: true,
      state: { n: 1 },
      version: 6,
    });
    expect(decision.overridden).toEqual([
      {
        ...target('u'),
        change_sets: ['CS-2'],
        overwritten: { version: 4, present: true, state: { n: 7 } },
        later_writes: [{ version: 4, change_set: 'CS-2', present: true, state: { n: 7 } }],
      },
    ]);
  });

  it('rolls back only applied items', () => {
    const failed = { ...first, status: 'FAILED' as const };
    expect(itemsToRollBack([created, failed, second])).toEqual([created, second]);
  });
});

describe('assertMayForce', () => {
  it('lets anyone roll back without force, and only an admin force it', () => {
    expect(() => assertMayForce({ id: 'olga', groups: ['operator'] }, false)).not.toThrow();
    expect(() => assertMayForce({ id: 'root', groups: ['admin'] }, true)).not.toThrow();
    expect(() => assertMayForce({ id: 'olga', groups: ['operator'] }, true)).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN' }),
    );
  });
});

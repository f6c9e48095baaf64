// Loads the states the item semantics work on: current states of the targets (locked for writers)
// and, for RESET items without an after_state, each target's first recorded state.
import type { TargetState } from '../core/item-semantics.js';
import { targetKey } from '../core/item-semantics.js';
import type { Item } from '../core/types.js';
import type { Queryable } from '../store/db.js';
import {
  distinctTargets,
  guardedStateWrites,
  historyInsert,
  loadFirstStates,
  loadTargetStates,
  type Target,
  type TargetWrites,
  targetWrites,
} from '../store/resources.js';
import type { Write } from '../store/statement.js';
import type { ActionMode, CommitOptions } from './scope.js';

/** `read`: the states already read with the change-set's snapshot (Scope.states), used instead of reading them again. */
export async function loadStatesFor(
  tx: Queryable,
  items: readonly Item[],
  options: { lock: boolean; now?: string; read?: ReadonlyMap<string, TargetState> | null },
): Promise<{ targets: Target[]; states: Map<string, TargetState> }> {
  const targets = distinctTargets(items);
  const states = options.read && !options.lock ? new Map(options.read) : await loadTargetStates(tx, targets, options);
  const resets = items.filter((item) => item.operation_type === 'RESET' && item.after_state === undefined);
  if (resets.length > 0) {
    const firsts = await loadFirstStates(tx, distinctTargets(resets));
    for (const [key, state] of firsts) {
      const current = states.get(key);
      if (current) states.set(key, { ...current, first_state: state });
    }
  }
  return { targets, states };
}

export const keyOf = (target: Target): string => targetKey(target.target_type, target.target_id);

/**
 * The options of `commitChangeSet` that write final target states, their history and `others`:
 * as they are under the row lock (the targets are locked too), and optimistically each state only
 * if its target is still at the version read (`before`), counted, so that a target moved meanwhile
 * fails the statement.
 */
export function targetCommit(
  access: ActionMode,
  writes: TargetWrites,
  before: ReadonlyMap<string, TargetState>,
  context: { changeSet: string; actor: string; at: string },
  others: readonly (Write | null)[],
): CommitOptions {
  if (access.mode === 'locked') return { writes: [...targetWrites(writes, context), ...others] };
  const expected = writes.states.map((s) => ({ ...s, expected: before.get(keyOf(s))?.version ?? 0 }));
  return {
    counted: { writes: guardedStateWrites(expected, context), rows: writes.states.length },
    writes: [historyInsert(writes.history, context), ...others],
  };
}

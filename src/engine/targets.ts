// Loads the states the item semantics work on: current states of the targets (locked for writers)
// and, for RESET items without an after_state, each target's first recorded state.
import type { TargetState } from '../core/item-semantics.js';
import { targetKey } from '../core/item-semantics.js';
import type { Item } from '../core/types.js';
import type { Queryable } from '../store/db.js';
import { distinctTargets, loadFirstStates, loadTargetStates, type Target } from '../store/resources.js';

export async function loadStatesFor(
  tx: Queryable,
  items: readonly Item[],
  options: { lock: boolean; now?: string },
): Promise<{ targets: Target[]; states: Map<string, TargetState> }> {
  const targets = distinctTargets(items);
  const states = await loadTargetStates(tx, targets, options);
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

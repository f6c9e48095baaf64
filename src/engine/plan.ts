// The dry-run plan: what applying would do now, written nowhere, in any status.
import { type Plan, planItems } from '../core/plan.js';
import type { Status } from '../core/types.js';
import { findChangeSet } from '../store/change-sets.js';
import { loadItems } from '../store/items.js';
import { type EngineContext, found } from './context.js';
import { loadStatesFor } from './targets.js';

export interface PlanResult extends Plan {
  id: string;
  change_set_id: string;
  status: Status;
  mode: 'DRY_RUN';
}

export async function planChangeSet(ctx: EngineContext, reference: string): Promise<PlanResult> {
  // One transaction so that the items and the states they are planned against are one snapshot.
  return ctx.db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const row = found(await findChangeSet(tx, reference), reference);
    const items = await loadItems(tx, row.id);
    const { states } = await loadStatesFor(tx, items, { lock: false });
    return {
      id: row.id,
      change_set_id: row.change_set_id,
      status: row.status,
      mode: 'DRY_RUN',
      ...planItems(items, states),
    };
  });
}

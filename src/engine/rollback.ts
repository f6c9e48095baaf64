// Rollback: restore, in reverse application order, what each applied item found, in one
// transaction. Refused when a later change-set wrote one of the targets, unless an admin forces it
// (core/rollback-decision.ts decides).
import { writtenVersions } from '../core/audit-replay.js';
import {
  assertMayForce,
  decideRollback,
  describeMoved,
  itemsToRollBack,
  movedSince,
} from '../core/rollback-decision.js';
import type { Principal } from '../core/types.js';
import { itemsUpdate } from '../store/items.js';
import { laterWrites } from '../store/resources.js';
import { runAction } from './action.js';
import type { EngineContext } from './context.js';
import { refuse } from './scope.js';
import { loadStatesFor, targetCommit } from './targets.js';

export interface RollbackInput {
  reason?: string | null | undefined;
  force?: boolean | undefined;
}

export interface RollbackResult {
  success: boolean;
  rolled_back_items: number;
  failed_items: number;
  errors: { item_id: string; key: string; code: string; message: string }[];
  rolled_back_at: string;
  rolled_back_by: string;
  reason: string | null;
  forced: boolean;
}

export function rollbackChangeSet(
  ctx: EngineContext,
  actor: Principal,
  reference: string,
  input: RollbackInput = {},
): Promise<RollbackResult> {
  const force = input.force === true;
  const reason = input.reason ?? null;
  return runAction(ctx, actor, reference, {
    action: 'rollback',
    mode: 'optimistic',
    check: () => assertMayForce(actor, force),
    policy: { action: 'rollback', approvalsGiven: true },
    decide: async ({ scope, journal, at }) => {
      const { db, access, row, items } = scope;
      const applied = itemsToRollBack(items);
      // Under the lock the targets are locked too; optimistically the writes check them (targets.ts).
      const { targets, states } = await loadStatesFor(db, applied, { lock: access.mode === 'locked', now: at });
      // Only the targets another writer moved are looked up in the history, to say who.
      const since = movedSince(applied, states);
      const moved = since.length === 0 ? [] : describeMoved(since, states, await laterWrites(db, since, row.id));
      const decision = decideRollback({ changeSetId: row.change_set_id, applied, targets, states, moved, force });
      if ('conflict' in decision) refuse(access, decision.conflict);
      const { history, overridden } = decision;
      journal
        .audit('rollback', {
          reason,
          force,
          rolled_back_items: applied.length,
          ...(force ? { overridden } : {}),
          written: writtenVersions(history),
        })
        .event('changeset.rolled_back', { reason, force, rolled_back_items: applied.length });
      const context = { changeSet: row.id, actor: actor.id, at };
      const writes = { states: decision.states, history, unused: [] };
      return {
        changes: { status: 'ROLLED_BACK', rolled_back_at: at, rolled_back_by: actor.id },
        commit: targetCommit(access, writes, states, context, [itemsUpdate(decision.updates)]),
        answer: () => ({
          success: true,
          rolled_back_items: applied.length,
          failed_items: 0,
          errors: [],
          rolled_back_at: at,
          rolled_back_by: actor.id,
          reason,
          forced: force,
        }),
      };
    },
  });
}

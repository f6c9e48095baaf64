// Rollback: restore, in reverse application order, what each applied item found, in one
// transaction. Refused when a later change-set wrote one of the targets, unless an admin forces it.

import { ADMIN_GROUP } from '../core/approvals.js';
import { writtenVersions } from '../core/audit-replay.js';
import { LedgerError } from '../core/errors.js';
import { assertTransition } from '../core/lifecycle.js';
import type { Json, Principal, ResourceState } from '../core/types.js';
import type { Queryable } from '../store/db.js';
import { type ItemUpdate, itemsUpdate, type StoredItem } from '../store/items.js';
import { type HistoryWrite, type LaterWrite, laterWrites, type Target, type TargetWrite } from '../store/resources.js';
import { actorContext, type EngineContext } from './context.js';
import { Journal } from './journal.js';
import {
  auditEvaluation,
  evaluateFor,
  mergeEvaluations,
  Refusal,
  recordDenial,
  unmetSteps,
  withRecordedRefusal,
} from './policies.js';
import { commitChangeSet, optimistic, refuse } from './scope.js';
import { keyOf, loadStatesFor, targetCommit } from './targets.js';

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

interface Moved extends Target {
  /** The version of this change-set's first write: any other writer after it is a conflict. */
  version_written: number;
  current: ResourceState | undefined;
  later_writes: LaterWrite[];
  change_sets: string[];
}

/**
 * Targets another change-set wrote after this change-set first wrote them: their current version is
 * not the one it last wrote, or versions between its first and last writes are not all its own (a
 * write in between two apply attempts). Versions are contiguous, so this needs no read; only the
 * targets found are looked up in the history, to say who wrote them.
 */
async function movedTargets(
  tx: Queryable,
  changeSet: string,
  applied: readonly StoredItem[],
  states: ReadonlyMap<string, ResourceState>,
): Promise<Moved[]> {
  const written = new Map<string, Target & { after_version: number; last_version: number; writes: number }>();
  for (const item of applied) {
    const key = keyOf(item);
    const known = written.get(key);
    const version = item.applied_version!;
    written.set(key, {
      target_type: item.target_type,
      target_id: item.target_id,
      after_version: Math.min(version, known?.after_version ?? version),
      last_version: Math.max(version, known?.last_version ?? version),
      writes: (known?.writes ?? 0) + 1,
    });
  }
  const moved = [...written.values()].filter(
    (t) => states.get(keyOf(t))?.version !== t.last_version || t.last_version - t.after_version + 1 !== t.writes,
  );
  if (moved.length === 0) return [];
  const writes = await laterWrites(tx, moved, changeSet);
  return moved.map((t) => {
    const later = writes.get(keyOf(t)) ?? [];
    return {
      target_type: t.target_type,
      target_id: t.target_id,
      version_written: t.after_version,
      current: states.get(keyOf(t)),
      later_writes: later,
      change_sets: [...new Set(later.map((w) => w.change_set))].sort(),
    };
  });
}

function conflictError(changeSetId: string, moved: readonly Moved[]): LedgerError {
  const describe = (m: Moved) =>
    `${m.target_type}/${m.target_id} was changed by ${m.change_sets.join(', ') || 'another writer'} after ${changeSetId} wrote it`;
  return new LedgerError(
    'CONFLICT',
    `cannot roll back ${changeSetId}: ${moved.slice(0, 3).map(describe).join('; ')}${moved.length > 3 ? `; and ${moved.length - 3} more` : ''}`,
    moved.map((m) => ({
      message: describe(m),
      target_type: m.target_type,
      target_id: m.target_id,
      change_sets: m.change_sets,
      version_written: m.version_written,
      current_version: m.current?.version ?? 0,
      later_writes: m.later_writes.map(({ version, change_set }) => ({ version, change_set })),
    })),
  );
}

/** Walks the applied items newest first, restoring what each found; one new version per item. */
function restore(applied: readonly StoredItem[], states: ReadonlyMap<string, ResourceState>) {
  const working = new Map(states);
  const history: HistoryWrite[] = [];
  const updates: ItemUpdate[] = [];
  for (const item of [...applied].sort((a, b) => b.applied_order! - a.applied_order!)) {
    const key = keyOf(item);
    const next = {
      present: item.previous_present!,
      state: (item.previous_present ? item.previous_state : null) as Json,
      version: (working.get(key)?.version ?? 0) + 1,
    };
    working.set(key, next);
    history.push({
      target_type: item.target_type,
      target_id: item.target_id,
      ...next,
      operation: 'ROLLBACK',
      item: item.id,
    });
    updates.push({
      id: item.id,
      status: 'ROLLED_BACK',
      error: null,
      applied_version: item.applied_version,
      previous_present: item.previous_present,
      previous_state: item.previous_state,
      previous_version: item.previous_version,
      applied_order: item.applied_order,
    });
  }
  return { working, history, updates };
}

export async function rollbackChangeSet(
  ctx: EngineContext,
  actor: Principal,
  reference: string,
  input: RollbackInput = {},
): Promise<RollbackResult> {
  return withRecordedRefusal(() =>
    optimistic(ctx, reference, async (scope) => {
      const { tx, row, items, approvals } = scope;
      assertTransition('rollback', row.status, actorContext(row, actor));
      const force = input.force === true;
      if (force && !actor.groups.includes(ADMIN_GROUP)) {
        throw new LedgerError(
          'FORBIDDEN',
          `force is for group ${ADMIN_GROUP}: ${actor.id} may roll back only when no later change-set touched the targets`,
        );
      }
      const reason = input.reason ?? null;
      const at = ctx.clock().toISOString();
      const policy = unmetSteps(evaluateFor(ctx, 'rollback', row, items, actor), row, approvals);
      if (policy.denials.length > 0) return new Refusal(await recordDenial(scope, actor, 'rollback', policy));
      const applied = items.filter((item) => item.status === 'APPLIED');
      // Under the lock the targets are locked too; optimistically the writes check them (targets.ts).
      const { targets, states } = await loadStatesFor(tx, applied, { lock: scope.guard === null, now: at });
      const moved = await movedTargets(tx, row.id, applied, states);
      if (moved.length > 0 && !force) refuse(scope, conflictError(row.change_set_id, moved));
      const { working, history, updates } = restore(applied, states);
      const finalStates: TargetWrite[] = targets.map((t) => ({ ...t, ...working.get(keyOf(t))! }));
      // What a forced rollback overwrites: the state it replaces and every later write it erases.
      const overridden = moved.map((m) => ({
        target_type: m.target_type,
        target_id: m.target_id,
        change_sets: m.change_sets,
        overwritten: {
          version: m.current?.version ?? 0,
          present: m.current?.present ?? false,
          state: m.current?.present ? m.current.state : null,
        },
        later_writes: m.later_writes,
      }));
      const journal = new Journal(actor.id, at)
        .audit('rollback', {
          reason,
          force,
          rolled_back_items: applied.length,
          ...(force ? { overridden } : {}),
          written: writtenVersions(history),
        })
        .event('changeset.rolled_back', { reason, force, rolled_back_items: applied.length });
      auditEvaluation(journal, 'rollback', policy);
      const changes = {
        status: 'ROLLED_BACK' as const,
        rolled_back_at: at,
        rolled_back_by: actor.id,
        updated_at: at,
        updated_by: actor.id,
        ...(policy.evaluations.length > 0
          ? { policy_evaluations: mergeEvaluations(row.policy_evaluations, policy, 'rollback') }
          : {}),
      };
      const context = { changeSet: row.id, actor: actor.id, at };
      const writes = { states: finalStates, history, unused: [] };
      await commitChangeSet(
        scope,
        journal,
        changes,
        targetCommit(scope, writes, states, context, [itemsUpdate(updates)]),
      );
      return {
        success: true,
        rolled_back_items: applied.length,
        failed_items: 0,
        errors: [],
        rolled_back_at: at,
        rolled_back_by: actor.id,
        reason,
        forced: force,
      };
    }),
  );
}

// Apply: ATOMIC (all items or none) or BEST_EFFORT (each item on its own, dependants of a failed
// item skipped). Items are simulated in memory against the target states as read
// (core/apply-decision.ts decides) and the outcome is written in a few multi-row statements; a
// failed ATOMIC attempt writes only its audit entry, then is refused (APPLY_FAILED).
import {
  type ApplyDecision,
  type ApplyItemReport,
  assertApprovedContent,
  decideApply,
  itemsToApply,
} from '../core/apply-decision.js';
import { writtenVersions } from '../core/audit-replay.js';
import { LedgerError } from '../core/errors.js';
import type { ItemErrorReport } from '../core/item-record.js';
import type { ApplyMode, Principal, Status } from '../core/types.js';
import { itemsUpdate } from '../store/items.js';
import { runAction } from './action.js';
import type { EngineContext } from './context.js';
import type { Journal } from './journal.js';
import { NeedsLock } from './scope.js';
import { loadStatesFor, targetCommit } from './targets.js';

export interface ApplyResult {
  success: boolean;
  mode: Exclude<ApplyMode, 'DRY_RUN'>;
  status: Status;
  applied_items: number;
  failed_items: number;
  skipped_items: number;
  errors: ItemErrorReport[];
  items: ApplyItemReport[];
  applied_at: string;
  applied_by: string;
}

/** The audit entry and event of an apply (`apply`, or `apply_failed` when it applied nothing). */
function journalApply(journal: Journal, mode: ApplyResult['mode'], decision: ApplyDecision) {
  const { counts, errors } = decision;
  const summary = { mode, applied_items: counts.applied, failed_items: counts.failed, skipped_items: counts.skipped };
  if (counts.applied === 0) {
    journal.audit('apply_failed', { ...summary, errors }).event('changeset.apply_failed', { ...summary, errors });
  } else {
    // The versions written are journaled so that verify can account for every one (audit.ts).
    const written = writtenVersions(decision.writes.history);
    journal
      .audit('apply', { ...summary, status: decision.status, errors, written })
      .event('changeset.applied', summary);
  }
  return summary;
}

export async function applyChangeSet(
  ctx: EngineContext,
  actor: Principal,
  reference: string,
  mode: Exclude<ApplyMode, 'DRY_RUN'> = 'AUTO',
): Promise<ApplyResult> {
  const attempt = await runAction(ctx, actor, reference, {
    action: 'apply',
    mode: 'optimistic',
    check: ({ row, items, approvals }) => assertApprovedContent(row, items, approvals),
    policy: { action: 'apply', approvalsGiven: true },
    decide: async ({ scope, journal, at }) => {
      const { db, access, row, items } = scope;
      // Under the lock, every target is locked (absent ones get a placeholder row). Optimistically
      // nothing is: the writes check that each target written is still as read (targets.ts).
      const lock = access.mode === 'locked';
      const { targets, states } = await loadStatesFor(db, itemsToApply(items), { lock, now: at });
      const decision = decideApply({
        items,
        status: row.status,
        atomic: mode !== 'BEST_EFFORT',
        locked: lock,
        targets,
        states,
      });
      if ('needsLock' in decision) throw new NeedsLock(decision.needsLock);
      const { counts, errors, failedAtomically } = decision;
      const summary = journalApply(journal, mode, decision);
      const context = { changeSet: row.id, actor: actor.id, at };
      const result: ApplyResult = {
        success: counts.failed === 0 && counts.skipped === 0,
        status: decision.status,
        ...summary,
        errors,
        items: decision.items,
        applied_at: at,
        applied_by: actor.id,
      };
      return {
        changes: {
          status: decision.status,
          ...(counts.applied > 0 ? { applied_at: at, applied_by: actor.id } : {}),
        },
        commit: targetCommit(access, decision.writes, states, context, [itemsUpdate(decision.updates)]),
        answer: () => ({ result, failedAtomically, changeSetId: row.change_set_id }),
      };
    },
  });
  if (attempt.failedAtomically) {
    const { errors } = attempt.result;
    throw new LedgerError(
      'APPLY_FAILED',
      `apply of ${attempt.changeSetId} failed, nothing was applied: ${errors
        .slice(0, 3)
        .map((e) => `${e.key}: ${e.message}`)
        .join('; ')}`,
      errors.map((e) => ({ ...e })),
    );
  }
  return attempt.result;
}

// Apply: ATOMIC (all items or none) or BEST_EFFORT (each item on its own, dependants of a failed
// item skipped). Items are simulated in memory against the locked target states and the outcome is
// written in a few multi-row statements; a failed ATOMIC attempt writes only its audit entry.
import { writtenVersions } from '../core/audit-replay.js';
import { contentHash } from '../core/canonical-json.js';
import { LedgerError } from '../core/errors.js';
import { type ItemOutcome, simulateItems, targetKey } from '../core/item-semantics.js';
import { assertTransition } from '../core/lifecycle.js';
import type { ApplyMode, ItemError, Principal, Status } from '../core/types.js';
import type { ApprovalWithApprover } from '../store/approvals.js';
import type { ChangeSetRow } from '../store/change-sets.js';
import { type ItemUpdate, itemsUpdate, type StoredItem } from '../store/items.js';
import type { HistoryWrite, TargetWrite } from '../store/resources.js';
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
import { commitChangeSet, NeedsLock, optimistic } from './scope.js';
import { keyOf, loadStatesFor, targetCommit } from './targets.js';

export interface ApplyResult {
  success: boolean;
  mode: Exclude<ApplyMode, 'DRY_RUN'>;
  status: Status;
  applied_items: number;
  failed_items: number;
  skipped_items: number;
  errors: { item_id: string; key: string; code: string; message: string }[];
  items: { item_id: string; key: string; status: string; from_version: number | null; to_version: number | null }[];
  applied_at: string;
  applied_by: string;
}

/**
 * Approvals are bound to content: apply refuses content that differs from what was approved.
 * The approvals themselves were judged when they were given (a later deactivation does not undo them).
 */
function assertApprovedContent(
  row: ChangeSetRow,
  items: readonly StoredItem[],
  approvals: readonly ApprovalWithApprover[],
): void {
  const current = contentHash({ ...row, items });
  if (current !== row.content_hash) {
    throw new LedgerError('CONFLICT', `the content of ${row.change_set_id} differs from the content that was approved`);
  }
  if (row.required_approvals === 0) return;
  const approving = approvals.filter((a) => !a.stale && a.decision === 'APPROVED' && a.content_hash === current);
  if (approving.length < row.required_approvals) {
    throw new LedgerError(
      'CONFLICT',
      `${row.change_set_id} has ${approving.length} of ${row.required_approvals} approvals of its current content`,
    );
  }
}

function errorOf(item: StoredItem, error: ItemError) {
  return { item_id: item.id, key: item.key, code: error.code, message: error.message };
}

interface Outcome {
  updates: ItemUpdate[];
  history: HistoryWrite[];
  result: ApplyResult['items'];
  errors: ApplyResult['errors'];
  counts: { applied: number; failed: number; skipped: number };
}

function collectOutcome(
  pending: readonly StoredItem[],
  order: readonly string[],
  outcomes: Map<string, ItemOutcome>,
  firstOrder: number,
): Outcome {
  const byKey = new Map(pending.map((item) => [item.key, item]));
  const out: Outcome = {
    updates: [],
    history: [],
    result: [],
    errors: [],
    counts: { applied: 0, failed: 0, skipped: 0 },
  };
  let applied = firstOrder;
  for (const key of order) {
    const item = byKey.get(key)!;
    const outcome = outcomes.get(key)!;
    const base = {
      id: item.id,
      previous_present: null,
      previous_state: null,
      previous_version: null,
      applied_order: null,
    };
    if (outcome.status === 'APPLIED') {
      out.counts.applied++;
      const { from, to } = outcome;
      out.updates.push({
        ...base,
        status: 'APPLIED',
        error: null,
        applied_version: to.version,
        previous_present: from.present,
        previous_state: from.state,
        previous_version: from.version,
        applied_order: applied++,
      });
      out.history.push({
        target_type: item.target_type,
        target_id: item.target_id,
        ...to,
        operation: item.operation_type,
        item: item.id,
      });
      out.result.push({ item_id: item.id, key, status: 'APPLIED', from_version: from.version, to_version: to.version });
    } else {
      out.counts[outcome.status === 'FAILED' ? 'failed' : 'skipped']++;
      out.updates.push({ ...base, status: outcome.status, error: outcome.error, applied_version: null });
      out.errors.push(errorOf(item, outcome.error));
      out.result.push({
        item_id: item.id,
        key,
        status: outcome.status,
        from_version: outcome.from.version,
        to_version: null,
      });
    }
  }
  return out;
}

function nextStatus(row: ChangeSetRow, items: readonly StoredItem[], counts: Outcome['counts']): Status {
  const appliedBefore = items.filter((item) => item.status === 'APPLIED').length;
  if (appliedBefore + counts.applied === items.length) return 'APPLIED';
  if (appliedBefore + counts.applied > 0) return 'PARTIALLY_APPLIED';
  return row.status;
}

export async function applyChangeSet(
  ctx: EngineContext,
  actor: Principal,
  reference: string,
  mode: Exclude<ApplyMode, 'DRY_RUN'> = 'AUTO',
): Promise<ApplyResult> {
  const atomic = mode !== 'BEST_EFFORT';
  const attempt = await withRecordedRefusal(() =>
    optimistic(ctx, reference, async (scope) => {
      const { tx, row, items, approvals } = scope;
      assertTransition('apply', row.status, actorContext(row, actor));
      assertApprovedContent(row, items, approvals);
      const policy = unmetSteps(evaluateFor(ctx, 'apply', row, items, actor), row, approvals);
      if (policy.denials.length > 0) return new Refusal(await recordDenial(scope, actor, 'apply', policy));
      const at = ctx.clock().toISOString();
      const pending = items.filter((item) => item.status !== 'APPLIED');
      const alreadyApplied = new Set(items.filter((item) => item.status === 'APPLIED').map((item) => item.key));
      // Under the lock, every target is locked (absent ones get a placeholder row). Optimistically
      // nothing is: the writes below check that each target written is still as read.
      const lock = scope.guard === null;
      const { targets, states } = await loadStatesFor(tx, pending, { lock, now: at });
      const simulation = simulateItems(pending, states, alreadyApplied);
      const firstOrder = Math.max(0, ...items.map((item) => item.applied_order ?? 0)) + 1;
      const outcome = collectOutcome(pending, simulation.order, simulation.outcomes, firstOrder);
      const failedAtomically = atomic && outcome.counts.applied < pending.length;
      if (!lock && outcome.counts.applied > 0 && outcome.counts.applied < pending.length && !failedAtomically) {
        // Some items applied and some failed on targets that are not written: only the lock keeps
        // those as they were read until the others are written.
        throw new NeedsLock('a partial apply');
      }
      const unused = targets.filter(
        (t) =>
          lock &&
          (states.get(keyOf(t))?.version ?? 0) === 0 &&
          (failedAtomically || simulation.states.get(keyOf(t))?.version === 0),
      );
      const status = failedAtomically ? row.status : nextStatus(row, items, outcome.counts);
      const journal = new Journal(actor.id, at);
      auditEvaluation(journal, 'apply', policy);
      const summary = {
        mode,
        applied_items: failedAtomically ? 0 : outcome.counts.applied,
        failed_items: outcome.counts.failed,
        skipped_items: outcome.counts.skipped,
      };
      if (failedAtomically || outcome.counts.applied === 0) {
        journal
          .audit('apply_failed', { ...summary, errors: outcome.errors })
          .event('changeset.apply_failed', { ...summary, errors: outcome.errors });
      } else {
        // The versions written are journaled so that verify can account for every one (audit.ts).
        const written = writtenVersions(outcome.history);
        journal
          .audit('apply', { ...summary, status, errors: outcome.errors, written })
          .event('changeset.applied', summary);
      }
      const writes = failedAtomically
        ? { states: [], history: [], unused }
        : finalWrites(targets, states, simulation.states, outcome, unused);
      const applied = !failedAtomically && outcome.counts.applied > 0;
      const changes = {
        status,
        updated_at: at,
        updated_by: actor.id,
        ...(applied ? { applied_at: at, applied_by: actor.id } : {}),
        ...(policy.evaluations.length > 0
          ? { policy_evaluations: mergeEvaluations(row.policy_evaluations, policy, 'apply') }
          : {}),
      };
      const context = { changeSet: row.id, actor: actor.id, at };
      const itemWrites = failedAtomically ? null : itemsUpdate(outcome.updates);
      await commitChangeSet(scope, journal, changes, targetCommit(scope, writes, states, context, [itemWrites]));
      const result: ApplyResult = {
        success: outcome.counts.failed === 0 && outcome.counts.skipped === 0,
        status,
        ...summary,
        errors: outcome.errors,
        items: failedAtomically
          ? outcome.result.map((r) => ({
              ...r,
              status: r.status === 'APPLIED' ? 'PENDING' : r.status,
              to_version: null,
            }))
          : outcome.result,
        applied_at: at,
        applied_by: actor.id,
      };
      return { result, failedAtomically, changeSetId: row.change_set_id };
    }),
  );
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

function finalWrites(
  targets: readonly { target_type: string; target_id: string }[],
  before: ReadonlyMap<string, { version: number }>,
  after: ReadonlyMap<string, { present: boolean; state: unknown; version: number }>,
  outcome: Outcome,
  unused: readonly { target_type: string; target_id: string }[],
): { states: TargetWrite[]; history: HistoryWrite[]; unused: typeof unused } {
  const states: TargetWrite[] = [];
  for (const target of targets) {
    const key = targetKey(target.target_type, target.target_id);
    const final = after.get(key);
    if (final && final.version !== (before.get(key)?.version ?? 0)) {
      states.push({
        ...target,
        present: final.present,
        state: (final.present ? final.state : null) as TargetWrite['state'],
        version: final.version,
      });
    }
  }
  return { states, history: outcome.history, unused };
}

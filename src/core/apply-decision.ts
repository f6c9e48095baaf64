// What an apply decides, as plain data: which items it applies, what each one does to its target,
// the status the change-set ends in, and what is written. The engine reads the targets, calls
// `decideApply`, and writes the decision in one statement (engine/apply.ts).
import { contentHash, type ReviewableContent } from './canonical-json.js';
import { LedgerError } from './errors.js';
import type { HistoryWrite, ItemErrorReport, ItemUpdate, StoredItem, Target, TargetWrite } from './item-record.js';
import { type ItemOutcome, simulateItems, type TargetState, targetKey } from './item-semantics.js';
import type { Approval, ItemStatus, Json, Status } from './types.js';

/** What became of an item, as apply answers it (a type: it is JSON). */
export type ApplyItemReport = {
  item_id: string;
  key: string;
  status: ItemStatus;
  from_version: number | null;
  to_version: number | null;
};

export interface ApplyCounts {
  applied: number;
  failed: number;
  skipped: number;
}

/** The items an apply works on: those not applied yet (a BEST_EFFORT apply may have left some). */
export function itemsToApply<I extends Pick<StoredItem, 'status'>>(items: readonly I[]): I[] {
  return items.filter((item) => item.status !== 'APPLIED');
}

/**
 * Approvals are bound to content: apply refuses content that differs from what was approved.
 * The approvals themselves were judged when they were given (a later deactivation does not undo them).
 */
export function assertApprovedContent(
  changeSet: Omit<ReviewableContent, 'items'> & {
    change_set_id: string;
    content_hash: string;
    required_approvals: number;
  },
  items: readonly StoredItem[],
  approvals: readonly Approval[],
): void {
  const current = contentHash({ ...changeSet, items });
  if (current !== changeSet.content_hash) {
    throw new LedgerError(
      'CONFLICT',
      `the content of ${changeSet.change_set_id} differs from the content that was approved`,
      undefined,
      { fix: 'close it, reopen it, submit it again and have its current content approved before applying' },
    );
  }
  if (changeSet.required_approvals === 0) return;
  const approving = approvals.filter((a) => !a.stale && a.decision === 'APPROVED' && a.content_hash === current);
  if (approving.length < changeSet.required_approvals) {
    throw new LedgerError(
      'CONFLICT',
      `${changeSet.change_set_id} has ${approving.length} of ${changeSet.required_approvals} approvals of its current content`,
      undefined,
      { fix: 'have the eligible approvers approve its current content (its content_hash), then apply' },
    );
  }
}

export interface ApplyInput {
  /** Every item of the change-set, applied ones included. */
  items: readonly StoredItem[];
  /** The change-set's status before the apply. */
  status: Status;
  /** ATOMIC and AUTO: all pending items or none. BEST_EFFORT: each on its own. */
  atomic: boolean;
  /** Whether the targets are locked (then absent ones have a placeholder row, version 0). */
  locked: boolean;
  /** The distinct targets of the pending items and their states as read. */
  targets: readonly Target[];
  states: ReadonlyMap<string, TargetState>;
}

export interface ApplyDecision {
  /** An ATOMIC apply with an item that cannot apply: nothing is applied, only the attempt recorded. */
  failedAtomically: boolean;
  status: Status;
  counts: ApplyCounts;
  /** The items' outcomes to write (none when it failed atomically). */
  updates: ItemUpdate[];
  /** Final target states, one history row per version written, placeholders to drop. */
  writes: { states: TargetWrite[]; history: HistoryWrite[]; unused: Target[] };
  /** Per item, as the answer reports it (an item of a failed ATOMIC apply is still PENDING). */
  items: ApplyItemReport[];
  errors: ItemErrorReport[];
}

/**
 * Decides an apply on the targets as read. Returns `needsLock` when the decision rests on targets
 * it does not write while they are not locked: a partial BEST_EFFORT apply read without the lock
 * (the failed items' targets must stay as read until the others are written).
 */
export function decideApply(input: ApplyInput): ApplyDecision | { needsLock: string } {
  const { items, states, targets } = input;
  const pending = itemsToApply(items);
  const alreadyApplied = new Set(items.filter((item) => item.status === 'APPLIED').map((item) => item.key));
  const simulation = simulateItems(pending, states, alreadyApplied);
  const firstOrder = Math.max(0, ...items.map((item) => item.applied_order ?? 0)) + 1;
  const outcome = collectOutcome(pending, simulation.order, simulation.outcomes, firstOrder);
  const { counts } = outcome;
  const failedAtomically = input.atomic && counts.applied < pending.length;
  if (!input.locked && counts.applied > 0 && counts.applied < pending.length && !failedAtomically) {
    return { needsLock: 'a partial apply' };
  }
  // Placeholders of targets that stay absent: nothing was written to them.
  const unused = targets.filter(
    (t) =>
      input.locked &&
      (states.get(keyOf(t))?.version ?? 0) === 0 &&
      (failedAtomically || simulation.states.get(keyOf(t))?.version === 0),
  );
  if (failedAtomically) {
    return {
      failedAtomically,
      status: input.status,
      counts: { ...counts, applied: 0 },
      updates: [],
      writes: { states: [], history: [], unused },
      items: outcome.items.map((r) => ({
        ...r,
        status: r.status === 'APPLIED' ? 'PENDING' : r.status,
        to_version: null,
      })),
      errors: outcome.errors,
    };
  }
  return {
    failedAtomically,
    status: statusAfter(input.status, items, counts.applied),
    counts,
    updates: outcome.updates,
    writes: { states: changedStates(targets, states, simulation.states), history: outcome.history, unused },
    items: outcome.items,
    errors: outcome.errors,
  };
}

/** APPLIED once every item is, PARTIALLY_APPLIED while some are, else unchanged. */
export function statusAfter(status: Status, items: readonly Pick<StoredItem, 'status'>[], applied: number): Status {
  const appliedBefore = items.filter((item) => item.status === 'APPLIED').length;
  if (appliedBefore + applied === items.length) return 'APPLIED';
  if (appliedBefore + applied > 0) return 'PARTIALLY_APPLIED';
  return status;
}

const keyOf = (target: Target): string => targetKey(target.target_type, target.target_id);

interface Outcome {
  updates: ItemUpdate[];
  history: HistoryWrite[];
  items: ApplyItemReport[];
  errors: ItemErrorReport[];
  counts: ApplyCounts;
}

function collectOutcome(
  pending: readonly StoredItem[],
  order: readonly string[],
  outcomes: ReadonlyMap<string, ItemOutcome>,
  firstOrder: number,
): Outcome {
  const byKey = new Map(pending.map((item) => [item.key, item]));
  const out: Outcome = {
    updates: [],
    history: [],
    items: [],
    errors: [],
    counts: { applied: 0, failed: 0, skipped: 0 },
  };
  let applied = firstOrder;
  for (const key of order) {
    const item = byKey.get(key);
    const outcome = outcomes.get(key);
    if (!item || !outcome) throw new Error(`apply: no outcome for item ${key}`);
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
      out.items.push({ item_id: item.id, key, status: 'APPLIED', from_version: from.version, to_version: to.version });
    } else {
      out.counts[outcome.status === 'FAILED' ? 'failed' : 'skipped']++;
      out.updates.push({ ...base, status: outcome.status, error: outcome.error, applied_version: null });
      out.errors.push({ item_id: item.id, key: item.key, code: outcome.error.code, message: outcome.error.message });
      out.items.push({
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

/** The targets whose version the apply moved, in their final state. */
function changedStates(
  targets: readonly Target[],
  before: ReadonlyMap<string, { version: number }>,
  after: ReadonlyMap<string, { present: boolean; state: unknown; version: number }>,
): TargetWrite[] {
  const states: TargetWrite[] = [];
  for (const target of targets) {
    const final = after.get(keyOf(target));
    if (final && final.version !== (before.get(keyOf(target))?.version ?? 0)) {
      states.push({
        ...target,
        present: final.present,
        state: (final.present ? final.state : null) as Json,
        version: final.version,
      });
    }
  }
  return states;
}

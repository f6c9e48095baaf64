// The change-set as the API returns it: snake_case, items and approvals included, internals left out.
import { type DeciderCandidate, stepDeciders } from '../core/approvals.js';
import { type ChangeSetSummary, SUMMARY_FIELDS } from '../core/change-set-shape.js';
import type { Approval, ChangeSet, Item } from '../core/types.js';
import type { ApprovalWithApprover } from '../store/approvals.js';
import type { ChangeSetRow } from '../store/change-sets.js';
import type { StoredItem } from '../store/items.js';

export function itemView(item: StoredItem | Item): Item {
  return {
    id: item.id,
    sequence: item.sequence,
    key: item.key,
    operation_type: item.operation_type,
    target_type: item.target_type,
    target_id: item.target_id,
    after_state: item.after_state,
    diff_data: item.diff_data,
    before_state: item.before_state,
    base_version: item.base_version,
    depends_on: item.depends_on,
    status: item.status,
    error: item.error,
    applied_version: item.applied_version,
  };
}

export function approvalView(approval: ApprovalWithApprover | Approval): Approval {
  const { id, approver_id, decision, reason, content_hash, stale, decided_at } = approval;
  return { id, approver_id, decision, reason, content_hash, stale, decided_at };
}

/** The change-set's public fields, without items and approvals (internal columns left out), in the API's order. */
export function summaryOf(row: ChangeSetRow): ChangeSetSummary {
  const summary: Record<string, unknown> = {};
  for (const field of SUMMARY_FIELDS) summary[field] = row[field];
  return summary as ChangeSetSummary;
}

/**
 * The change-set as the API returns it. `candidates`: the active principals its steps name, read
 * with it (store/principals.ts STEP_CANDIDATES), from which `deciders` is computed; none needed
 * when it does not await decisions.
 */
export function changeSetView(
  row: ChangeSetRow,
  items: readonly (StoredItem | Item)[],
  approvals: readonly (ApprovalWithApprover | Approval)[],
  candidates: readonly DeciderCandidate[],
): ChangeSet {
  const view = approvals.map(approvalView);
  const summary = summaryOf(row);
  return {
    ...summary,
    approvals: view,
    items: items.map(itemView),
    deciders: stepDeciders({ ...summary, approvals: view }, candidates),
  };
}

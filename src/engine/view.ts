// The change-set as the API returns it: snake_case, items and approvals included, internals left out.
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

/** The change-set's public fields, without items and approvals (internal columns left out). */
export function summaryOf(row: ChangeSetRow): Omit<ChangeSet, 'items' | 'approvals'> {
  return {
    id: row.id,
    change_set_id: row.change_set_id,
    title: row.title,
    description: row.description,
    agent_id: row.agent_id,
    agent_type: row.agent_type,
    category: row.category,
    priority: row.priority,
    tags: row.tags,
    metadata: row.metadata,
    approval_chain: row.approval_chain,
    auto_apply: row.auto_apply,
    status: row.status,
    risk: row.risk,
    approval_steps: row.approval_steps,
    required_approvals: row.required_approvals,
    received_approvals: row.received_approvals,
    approval_deadline: row.approval_deadline,
    policy_evaluations: row.policy_evaluations,
    content_hash: row.content_hash,
    item_count: row.item_count,
    version: row.version,
    created_at: row.created_at,
    created_by: row.created_by,
    updated_at: row.updated_at,
    updated_by: row.updated_by,
    submitted_at: row.submitted_at,
    applied_at: row.applied_at,
    applied_by: row.applied_by,
    rolled_back_at: row.rolled_back_at,
    rolled_back_by: row.rolled_back_by,
  };
}

export function changeSetView(
  row: ChangeSetRow,
  items: readonly (StoredItem | Item)[],
  approvals: readonly (ApprovalWithApprover | Approval)[],
): ChangeSet {
  return { ...summaryOf(row), approvals: approvals.map(approvalView), items: items.map(itemView) };
}

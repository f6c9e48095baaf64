// Which actions to offer: the lifecycle table and the approver rules the server itself enforces
// (src/core), so the dashboard and the API agree. The server still judges every request.
import { isEligibleApprover } from '../../core/approvals.js';
import { LIFECYCLE, mayAct } from '../../core/lifecycle.js';
import type { ChangeSet, Principal } from '../../core/types.js';

export const DASHBOARD_ACTIONS = [
  'approve',
  'reject',
  'submit',
  'apply',
  'rollback',
  'withdraw',
  'reopen',
  'close',
] as const;
export type DashboardAction = (typeof DASHBOARD_ACTIONS)[number];

type Subject = Pick<ChangeSet, 'status' | 'created_by' | 'approval_steps'> &
  Partial<Pick<ChangeSet, 'approvals' | 'content_hash'>>;
type Viewer = Pick<Principal, 'id' | 'groups' | 'active'>;

/**
 * The actions `viewer` may take on the change-set in its current status, in display order. Approve
 * is not offered to whoever already approved the current content: a second approval would only
 * replace the first.
 */
export function availableActions(changeSet: Subject, viewer: Viewer): DashboardAction[] {
  const context = {
    principal: viewer,
    createdBy: changeSet.created_by,
    isEligibleApprover: isEligibleApprover(changeSet.approval_steps, viewer, changeSet.created_by),
  };
  const approved = (changeSet.approvals ?? []).some(
    (a) =>
      a.approver_id === viewer.id && !a.stale && a.decision === 'APPROVED' && a.content_hash === changeSet.content_hash,
  );
  return DASHBOARD_ACTIONS.filter(
    (action) =>
      LIFECYCLE[action].from.includes(changeSet.status) &&
      mayAct(action, context) &&
      !(action === 'approve' && approved),
  );
}

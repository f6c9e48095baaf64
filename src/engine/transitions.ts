// The simple transitions: withdraw (→ DRAFT), reopen (→ DRAFT) and close (→ REJECTED).
// Returning to DRAFT makes every earlier approval stale.
import type { ChangeSet, Principal, Status } from '../core/types.js';
import { approvalsStaleUpdate } from '../store/approvals.js';
import { itemsReset, RESET_OUTCOME } from '../store/items.js';
import { runAction } from './action.js';
import type { EngineContext } from './context.js';
import type { EventType } from './journal.js';
import { changeSetView } from './view.js';

export type SimpleTransition = 'withdraw' | 'reopen' | 'close';

const OUTCOME: Record<SimpleTransition, { to: Status; event: EventType }> = {
  withdraw: { to: 'DRAFT', event: 'changeset.withdrawn' },
  reopen: { to: 'DRAFT', event: 'changeset.reopened' },
  close: { to: 'REJECTED', event: 'changeset.rejected' },
};

export function transitionChangeSet(
  ctx: EngineContext,
  actor: Principal,
  reference: string,
  action: SimpleTransition,
  reason: string | null = null,
): Promise<ChangeSet> {
  return runAction(ctx, actor, reference, {
    action,
    mode: 'optimistic',
    decide: ({ scope: { row, items, approvals }, journal }) => {
      const { to, event } = OUTCOME[action];
      const staled = to === 'DRAFT' ? approvals.filter((a) => !a.stale).length : 0;
      journal
        .audit(action, { from: row.status, to, reason, ...(to === 'DRAFT' ? { approvals_made_stale: staled } : {}) })
        .event(event, { from: row.status, reason, ...(action === 'close' ? { closed: true } : {}) });
      return {
        changes: {
          status: to,
          ...(to === 'DRAFT' ? { received_approvals: 0, approval_deadline: null, submitted_at: null } : {}),
        },
        commit: {
          writes: [
            to === 'DRAFT' && staled > 0 ? approvalsStaleUpdate(row.id) : null,
            action === 'reopen' ? itemsReset(row.id) : null,
          ],
        },
        answer: (committed) =>
          changeSetView(
            committed,
            action === 'reopen' ? items.map((item) => ({ ...item, ...RESET_OUTCOME })) : items,
            to === 'DRAFT' ? approvals.map((a) => ({ ...a, stale: true })) : approvals,
            // Withdrawn, reopened (a draft) or closed (rejected): no step is open, no deciders.
            [],
          ),
      };
    },
  });
}

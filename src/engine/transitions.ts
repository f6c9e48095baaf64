// The simple transitions: withdraw (→ DRAFT), reopen (→ DRAFT) and close (→ REJECTED).
// Returning to DRAFT makes every earlier approval stale.
import { assertTransition } from '../core/lifecycle.js';
import type { ChangeSet, Principal, Status } from '../core/types.js';
import { approvalsStaleUpdate } from '../store/approvals.js';
import { itemsReset, RESET_OUTCOME } from '../store/items.js';
import { actorContext, type EngineContext } from './context.js';
import { type EventType, Journal } from './journal.js';
import { commitChangeSet, optimistic } from './scope.js';
import { changeSetView } from './view.js';

export type SimpleTransition = 'withdraw' | 'reopen' | 'close';

const OUTCOME: Record<SimpleTransition, { to: Status; event: EventType }> = {
  withdraw: { to: 'DRAFT', event: 'changeset.withdrawn' },
  reopen: { to: 'DRAFT', event: 'changeset.reopened' },
  close: { to: 'REJECTED', event: 'changeset.rejected' },
};

export async function transitionChangeSet(
  ctx: EngineContext,
  actor: Principal,
  reference: string,
  action: SimpleTransition,
  reason: string | null = null,
): Promise<ChangeSet> {
  return optimistic(ctx, reference, async (scope) => {
    const { row, items, approvals } = scope;
    assertTransition(action, row.status, actorContext(row, actor));
    const { to, event } = OUTCOME[action];
    const at = ctx.clock().toISOString();
    const staled = to === 'DRAFT' ? approvals.filter((a) => !a.stale).length : 0;
    const journal = new Journal(actor.id, at)
      .audit(action, { from: row.status, to, reason, ...(to === 'DRAFT' ? { approvals_made_stale: staled } : {}) })
      .event(event, { from: row.status, reason, ...(action === 'close' ? { closed: true } : {}) });
    const changes = {
      status: to,
      updated_at: at,
      updated_by: actor.id,
      ...(to === 'DRAFT' ? { received_approvals: 0, approval_deadline: null, submitted_at: null } : {}),
    };
    const writes = [
      to === 'DRAFT' && staled > 0 ? approvalsStaleUpdate(row.id) : null,
      action === 'reopen' ? itemsReset(row.id) : null,
    ];
    const committed = await commitChangeSet(scope, journal, changes, { writes });
    return changeSetView(
      { ...row, ...changes, ...committed },
      action === 'reopen' ? items.map((item) => ({ ...item, ...RESET_OUTCOME })) : items,
      to === 'DRAFT' ? approvals.map((a) => ({ ...a, stale: true })) : approvals,
    );
  });
}

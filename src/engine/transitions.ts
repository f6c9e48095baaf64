// The simple transitions: withdraw (→ DRAFT), reopen (→ DRAFT) and close (→ REJECTED).
// Returning to DRAFT makes every earlier approval stale.
import { assertTransition } from '../core/lifecycle.js';
import type { ChangeSet, Principal, Status } from '../core/types.js';
import { loadApprovals, markApprovalsStale } from '../store/approvals.js';
import { updateChangeSet } from '../store/change-sets.js';
import { loadItems, resetItems } from '../store/items.js';
import { actorContext, type EngineContext, inTransaction, lockChangeSet } from './context.js';
import { type EventType, Journal } from './journal.js';
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
  return inTransaction(ctx, async (tx) => {
    const row = await lockChangeSet(tx, reference);
    assertTransition(action, row.status, actorContext(row, actor));
    const { to, event } = OUTCOME[action];
    const at = ctx.clock().toISOString();
    let staled = 0;
    if (to === 'DRAFT') staled = await markApprovalsStale(tx, row.id);
    if (action === 'reopen') await resetItems(tx, row.id);
    const journal = new Journal(actor.id, at)
      .audit(action, { from: row.status, to, reason, ...(to === 'DRAFT' ? { approvals_made_stale: staled } : {}) })
      .event(event, { from: row.status, reason, ...(action === 'close' ? { closed: true } : {}) });
    const changes = {
      status: to,
      updated_at: at,
      updated_by: actor.id,
      ...(to === 'DRAFT' ? { received_approvals: 0, approval_deadline: null, submitted_at: null } : {}),
    };
    const head = await journal.writeForChangeSet(tx, { ...row, ...changes });
    const version = await updateChangeSet(tx, row.id, { ...changes, ...head });
    return changeSetView(
      { ...row, ...changes, ...head, version },
      await loadItems(tx, row.id),
      await loadApprovals(tx, row.id),
    );
  });
}

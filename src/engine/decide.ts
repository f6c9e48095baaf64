// An approver's decision. APPROVED counts towards the steps (→ APPROVED when all are met);
// REJECTED vetoes a pending change-set or revokes an approved one (→ REJECTED).
import { tallyApprovals } from '../core/approvals.js';
import { assertTransition } from '../core/lifecycle.js';
import type { ChangeSet, Decision, Principal, Status } from '../core/types.js';
import { loadApprovals, upsertDecision } from '../store/approvals.js';
import { updateChangeSet } from '../store/change-sets.js';
import { loadItems } from '../store/items.js';
import { actorContext, type EngineContext, inTransaction, lockChangeSet } from './context.js';
import { Journal } from './journal.js';
import { changeSetView } from './view.js';

export interface DecisionInput {
  decision: Decision;
  reason?: string | null | undefined;
}

export async function decideChangeSet(
  ctx: EngineContext,
  actor: Principal,
  reference: string,
  input: DecisionInput,
): Promise<ChangeSet> {
  return inTransaction(ctx, async (tx) => {
    const row = await lockChangeSet(tx, reference);
    assertTransition(input.decision === 'APPROVED' ? 'approve' : 'reject', row.status, actorContext(row, actor));
    const at = ctx.clock().toISOString();
    const reason = input.reason ?? null;
    await upsertDecision(tx, {
      id: ctx.newId(),
      change_set: row.id,
      approver_id: actor.id,
      decision: input.decision,
      reason,
      content_hash: row.content_hash,
      decided_at: at,
    });
    const approvals = await loadApprovals(tx, row.id);
    const tally = tallyApprovals(row.approval_steps, approvals, row.content_hash, row.created_by);
    const status: Status = input.decision === 'REJECTED' ? 'REJECTED' : tally.satisfied ? 'APPROVED' : row.status;
    const journal = new Journal(actor.id, at)
      .audit('decision', {
        decision: input.decision,
        reason,
        content_hash: row.content_hash,
        received: tally.received,
        required: tally.required,
      })
      .event('changeset.approval_decision', {
        approver_id: actor.id,
        decision: input.decision,
        reason,
        received_approvals: tally.received,
        required_approvals: tally.required,
      });
    if (status !== row.status) {
      journal.audit('transition', {
        from: row.status,
        to: status,
        cause: input.decision === 'REJECTED' ? (row.status === 'APPROVED' ? 'revoked' : 'veto') : 'approvals met',
      });
      journal.event(status === 'APPROVED' ? 'changeset.approved' : 'changeset.rejected', {
        by: actor.id,
        ...(status === 'REJECTED' ? { reason, revoked: row.status === 'APPROVED' } : { steps: tally.steps }),
      } as never);
    }
    const changes = { status, received_approvals: tally.received, updated_at: at, updated_by: actor.id };
    const head = await journal.writeForChangeSet(tx, { ...row, ...changes });
    const version = await updateChangeSet(tx, row.id, { ...changes, ...head });
    return changeSetView({ ...row, ...changes, version }, await loadItems(tx, row.id), approvals);
  });
}

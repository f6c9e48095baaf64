// An approver's decision. APPROVED counts towards the steps (→ APPROVED when all are met);
// REJECTED vetoes a pending change-set or revokes an approved one (→ REJECTED).
import { tallyApprovals } from '../core/approvals.js';
import { checkDecisionBinding, staleContentEdits, staleContentError } from '../core/decision-binding.js';
import type { ChangeSet, Decision, Principal, Status } from '../core/types.js';
import { type ApprovalWithApprover, type DecisionRecord, decisionUpsert } from '../store/approvals.js';
import { loadChangeSetAudit } from '../store/audit.js';
import { runAction } from './action.js';
import type { EngineContext } from './context.js';
import type { Scope } from './scope.js';
import { changeSetView } from './view.js';

export interface DecisionInput {
  decision: Decision;
  reason?: string | null | undefined;
  /** The content hash of what the reviewer read: refused with STALE_CONTENT when no longer current. */
  content_hash?: string | null | undefined;
}

export interface DecideOptions {
  /** The version the reviewer read (If-Match): refused with 412 when the change-set has moved on. */
  ifVersion?: number | undefined;
}

/** Refuses a decision not on what the reviewer read (core/decision-binding.ts), saying what changed since. */
async function assertBound(scope: Scope, input: DecisionInput, options: DecideOptions): Promise<void> {
  const { row } = scope;
  const seen = input.content_hash ?? null;
  const { stale } = checkDecisionBinding(row, { ifVersion: options.ifVersion, contentHash: seen });
  if (!stale || seen === null) return;
  const entries = await loadChangeSetAudit(scope.db, row.id);
  throw staleContentError(row, seen, staleContentEdits(entries, seen));
}

/**
 * The approvals once `decision` is recorded, as the upsert leaves them: it replaces the approver's
 * current (not stale) decision in place, or is added; in the order `loadApprovals` reads them.
 */
function withDecision(
  approvals: readonly ApprovalWithApprover[],
  decision: DecisionRecord,
  actor: Principal,
): ApprovalWithApprover[] {
  const current = approvals.find((a) => a.approver_id === decision.approver_id && !a.stale);
  const recorded: ApprovalWithApprover = {
    id: current?.id ?? decision.id,
    approver_id: decision.approver_id,
    decision: decision.decision,
    reason: decision.reason,
    content_hash: decision.content_hash,
    stale: false,
    decided_at: decision.decided_at,
    approver: current?.approver ?? { id: actor.id, groups: actor.groups, active: actor.active },
  };
  const others = approvals.filter((a) => a !== current);
  return [...others, recorded].sort(
    (a, b) =>
      compare(a.decided_at, b.decided_at) || compare(a.approver_id, b.approver_id) || Number(b.stale) - Number(a.stale),
  );
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function decideChangeSet(
  ctx: EngineContext,
  actor: Principal,
  reference: string,
  input: DecisionInput,
  options: DecideOptions = {},
): Promise<ChangeSet> {
  return runAction(ctx, actor, reference, {
    action: input.decision === 'APPROVED' ? 'approve' : 'reject',
    mode: 'optimistic',
    check: (scope) => assertBound(scope, input, options),
    decide: ({ scope: { row, items }, scope, journal, at }) => {
      const reason = input.reason ?? null;
      const decision = {
        id: ctx.newId(),
        change_set: row.id,
        approver_id: actor.id,
        decision: input.decision,
        reason,
        content_hash: row.content_hash,
        decided_at: at,
      };
      const approvals = withDecision(scope.approvals, decision, actor);
      const tally = tallyApprovals(row.approval_steps, approvals, row.content_hash, row.created_by);
      const status: Status = input.decision === 'REJECTED' ? 'REJECTED' : tally.satisfied ? 'APPROVED' : row.status;
      journal
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
      return {
        changes: { status, received_approvals: tally.received },
        commit: { writes: [decisionUpsert(decision)] },
        answer: (committed) => changeSetView(committed, items, approvals, scope.candidates),
      };
    },
  });
}

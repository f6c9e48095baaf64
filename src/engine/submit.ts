// Submit: a dry run of the items, a check that the approval steps can be met, then
// PENDING_APPROVAL with a deadline and one approval request per eligible approver
// (or straight to APPROVED when no approval is required).

import { requiredApprovals, stepAudience, unsatisfiableSteps } from '../core/approvals.js';
import { defined } from '../core/defined.js';
import { LedgerError } from '../core/errors.js';
import type { TargetState } from '../core/item-semantics.js';
import { planItems } from '../core/plan.js';
import { stepsOf } from '../core/policy.js';
import type { ApprovalStep, ChangeSet, Item, PolicyEvaluation, Principal, Status } from '../core/types.js';
import type { ChangeSetRow } from '../store/change-sets.js';
import type { Queryable } from '../store/db.js';
import { findCandidates } from '../store/principals.js';
import { runAction } from './action.js';
import type { EngineContext } from './context.js';
import { refuse } from './scope.js';
import { loadStatesFor } from './targets.js';
import { changeSetView } from './view.js';

/** The refusal of items that cannot be applied to the targets as they are, if any. */
async function itemsNotApplicable(
  tx: Queryable,
  items: readonly Item[],
  read: ReadonlyMap<string, TargetState> | null,
): Promise<LedgerError | null> {
  const { states } = await loadStatesFor(tx, items, { lock: false, read });
  const plan = planItems(items, states);
  if (plan.would_succeed) return null;
  const problems = plan.items.flatMap((item) => (item.error ? [{ ...item, error: item.error }] : []));
  return new LedgerError(
    'ITEMS_NOT_APPLICABLE',
    `${problems.length} of ${items.length} items cannot be applied as things stand: ` +
      problems
        .slice(0, 3)
        .map((p) => `${p.key}: ${p.error.message}`)
        .join('; '),
    problems.map((p) => ({
      path: `items[${p.sequence}]`,
      item_id: p.item_id,
      key: p.key,
      code: p.error.code,
      message: p.error.message,
    })),
  );
}

async function eligibleCandidates(
  tx: Queryable,
  row: ChangeSetRow,
  steps: readonly ApprovalStep[],
): Promise<Principal[]> {
  const { ids, groups } = stepAudience(steps);
  const candidates = await findCandidates(tx, ids, groups);
  return candidates.filter((p) => p.id !== row.created_by);
}

/** The refusal of approval steps the eligible principals cannot meet, if any. */
function unsatisfiable(
  steps: readonly ApprovalStep[],
  candidates: readonly Principal[],
  createdBy: string,
): LedgerError | null {
  const short = unsatisfiableSteps(steps, candidates, createdBy);
  if (short.length === 0) return null;
  const describe = (s: { name: string; count: number; received: number }) =>
    `step ${s.name} needs ${s.count} approval${s.count === 1 ? '' : 's'} but only ${s.received} eligible principal${s.received === 1 ? '' : 's'} can give them`;
  return new LedgerError(
    'APPROVAL_UNSATISFIABLE',
    short.map(describe).join('; '),
    short.map((s) => ({ step: s.name, message: describe(s), required: s.count, eligible: s.received })),
  );
}

/** The steps at submit: the risk step, then the steps of require_approval policies matched at create or submit. */
function stepsAtSubmit(ctx: EngineContext, row: ChangeSetRow, evaluations: PolicyEvaluation[]): ApprovalStep[] {
  const risk = row.approval_steps.find((step) => step.name === 'risk') ?? defined(row.approval_steps[0], 'risk step');
  return [risk, ...stepsOf(ctx.config.policies, evaluations)];
}

export function submitChangeSet(ctx: EngineContext, actor: Principal, reference: string): Promise<ChangeSet> {
  return runAction(ctx, actor, reference, {
    action: 'submit',
    mode: 'optimistic',
    // The dry run's target states come with the change-set's read: one statement less.
    reads: { targetStates: true },
    policy: { action: 'submit' },
    decide: async ({ scope, journal, now, at, evaluations }) => {
      const { db, access, row, items, approvals } = scope;
      const notApplicable = await itemsNotApplicable(db, items, scope.states);
      if (notApplicable) refuse(access, notApplicable);
      const approval_steps = stepsAtSubmit(ctx, row, evaluations);
      const required_approvals = requiredApprovals(approval_steps);
      const candidates = await eligibleCandidates(db, row, approval_steps);
      const short = unsatisfiable(approval_steps, candidates, row.created_by);
      if (short) refuse(access, short);
      const approved = required_approvals === 0;
      const hours = ctx.config.approval.deadline_hours[row.priority];
      const deadline = approved ? null : new Date(now.getTime() + hours * 3_600_000).toISOString();
      const status: Status = approved ? 'APPROVED' : 'PENDING_APPROVAL';
      journal
        .audit('submit', { status, content_hash: row.content_hash, approval_deadline: deadline })
        .event('changeset.submitted', { approval_deadline: deadline, required_approvals });
      if (approved) journal.event('changeset.approved', { required_approvals: 0 });
      else {
        for (const approver of candidates) {
          journal.event('changeset.approval_requested', {
            approver_id: approver.id,
            approval_deadline: deadline,
            // What the request asks to approve: Slack's buttons bind the decision to it.
            content_hash: row.content_hash,
          });
        }
      }
      return {
        changes: {
          status,
          approval_steps,
          required_approvals,
          policy_evaluations: evaluations,
          submitted_at: at,
          approval_deadline: deadline,
          received_approvals: 0,
        },
        commit: { newRound: true },
        answer: (committed) => changeSetView(committed, items, approvals, candidates),
      };
    },
  });
}

// Policies in the engine: the variables a condition sees, evaluation per action, and the refusal.
import { tallyApprovals } from '../core/approvals.js';
import { LedgerError } from '../core/errors.js';
import {
  celTimestamp,
  evaluatePolicies,
  NO_POLICY_OUTCOME,
  type PolicyAction,
  type PolicyOutcome,
  shadowEffects,
} from '../core/policy.js';
import type { Item, PolicyEvaluation, Principal } from '../core/types.js';
import type { ApprovalWithApprover } from '../store/approvals.js';
import type { ChangeSetRow } from '../store/change-sets.js';
import type { EngineContext } from './context.js';
import { Journal } from './journal.js';
import { commitChangeSet, type Scope } from './scope.js';
import { itemView, summaryOf } from './view.js';

/** What a condition sees: the variables of docs/policies.md#variables. */
function variables(row: ChangeSetRow, items: readonly Item[], actor: Principal, action: PolicyAction, now: Date) {
  const changeSet = summaryOf(row);
  const { id, kind, display_name, email, slack_id, groups, risk, active } = actor;
  return {
    change_set: changeSet as unknown as Record<string, unknown>,
    items: items.map((item) => itemView(item) as unknown as Record<string, unknown>),
    principal: { id, kind, display_name, email, slack_id, groups, risk, active },
    action,
    now: celTimestamp(now),
  };
}

export function evaluateFor(
  ctx: EngineContext,
  action: PolicyAction,
  row: ChangeSetRow,
  items: readonly Item[],
  actor: Principal,
): PolicyOutcome {
  const now = ctx.clock();
  if (ctx.config.policies.length === 0) return NO_POLICY_OUTCOME;
  return evaluatePolicies(ctx.config.policies, variables(row, items, actor, action, now), now.toISOString());
}

/** The change-set keeps the latest evaluation of each action; the audit trail keeps them all. */
export function mergeEvaluations(
  stored: readonly PolicyEvaluation[],
  fresh: PolicyOutcome,
  action: PolicyAction,
): PolicyEvaluation[] {
  return [...stored.filter((e) => e.action !== action), ...fresh.evaluations];
}

/**
 * At apply and rollback a matched require_approval policy is a condition on the approvals already
 * given: a step they do not fill refuses the action like a deny, and its evaluation says why.
 * Steps the change-set already carried were judged when it became APPROVED and are not re-judged.
 */
export function unmetSteps(
  outcome: PolicyOutcome,
  row: ChangeSetRow,
  approvals: readonly ApprovalWithApprover[],
): PolicyOutcome {
  const judged = judgeSteps(outcome, row, approvals);
  // Shadow policies are judged the same way: an unmet step is what enforcing them would deny.
  return outcome.shadow ? { ...judged, shadow: judgeSteps(outcome.shadow, row, approvals) } : judged;
}

function judgeSteps(
  outcome: PolicyOutcome,
  row: ChangeSetRow,
  approvals: readonly ApprovalWithApprover[],
): PolicyOutcome {
  const settled = new Set(row.approval_steps.map((step) => step.name));
  const fresh = outcome.steps.filter((step) => !settled.has(step.name));
  if (fresh.length === 0) return outcome;
  const tally = tallyApprovals(fresh, approvals, row.content_hash, row.created_by);
  const reasons = new Map(
    tally.steps
      .filter((s) => s.received < s.count)
      .map((s) => {
        const who = fresh.find((step) => step.name === s.name)?.approvers.join(', ');
        return [s.name, `needs ${s.count} approval${s.count === 1 ? '' : 's'} from ${who}, has ${s.received}`] as const;
      }),
  );
  if (reasons.size === 0) return outcome;
  const evaluations = outcome.evaluations.map((e) =>
    e.matched && reasons.has(e.policy) ? { ...e, message: reasons.get(e.policy) ?? null } : e,
  );
  const denials = [...outcome.denials, ...evaluations.filter((e) => e.matched && reasons.has(e.policy))];
  return { ...outcome, evaluations, denials };
}

export function policyDenied(outcome: PolicyOutcome, action: PolicyAction): LedgerError {
  const describe = (e: PolicyEvaluation) => `${e.policy}${e.message ? `: ${e.message}` : ''}`;
  return new LedgerError(
    'POLICY_DENIED',
    `${action} denied by ${outcome.denials.length === 1 ? 'policy' : 'policies'} ${outcome.denials.map(describe).join('; ')}`,
    outcome.denials.map((e) => ({ policy: e.policy, message: e.message ?? `denied by ${e.policy}` })),
  );
}

/**
 * Audit entry of an evaluation (also written for denials, which refuse the action), and the results
 * of the shadow policies, stored beside it (not in the audit trail: they had no effect).
 */
export function auditEvaluation(journal: Journal, action: PolicyAction, outcome: PolicyOutcome, refused = false): void {
  if (outcome.shadow) journal.shadow(shadowEffects(outcome.shadow), refused);
  if (outcome.evaluations.length === 0) return;
  journal.audit('policy_evaluation', {
    action,
    denied: outcome.denials.length > 0,
    evaluations: outcome.evaluations.map((e) => ({ ...e, message: e.message })),
  });
}

/**
 * A denial of an existing change-set's submit, apply or rollback is kept: the evaluation goes on
 * the change-set and in its audit trail (security teams want to see who tried what). The caller
 * commits this, then throws the returned refusal.
 */
export async function recordDenial(
  scope: Pick<Scope, 'access' | 'row' | 'signer'>,
  actor: Principal,
  action: PolicyAction,
  outcome: PolicyOutcome,
): Promise<LedgerError> {
  const at = outcome.evaluations[0]?.evaluated_at ?? new Date().toISOString();
  const journal = new Journal(actor.id, at);
  auditEvaluation(journal, action, outcome, true);
  await commitChangeSet(scope, journal, {
    policy_evaluations: mergeEvaluations(scope.row.policy_evaluations, outcome, action),
  });
  return policyDenied(outcome, action);
}

/** Runs an action whose transaction may end in a recorded refusal: committed first, thrown after. */
export async function withRecordedRefusal<T>(run: () => Promise<T | Refusal>): Promise<T> {
  const result = await run();
  if (result instanceof Refusal) throw result.error;
  return result;
}

export class Refusal {
  constructor(readonly error: LedgerError) {}
}

// Policies in the engine: the variables a condition sees, evaluation per action, and the refusal.
import { tallyApprovals } from '../core/approvals.js';
import { LedgerError } from '../core/errors.js';
import { evaluatePolicies, type PolicyAction, type PolicyOutcome } from '../core/policy.js';
import type { Item, PolicyEvaluation, Principal } from '../core/types.js';
import type { ApprovalWithApprover } from '../store/approvals.js';
import { type ChangeSetRow, updateChangeSet } from '../store/change-sets.js';
import type { Queryable } from '../store/db.js';
import type { EngineContext } from './context.js';
import { Journal } from './journal.js';
import { itemView } from './view.js';

/** What a condition sees: SPEC §6's variables. */
function variables(row: ChangeSetRow, items: readonly Item[], actor: Principal, action: PolicyAction, now: Date) {
  const { audit_head: _h, audit_count: _c, ...changeSet } = row;
  const { id, kind, display_name, email, slack_id, groups, risk, active } = actor;
  return {
    change_set: changeSet as unknown as Record<string, unknown>,
    items: items.map((item) => itemView(item) as unknown as Record<string, unknown>),
    principal: { id, kind, display_name, email, slack_id, groups, risk, active },
    action,
    now,
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
  if (ctx.config.policies.length === 0) return { evaluations: [], denials: [], warnings: [], steps: [] };
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
 * given: a step they do not fill refuses the action like a deny.
 */
export function unmetSteps(
  outcome: PolicyOutcome,
  row: ChangeSetRow,
  approvals: readonly ApprovalWithApprover[],
): PolicyOutcome {
  if (outcome.steps.length === 0) return outcome;
  const tally = tallyApprovals(outcome.steps, approvals, row.content_hash, row.created_by);
  const unmet = tally.steps.filter((s) => s.received < s.count);
  const extra = unmet.map((s) => ({
    policy: s.name,
    action: outcome.evaluations[0]?.action ?? 'apply',
    effect: 'deny' as const,
    matched: true,
    message: `needs ${s.count} approval${s.count === 1 ? '' : 's'} from ${outcome.steps.find((x) => x.name === s.name)?.approvers.join(', ')}, has ${s.received}`,
    evaluated_at: outcome.evaluations[0]?.evaluated_at ?? '',
  }));
  return { ...outcome, denials: [...outcome.denials, ...extra] };
}

export function policyDenied(outcome: PolicyOutcome, action: PolicyAction): LedgerError {
  const describe = (e: PolicyEvaluation) => `${e.policy}${e.message ? `: ${e.message}` : ''}`;
  return new LedgerError(
    'POLICY_DENIED',
    `${action} denied by ${outcome.denials.length === 1 ? 'policy' : 'policies'} ${outcome.denials.map(describe).join('; ')}`,
    outcome.denials.map((e) => ({ policy: e.policy, message: e.message ?? `denied by ${e.policy}` })),
  );
}

/** Audit entry of an evaluation (also written for denials, which refuse the action). */
export function auditEvaluation(journal: Journal, action: PolicyAction, outcome: PolicyOutcome): void {
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
  tx: Queryable,
  row: ChangeSetRow,
  actor: Principal,
  action: PolicyAction,
  outcome: PolicyOutcome,
): Promise<LedgerError> {
  const at = outcome.evaluations[0]?.evaluated_at ?? new Date().toISOString();
  const journal = new Journal(actor.id, at);
  auditEvaluation(journal, action, outcome);
  const head = await journal.writeForChangeSet(tx, row);
  await updateChangeSet(tx, row.id, {
    policy_evaluations: mergeEvaluations(row.policy_evaluations, outcome, action),
    ...head,
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

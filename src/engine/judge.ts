// How the engine would judge a change-set's actions under a configuration, without storing
// anything: risk and create's policies as create does, then each later action's policies as that
// action does. Shared by `policy test` (a change-set file) and replay (recorded change-sets), so both
// call the engine's own functions (assess.ts, policies.ts, core/policy.ts) and nothing else.
import { requiredApprovals } from '../core/approvals.js';
import { defined } from '../core/defined.js';
import { type PolicyAction, stepsOf } from '../core/policy.js';
import type { ApprovalStep, Item, PolicyEvaluation, Principal, RiskAssessment, Status } from '../core/types.js';
import type { ChangeSetRow } from '../store/change-sets.js';
import type { Assessment } from './assess.js';
import { withPolicySteps } from './assess.js';
import type { EngineContext } from './context.js';
import { evaluateFor } from './policies.js';

/** The status a change-set has when the action is taken on it. */
export const STATUS_AT: Readonly<Record<PolicyAction, Status>> = {
  create: 'DRAFT',
  submit: 'DRAFT',
  apply: 'APPROVED',
  rollback: 'APPLIED',
};

/** One action to judge: who takes it and when (the `now` its conditions see). */
export interface JudgedAction {
  action: Exclude<PolicyAction, 'create'>;
  actor: Principal;
  now: Date;
  /**
   * Whether the approval steps are counted again after it (default true, as `policy test` shows an
   * action's steps). The engine sets them at create and submit only: replay says so.
   */
  setsSteps?: boolean;
}

export interface Judgement {
  risk: RiskAssessment;
  /** The risk step, then the steps of require_approval policies matched at create and later actions. */
  approval_steps: ApprovalStep[];
  required_approvals: number;
  /** Whether create would store the change-set APPROVED, without review. */
  auto_approved: boolean;
  /** create's evaluations, then each later action's. */
  evaluations: PolicyEvaluation[];
  /** Matched denies (and failed conditions) of every action judged. */
  denials: PolicyEvaluation[];
}

/**
 * `draft` is the change-set as create builds it before its policies (risk step only), `riskOnly` its
 * assessment, `creator` who creates it; `ctxAt(now)` the context to judge in at a moment.
 */
export function judgeChangeSet(
  ctxAt: (now: Date) => EngineContext,
  draft: { row: ChangeSetRow; items: readonly Item[]; assessment: Assessment },
  create: { actor: Principal; now: Date },
  later: readonly JudgedAction[],
): Judgement {
  const ctx = ctxAt(create.now);
  const created = evaluateFor(ctx, 'create', draft.row, draft.items, create.actor);
  const assessment = withPolicySteps(draft.assessment, created.steps);
  let evaluations = created.evaluations;
  let approval_steps = assessment.approval_steps;
  let denials = created.denials;
  for (const { action, actor, now, setsSteps = true } of later) {
    const row: ChangeSetRow = {
      ...draft.row,
      ...assessment,
      status: STATUS_AT[action],
      policy_evaluations: evaluations,
    };
    const outcome = evaluateFor(ctxAt(now), action, row, draft.items, actor);
    evaluations = [...evaluations, ...outcome.evaluations];
    // As submit does: steps matched at create or at the action, each once, in configuration order.
    if (setsSteps)
      approval_steps = [
        defined(assessment.approval_steps[0], 'risk step'),
        ...stepsOf(ctx.config.policies, evaluations),
      ];
    denials = [...denials, ...outcome.denials];
  }
  return {
    risk: assessment.risk,
    approval_steps,
    required_approvals: requiredApprovals(approval_steps),
    auto_approved: assessment.risk.auto_approve && assessment.required_approvals === 0 && created.denials.length === 0,
    evaluations,
    denials,
  };
}

// `changeledger policy test`: what create, and a later action, would decide about a change-set
// file — risk, matched policies, approval steps, denial — computed by the engine's own functions
// (assess.ts, policies.ts) on a change-set that is never stored. No database is touched.
import { randomUUID } from 'node:crypto';
import { requiredApprovals } from '../core/approvals.js';
import { defined } from '../core/defined.js';
import { LedgerError } from '../core/errors.js';
import { type PolicyAction, stepsOf } from '../core/policy.js';
import type { ApprovalStep, Item, PolicyEvaluation, Principal, RiskAssessment, Status } from '../core/types.js';
import { validateCreateChangeSet, validationError } from '../core/validate-change-set.js';
import type { ChangeSetRow } from '../store/change-sets.js';
import type { Db } from '../store/db.js';
import { type Assessment, assessContent, draftRow, materialiseItems, withPolicySteps } from './assess.js';
import type { EngineContext } from './context.js';
import type { EngineConfig } from './engine-config.js';
import { evaluateFor } from './policies.js';

export interface PolicyTestInput {
  config: EngineConfig;
  /** The create body, as in a change-set file. */
  body: unknown;
  /** The acting principal (made up: there is no database to look it up in). */
  principal: Principal;
  action: PolicyAction;
  now: Date;
}

export interface PolicyTestResult {
  change_set_id: string;
  action: PolicyAction;
  evaluated_at: string;
  principal: Principal;
  risk: RiskAssessment;
  /** The risk step, then the steps of require_approval policies matched at create and at the action. */
  approval_steps: ApprovalStep[];
  required_approvals: number;
  /** Whether create would store the change-set APPROVED, without review. */
  auto_approved: boolean;
  /** create's evaluations, then the action's when it is not create. */
  evaluations: PolicyEvaluation[];
  matched: PolicyEvaluation[];
  /** Matched denies (and failed conditions) of create and of the action. */
  denials: PolicyEvaluation[];
  denied: boolean;
}

/** Any use of the database is a bug here: this context has none. */
const NO_DATABASE = new Proxy({} as Db, {
  get(_target, property) {
    throw new Error(`policy test runs without a database (tried to use db.${String(property)})`);
  },
});

/** The status a change-set has when the action is taken on it. */
const STATUS_AT: Readonly<Record<PolicyAction, Status>> = {
  create: 'DRAFT',
  submit: 'DRAFT',
  apply: 'APPROVED',
  rollback: 'APPLIED',
};

/** A context without a database: enough for assessing and evaluating, nothing else. */
export function offlineContext(config: EngineConfig, now: Date): EngineContext {
  return { db: NO_DATABASE, config, clock: () => now, newId: randomUUID, signer: null };
}

export interface Draft {
  /** The change-set as create builds it before evaluating its policies (risk step only). */
  row: ChangeSetRow;
  items: Item[];
  assessment: Assessment;
}

/** Validates a create body and builds the change-set create would evaluate its policies on. */
export function draftChangeSet(ctx: EngineContext, body: unknown, principal: Principal): Draft {
  const validated = validateCreateChangeSet(body, ctx.config.limits);
  if (!validated.ok) throw validationError(validated.issues);
  const input = validated.value;
  if (input.agent_id !== undefined && input.agent_id !== principal.id) {
    throw new LedgerError('FORBIDDEN', `agent_id ${input.agent_id} is not the acting principal ${principal.id}`);
  }
  // Offline: no track record to read, so no earned trust (docs/trust.md).
  const assessment = assessContent(ctx, input, principal, null);
  const items = materialiseItems(ctx, input.items);
  const row = draftRow(ctx, input, principal, assessment, items.length, ctx.clock().toISOString());
  return { row, items, assessment };
}

export function testPolicies(input: PolicyTestInput): PolicyTestResult {
  const { config, principal, action, now } = input;
  const ctx = offlineContext(config, now);
  const at = now.toISOString();
  // As create does: the risk step first, policies see the draft with its risk, their steps follow.
  const { row: draft, items, assessment: riskOnly } = draftChangeSet(ctx, input.body, principal);
  const created = evaluateFor(ctx, 'create', draft, items, principal);
  const assessment = withPolicySteps(riskOnly, created.steps);
  const auto_approved = assessment.risk.auto_approve && assessment.required_approvals === 0;
  let evaluations = created.evaluations;
  let approval_steps = assessment.approval_steps;
  let denials = created.denials;
  if (action !== 'create') {
    const row: ChangeSetRow = {
      ...draft,
      ...assessment,
      status: STATUS_AT[action],
      policy_evaluations: created.evaluations,
    };
    const later = evaluateFor(ctx, action, row, items, principal);
    evaluations = [...created.evaluations, ...later.evaluations];
    // As submit does: steps matched at create or at the action, each once, in configuration order.
    approval_steps = [defined(assessment.approval_steps[0], 'risk step'), ...stepsOf(config.policies, evaluations)];
    denials = [...created.denials, ...later.denials];
  }
  return {
    change_set_id: draft.change_set_id,
    action,
    evaluated_at: at,
    principal,
    risk: assessment.risk,
    approval_steps,
    required_approvals: requiredApprovals(approval_steps),
    auto_approved: auto_approved && created.denials.length === 0,
    evaluations,
    matched: evaluations.filter((e) => e.matched),
    denials,
    denied: denials.length > 0,
  };
}

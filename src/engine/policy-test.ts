// `changeledger policy test`: what create, and a later action, would decide about a change-set
// file — risk, matched policies, approval steps, denial — computed by the engine's own functions
// (assess.ts, policies.ts) on a change-set that is never stored. No database is touched.
import { randomUUID } from 'node:crypto';
import { LedgerError } from '../core/errors.js';
import type { PolicyAction } from '../core/policy.js';
import type { ApprovalStep, Item, PolicyEvaluation, Principal, RiskAssessment } from '../core/types.js';
import { validateCreateChangeSet, validationError } from '../core/validate-change-set.js';
import type { ChangeSetRow } from '../store/change-sets.js';
import type { Db } from '../store/db.js';
import { type Assessment, assessContent, draftRow, materialiseItems } from './assess.js';
import type { EngineContext } from './context.js';
import type { EngineConfig } from './engine-config.js';
import { judgeChangeSet } from './judge.js';

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
  const ctxAt = (at: Date) => offlineContext(config, at);
  const draft = draftChangeSet(ctxAt(now), input.body, principal);
  const later = action === 'create' ? [] : [{ action, actor: principal, now }];
  const judged = judgeChangeSet(ctxAt, draft, { actor: principal, now }, later);
  return {
    change_set_id: draft.row.change_set_id,
    action,
    evaluated_at: now.toISOString(),
    principal,
    ...judged,
    matched: judged.evaluations.filter((e) => e.matched),
    denied: judged.denials.length > 0,
  };
}

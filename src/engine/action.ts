// The one way an action on an existing change-set runs. `runAction` does what every action shares:
// it reads the change-set (optimistically or under its row lock, as the definition says), checks
// the status and the actor against the lifecycle table (core/lifecycle.ts), runs the action's own
// checks, evaluates its policies (a denial is recorded on the change-set, then refused), lets the
// action decide, checks the status it decided is one the table allows (the `to` column), stamps
// updated_at/updated_by and commits everything in one statement (scope.ts). An action file keeps
// only what is its own: its checks, its decision and its answer. docs/architecture.md shows how to
// add one.
import { type Action, assertLeadsTo, assertTransition } from '../core/lifecycle.js';
import type { PolicyAction, PolicyOutcome } from '../core/policy.js';
import type { PolicyEvaluation, Principal } from '../core/types.js';
import type { ChangeSetPatch, ChangeSetRow } from '../store/change-sets.js';
import { actorContext, type EngineContext } from './context.js';
import { Journal } from './journal.js';
import {
  auditEvaluation,
  evaluateFor,
  mergeEvaluations,
  Refusal,
  recordDenial,
  unmetSteps,
  withRecordedRefusal,
} from './policies.js';
import {
  type ActionMode,
  type CommitOptions,
  type ContentsReads,
  commitChangeSet,
  type LockedMode,
  locked,
  optimistic,
  type Scope,
} from './scope.js';
import { noteTrustChange } from './trust.js';

/** A locked action may write through `scope.access.tx`; an optimistic one may retry under the lock. */
export type ScopeOf<M extends ActionMode['mode']> = M extends 'locked' ? Scope<LockedMode> : Scope;

/** What the action decides from: its scope, the moment, its journal and its policies' outcome. */
export interface Step<M extends ActionMode['mode']> {
  scope: ScopeOf<M>;
  actor: Principal;
  now: Date;
  /** `now` as stored (ISO 8601). */
  at: string;
  /** Already holds the policy evaluation's entry (when there was one); the action adds its own. */
  journal: Journal;
  /** The outcome of the action's policies; none when the definition has no `policy`. */
  policy: PolicyOutcome | null;
  /** The change-set's stored evaluations with this action's replaced by the fresh ones. */
  evaluations: PolicyEvaluation[];
}

/** What the action decided: the change-set's new columns, its own writes, and its answer. */
export interface Decided<T> {
  /** Without updated_at/updated_by (stamped by runAction); a `status` must be in the `to` column. */
  changes: Omit<ChangeSetPatch, 'updated_at' | 'updated_by'>;
  commit?: CommitOptions;
  /** The answer, given the change-set row as committed (new version and chain head). */
  answer(committed: ChangeSetRow): T;
}

export interface ActionDefinition<T, M extends ActionMode['mode']> {
  /** The row of the lifecycle table: who may act, from which statuses, to which. */
  action: Action;
  /**
   * `optimistic`: read without a lock, write in one guarded statement, again under the lock when
   * another writer got in between. `locked`: under the row lock from the start (an action that
   * writes before its commit, like edit).
   */
  mode: M;
  /**
   * What the optimistic read fetches with the contents, in the same statement: `targetStates` for
   * an action that reads its items' targets (then in `scope.states`; null under the lock).
   */
  reads?: ContentsReads;
  /** The action's own refusals, after the lifecycle's (409, 403) and before the policies. */
  check?(scope: ScopeOf<M>): void | Promise<void>;
  /**
   * The policies of this action, evaluated on the change-set as read; a denial is recorded on the
   * change-set and its audit trail, then refused (POLICY_DENIED). `approvalsGiven`: a matched
   * require_approval step must already be met by the approvals (apply, rollback).
   */
  policy?: { action: PolicyAction; approvalsGiven?: boolean };
  decide(step: Step<M>): Decided<T> | Promise<Decided<T>>;
}

export function runAction<T, M extends ActionMode['mode']>(
  ctx: EngineContext,
  actor: Principal,
  reference: string,
  definition: ActionDefinition<T, M>,
): Promise<T> {
  const act = (scope: ScopeOf<M>) => attempt(ctx, actor, definition, scope);
  return withRecordedRefusal(() =>
    definition.mode === 'locked'
      ? locked(ctx, reference, act as (scope: Scope<LockedMode>) => Promise<T | Refusal>)
      : optimistic(ctx, reference, act as (scope: Scope) => Promise<T | Refusal>, definition.reads),
  );
}

async function attempt<T, M extends ActionMode['mode']>(
  ctx: EngineContext,
  actor: Principal,
  definition: ActionDefinition<T, M>,
  scope: ScopeOf<M>,
): Promise<T | Refusal> {
  const { row, items, approvals } = scope;
  assertTransition(definition.action, row.status, actorContext(row, actor), {
    reference: row.change_set_id,
    autoApproved: row.status === 'APPROVED' && row.submitted_at === null,
  });
  await definition.check?.(scope);
  const policyAction = definition.policy?.action;
  let policy: PolicyOutcome | null = null;
  if (policyAction) {
    const outcome = evaluateFor(ctx, policyAction, row, items, actor);
    policy = definition.policy?.approvalsGiven ? unmetSteps(outcome, row, approvals) : outcome;
    if (policy.denials.length > 0) return new Refusal(await recordDenial(scope, actor, policyAction, policy));
  }
  const now = ctx.clock();
  const at = now.toISOString();
  const journal = new Journal(actor.id, at);
  let evaluations = row.policy_evaluations;
  if (policyAction && policy) {
    evaluations = mergeEvaluations(row.policy_evaluations, policy, policyAction);
    auditEvaluation(journal, policyAction, policy);
  }
  const decided = await definition.decide({ scope, actor, now, at, journal, policy, evaluations });
  assertLeadsTo(definition.action, decided.changes.status ?? row.status);
  // Its outcomes may move the agent's earned trust (docs/trust.md): journaled with them.
  await noteTrustChange(ctx, scope.db, journal, { ...row, ...decided.changes }, now);
  const changes: ChangeSetPatch = {
    ...(policy && policy.evaluations.length > 0 ? { policy_evaluations: evaluations } : {}),
    ...decided.changes,
    updated_at: at,
    updated_by: actor.id,
  };
  const committed = await commitChangeSet(scope, journal, changes, decided.commit);
  return decided.answer({ ...row, ...changes, ...committed });
}

// Replay: a candidate configuration (policies, risk model, approvers) judged against the recorded
// history, changing nothing. Every change-set created since a moment is read (a page at a time) and
// judged as the engine would have judged it under the candidate — by the same functions create,
// submit, apply and rollback use (judge.ts) — then compared with what was recorded
// (docs/trust.md#policies-in-shadow-and-replay). Reads only: no row, audit entry or event is written.
import { POLICY_ACTIONS, type PolicyAction } from '../core/policy.js';
import {
  countReplayed,
  differingFields,
  emptyTotals,
  type ReplayDifference,
  type ReplayOutcome,
  type ReplayResult,
  replaySummary,
} from '../core/replay.js';
import { DEFAULT_SINCE, sinceDate } from '../core/since.js';
import type { PolicyEvaluation, Principal } from '../core/types.js';
import type { ChangeSetRow } from '../store/change-sets.js';
import { listPrincipals } from '../store/principals.js';
import { type HistoryEntry, readHistoryPage } from '../store/replay-history.js';
import { assessContent } from './assess.js';
import type { EngineContext } from './context.js';
import type { EngineConfig } from './engine-config.js';
import { type JudgedAction, judgeChangeSet } from './judge.js';
import { offlineContext } from './policy-test.js';

export interface ReplayOptions {
  /** `30d`, `12h`, `90m` or an ISO-8601 timestamp (default 30d): change-sets created since. */
  since?: string | undefined;
  /** How many differing change-sets to list (default 100); the totals count them all. */
  limit?: number | undefined;
  /** Judge the candidate's shadow policies as if they were enforced (the step before enforcing them). */
  enforce_shadow?: boolean | undefined;
}

export type { ReplayResult };

export const REPLAY_DEFAULT_LIMIT = 100;
export const REPLAY_MAX_LIMIT = 1000;
/** Change-sets read per query. */
export const REPLAY_PAGE = 1000;

/** A principal no longer (or never) in the table: judged as an agent with no groups and no override. */
const stranger = (id: string): Principal => ({
  id,
  kind: 'agent',
  display_name: null,
  email: null,
  slack_id: null,
  groups: [],
  risk: null,
  active: true,
});

/** The first action whose evaluations hold a matched deny, and by which policies. */
function firstDenial(evaluations: readonly PolicyEvaluation[]): ReplayOutcome['denied'] {
  for (const action of POLICY_ACTIONS) {
    const policies = evaluations.filter((e) => e.action === action && e.matched && e.effect === 'deny');
    if (policies.length > 0) return { action, policies: policies.map((e) => e.policy) };
  }
  return null;
}

/** What was recorded: the row's risk and approvals, and the latest evaluation of each action. */
export function recordedOutcome(row: ChangeSetRow): ReplayOutcome {
  const atCreate = row.policy_evaluations.filter((e) => e.action === 'create' && e.matched);
  return {
    risk_level: row.risk.level,
    risk_score: row.risk.score,
    auto_approved: row.risk.auto_approve && !atCreate.some((e) => e.effect !== 'warn'),
    required_approvals: row.required_approvals,
    denied: firstDenial(row.policy_evaluations),
  };
}

/** When an action was taken (or last tried): its timestamp on the row, else its latest evaluation's. */
function takenAt(row: ChangeSetRow, action: Exclude<PolicyAction, 'create'>): string | null {
  const column = { submit: row.submitted_at, apply: row.applied_at, rollback: row.rolled_back_at }[action];
  return column ?? row.policy_evaluations.find((e) => e.action === action)?.evaluated_at ?? null;
}

function laterActions(row: ChangeSetRow, who: (id: string | null) => Principal): JudgedAction[] {
  const actors = { submit: row.created_by, apply: row.applied_by, rollback: row.rolled_back_by };
  return (['submit', 'apply', 'rollback'] as const).flatMap((action) => {
    const at = takenAt(row, action);
    if (at === null) return [];
    return [{ action, actor: who(actors[action]), now: new Date(at), setsSteps: action === 'submit' }];
  });
}

/** What the candidate would have decided about one recorded change-set. */
export function candidateOutcome(candidate: EngineConfig, entry: HistoryEntry, who: (id: string | null) => Principal) {
  const { row, items } = entry;
  const ctxAt = (now: Date) => offlineContext(candidate, now);
  const creator = who(row.created_by);
  const created = new Date(row.created_at);
  // Trust is not replayed yet: the agent's history at each recorded moment is not reconstructed
  // (docs/trust.md, "What replay does not judge"), so the candidate is judged without it.
  const assessment = assessContent(ctxAt(created), { ...row, items }, creator, null);
  const draft = { row: { ...row, ...assessment, status: 'DRAFT' as const, policy_evaluations: [] }, items, assessment };
  const judged = judgeChangeSet(ctxAt, draft, { actor: creator, now: created }, laterActions(row, who));
  const outcome: ReplayOutcome = {
    risk_level: judged.risk.level,
    risk_score: judged.risk.score,
    auto_approved: judged.auto_approved,
    required_approvals: judged.required_approvals,
    denied: firstDenial(judged.denials),
  };
  return outcome;
}

/** The candidate with its shadow policies enforced, when asked. */
function judgedConfig(candidate: EngineConfig, enforceShadow: boolean): EngineConfig {
  const policies = enforceShadow
    ? candidate.policies.map((policy) => ({ ...policy, mode: 'enforce' as const }))
    : candidate.policies;
  return { ...candidate, policies };
}

export async function replayHistory(
  ctx: EngineContext,
  candidateConfig: EngineConfig,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const until = ctx.clock();
  const since = sinceDate(options.since ?? DEFAULT_SINCE, until).toISOString();
  const limit = options.limit ?? REPLAY_DEFAULT_LIMIT;
  const candidate = judgedConfig(candidateConfig, options.enforce_shadow ?? false);
  const principals = new Map((await listPrincipals(ctx.db)).map((p) => [p.id, p]));
  const who = (id: string | null): Principal =>
    id === null ? stranger('unknown') : (principals.get(id) ?? stranger(id));
  const totals = emptyTotals();
  const differences: ReplayDifference[] = [];
  // The next page is read while this one is judged: the database and Node work side by side.
  let next: Promise<HistoryEntry[]> | null = readHistoryPage(ctx.db, since, null, REPLAY_PAGE);
  while (next) {
    const page: HistoryEntry[] = await next;
    const last = page.at(-1);
    next = last && page.length === REPLAY_PAGE ? readHistoryPage(ctx.db, since, last.cursor, REPLAY_PAGE) : null;
    for (const entry of page) {
      const { row } = entry;
      const recorded = recordedOutcome(row);
      const judged = candidateOutcome(candidate, entry, who);
      const rolledBack = row.rolled_back_at !== null;
      countReplayed(totals, recorded, judged, rolledBack);
      const differs = differingFields(recorded, judged);
      if (differs.length > 0 && differences.length < limit) {
        differences.push({
          change_set_id: row.change_set_id,
          path: `/api/ledger/changesets/${encodeURIComponent(row.change_set_id)}`,
          status: row.status,
          rolled_back: rolledBack,
          differs,
          recorded,
          candidate: judged,
        });
      }
    }
  }
  return {
    since,
    until: until.toISOString(),
    policies: candidate.policies.filter((p) => p.mode === 'enforce').map((p) => p.name),
    totals,
    summary: replaySummary(totals),
    differences,
    truncated: totals.changed > differences.length,
  };
}

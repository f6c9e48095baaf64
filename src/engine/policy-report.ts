// The loaded policies as GET /api/ledger/policies shows them, with the report of the policies in
// shadow mode: per policy, how often it matched over a window and what enforcing it would have done,
// with links to the change-sets (docs/policies.md#shadow-mode). Admins see every policy and the
// report; anyone else sees the enforced policies only (docs/trust.md#who-sees-the-shadow-report).
import { ADMIN_GROUP } from '../core/approvals.js';
import type { CompiledPolicy } from '../core/policy.js';
import { DEFAULT_SINCE, sinceDate } from '../core/since.js';
import type { Principal } from '../core/types.js';
import { readShadowReport, type ShadowCounts, type ShadowMatch } from '../store/policy-shadow.js';
import type { EngineContext } from './context.js';

/** How many of a shadow policy's latest matches the report links to. */
export const SHADOW_RECENT_MATCHES = 20;

/** A match as the report shows it: the stored one with the change-set's API path for its uuid. */
export type ShadowMatchView = Omit<ShadowMatch, 'policy' | 'change_set'> & {
  /** The change-set in the API. */
  path: string;
};

export interface ShadowReport extends Omit<ShadowCounts, 'policy'> {
  recent: ShadowMatchView[];
}

export type PolicyView = Omit<CompiledPolicy, 'test'> & {
  /** Shadow policies, for admins: what the policy would have done over the window. */
  shadow?: ShadowReport;
};

export interface PolicyReport {
  /** The window's start (ISO 8601) when the report is included. */
  since: string | null;
  data: PolicyView[];
}

/** Shadow reports and replay are for active admins (`null`: the library's or the CLI's caller). */
export const isActiveAdmin = (actor: Principal | null): boolean =>
  actor === null || (actor.active && actor.groups.includes(ADMIN_GROUP));

function viewOf(policy: CompiledPolicy): PolicyView {
  const { name, condition, effect, mode, actions, approvers, count, message } = policy;
  return { name, condition, effect, mode, actions: [...actions], approvers: [...approvers], count, message };
}

/** `actor` null: the library's caller, who sees everything. */
export async function policyReport(
  ctx: EngineContext,
  actor: Principal | null,
  query: { since?: string | undefined } = {},
): Promise<PolicyReport> {
  const policies = ctx.config.policies;
  if (!isActiveAdmin(actor)) return { since: null, data: policies.filter((p) => p.mode === 'enforce').map(viewOf) };
  const since = sinceDate(query.since ?? DEFAULT_SINCE, ctx.clock()).toISOString();
  if (!policies.some((p) => p.mode === 'shadow')) return { since, data: policies.map(viewOf) };
  const { counts, matches } = await readShadowReport(ctx.db, since, SHADOW_RECENT_MATCHES);
  const empty = { evaluated: 0, matched: 0, would: { deny: 0, require_approval: 0, warn: 0 }, refused: 0 };
  const data = policies.map((policy) => {
    if (policy.mode !== 'shadow') return viewOf(policy);
    const { policy: _name, ...found } = counts.find((c) => c.policy === policy.name) ?? { policy: '', ...empty };
    const recent = matches
      .filter((m) => m.policy === policy.name)
      .map(({ policy: _p, change_set: _id, ...m }) => ({
        ...m,
        path: `/api/ledger/changesets/${encodeURIComponent(m.change_set_id)}`,
      }));
    return { ...viewOf(policy), shadow: { ...found, recent } };
  });
  return { since, data };
}

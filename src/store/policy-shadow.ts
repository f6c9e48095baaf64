// Results of policies in shadow mode (migration 0010): written with the action that evaluated
// them, counted per policy for GET /api/ledger/policies (docs/policies.md#shadow-mode).
import type { PolicyEffect } from '../core/policy.js';
import { iso, json, type Queryable } from './db.js';
import { keyed, type Write } from './statement.js';

export interface ShadowResult {
  policy: string;
  action: string;
  change_set: string;
  change_set_id: string;
  actor: string;
  matched: boolean;
  /** What enforcing the policy would have done; null when it did not match. */
  would: PolicyEffect | null;
  /** The action was refused by an enforced policy. */
  refused: boolean;
  message: string | null;
  evaluated_at: string;
}

/** The INSERT of shadow results (null when there are none), for `runWrites`. */
export function shadowInsert(results: readonly ShadowResult[]): Write | null {
  if (results.length === 0) return null;
  // New rows, ids from the sequence: no other part can write them.
  return keyed(
    () => [],
    (p) =>
      `INSERT INTO policy_shadow_results (policy, action, change_set, change_set_id, actor, matched, would, refused,
       message, evaluated_at)
     SELECT x.policy, x.action, x.change_set, x.change_set_id, x.actor, x.matched, x.would, x.refused, x.message,
       x.evaluated_at
     FROM jsonb_to_recordset(${p.add(json(results))}::jsonb) AS x(policy text, action text, change_set uuid,
       change_set_id text, actor text, matched boolean, would text, refused boolean, message text,
       evaluated_at timestamptz)`,
  );
}

export interface ShadowCounts {
  policy: string;
  evaluated: number;
  matched: number;
  would: Record<PolicyEffect, number>;
  /** Matches on actions an enforced policy refused. */
  refused: number;
}

export interface ShadowMatch {
  policy: string;
  change_set: string;
  change_set_id: string;
  action: string;
  actor: string;
  would: PolicyEffect;
  refused: boolean;
  message: string | null;
  evaluated_at: string;
}

/** Per policy, the evaluations since `since`, and its `recent` latest matches. */
export async function readShadowReport(
  db: Queryable,
  since: string,
  recent: number,
): Promise<{ counts: ShadowCounts[]; matches: ShadowMatch[] }> {
  const counts = await db.query<{
    policy: string;
    evaluated: string;
    matched: string;
    deny: string;
    require_approval: string;
    warn: string;
    refused: string;
  }>(
    `SELECT policy, count(*) AS evaluated, count(*) FILTER (WHERE matched) AS matched,
       count(*) FILTER (WHERE would = 'deny') AS deny,
       count(*) FILTER (WHERE would = 'require_approval') AS require_approval,
       count(*) FILTER (WHERE would = 'warn') AS warn,
       count(*) FILTER (WHERE matched AND refused) AS refused
     FROM policy_shadow_results WHERE evaluated_at >= $1 GROUP BY policy ORDER BY policy`,
    [since],
  );
  const matches = await db.query<ShadowMatch & { evaluated_at: unknown }>(
    `SELECT policy, change_set, change_set_id, action, actor, would, refused, message, evaluated_at FROM (
       SELECT r.*, row_number() OVER (PARTITION BY policy ORDER BY evaluated_at DESC, id DESC) AS n
       FROM policy_shadow_results r WHERE evaluated_at >= $1 AND matched) latest
     WHERE n <= $2 ORDER BY policy, evaluated_at DESC, n`,
    [since, recent],
  );
  return {
    counts: counts.rows.map((r) => ({
      policy: r.policy,
      evaluated: Number(r.evaluated),
      matched: Number(r.matched),
      would: { deny: Number(r.deny), require_approval: Number(r.require_approval), warn: Number(r.warn) },
      refused: Number(r.refused),
    })),
    matches: matches.rows.map((r) => ({ ...r, evaluated_at: iso(r.evaluated_at) })),
  };
}

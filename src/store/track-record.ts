// The track record (docs/trust.md): agents' outcomes, written with the transitions they record,
// and counted over windows by the index (agent_id, at).
import { OUTCOMES, type Outcome, type OutcomeFacts, type RollbackSpread, type TrustHistory } from '../core/trust.js';
import { json, type Queryable } from './db.js';
import { keyed, type Write } from './statement.js';

export interface OutcomeRow extends OutcomeFacts {
  agent_id: string;
  change_set: string;
  category: string;
  at: string;
}

/** The INSERT of `rows` (null when there are none), for `runWrites`. */
export function outcomesInsert(rows: readonly OutcomeRow[]): Write | null {
  if (rows.length === 0) return null;
  // New rows with ids from the sequence: no other part can write them.
  return keyed(
    () => [],
    (p) =>
      `INSERT INTO agent_outcomes (agent_id, change_set, category, outcome, veto, after_apply_ms, at)
     SELECT x.agent_id, x.change_set, x.category, x.outcome, x.veto, x.after_apply_ms, x.at
     FROM jsonb_to_recordset(${p.add(json(rows.map((row, n) => ({ n, ...row }))))}::jsonb) AS x(n integer,
       agent_id text, change_set uuid, category text, outcome text, veto boolean, after_apply_ms bigint,
       at timestamptz)
     ORDER BY x.n`,
  );
}

/**
 * What trust is computed from, since `since`: applies, failures, and the applies after the last
 * failure (by insertion order, so outcomes of one instant keep their order).
 */
export async function readTrustHistory(db: Queryable, agentId: string, since: string): Promise<TrustHistory> {
  const { rows } = await db.query<TrustHistory>(
    `WITH w AS (
       SELECT id, outcome FROM agent_outcomes
       WHERE agent_id = $1 AND at >= $2 AND outcome IN ('applied', 'partially_applied', 'rolled_back', 'apply_failed')
     ), last AS (SELECT max(id) AS id FROM w WHERE outcome IN ('rolled_back', 'apply_failed'))
     SELECT count(*) FILTER (WHERE w.outcome IN ('applied', 'partially_applied'))::int AS applied,
       count(*) FILTER (WHERE w.outcome IN ('rolled_back', 'apply_failed'))::int AS failures,
       count(*) FILTER (WHERE w.outcome IN ('applied', 'partially_applied')
         AND (last.id IS NULL OR w.id > last.id))::int AS clean_streak
     FROM last LEFT JOIN w ON true`,
    [agentId, since],
  );
  return rows[0] ?? { applied: 0, failures: 0, clean_streak: 0 };
}

/** Counts of one group of outcomes in one window. */
export interface OutcomeCounts {
  counts: Record<Outcome, number>;
  rejected_by_veto: number;
  /** Milliseconds from apply to rollback, over the rollbacks counted (null when there are none). */
  rollback_after_apply_ms: RollbackSpread | null;
}

/** Outcomes counted per window: `overall`, and per category and per target type (window index → counts). */
export interface RecordCounts {
  overall: OutcomeCounts[];
  by_category: Map<string, OutcomeCounts[]>;
  by_target_type: Map<string, OutcomeCounts[]>;
}

interface CountRow {
  dimension: 'overall' | 'category' | 'target_type';
  key: string | null;
  outcome: Outcome;
  veto: boolean;
  counts: number[];
  after: (RollbackSpread | null)[];
}

export const emptyCounts = (): OutcomeCounts => ({
  counts: Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>,
  rejected_by_veto: 0,
  rollback_after_apply_ms: null,
});

/**
 * The agent's outcomes counted in each window (`since` null: all time), overall, per category and
 * per target type (a change-set counts once for each target type its items have): one query.
 */
export async function readRecordCounts(
  db: Queryable,
  agentId: string,
  windows: readonly (string | null)[],
): Promise<RecordCounts> {
  const params: unknown[] = [agentId];
  const since = windows.map((start) => {
    params.push(start);
    return `($${params.length}::timestamptz IS NULL OR o.at >= $${params.length}::timestamptz)`;
  });
  const counts = since.map((cond) => `count(*) FILTER (WHERE ${cond})::int`).join(', ');
  const after = since
    .map(
      (cond) => `CASE WHEN count(o.after_apply_ms) FILTER (WHERE ${cond}) = 0 THEN NULL ELSE json_build_object(
         'min', min(o.after_apply_ms) FILTER (WHERE ${cond}),
         'median', percentile_disc(0.5) WITHIN GROUP (ORDER BY o.after_apply_ms) FILTER (WHERE ${cond}),
         'max', max(o.after_apply_ms) FILTER (WHERE ${cond})) END`,
    )
    .join(', ');
  const { rows } = await db.query<CountRow>(
    `WITH o AS (SELECT * FROM agent_outcomes WHERE agent_id = $1),
     grouped AS (
       SELECT CASE WHEN grouping(o.category) = 0 THEN 'category' ELSE 'overall' END AS dimension,
         o.category AS key, o.outcome, o.veto, ARRAY[${counts}] AS counts, ARRAY[${after}] AS after
       FROM o GROUP BY GROUPING SETS ((o.outcome, o.veto), (o.category, o.outcome, o.veto))
       UNION ALL
       SELECT 'target_type', t.target_type, o.outcome, o.veto, ARRAY[${counts}], ARRAY[${after}]
       FROM o JOIN (
         SELECT DISTINCT i.change_set, i.target_type FROM change_set_items i
         WHERE i.change_set IN (SELECT DISTINCT change_set FROM o)
       ) t ON t.change_set = o.change_set
       GROUP BY t.target_type, o.outcome, o.veto
     )
     SELECT dimension, key, outcome, veto, counts, after FROM grouped`,
    params,
  );
  const result: RecordCounts = {
    overall: windows.map(emptyCounts),
    by_category: new Map(),
    by_target_type: new Map(),
  };
  for (const row of rows) {
    const group =
      row.dimension === 'overall'
        ? result.overall
        : groupOf(row.dimension === 'category' ? result.by_category : result.by_target_type, row.key ?? '', windows);
    row.counts.forEach((count, i) => {
      const slot = group[i];
      if (!slot) return;
      slot.counts[row.outcome] += count;
      if (row.veto) slot.rejected_by_veto += count;
      const spread = row.after[i];
      if (row.outcome === 'rolled_back' && spread) slot.rollback_after_apply_ms = numbers(spread);
    });
  }
  return result;
}

function groupOf(map: Map<string, OutcomeCounts[]>, key: string, windows: readonly unknown[]): OutcomeCounts[] {
  const found = map.get(key);
  if (found) return found;
  const fresh = windows.map(emptyCounts);
  map.set(key, fresh);
  return fresh;
}

// bigint aggregates arrive as strings from node-postgres.
const numbers = (spread: RollbackSpread): RollbackSpread => ({
  min: Number(spread.min),
  median: Number(spread.median),
  max: Number(spread.max),
});

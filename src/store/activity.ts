// The counts behind the activity overview (core/activity.ts shapes them). History comes from the
// audit trail, which keeps every step of every change-set (the change_sets row keeps only the
// latest): three read-only queries, each over an index (migration 0012 and the audit trail's own).
import { type ActivityCounts, OUTCOMES, type Outcome, QUEUE_AGE_BUCKETS } from '../core/activity.js';
import type { Queryable } from './db.js';

// Which audit entry is which outcome: a change-set created, reaching APPLIED (an apply that left
// it PARTIALLY_APPLIED counts when a later apply completes it), reaching REJECTED (a veto, a
// revoked approval, an expiry or a close), rolled back.
const OUTCOME_OF_ENTRY = `CASE
    WHEN a.action = 'create' THEN 'proposed'
    WHEN a.action = 'apply' AND a.data->>'status' = 'APPLIED' THEN 'applied'
    WHEN a.action IN ('transition', 'close') AND a.data->>'to' = 'REJECTED' THEN 'rejected'
    WHEN a.action = 'rollback' THEN 'rolled_back'
  END`;

const UTC_DATE = (column: string) => `to_char((${column} AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD')`;

async function outcomeCounts(db: Queryable, from: Date, to: Date) {
  const { rows } = await db.query<{
    by_day: boolean;
    date: string | null;
    agent_id: string | null;
    agent_type: string | null;
    outcome: Outcome;
    count: number;
  }>(
    `WITH entries AS (
       SELECT ${UTC_DATE('a.at')} AS date, c.agent_id, c.agent_type, ${OUTCOME_OF_ENTRY} AS outcome
         FROM audit_entries a JOIN change_sets c ON c.id = a.change_set
        WHERE a.action = ANY($3::text[]) AND a.at >= $1 AND a.at < $2
     )
     SELECT GROUPING(agent_id) = 1 AS by_day, date, agent_id, agent_type, outcome, count(*)::int AS count
       FROM entries WHERE outcome = ANY($4::text[])
      GROUP BY GROUPING SETS ((date, outcome), (agent_id, agent_type, outcome))`,
    [from.toISOString(), to.toISOString(), ['create', 'apply', 'transition', 'close', 'rollback'], OUTCOMES],
  );
  const byDay: ActivityCounts['byDay'] = [];
  const byAgent: ActivityCounts['byAgent'] = [];
  for (const { by_day, date, agent_id, agent_type, outcome, count } of rows) {
    if (by_day && date !== null) byDay.push({ date, outcome, count });
    else if (!by_day && agent_id !== null && agent_type !== null)
      byAgent.push({ agent_id, agent_type, outcome, count });
  }
  return { byDay, byAgent };
}

/**
 * Time to decision: from a submit to the decision that ended that round of approval (the last
 * approval needed, or a veto), per day of the decision and over the window. An expiry, a close or
 * a withdrawal decides nothing and is not measured.
 */
async function decisionTimes(db: Queryable, from: Date, to: Date): Promise<ActivityCounts['decisions']> {
  const { rows } = await db.query<{
    date: string | null;
    decisions: number;
    median_seconds: number | null;
    p90_seconds: number | null;
  }>(
    `WITH waits AS (
       SELECT ${UTC_DATE('d.at')} AS date, extract(epoch FROM d.at - s.at)::float8 AS seconds
         FROM audit_entries d
        CROSS JOIN LATERAL (
          SELECT s.at FROM audit_entries s
           WHERE s.change_set = d.change_set AND s.chain_seq < d.chain_seq AND s.action = 'submit'
           ORDER BY s.chain_seq DESC LIMIT 1
        ) s
        WHERE d.action = 'transition' AND d.at >= $1 AND d.at < $2
          AND d.data->>'from' = 'PENDING_APPROVAL' AND d.data->>'cause' IN ('approvals met', 'veto')
     )
     SELECT date, count(*)::int AS decisions,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median_seconds,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS p90_seconds
       FROM waits GROUP BY GROUPING SETS ((date), ())`,
    [from.toISOString(), to.toISOString()],
  );
  const seconds = (value: number | string | null) => (value === null ? null : Number(value));
  return rows.map((row) => ({
    ...row,
    median_seconds: seconds(row.median_seconds),
    p90_seconds: seconds(row.p90_seconds),
  }));
}

/** The change-sets pending approval now, per age bucket (QUEUE_AGE_BUCKETS), and the oldest. */
async function queueAges(db: Queryable, now: Date): Promise<ActivityCounts['queue']> {
  const bounds = QUEUE_AGE_BUCKETS.slice(1).map((bucket) => bucket.min_seconds);
  const { rows } = await db.query<{ bucket: number; count: number; oldest: string | Date | null }>(
    `SELECT width_bucket(extract(epoch FROM $1::timestamptz - submitted)::float8, $2::float8[]) AS bucket,
            count(*)::int AS count, min(submitted) AS oldest
       FROM (SELECT coalesce(submitted_at, updated_at) AS submitted FROM change_sets
              WHERE status = 'PENDING_APPROVAL') pending
      GROUP BY 1`,
    [now.toISOString(), bounds],
  );
  const oldest = rows
    .map((row) => (row.oldest === null ? null : new Date(row.oldest).getTime()))
    .reduce<number | null>((min, at) => (at !== null && (min === null || at < min) ? at : min), null);
  return {
    buckets: rows.map(({ bucket, count }) => ({ bucket, count })),
    oldest_submitted_at: oldest === null ? null : new Date(oldest).toISOString(),
  };
}

/** Everything the overview counts over [from, to), and the queue as of `now`. */
export async function activityCounts(
  db: Queryable,
  window: { from: Date; to: Date },
  now: Date,
): Promise<ActivityCounts> {
  const outcomes = await outcomeCounts(db, window.from, window.to);
  const decisions = await decisionTimes(db, window.from, window.to);
  const queue = await queueAges(db, now);
  return { ...outcomes, decisions, queue };
}

// What a request leaves behind: row counts of every table plus fingerprints of the rows a refusal
// could change in place. Equal before and after means a refused request stored nothing.
import type { Db } from '../../src/store/db.js';

const TRACE_SQL = `SELECT
  (SELECT count(*) FROM change_sets)::int AS change_sets,
  (SELECT coalesce(sum(version), 0) FROM change_sets)::int AS change_set_versions,
  (SELECT count(*) FROM change_set_items)::int AS change_set_items,
  (SELECT count(*) FROM approvals)::int AS approvals,
  (SELECT count(*) FROM resources)::int AS resources,
  (SELECT count(*) FROM resource_history)::int AS resource_history,
  (SELECT count(*) FROM audit_entries)::int AS audit_entries,
  (SELECT count(*) FROM outbox_events)::int AS outbox_events,
  (SELECT count(*) FROM principals)::int AS principals,
  (SELECT md5(coalesce(string_agg(p::text, '|' ORDER BY p.id), '')) FROM principals p) AS principal_rows,
  (SELECT count(*) FROM tokens)::int AS tokens,
  (SELECT count(*) FROM tokens WHERE revoked_at IS NOT NULL)::int AS revoked_tokens,
  (SELECT count(*) FROM idempotency_keys)::int AS idempotency_keys`;

export type Trace = Record<string, number | string>;

export async function trace(db: Db): Promise<Trace> {
  const { rows } = await db.query<Trace>(TRACE_SQL);
  return rows[0]!;
}

// The read side of change-sets, shaped for the API in SQL: GET /changesets/:id in one statement
// (the change-set, its items, its approvals and who may decide its open steps), and the columns a list summary needs.
//
// The change-set's columns come back in the order of the view (SUMMARY_FIELDS of
// core/change-set-shape.ts, then approvals, items in changeSetView: src/engine/view.ts), so each
// row is the response object itself. Timestamps are formatted by PostgreSQL exactly as
// Date#toISOString() formats them (UTC, milliseconds truncated, as pg's and PGlite's Date parsing
// truncate them; years 0–9999), so that no row pays for a Date parse and a toISOString per
// timestamp. The internal columns (audit_head, audit_count,
// reminded_at, escalated_at, expired_at) are never read here.
import { type DeciderCandidate, stepDeciders } from '../core/approvals.js';
import { type ChangeSetSummary, SUMMARY_FIELDS, TIMESTAMP_COLUMNS } from '../core/change-set-shape.js';
import type { Approval, ChangeSet } from '../core/types.js';
import { APPROVAL_ORDER } from './approvals.js';
import { byReference } from './change-sets.js';
import type { Queryable } from './db.js';
import { ITEM_VIEW_COLUMNS, itemOfTuple, itemsAggregate } from './items.js';
import { STEP_CANDIDATES } from './principals.js';

/** A change-set as lists show it: every public field but its items and approvals. */
export type ChangeSetSummaryRow = ChangeSetSummary;

const TIMESTAMPS = new Set<string>(TIMESTAMP_COLUMNS);

/** A timestamptz expression as text equal to `toISOString()` of the Date the drivers would parse it into. */
export const isoText = (expression: string): string =>
  `to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The select list of a summary, from `change_sets c`. */
export const SUMMARY_COLUMNS = SUMMARY_FIELDS.map((field) =>
  TIMESTAMPS.has(field) ? `${isoText(`c.${field}`)} AS ${field}` : `c.${field}`,
).join(', ');

/** approvalView's fields, in its order; the order is loadApprovals'. */
const APPROVALS = `(SELECT coalesce(json_agg(json_build_object('id', a.id, 'approver_id', a.approver_id,
    'decision', a.decision, 'reason', a.reason, 'content_hash', a.content_hash, 'stale', a.stale,
    'decided_at', ${isoText('a.decided_at')}) ORDER BY ${APPROVAL_ORDER}), '[]'::json)
  FROM approvals a WHERE a.change_set = c.id)`;

type ReadRow = ChangeSetSummaryRow & { approvals: Approval[]; items: unknown[][]; step_candidates: DeciderCandidate[] };

/** The change-set as GET /changesets/:id returns it (changeSetView of findChangeSet, loadItems, loadApprovals). */
export async function readChangeSet(db: Queryable, reference: string): Promise<ChangeSet | null> {
  const { clause, params } = byReference(reference, 'c.');
  const { rows } = await db.query<ReadRow>(
    `SELECT ${SUMMARY_COLUMNS}, ${APPROVALS} AS approvals, ${itemsAggregate(ITEM_VIEW_COLUMNS)} AS items,
       ${STEP_CANDIDATES} AS step_candidates
     FROM change_sets c WHERE ${clause}`,
    params,
  );
  const row = rows[0];
  if (!row) return null;
  const { step_candidates: candidates, ...view } = row;
  // With the view's columns only, toItem gives exactly itemView's fields, in its order.
  const items = view.items.map((tuple) => itemOfTuple(ITEM_VIEW_COLUMNS, tuple));
  return { ...view, items, deciders: stepDeciders(view, candidates) };
}

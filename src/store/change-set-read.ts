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
import { UUID_PATTERN } from '../core/validate-change-set.js';
import { APPROVAL_ORDER } from './approvals.js';
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

type ReadRow = ChangeSetSummaryRow & {
  approvals: Approval[];
  items: unknown[][];
} & Omit<ViewInputs, 'id' | 'version'>;

/**
 * What a view was built from besides its own columns: the row's version and transaction id (any
 * write to the row changes them; every write to its items and approvals writes the row, engine/scope.ts
 * commitChangeSet) and the text of its decider candidates (the principals it names, in id order).
 * Equal inputs give an equal view.
 */
export interface ViewInputs {
  id: string;
  version: number;
  row_xmin: string;
  candidates: string;
}

/** The inputs beyond the view's own columns (id and version are among those), read with the view and by the check. */
const OTHER_INPUTS = `c.xmin::text AS row_xmin, ${STEP_CANDIDATES}::text AS candidates`;

/** References shaped like a UUID name the internal id, any other the human id (byReference's rule). */
export const referenceKey = (reference: string): string =>
  UUID_PATTERN.test(reference) ? reference.toLowerCase() : reference;

/**
 * One statement for many references: `WHERE` over both id forms, and the map from each reference
 * (as referenceKey spells it) to its row; a reference no row answers is absent.
 */
async function byReferences<R extends { id: string; change_set_id: string }>(
  db: Queryable,
  select: string,
  references: readonly string[],
): Promise<Map<string, R>> {
  const ids: string[] = [];
  const names: string[] = [];
  for (const reference of references) (UUID_PATTERN.test(reference) ? ids : names).push(reference);
  const { rows } = await db.query<R>(
    `${select} FROM change_sets c WHERE c.id = ANY($1::uuid[]) OR c.change_set_id = ANY($2::text[])`,
    [ids, names],
  );
  // A UUID-shaped reference is never a change_set_id, nor the reverse: each is looked up in its own form.
  const byId = new Map(rows.map((row) => [row.id, row]));
  const byName = new Map(rows.map((row) => [row.change_set_id, row]));
  const answered = new Map<string, R>();
  for (const reference of references) {
    const key = referenceKey(reference);
    const row = (UUID_PATTERN.test(reference) ? byId : byName).get(key);
    if (row) answered.set(key, row);
  }
  return answered;
}

/**
 * The change-sets as GET /changesets/:id returns them, with the inputs each was built from, in one
 * statement: by referenceKey of each reference; an unknown one is absent.
 */
export async function readChangeSets(
  db: Queryable,
  references: readonly string[],
): Promise<Map<string, { view: ChangeSet; inputs: ViewInputs }>> {
  const rows = await byReferences<ReadRow>(
    db,
    `SELECT ${SUMMARY_COLUMNS}, ${APPROVALS} AS approvals, ${itemsAggregate(ITEM_VIEW_COLUMNS)} AS items,
       ${OTHER_INPUTS}`,
    references,
  );
  const views = new Map<string, { view: ChangeSet; inputs: ViewInputs }>();
  const built = new Map<ReadRow, { view: ChangeSet; inputs: ViewInputs }>();
  for (const [key, row] of rows) {
    let read = built.get(row);
    if (!read) {
      read = viewOf(row);
      built.set(row, read);
    }
    views.set(key, read);
  }
  return views;
}

/** The inputs of the change-sets named, in one statement: by referenceKey; an unknown one is absent. */
export async function readViewInputs(db: Queryable, references: readonly string[]): Promise<Map<string, ViewInputs>> {
  const rows = await byReferences<ViewInputs & { change_set_id: string }>(
    db,
    `SELECT c.id, c.version, c.change_set_id, ${OTHER_INPUTS}`,
    references,
  );
  return new Map([...rows].map(([key, { change_set_id: _, ...inputs }]) => [key, inputs]));
}

function viewOf(row: ReadRow): { view: ChangeSet; inputs: ViewInputs } {
  const { candidates, row_xmin, ...view } = row;
  // With the view's columns only, toItem gives exactly itemView's fields, in its order.
  const items = view.items.map((tuple) => itemOfTuple(ITEM_VIEW_COLUMNS, tuple));
  const changeSet = { ...view, items, deciders: stepDeciders(view, JSON.parse(candidates) as DeciderCandidate[]) };
  return { view: changeSet, inputs: { id: view.id, version: view.version, row_xmin, candidates } };
}

/** The change-set as GET /changesets/:id returns it (changeSetView of findChangeSet, loadItems, loadApprovals). */
export async function readChangeSet(db: Queryable, reference: string): Promise<ChangeSet | null> {
  return (await readChangeSets(db, [reference])).get(referenceKey(reference))?.view ?? null;
}

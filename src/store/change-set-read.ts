// The read side of change-sets, shaped for the API in SQL: GET /changesets/:id in one statement
// (the change-set, its items and its approvals), and the columns a list summary needs.
//
// The change-set's columns come back in the order of the view (summaryOf, then approvals, items in
// changeSetView: src/engine/view.ts), so each row is the response object itself. Timestamps are
// formatted by PostgreSQL exactly as Date#toISOString() formats them (UTC, milliseconds truncated,
// as pg's and PGlite's Date parsing truncate them; years 0–9999), so that no row pays for a Date
// parse and a toISOString per timestamp. The internal columns (audit_head, audit_count,
// reminded_at, escalated_at, expired_at) are never read here.
import type {
  Approval,
  ChangeSet,
  Item,
  ItemError,
  ItemStatus,
  Json,
  OperationType,
  PatchOperation,
} from '../core/types.js';
import { byReference } from './change-sets.js';
import type { Queryable } from './db.js';

/** A change-set as lists show it: every public field but its items and approvals. */
export type ChangeSetSummaryRow = Omit<ChangeSet, 'items' | 'approvals'>;

/** summaryOf's fields, in its order (the order of the JSON the API writes). */
const SUMMARY_FIELDS = [
  'id',
  'change_set_id',
  'title',
  'description',
  'agent_id',
  'agent_type',
  'category',
  'priority',
  'tags',
  'metadata',
  'approval_chain',
  'auto_apply',
  'status',
  'risk',
  'approval_steps',
  'required_approvals',
  'received_approvals',
  'approval_deadline',
  'policy_evaluations',
  'content_hash',
  'item_count',
  'version',
  'created_at',
  'created_by',
  'updated_at',
  'updated_by',
  'submitted_at',
  'applied_at',
  'applied_by',
  'rolled_back_at',
  'rolled_back_by',
] as const satisfies readonly (keyof ChangeSetSummaryRow)[];

// Every field of the summary is selected: this fails to compile when ChangeSet gains one.
type Unselected = Exclude<keyof ChangeSetSummaryRow, (typeof SUMMARY_FIELDS)[number]>;
const everyFieldSelected: [Unselected] extends [never] ? true : Unselected = true;
void everyFieldSelected;

const TIMESTAMPS = new Set<string>([
  'approval_deadline',
  'created_at',
  'updated_at',
  'submitted_at',
  'applied_at',
  'rolled_back_at',
]);

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
    'decided_at', ${isoText('a.decided_at')}) ORDER BY a.decided_at, a.approver_id COLLATE "C", a.stale DESC), '[]'::json)
  FROM approvals a WHERE a.change_set = c.id)`;

/**
 * The items in sequence order, each a positional array (ItemTuple): PostgreSQL builds an array of 16
 * values at about half the CPU of an object of 16 keys (which it types and escapes key by key), and
 * for a large change-set that is most of the statement's cost.
 */
const ITEMS = `(SELECT coalesce(json_agg(json_build_array(i.id, i.sequence, i.key, i.operation_type, i.target_type,
    i.target_id, i.after_state, i.has_after_state, i.diff_data, i.before_state, i.has_before_state, i.base_version,
    i.depends_on, i.status, i.error, i.applied_version) ORDER BY i.sequence), '[]'::json)
  FROM change_set_items i WHERE i.change_set = c.id)`;

type ItemTuple = [
  id: string,
  sequence: number,
  key: string,
  operation_type: OperationType,
  target_type: string,
  target_id: string,
  after_state: Json,
  has_after_state: boolean,
  diff_data: PatchOperation[] | null,
  before_state: Json,
  has_before_state: boolean,
  base_version: number | null,
  depends_on: string[],
  status: ItemStatus,
  error: ItemError | null,
  applied_version: number | null,
];

/** toItem (items.ts) then itemView (view.ts) in one step: absent states, diff and base version are undefined. */
function itemOf(tuple: ItemTuple): Item {
  const [
    id,
    sequence,
    key,
    operation_type,
    target_type,
    target_id,
    after_state,
    has_after_state,
    diff_data,
    before_state,
    has_before_state,
    base_version,
    depends_on,
    status,
    error,
    applied_version,
  ] = tuple;
  return {
    id,
    sequence,
    key,
    operation_type,
    target_type,
    target_id,
    after_state: has_after_state ? after_state : undefined,
    diff_data: diff_data ?? undefined,
    before_state: has_before_state ? before_state : undefined,
    base_version: base_version ?? undefined,
    depends_on,
    status,
    error,
    applied_version,
  };
}

type ReadRow = ChangeSetSummaryRow & { approvals: Approval[]; items: ItemTuple[] };

/** The change-set as GET /changesets/:id returns it (changeSetView of findChangeSet, loadItems, loadApprovals). */
export async function readChangeSet(db: Queryable, reference: string): Promise<ChangeSet | null> {
  const { clause, params } = byReference(reference, 'c.');
  const { rows } = await db.query<ReadRow>(
    `SELECT ${SUMMARY_COLUMNS}, ${APPROVALS} AS approvals, ${ITEMS} AS items FROM change_sets c WHERE ${clause}`,
    params,
  );
  const row = rows[0];
  return row ? { ...row, items: row.items.map(itemOf) } : null;
}

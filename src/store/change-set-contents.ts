// A change-set's row locked together with its items and approvals, in one round trip.
import type { DeciderCandidate } from '../core/approvals.js';
import { defined } from '../core/defined.js';
import type { TargetState } from '../core/item-semantics.js';
import { APPROVAL_ORDER, type ApprovalWithApprover, toApproval } from './approvals.js';
import { byReference, type ChangeSetRow, toChangeSetRow } from './change-sets.js';
import type { Queryable } from './db.js';
import { ITEM_COLUMNS, itemOfTuple, itemsAggregate, type StoredItem } from './items.js';
import { STEP_CANDIDATES } from './principals.js';
import { ITEM_TARGET_STATES, itemTargetStates } from './resources.js';

export interface ChangeSetContents {
  row: ChangeSetRow;
  items: StoredItem[];
  approvals: ApprovalWithApprover[];
  /** The active principals its steps name while it awaits decisions (STEP_CANDIDATES): the view's deciders. */
  candidates: DeciderCandidate[];
  /** Its items' targets' states of the same snapshot, when the read asked for them (ITEM_TARGET_STATES). */
  states: Map<string, TargetState> | null;
}

/** The approvals of change-set `c` with their approvers, ordered and shaped as `loadApprovals` reads them. */
const APPROVALS = `(SELECT coalesce(json_agg(json_build_object('id', a.id, 'approver_id', a.approver_id,
      'decision', a.decision, 'reason', a.reason, 'content_hash', a.content_hash, 'stale', a.stale,
      'decided_at', a.decided_at, 'groups', coalesce(p.groups, '{}'), 'active', coalesce(p.active, false))
      ORDER BY ${APPROVAL_ORDER}), '[]'::json)
    FROM approvals a LEFT JOIN principals p ON p.id = a.approver_id WHERE a.change_set = c.id)`;

const ITEMS = itemsAggregate(ITEM_COLUMNS);

const RELOAD = `SELECT ${ITEMS} AS contents_items, ${APPROVALS} AS contents_approvals FROM change_sets c WHERE c.id = $1`;

/**
 * The change-set with its items and approvals, without a lock: one statement, so one snapshot (what
 * an optimistic action decides on; its write then checks that the version is still the one read).
 * `targetStates`: its items' targets' states too, in the same statement (one round trip less for an
 * action that reads them anyway).
 */
export async function readChangeSetContents(
  db: Queryable,
  reference: string,
  options: { targetStates?: boolean } = {},
): Promise<ChangeSetContents | null> {
  const { clause, params } = byReference(reference, 'c.');
  const states = options.targetStates ? `, ${ITEM_TARGET_STATES} AS contents_states` : '';
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT c.*, ${ITEMS} AS contents_items, ${STEP_CANDIDATES} AS contents_candidates,
       ${APPROVALS} AS contents_approvals${states} FROM change_sets c WHERE ${clause}`,
    params,
  );
  const raw = rows[0];
  if (!raw) return null;
  const {
    contents_items: items,
    contents_approvals: approvals,
    contents_candidates: candidates,
    contents_states: stateTuples,
    ...rest
  } = raw;
  const contents = contentsOf(rest, items, approvals, candidates);
  if (options.targetStates) contents.states = itemTargetStates(stateTuples as Parameters<typeof itemTargetStates>[0]);
  return contents;
}

function contentsOf(
  row: Record<string, unknown>,
  items: unknown,
  approvals: unknown,
  candidates: unknown,
): ChangeSetContents {
  return {
    row: toChangeSetRow(row),
    items: (items as unknown[][]).map((tuple) => itemOfTuple(ITEM_COLUMNS, tuple)),
    approvals: (approvals as Record<string, unknown>[]).map(toApproval),
    candidates: candidates as DeciderCandidate[],
    states: null,
  };
}

/**
 * Locks the change-set (FOR UPDATE) and reads its items and approvals in the same statement.
 *
 * When the lock had to wait for another transaction that changed the change-set, the locked row is
 * the newest version but the statement's subqueries read the snapshot taken before the wait. Every
 * write of items or approvals bumps the change-set's version in the same transaction, so a version
 * the snapshot did not see means its items and approvals are re-read, now after the lock (the rare
 * path of contended change-sets).
 */
export async function lockChangeSetContents(tx: Queryable, reference: string): Promise<ChangeSetContents | null> {
  const { clause, params } = byReference(reference, 'c.');
  const { rows } = await tx.query<Record<string, unknown>>(
    `SELECT c.*, (SELECT s.version FROM change_sets s WHERE s.id = c.id) AS snapshot_version,
       ${ITEMS} AS contents_items, ${STEP_CANDIDATES} AS contents_candidates, ${APPROVALS} AS contents_approvals
     FROM change_sets c WHERE ${clause} FOR UPDATE OF c`,
    params,
  );
  const raw = rows[0];
  if (!raw) return null;
  let {
    contents_items: items,
    contents_approvals: approvals,
    contents_candidates: candidates,
    snapshot_version,
    ...rest
  } = raw;
  if (snapshot_version !== rest['version']) {
    const reread = await tx.query<Record<string, unknown>>(RELOAD, [rest['id']]);
    const current = defined(reread.rows[0], 'locked change-set row');
    items = current['contents_items'];
    approvals = current['contents_approvals'];
  }
  return contentsOf(rest, items, approvals, candidates);
}

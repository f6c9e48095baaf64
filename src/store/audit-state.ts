// The state rows that audit verification checks against the chains: approvals and resource
// versions of a batch of change-sets, and the resource rows no change-set accounts for.
import type { Decision, Json } from '../core/types.js';
import { iso, type Queryable } from './db.js';

export interface ApprovalState {
  approver_id: string;
  decision: Decision;
  content_hash: string;
  stale: boolean;
  decided_at: string;
}

export interface HistoryState {
  target_type: string;
  target_id: string;
  version: number;
  present: boolean;
  state: Json;
}

function grouped<T>(rows: readonly (T & { change_set: string })[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const { change_set, ...row } of rows) {
    const list = out.get(change_set) ?? [];
    list.push(row as unknown as T);
    out.set(change_set, list);
  }
  return out;
}

/** Every approval row (current and stale) of the given change-sets, by change-set. */
export async function loadApprovalStates(db: Queryable, changeSets: readonly string[]) {
  const { rows } = await db.query<ApprovalState & { change_set: string }>(
    `SELECT change_set::text AS change_set, approver_id, decision, content_hash, stale, decided_at
     FROM approvals WHERE change_set = ANY($1::uuid[])`,
    [changeSets],
  );
  return grouped<ApprovalState>(rows.map((row) => ({ ...row, decided_at: iso(row.decided_at) })));
}

/** Every resource version the given change-sets are recorded to have written, by change-set. */
export async function loadHistoryStates(db: Queryable, changeSets: readonly string[]) {
  const { rows } = await db.query<HistoryState & { change_set: string }>(
    `SELECT change_set::text AS change_set, target_type, target_id, version, present, state
     FROM resource_history WHERE change_set = ANY($1::uuid[])`,
    [changeSets],
  );
  return grouped<HistoryState>(rows);
}

/** Resource versions attributed to a change-set that does not exist. */
export async function orphanHistory(db: Queryable, limit: number) {
  const { rows } = await db.query<{ target_type: string; target_id: string; version: number; change_set: string }>(
    `SELECT h.target_type, h.target_id, h.version, h.change_set::text AS change_set FROM resource_history h
     WHERE NOT EXISTS (SELECT 1 FROM change_sets c WHERE c.id = h.change_set)
     ORDER BY h.target_type, h.target_id, h.version LIMIT $1`,
    [limit],
  );
  return rows;
}

/**
 * Current resources whose version is not in their history, or whose content differs from it
 * (version 0 is apply's placeholder for an absent target, never written).
 */
export async function resourcesOffHistory(db: Queryable, limit: number) {
  const { rows } = await db.query<{ target_type: string; target_id: string; version: number; recorded: boolean }>(
    `SELECT r.target_type, r.target_id, r.version, h.version IS NOT NULL AS recorded FROM resources r
     LEFT JOIN resource_history h
       ON h.target_type = r.target_type AND h.target_id = r.target_id AND h.version = r.version
     WHERE r.version > 0
       AND (h.version IS NULL OR h.present <> r.present OR (r.present AND h.state IS DISTINCT FROM r.state))
     ORDER BY r.target_type, r.target_id LIMIT $1`,
    [limit],
  );
  return rows;
}

/** What decides what each principal may do, and every token's owner and revocation. */
export async function loadIdentityStates(db: Queryable) {
  const principals = await db.query<{ id: string; kind: string; groups: string[]; active: boolean }>(
    'SELECT id, kind, groups, active FROM principals ORDER BY id',
  );
  const tokens = await db.query<{ id: string; principal_id: string; revoked: boolean }>(
    'SELECT id, principal_id, revoked_at IS NOT NULL AS revoked FROM tokens ORDER BY id',
  );
  return { principals: principals.rows, tokens: tokens.rows };
}

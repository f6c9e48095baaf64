// Queries on approvals: one current decision per principal, stale ones kept as history.
import type { Approval, Decision, Principal } from '../core/types.js';
import { iso, type Queryable } from './db.js';
import { keyed, type Write } from './statement.js';

export interface ApprovalWithApprover extends Approval {
  approver: Pick<Principal, 'id' | 'groups' | 'active'>;
}

/**
 * The order approvals are read in, everywhere (of `approvals a`): by time, then approver in code
 * point order (COLLATE "C", the order decide.ts sorts a new decision into), current before stale.
 */
export const APPROVAL_ORDER = 'a.decided_at, a.approver_id COLLATE "C", a.stale DESC';

export async function loadApprovals(db: Queryable, changeSet: string): Promise<ApprovalWithApprover[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT a.id, a.approver_id, a.decision, a.reason, a.content_hash, a.stale, a.decided_at,
            coalesce(p.groups, '{}') AS groups, coalesce(p.active, false) AS active
     FROM approvals a LEFT JOIN principals p ON p.id = a.approver_id
     WHERE a.change_set = $1 ORDER BY ${APPROVAL_ORDER}`,
    [changeSet],
  );
  return rows.map(toApproval);
}

/** A row of the query above (or its JSON from `json_agg`) as an approval with its approver. */
export function toApproval(row: Record<string, unknown>): ApprovalWithApprover {
  return {
    id: row['id'] as string,
    approver_id: row['approver_id'] as string,
    decision: row['decision'] as Decision,
    reason: (row['reason'] as string | null) ?? null,
    content_hash: row['content_hash'] as string,
    stale: row['stale'] as boolean,
    decided_at: iso(row['decided_at']),
    approver: { id: row['approver_id'] as string, groups: row['groups'] as string[], active: row['active'] as boolean },
  };
}

/** A decision as stored. */
export interface DecisionRecord {
  id: string;
  change_set: string;
  approver_id: string;
  decision: Decision;
  reason: string | null;
  content_hash: string;
  decided_at: string;
}

/** Records a principal's decision, replacing its earlier current one (a principal has one decision). */
export function decisionUpsert(input: DecisionRecord): Write {
  return keyed(
    () => [[input.change_set, input.approver_id]],
    (p) =>
      `INSERT INTO approvals (id, change_set, approver_id, decision, reason, content_hash, decided_at)
     VALUES (${[input.id, input.change_set, input.approver_id, input.decision, input.reason, input.content_hash]
       .map((value) => p.add(value))
       .join(', ')}, ${p.add(input.decided_at)}::timestamptz)
     ON CONFLICT (change_set, approver_id) WHERE NOT stale
     DO UPDATE SET decision = EXCLUDED.decision, reason = EXCLUDED.reason,
       content_hash = EXCLUDED.content_hash, decided_at = EXCLUDED.decided_at`,
  );
}

/** The UPDATE that makes a change-set's current decisions stale, for `runWrites`. */
export function approvalsStaleUpdate(changeSet: string): Write {
  return (p) => `UPDATE approvals SET stale = true WHERE change_set = ${p.add(changeSet)}::uuid AND NOT stale`;
}

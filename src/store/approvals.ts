// Queries on approvals: one current decision per principal, stale ones kept as history.
import type { Approval, Decision, Principal } from '../core/types.js';
import { iso, type Queryable } from './db.js';

export interface ApprovalWithApprover extends Approval {
  approver: Pick<Principal, 'id' | 'groups' | 'active'>;
}

export async function loadApprovals(db: Queryable, changeSet: string): Promise<ApprovalWithApprover[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT a.id, a.approver_id, a.decision, a.reason, a.content_hash, a.stale, a.decided_at,
            coalesce(p.groups, '{}') AS groups, coalesce(p.active, false) AS active
     FROM approvals a LEFT JOIN principals p ON p.id = a.approver_id
     WHERE a.change_set = $1 ORDER BY a.decided_at, a.approver_id, a.stale DESC`,
    [changeSet],
  );
  return rows.map((row) => ({
    id: row['id'] as string,
    approver_id: row['approver_id'] as string,
    decision: row['decision'] as Decision,
    reason: (row['reason'] as string | null) ?? null,
    content_hash: row['content_hash'] as string,
    stale: row['stale'] as boolean,
    decided_at: iso(row['decided_at']),
    approver: { id: row['approver_id'] as string, groups: row['groups'] as string[], active: row['active'] as boolean },
  }));
}

export interface DecisionInput {
  id: string;
  change_set: string;
  approver_id: string;
  decision: Decision;
  reason: string | null;
  content_hash: string;
  decided_at: string;
}

/** Records a principal's decision, replacing its earlier current one (a principal has one decision). */
export async function upsertDecision(db: Queryable, input: DecisionInput): Promise<void> {
  await db.query(
    `INSERT INTO approvals (id, change_set, approver_id, decision, reason, content_hash, decided_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (change_set, approver_id) WHERE NOT stale
     DO UPDATE SET decision = EXCLUDED.decision, reason = EXCLUDED.reason,
       content_hash = EXCLUDED.content_hash, decided_at = EXCLUDED.decided_at`,
    [input.id, input.change_set, input.approver_id, input.decision, input.reason, input.content_hash, input.decided_at],
  );
}

export async function markApprovalsStale(db: Queryable, changeSet: string): Promise<number> {
  const { rowCount } = await db.query('UPDATE approvals SET stale = true WHERE change_set = $1 AND NOT stale', [
    changeSet,
  ]);
  return rowCount;
}

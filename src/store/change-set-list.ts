// The list route's query: filters, newest first, keyset (cursor) pagination.
import { GROUP_PREFIX } from '../core/approvals.js';
import type { Principal } from '../core/types.js';
import { type ChangeSetSummaryRow, SUMMARY_COLUMNS } from './change-set-read.js';
import type { Queryable } from './db.js';

export interface ListFilter {
  status?: string[] | undefined;
  category?: string | undefined;
  agent_id?: string | undefined;
  priority?: string | undefined;
  tag?: string | undefined;
  /** Title search, case-insensitive substring. */
  q?: string | undefined;
  /** Only what this principal can decide now: pending, eligible, not its own, not yet decided. */
  approver?: Pick<Principal, 'id' | 'groups'> | undefined;
  after?: { created_at: string; id: string } | undefined;
  limit: number;
}

/** Summaries as the API returns them (see change-set-read.ts): the rows are the response objects. */
export async function listChangeSets(db: Queryable, filter: ListFilter): Promise<ChangeSetSummaryRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
  if (filter.status?.length) add((p) => `c.status = ANY(${p}::text[])`, filter.status);
  if (filter.category) add((p) => `c.category = ${p}`, filter.category);
  if (filter.agent_id) add((p) => `c.agent_id = ${p}`, filter.agent_id);
  if (filter.priority) add((p) => `c.priority = ${p}`, filter.priority);
  if (filter.tag) add((p) => `${p} = ANY(c.tags)`, filter.tag);
  if (filter.q) add((p) => `c.title ILIKE ${p}`, `%${filter.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`);
  if (filter.approver) {
    const { id, groups } = filter.approver;
    add((p) => `c.status = 'PENDING_APPROVAL' AND c.created_by <> ${p}`, id);
    const me = `$${params.length}`;
    add(
      (
        p,
      ) => `EXISTS (SELECT 1 FROM jsonb_array_elements(c.approval_steps) s, jsonb_array_elements_text(s->'approvers') e
               WHERE e = ${me} OR e = ANY(${p}::text[]))
        AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.change_set = c.id AND a.approver_id = ${me} AND NOT a.stale)`,
      groups.map((g) => `${GROUP_PREFIX}${g}`),
    );
  }
  if (filter.after) {
    params.push(filter.after.created_at, filter.after.id);
    where.push(`(c.created_at, c.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(filter.limit);
  const { rows } = await db.query<ChangeSetSummaryRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM change_sets c ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY c.created_at DESC, c.id DESC LIMIT $${params.length}`,
    params,
  );
  return rows;
}

/** When the longest-waiting change-set pending approval was submitted; null when none waits. */
export async function oldestPendingSubmission(db: Queryable): Promise<Date | null> {
  const { rows } = await db.query<{ at: string | Date | null }>(
    "SELECT min(submitted_at) AS at FROM change_sets WHERE status = 'PENDING_APPROVAL'",
  );
  const at = rows[0]?.at;
  return at ? new Date(at) : null;
}

export async function countByStatus(db: Queryable): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM change_sets GROUP BY status',
  );
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

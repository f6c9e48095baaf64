// Queries for the approval deadline notices (docs/design.md#deadlines-reminders-and-escalation): which pending change-sets are due for a
// reminder, an escalation or an expiry, and the flags that say this round's notice was handled.
import { type ChangeSetRow, toChangeSetRow } from './change-sets.js';
import type { Queryable } from './db.js';
import { keyed, type Write } from './statement.js';

export type NoticeKind = 'reminder' | 'escalation' | 'expiry';

/** The flag column of each kind: fixed names, never built from input. */
const FLAG: Readonly<Record<NoticeKind, string>> = Object.freeze({
  reminder: 'reminded_at',
  escalation: 'escalated_at',
  expiry: 'expired_at',
});

export interface DueQuery {
  kind: NoticeKind;
  now: string;
  /**
   * How long after the deadline the notice is due, as a fraction of the deadline period (the time
   * from submit to the deadline, as set at submit). 0 for reminders.
   */
  after: number;
  /** Notices that must have been handled first (an escalation follows its round's reminder). */
  requires: readonly NoticeKind[];
  limit: number;
}

/**
 * Locks up to `limit` pending change-sets due for the notice and not yet handled this round.
 * SKIP LOCKED: rows another instance (or an action) holds are left for it or for the next pass,
 * so two passes at the same moment never claim the same change-set. The deadline bound comes
 * first so the partial index on pending deadlines narrows the scan.
 */
export async function claimDueChangeSets(db: Queryable, query: DueQuery): Promise<ChangeSetRow[]> {
  const flag = FLAG[query.kind];
  const prior = query.requires.map((kind) => ` AND ${FLAG[kind]} IS NOT NULL`).join('');
  const { rows } = await db.query(
    `SELECT * FROM change_sets
     WHERE status = 'PENDING_APPROVAL' AND approval_deadline <= $1::timestamptz AND ${flag} IS NULL${prior}
       AND approval_deadline + (approval_deadline - coalesce(submitted_at, approval_deadline)) * $2::float8
           <= $1::timestamptz
     ORDER BY approval_deadline, id
     LIMIT $3
     FOR UPDATE SKIP LOCKED`,
    [query.now, query.after, query.limit],
  );
  return rows.map(toChangeSetRow);
}

/**
 * Records that this round's notice was handled, with the change-set's new audit head. The
 * version stays: a notice changes nothing a reader of the change-set sees (its ETag).
 */
export function noticeHandled(
  id: string,
  kind: NoticeKind,
  at: string,
  head: { audit_head: string; audit_count: number; audit_sig: string | null },
): Write {
  return keyed(
    () => [id],
    (p) =>
      `UPDATE change_sets SET ${FLAG[kind]} = ${p.add(at)}::timestamptz, audit_head = ${p.add(head.audit_head)},
       audit_count = ${p.add(head.audit_count)}, audit_sig = ${p.add(head.audit_sig)}::text WHERE id = ${p.add(id)}::uuid`,
  );
}

// One-time enrolments (migration 0007): codes kept only as hashes, redeemed at most once.
import { defined } from '../core/defined.js';
import { iso, type Queryable } from './db.js';

export interface EnrolmentRow {
  id: string;
  principal_id: string;
  created_at: string;
  created_by: string;
  expires_at: string;
  redeemed_at: string | null;
  token_id: string | null;
}

const COLUMNS = 'id, principal_id, created_at, created_by, expires_at, redeemed_at, token_id';

const toRow = (row: Record<string, unknown>): EnrolmentRow =>
  ({
    ...row,
    created_at: iso(row['created_at']),
    expires_at: iso(row['expires_at']),
    redeemed_at: iso(row['redeemed_at'], true),
  }) as EnrolmentRow;

export async function insertEnrolment(
  db: Queryable,
  e: { id: string; principal_id: string; code_hash: string; created_by: string; expires_at: string },
  at: string,
): Promise<EnrolmentRow> {
  const { rows } = await db.query<Record<string, unknown>>(
    `INSERT INTO enrolments (id, principal_id, code_hash, created_at, created_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [e.id, e.principal_id, e.code_hash, at, e.created_by, e.expires_at],
  );
  return toRow(defined(rows[0], 'inserted enrolment'));
}

/**
 * Marks the enrolment with this code hash redeemed, if it is neither redeemed nor expired at `at`.
 * A concurrent redeem waits on the row lock, then finds redeemed_at set: exactly one gets the row.
 */
export async function claimEnrolment(db: Queryable, codeHash: string, at: string): Promise<EnrolmentRow | null> {
  const { rows } = await db.query<Record<string, unknown>>(
    `UPDATE enrolments SET redeemed_at = $2
     WHERE code_hash = $1 AND redeemed_at IS NULL AND expires_at > $2::timestamptz RETURNING ${COLUMNS}`,
    [codeHash, at],
  );
  return rows[0] ? toRow(rows[0]) : null;
}

export async function findEnrolmentByCodeHash(db: Queryable, codeHash: string): Promise<EnrolmentRow | null> {
  const { rows } = await db.query<Record<string, unknown>>(`SELECT ${COLUMNS} FROM enrolments WHERE code_hash = $1`, [
    codeHash,
  ]);
  return rows[0] ? toRow(rows[0]) : null;
}

export async function setEnrolmentToken(db: Queryable, id: string, tokenId: string): Promise<void> {
  await db.query('UPDATE enrolments SET token_id = $2 WHERE id = $1', [id, tokenId]);
}

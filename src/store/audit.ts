// Queries on the audit trail: appends (never updates), and reads in chain order for verification.

import { type AuditEntry, SYSTEM_CHAIN } from '../core/audit-chain.js';
import { defined } from '../core/defined.js';
import { iso, json, type Queryable } from './db.js';
import { keyed, type Write } from './statement.js';

/** The INSERT of `entries` (null when there are none), for `runWrites`. */
export function auditInsert(entries: readonly Omit<AuditEntry, 'seq'>[]): Write | null {
  if (entries.length === 0) return null;
  return keyed(
    () => entries.map((entry) => [entry.chain, entry.chain_seq]),
    (p) =>
      `INSERT INTO audit_entries (chain, chain_seq, at, actor, action, change_set, data, prev_hash, hash)
     SELECT x.chain, x.chain_seq, x.at, x.actor, x.action, x.change_set, x.data, x.prev_hash, x.hash
     FROM jsonb_to_recordset(${p.add(json(entries))}::jsonb) AS x(chain text, chain_seq integer, at timestamptz,
       actor text, action text, change_set uuid, data jsonb, prev_hash text, hash text)
     ORDER BY x.chain, x.chain_seq`,
  );
}

/** Locks a non-change-set chain's head (creating it on first use) so appends to it are serialised. */
export async function lockChainHead(
  db: Queryable,
  chain: string,
): Promise<{ head: string; count: number; sig: string | null }> {
  await db.query('INSERT INTO audit_heads (chain, head, count) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING', [
    chain,
    '0'.repeat(64),
  ]);
  const { rows } = await db.query<{ head: string; count: number; sig: string | null }>(
    'SELECT head, count, sig FROM audit_heads WHERE chain = $1 FOR UPDATE',
    [chain],
  );
  return defined(rows[0], `audit head of chain ${chain}`);
}

/** The UPDATE of a non-change-set chain's head, for `runWrites`. */
export function chainHeadUpdate(chain: string, head: string, count: number, sig: string | null): Write {
  return keyed(
    () => [chain],
    (p) =>
      `UPDATE audit_heads SET head = ${p.add(head)}, count = ${p.add(count)}::integer, sig = ${p.add(sig)}::text
     WHERE chain = ${p.add(chain)}`,
  );
}

const toEntry = (row: Record<string, unknown>): AuditEntry => ({
  ...(row as unknown as AuditEntry),
  at: iso(row['at']),
});

export async function loadChangeSetAudit(db: Queryable, changeSet: string): Promise<AuditEntry[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    'SELECT * FROM audit_entries WHERE chain = $1 ORDER BY chain_seq',
    [changeSet],
  );
  return rows.map(toEntry);
}

/** One page of all entries in (chain, chain_seq) order, after the given position. */
export async function loadAuditPage(
  db: Queryable,
  after: { chain: string; chain_seq: number } | null,
  limit: number,
): Promise<AuditEntry[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    after
      ? 'SELECT * FROM audit_entries WHERE (chain, chain_seq) > ($1, $2) ORDER BY chain, chain_seq LIMIT $3'
      : 'SELECT * FROM audit_entries ORDER BY chain, chain_seq LIMIT $1',
    after ? [after.chain, after.chain_seq, limit] : [limit],
  );
  return rows.map(toEntry);
}

export interface RecordedHead {
  hash: string;
  count: number;
  sig: string | null;
  /** The change-set's human id and status; null for the system chain. */
  change_set_id: string | null;
  status: string | null;
}

/** Every chain's recorded head: change-sets carry theirs, other chains are in audit_heads. */
export async function loadChainHeads(db: Queryable): Promise<Map<string, RecordedHead>> {
  const { rows } = await db.query<RecordedHead & { chain: string }>(
    `SELECT id::text AS chain, audit_head AS hash, audit_count AS count, audit_sig AS sig, change_set_id, status
     FROM change_sets
     UNION ALL SELECT chain, head, count, sig, NULL, NULL FROM audit_heads`,
  );
  return new Map(rows.map(({ chain, ...head }) => [chain, head]));
}

/** The system chain head's signature (null when unsigned or not yet written). */
export async function systemHeadSignature(db: Queryable): Promise<string | null> {
  const { rows } = await db.query<{ sig: string | null }>('SELECT sig FROM audit_heads WHERE chain = $1', [
    SYSTEM_CHAIN,
  ]);
  return rows[0]?.sig ?? null;
}

/** The UPDATE that signs a head, only while it is still the head that was verified. */
export async function signHead(
  db: Queryable,
  chain: string,
  head: { hash: string; count: number },
  sig: string,
): Promise<boolean> {
  const { rows } =
    chain === SYSTEM_CHAIN
      ? await db.query(
          'UPDATE audit_heads SET sig = $4 WHERE chain = $1 AND head = $2 AND count = $3 AND sig IS NULL RETURNING 1',
          [chain, head.hash, head.count, sig],
        )
      : await db.query(
          `UPDATE change_sets SET audit_sig = $4
           WHERE id = $1::uuid AND audit_head = $2 AND audit_count = $3 AND audit_sig IS NULL RETURNING 1`,
          [chain, head.hash, head.count, sig],
        );
  return rows.length === 1;
}

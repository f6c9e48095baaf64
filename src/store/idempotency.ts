// Idempotency keys: claimed before the request runs, completed with its response, kept 24 hours.
import type { Json } from '../core/types.js';
import { json, type Queryable } from './db.js';

export interface StoredResponse {
  request_hash: string;
  status_code: number | null;
  response: Json;
}

export interface IdempotencyClaim {
  principal_id: string;
  key: string;
  request_hash: string;
  now: string;
  ttl_hours: number;
}

/** Claims the key; returns null when this request got it, else what is stored for it. */
export async function claimKey(db: Queryable, claim: IdempotencyClaim): Promise<StoredResponse | null> {
  await db.query(
    `DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2 AND created_at < $3::timestamptz - make_interval(hours => $4)`,
    [claim.principal_id, claim.key, claim.now, claim.ttl_hours],
  );
  const inserted = await db.query(
    `INSERT INTO idempotency_keys (principal_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT DO NOTHING RETURNING key`,
    [claim.principal_id, claim.key, claim.request_hash, claim.now],
  );
  if (inserted.rowCount > 0) return null;
  const { rows } = await db.query<StoredResponse>(
    'SELECT request_hash, status_code, response FROM idempotency_keys WHERE principal_id = $1 AND key = $2',
    [claim.principal_id, claim.key],
  );
  return rows[0] ?? null;
}

export async function completeKey(
  db: Queryable,
  principalId: string,
  key: string,
  statusCode: number,
  response: Json,
): Promise<void> {
  await db.query(
    'UPDATE idempotency_keys SET status_code = $3, response = $4::jsonb WHERE principal_id = $1 AND key = $2',
    [principalId, key, statusCode, json(response)],
  );
}

/** A refused or failed request leaves nothing behind: its key is released. */
export async function releaseKey(db: Queryable, principalId: string, key: string): Promise<void> {
  await db.query('DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2 AND status_code IS NULL', [
    principalId,
    key,
  ]);
}

// The replay guard of Slack interactions: each verified signature is claimed once, across instances.
import type { Queryable } from './db.js';

/**
 * Records `signature` as received at `at`; false when it was already received (a replay). Rows older
 * than `keepSeconds` are deleted in the same statement.
 */
export async function claimSlackRequest(
  db: Queryable,
  signature: string,
  at: string,
  keepSeconds: number,
): Promise<boolean> {
  const { rows } = await db.query<{ signature: string }>(
    `WITH expired AS (
       DELETE FROM slack_requests WHERE received_at < $2::timestamptz - make_interval(secs => $3::int)
     )
     INSERT INTO slack_requests (signature, received_at) VALUES ($1, $2::timestamptz)
     ON CONFLICT (signature) DO NOTHING RETURNING signature`,
    [signature, at, keepSeconds],
  );
  return rows.length === 1;
}

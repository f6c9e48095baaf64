// Queries on outbox routing and deliveries: claimed with FOR UPDATE SKIP LOCKED, so any number of
// dispatchers (in any number of instances) share the work and never send one delivery twice at once.
import type { Json } from '../core/types.js';
import { type Db, iso, json, type Queryable } from './db.js';

export interface UnroutedEvent {
  id: number;
  type: string;
  actor: string;
  change_set: string | null;
  envelope: { [key: string]: Json };
}

export async function claimUnroutedEvents(db: Queryable, limit: number): Promise<UnroutedEvent[]> {
  const { rows } = await db.query<UnroutedEvent>(
    `SELECT id, type, actor, change_set, envelope FROM outbox_events WHERE routed_at IS NULL
     ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  return rows;
}

export interface NewDelivery {
  id: string;
  event_id: number;
  event_type: string;
  channel: string;
  recipient: string;
  address: string | null;
}

export async function insertDeliveries(db: Queryable, deliveries: readonly NewDelivery[], now: string): Promise<void> {
  if (deliveries.length === 0) return;
  await db.query(
    `INSERT INTO deliveries (id, event_id, event_type, channel, recipient, address, next_attempt_at, created_at)
     SELECT x.id, x.event_id, x.event_type, x.channel, x.recipient, x.address, $2, $2
     FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, event_id bigint, event_type text, channel text, recipient text, address text)
     ON CONFLICT (event_id, channel, recipient) DO NOTHING`,
    [json(deliveries), now],
  );
}

export async function markRouted(db: Queryable, ids: readonly number[], now: string): Promise<void> {
  if (ids.length === 0) return;
  await db.query('UPDATE outbox_events SET routed_at = $2 WHERE id = ANY($1::bigint[])', [ids, now]);
}

export interface ClaimedDelivery extends NewDelivery {
  attempts: number;
  envelope: { [key: string]: Json };
}

const CLAIMED = `RETURNING d.id, d.event_id, d.event_type, d.channel, d.recipient, d.address, d.attempts,
  e.envelope || jsonb_build_object('id', e.id) AS envelope`;

/**
 * Claims due deliveries: invisible to other dispatchers until `lockedUntil`, one attempt counted.
 * Deliveries of the `ordered` channels are left to claimOrderedDeliveries.
 */
export async function claimDueDeliveries(
  db: Queryable,
  now: string,
  lockedUntil: string,
  limit: number,
  ordered: readonly string[] = [],
): Promise<ClaimedDelivery[]> {
  const { rows } = await db.query<ClaimedDelivery>(
    `WITH due AS (
       SELECT id FROM deliveries
       WHERE status = 'PENDING' AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until < $1)
         AND NOT (channel = ANY($4::text[]))
       ORDER BY next_attempt_at, event_id LIMIT $3 FOR UPDATE SKIP LOCKED
     )
     UPDATE deliveries d SET locked_until = $2, attempts = d.attempts + 1
     FROM due, outbox_events e
     WHERE d.id = due.id AND e.id = d.event_id
     ${CLAIMED}`,
    [now, lockedUntil, limit, ordered],
  );
  return rows;
}

/**
 * Claims the head of one ordered channel's queue, in event order: its pending deliveries from the
 * oldest on, as long as each is due and unclaimed. Nothing while the oldest is claimed elsewhere or
 * waits for its retry, so a later event never overtakes an earlier one. A transaction-scoped
 * advisory lock per channel makes concurrent claims (in any number of instances) take turns.
 */
export async function claimOrderedDeliveries(
  db: Db,
  channel: string,
  now: string,
  lockedUntil: string,
  limit: number,
): Promise<ClaimedDelivery[]> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('changeledger.ordered_deliveries'), hashtext($1))`, [
      channel,
    ]);
    // Stops before the first event still being routed (by another instance), which may yet give
    // this channel an earlier delivery.
    const { rows: head } = await tx.query<{ id: string; ready: boolean }>(
      `SELECT id, next_attempt_at <= $2 AND (locked_until IS NULL OR locked_until < $2)
         AND event_id < coalesce((SELECT min(id) FROM outbox_events WHERE routed_at IS NULL), event_id + 1) AS ready
       FROM deliveries WHERE channel = $1 AND status = 'PENDING' ORDER BY event_id LIMIT $3`,
      [channel, now, limit],
    );
    const ready = head.findIndex((row) => !row.ready);
    const ids = (ready === -1 ? head : head.slice(0, ready)).map((row) => row.id);
    if (ids.length === 0) return [];
    const { rows } = await tx.query<ClaimedDelivery>(
      `UPDATE deliveries d SET locked_until = $2, attempts = d.attempts + 1
       FROM outbox_events e WHERE d.id = ANY($1::uuid[]) AND e.id = d.event_id
       ${CLAIMED}`,
      [ids, lockedUntil],
    );
    return rows.sort((a, b) => Number(a.event_id) - Number(b.event_id));
  });
}

export interface DeliveryOutcome {
  id: string;
  status: 'PENDING' | 'DELIVERED' | 'DEAD';
  next_attempt_at: string | null;
  last_error: string | null;
  delivered_at: string | null;
  /** Not sent after all (held behind an earlier delivery of an ordered channel): no attempt counted. */
  held?: boolean;
}

export async function recordOutcomes(db: Queryable, outcomes: readonly DeliveryOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  await db.query(
    `UPDATE deliveries d SET status = x.status, next_attempt_at = coalesce(x.next_attempt_at, d.next_attempt_at),
       last_error = x.last_error, delivered_at = x.delivered_at, locked_until = NULL,
       attempts = d.attempts - CASE WHEN x.held THEN 1 ELSE 0 END
     FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, status text, next_attempt_at timestamptz, last_error text, delivered_at timestamptz, held boolean)
     WHERE d.id = x.id`,
    [json(outcomes)],
  );
}

export interface DeliveryView {
  id: string;
  event_id: number;
  event_type: string;
  channel: string;
  recipient: string | null;
  /** Where it goes: an email address or Slack id (null for channel-wide deliveries). */
  address: string | null;
  status: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  change_set_id: string | null;
}

const toView = (row: Record<string, unknown>): DeliveryView =>
  ({
    ...row,
    recipient: row['recipient'] || null,
    next_attempt_at: iso(row['next_attempt_at']),
    created_at: iso(row['created_at']),
    delivered_at: iso(row['delivered_at'], true),
  }) as unknown as DeliveryView;

const VIEW = `SELECT d.id, d.event_id, d.event_type, d.channel, d.recipient, d.address, d.status, d.attempts, d.next_attempt_at,
  d.last_error, d.created_at, d.delivered_at, e.envelope #>> '{change_set,change_set_id}' AS change_set_id
  FROM deliveries d JOIN outbox_events e ON e.id = d.event_id`;

export async function listDeliveries(
  db: Queryable,
  filter: {
    status?: string | undefined;
    event_type?: string | undefined;
    channel?: string | undefined;
    after?: { created_at: string; id: string } | undefined;
    limit: number;
  },
): Promise<DeliveryView[]> {
  const { rows } = await db.query<Record<string, unknown>>(
    `${VIEW} WHERE ($1::text IS NULL OR d.status = $1) AND ($2::text IS NULL OR d.event_type = $2)
       AND ($3::text IS NULL OR d.channel = $3)
       AND ($4::timestamptz IS NULL OR (d.created_at, d.id) < ($4::timestamptz, $5::uuid))
     ORDER BY d.created_at DESC, d.id DESC LIMIT $6`,
    [
      filter.status ?? null,
      filter.event_type ?? null,
      filter.channel ?? null,
      filter.after?.created_at ?? null,
      filter.after?.id ?? null,
      filter.limit,
    ],
  );
  return rows.map(toView);
}

/** A manual retry: due now, with a fresh set of attempts. */
export async function retryDelivery(
  db: Queryable,
  id: string,
  now: string,
): Promise<{ retried: boolean; view: DeliveryView } | null> {
  const { rowCount } = await db.query(
    `UPDATE deliveries SET status = 'PENDING', attempts = 0, next_attempt_at = $2, locked_until = NULL
     WHERE id = $1 AND status <> 'DELIVERED'`,
    [id, now],
  );
  const { rows } = await db.query<Record<string, unknown>>(`${VIEW} WHERE d.id = $1`, [id]);
  return rows[0] ? { retried: rowCount > 0, view: toView(rows[0]) } : null;
}

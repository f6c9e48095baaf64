// The outbox: events written in the same transaction as the change they describe.
import type { Json } from '../core/types.js';
import { json, type Queryable } from './db.js';
import { keyed, type Write } from './statement.js';

export interface OutboxEvent {
  type: string;
  occurred_at: string;
  actor: string;
  change_set: string | null;
  /** The envelope without its `id`, which the database assigns. */
  envelope: { [key: string]: Json };
}

/** The INSERT of `events` in their order (null when there are none), for `runWrites`. */
export function outboxInsert(events: readonly OutboxEvent[]): Write | null {
  if (events.length === 0) return null;
  // Each event is a new row, its id from the sequence: no other part can write it.
  return keyed(
    () => [],
    (p) =>
      `INSERT INTO outbox_events (type, occurred_at, actor, change_set, envelope)
     SELECT x.type, x.occurred_at, x.actor, x.change_set, x.envelope
     FROM jsonb_to_recordset(${p.add(json(events.map((event, n) => ({ n, ...event }))))}::jsonb) AS x(n integer,
       type text, occurred_at timestamptz, actor text, change_set uuid, envelope jsonb)
     ORDER BY x.n`,
  );
}

/** An event as event streams carry it: the envelope with its id, plus what subscribers filter on. */
export interface StoredEvent {
  id: number;
  type: string;
  /** The change-set's uuid, if the event is about one. */
  change_set: string | null;
  envelope: { id: number; [key: string]: Json };
}

/** Committed events with `afterId < id ≤ upToId`, in id order, optionally of some types or one change-set. */
export interface EventQuery {
  afterId: number;
  upToId?: number;
  types?: readonly string[];
  changeSet?: string;
  limit: number;
}

export async function readEvents(db: Queryable, filter: EventQuery): Promise<StoredEvent[]> {
  const { rows } = await db.query<{
    id: number;
    type: string;
    change_set: string | null;
    envelope: OutboxEvent['envelope'];
  }>(
    `SELECT id, type, change_set, envelope FROM outbox_events
     WHERE id > $1 AND ($2::bigint IS NULL OR id <= $2) AND ($3::text[] IS NULL OR type = ANY($3::text[]))
       AND ($4::uuid IS NULL OR change_set = $4::uuid)
     ORDER BY id LIMIT $5`,
    [filter.afterId, filter.upToId ?? null, filter.types ?? null, filter.changeSet ?? null, filter.limit],
  );
  return rows.map((row) => ({
    id: row.id,
    type: row.type,
    change_set: row.change_set,
    envelope: { id: row.id, ...row.envelope },
  }));
}

/** The highest event id committed so far (0 when there is none). */
export async function lastEventId(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ id: number | null }>('SELECT max(id) AS id FROM outbox_events');
  return rows[0]?.id ?? 0;
}

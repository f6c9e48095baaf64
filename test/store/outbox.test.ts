// store/outbox.ts and deliveries.ts on both backends: events are stored in order with ids from the
// database and read back filtered; routing claims unrouted events, deliveries are created once per
// (event, channel, recipient), claimed when due (one attempt each), their outcomes recorded, listed
// and retried.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import {
  claimDueDeliveries,
  claimUnroutedEvents,
  insertDeliveries,
  listDeliveries,
  markRouted,
  recordOutcomes,
  retryDelivery,
} from '../../src/store/deliveries.js';
import { lastEventId, type OutboxEvent, outboxInsert, readEvents } from '../../src/store/outbox.js';
import { runWrites } from '../../src/store/statement.js';
import { describeEachBackend } from '../helpers/backends.js';

const AT = '2026-11-25T10:00:00.000Z';
const event = (type: string, n: number): OutboxEvent => ({
  type,
  occurred_at: AT,
  actor: 'alice',
  change_set: null,
  envelope: { type, n, change_set: { change_set_id: `CS-${n}` } },
});

describeEachBackend('store: outbox and deliveries', (backend) => {
  let db: Db;
  beforeAll(async () => {
    db = await backend.open();
  });
  afterAll(() => db.close());

  /** Writes events in one statement and returns their ids. */
  async function write(...events: OutboxEvent[]): Promise<number[]> {
    const before = await lastEventId(db);
    await runWrites(db, [outboxInsert(events)]);
    return (await readEvents(db, { afterId: before, limit: 100 })).map((e) => e.id);
  }

  it('stores events in their order with increasing ids, and reads them back filtered', async () => {
    expect(outboxInsert([])).toBeNull();
    const ids = await write(event('a.one', 1), event('b.two', 2), event('a.one', 3));
    expect(ids).toHaveLength(3);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(await lastEventId(db)).toBe(ids[2]);
    const read = await readEvents(db, { afterId: ids[0]! - 1, types: ['a.one'], limit: 10 });
    expect(read.map((e) => [e.id, e.envelope['n']])).toEqual([
      [ids[0], 1],
      [ids[2], 3],
    ]);
    expect(read[0]!.envelope.id).toBe(ids[0]);
    expect((await readEvents(db, { afterId: ids[0]!, upToId: ids[1]!, limit: 10 })).map((e) => e.id)).toEqual([ids[1]]);
    expect((await readEvents(db, { afterId: ids[0]!, limit: 10 })).map((e) => e.envelope['n'])).toEqual([2, 3]);
  });

  it('routes events into deliveries once, claims them when due, records outcomes, lists and retries', async () => {
    const [id] = await write(event('changeset.applied', 7));
    const unrouted = await db.transaction((tx) => claimUnroutedEvents(tx, 100));
    expect(unrouted.map((e) => e.id)).toContain(id);
    const delivery = (channel: string, recipient: string) => ({
      id: randomUUID(),
      event_id: id!,
      event_type: 'changeset.applied',
      channel,
      recipient,
      address: recipient ? `${recipient}@example.com` : null,
    });
    const [mail, hook] = [delivery('email', 'alice'), delivery('webhook', '')];
    await insertDeliveries(db, [mail, hook], AT);
    await insertDeliveries(db, [{ ...mail, id: randomUUID() }], AT);
    await markRouted(db, [id!], AT);
    expect((await claimUnroutedEvents(db, 100)).map((e) => e.id)).not.toContain(id);

    expect(await claimDueDeliveries(db, '2026-11-25T09:00:00.000Z', '2026-11-25T09:01:00.000Z', 10)).toEqual([]);
    const claimed = await claimDueDeliveries(db, AT, '2026-11-25T10:01:00.000Z', 10);
    expect(claimed.map((d) => d.id).sort()).toEqual([mail.id, hook.id].sort());
    expect(claimed.find((d) => d.id === mail.id)).toMatchObject({
      attempts: 1,
      envelope: { id: id, n: 7, type: 'changeset.applied' },
    });
    // Claimed deliveries are invisible until their claim runs out.
    expect(await claimDueDeliveries(db, '2026-11-25T10:00:30.000Z', '2026-11-25T10:02:00.000Z', 10)).toEqual([]);

    await recordOutcomes(db, [
      { id: mail.id, status: 'DELIVERED', next_attempt_at: null, last_error: null, delivered_at: AT },
      { id: hook.id, status: 'DEAD', next_attempt_at: null, last_error: 'HTTP 500', delivered_at: null },
    ]);
    const listed = await listDeliveries(db, { limit: 10 });
    expect(listed.find((d) => d.id === mail.id)).toMatchObject({
      status: 'DELIVERED',
      attempts: 1,
      delivered_at: AT,
      change_set_id: 'CS-7',
      recipient: 'alice',
    });
    expect(listed.find((d) => d.id === hook.id)).toMatchObject({
      status: 'DEAD',
      last_error: 'HTTP 500',
      recipient: null,
    });
    expect((await listDeliveries(db, { status: 'DEAD', channel: 'webhook', limit: 10 })).map((d) => d.id)).toEqual([
      hook.id,
    ]);

    expect(await retryDelivery(db, mail.id, AT)).toMatchObject({ retried: false, view: { status: 'DELIVERED' } });
    expect(await retryDelivery(db, hook.id, '2026-11-25T11:00:00.000Z')).toMatchObject({
      retried: true,
      view: { status: 'PENDING', attempts: 0, next_attempt_at: '2026-11-25T11:00:00.000Z' },
    });
    expect(await retryDelivery(db, randomUUID(), AT)).toBeNull();
  });
});

// The event feed: engine events arrive in id order, filtered; a gap in ids holds later events back
// until the missing one commits, or for the grace period when it never will.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventFeed, type EventFilter, type FeedEvent } from '../../src/notify/event-feed.js';
import type { Db } from '../../src/store/db.js';
import { describeEachBackend, TEST_DATABASE_URL } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';
import { eventually } from '../helpers/sse.js';

const outboxIds = async (db: Db, changeSets: readonly string[]): Promise<number[]> =>
  (
    await db.query<{ id: number }>('SELECT id FROM outbox_events WHERE change_set = ANY($1::uuid[]) ORDER BY id', [
      changeSets,
    ])
  ).rows.map((row) => row.id);

/** Burns the next id, as a transaction that has inserted but not yet committed would hold it. */
const takeNextId = async (db: Db): Promise<number> =>
  (await db.query<{ id: number }>("SELECT nextval(pg_get_serial_sequence('outbox_events', 'id')) AS id")).rows[0]!.id;

const insertEventWithId = (db: Pick<Db, 'query'>, id: number) =>
  db.query(
    `INSERT INTO outbox_events (id, type, occurred_at, actor, change_set, envelope)
     VALUES ($1, 'changeset.created', now(), 'late', NULL, '{"type": "changeset.created", "actor": "late"}'::jsonb)`,
    [id],
  );

describeEachBackend('event feed', (backend) => {
  let f: Fixture;
  const feeds: EventFeed[] = [];

  async function startFeed(options: { gapGraceMs?: number } = {}) {
    const feed = new EventFeed({ db: f.db, pollIntervalMs: 200, ...options });
    await feed.start();
    feeds.push(feed);
    return feed;
  }
  const collect = (feed: EventFeed, filter: EventFilter = {}) => {
    const received: FeedEvent[] = [];
    feed.subscribe(filter, { onEvent: (event) => received.push(event) });
    return received;
  };

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(async () => {
    for (const feed of feeds) await feed.stop();
    await f.db.close();
  });

  it('delivers the events the engine writes, in id order, with their envelopes', async () => {
    const feed = await startFeed();
    const received = collect(feed);
    const a = await f.engine.create(f.p['Agent-A']!, uiButton());
    const b = await f.engine.create(f.p['Agent-D']!, configChange());
    await f.engine.submit(f.p['Agent-D']!, b.id);
    await f.engine.decide(f.p['alice']!, b.id, { decision: 'APPROVED' });
    const expected = await outboxIds(f.db, [a.id, b.id]);
    await eventually(() => received.length >= expected.length);
    expect(received.map((e) => e.id)).toEqual(expected);
    expect(received[0]!.envelope).toMatchObject({ id: expected[0], type: 'changeset.created', actor: 'Agent-A' });
    expect(received.map((e) => e.type)).toContain('changeset.approved');
    expect(received.at(-1)!.change_set).toBe(b.id);
  });

  it('gives each subscriber only the types and the change-set it asked for', async () => {
    const feed = await startFeed();
    const approvedOnly = collect(feed, { types: ['changeset.approved'] });
    const a = await f.engine.create(f.p['Agent-A']!, uiButton());
    const b = await f.engine.create(f.p['Agent-D']!, configChange());
    const justB = collect(feed, { changeSet: b.id });
    await f.engine.submit(f.p['Agent-D']!, b.id);
    await f.engine.create(f.p['Agent-A']!, uiButton());
    await f.engine.decide(f.p['alice']!, b.id, { decision: 'APPROVED' });
    const bIds = await outboxIds(f.db, [b.id]);
    await eventually(() => approvedOnly.length >= 3 && justB.at(-1)?.id === bIds.at(-1));
    expect(approvedOnly.map((e) => e.type)).toEqual(Array(3).fill('changeset.approved'));
    expect(approvedOnly[0]!.change_set).toBe(a.id);
    expect(approvedOnly[2]!.change_set).toBe(b.id);
    // b's events from the moment of subscribing, none of anyone else's.
    expect(justB.every((e) => e.change_set === b.id)).toBe(true);
    expect(justB.map((e) => e.type)).toContain('changeset.submitted');
    expect(justB.map((e) => e.id)).toEqual(bIds.slice(bIds.length - justB.length));
  });

  it('holds events behind a missing id until it commits, then releases them in id order', async () => {
    const feed = await startFeed({ gapGraceMs: 30_000 });
    const received = collect(feed);
    const missing = await takeNextId(f.db);
    const cs = await f.engine.create(f.p['Agent-A']!, uiButton());
    const later = await outboxIds(f.db, [cs.id]);
    expect(later[0]).toBe(missing + 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    feed.wake();
    await feed.idle();
    expect(received).toEqual([]);
    await insertEventWithId(f.db, missing);
    await eventually(() => received.length >= 1 + later.length);
    expect(received.map((e) => e.id)).toEqual([missing, ...later]);
  });

  it('gives a missing id up after the grace period (a transaction that rolled back)', async () => {
    const feed = await startFeed({ gapGraceMs: 300 });
    const received = collect(feed);
    await expect(
      f.db.transaction(async (tx) => {
        await insertEventWithId(
          tx,
          (await tx.query<{ id: number }>("SELECT nextval(pg_get_serial_sequence('outbox_events', 'id')) AS id"))
            .rows[0]!.id,
        );
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const started = Date.now();
    const cs = await f.engine.create(f.p['Agent-A']!, uiButton());
    const expected = await outboxIds(f.db, [cs.id]);
    await eventually(() => received.length >= expected.length);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(received.map((e) => e.id)).toEqual(expected);
  });

  it.runIf(backend.name === 'postgres')(
    'does not release a committed event before a lower id held by an open transaction commits',
    async () => {
      const feed = await startFeed({ gapGraceMs: 30_000 });
      const received = collect(feed);
      const schema = (await f.db.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]!.schema;
      const other = new pg.Client({ connectionString: TEST_DATABASE_URL!, options: `-c search_path=${schema}` });
      await other.connect();
      try {
        await other.query('BEGIN');
        const { rows } = await other.query<{ id: string }>(
          `INSERT INTO outbox_events (type, occurred_at, actor, change_set, envelope)
           VALUES ('changeset.created', now(), 'slow', NULL, '{"type": "changeset.created", "actor": "slow"}')
           RETURNING id`,
        );
        const held = Number(rows[0]!.id);
        const cs = await f.engine.create(f.p['Agent-A']!, uiButton());
        const committed = await outboxIds(f.db, [cs.id]);
        expect(committed[0]).toBeGreaterThan(held);
        await new Promise((resolve) => setTimeout(resolve, 500));
        feed.wake();
        await feed.idle();
        expect(received).toEqual([]);
        await other.query('COMMIT');
        await eventually(() => received.length >= 1 + committed.length);
        expect(received.map((e) => e.id)).toEqual([held, ...committed]);
        expect(received[0]!.envelope).toMatchObject({ id: held, actor: 'slow' });
      } finally {
        await other.end();
      }
    },
  );

  it('ends its subscriptions when it stops', async () => {
    const feed = await startFeed();
    let closed = 0;
    feed.subscribe({}, { onEvent: () => {}, onClose: () => closed++ });
    feed.subscribe({}, { onEvent: () => {}, onClose: () => closed++ });
    await feed.stop();
    expect(closed).toBe(2);
    expect(feed.subscriberCount).toBe(0);
  });
});

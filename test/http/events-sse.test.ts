// GET /api/ledger/events: Server-Sent Events, live and resumed with Last-Event-ID, filtered; on
// PostgreSQL a client on one instance sees the events caused through another.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { EventFeed } from '../../src/notify/event-feed.js';
import type { Db } from '../../src/store/db.js';
import { describeEachBackend, describePostgres, openSecondInstanceDb } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';
import { eventually, openSse, type SseEvent } from '../helpers/sse.js';

const WHO = ['Agent-A', 'Agent-D', 'alice', 'olga', 'root'];

async function storedEvents(db: Db, afterId = 0): Promise<{ id: number; type: string }[]> {
  const { rows } = await db.query<{ id: number; type: string }>(
    'SELECT id, type FROM outbox_events WHERE id > $1 ORDER BY id',
    [afterId],
  );
  return rows;
}

/**
 * Waits until the feed has released every event stored so far. A client that connects without
 * Last-Event-ID gets the events after the feed's cursor, so one opened while the feed is still
 * behind (the poll runs every 200 ms; a busy machine stretches that) would also receive events
 * committed just before it connected.
 */
async function feedCaughtUp(db: Db, feed: EventFeed): Promise<void> {
  const head = (await storedEvents(db)).at(-1)?.id ?? 0;
  feed.wake();
  await eventually(() => feed.cursor >= head, 10_000);
}

const idsAndTypes = (events: readonly SseEvent[]) => events.map((e) => ({ id: e.id, type: e.event }));

/** Create, submit, approve and apply a change-set through an instance's HTTP API; returns its uuid. */
async function lifecycle(app: LedgerApp, as: (who: string) => Record<string, string>): Promise<string> {
  const created = await app.inject({
    method: 'POST',
    url: '/api/ledger/changesets',
    headers: as('Agent-D'),
    payload: configChange(),
  });
  expect(created.statusCode).toBe(201);
  const id = created.json().id as string;
  const steps: [string, string, Record<string, unknown> | undefined][] = [
    ['Agent-D', 'submit', undefined],
    ['alice', 'approve', { decision: 'APPROVED' }],
    ['Agent-D', 'apply', { mode: 'ATOMIC' }],
  ];
  for (const [who, action, payload] of steps) {
    const response = await app.inject({
      method: 'POST',
      url: `/api/ledger/changesets/${id}/${action}`,
      headers: as(who),
      ...(payload ? { payload } : {}),
    });
    expect(response.statusCode, response.body).toBe(200);
  }
  return id;
}

describeEachBackend('event stream (SSE)', (backend) => {
  let f: Fixture;
  let feed: EventFeed;
  let app: LedgerApp;
  let url: string;
  const tokens: Record<string, string> = {};
  const as = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    feed = new EventFeed({ db: f.db, pollIntervalMs: 200 });
    await feed.start();
    app = await buildApp({ engine: f.engine, events: feed, eventsHeartbeatMs: 100 });
    url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/api/ledger/events`;
    for (const who of WHO) tokens[who] = (await f.engine.issueToken(null, who)).token;
    await feedCaughtUp(f.db, feed);
  });
  afterAll(async () => {
    await app.close();
    await feed.stop();
    await f.db.close();
  });

  it('streams live events in id order as id / event / data frames, with heartbeats', async () => {
    const client = await openSse(url, as('alice'));
    expect(client.status).toBe(200);
    const before = (await storedEvents(f.db)).at(-1)?.id ?? 0;
    await lifecycle(app, as);
    const expected = await storedEvents(f.db, before);
    await client.waitFor((events) => events.length >= expected.length);
    expect(idsAndTypes(client.events)).toEqual(expected);
    expect(client.events.map((e) => e.event)).toEqual(
      expect.arrayContaining(['changeset.created', 'changeset.submitted', 'changeset.approved', 'changeset.applied']),
    );
    for (const event of client.events) expect(event.data).toMatchObject({ id: event.id, type: event.event });
    await client.waitFor(() => client.comments.includes('heartbeat'));
    client.close();
  });

  it('resumes after Last-Event-ID with exactly the missed events, in order, then goes on live', async () => {
    const first = await openSse(url, as('alice'));
    const start = (await storedEvents(f.db)).at(-1)?.id ?? 0;
    await lifecycle(app, as);
    const seen = await storedEvents(f.db, start);
    await first.waitFor((events) => events.length >= seen.length);
    first.close();
    const lastSeen = first.events.at(-1)!.id;

    await lifecycle(app, as);
    const missed = await storedEvents(f.db, lastSeen);
    const resumed = await openSse(url, { ...as('alice'), 'last-event-id': String(lastSeen) });
    await resumed.waitFor((events) => events.length >= missed.length);
    const cs = await f.engine.create(f.p['Agent-A']!, uiButton());
    const live = (await storedEvents(f.db, missed.at(-1)!.id)).filter((e) => e.id > missed.at(-1)!.id);
    await resumed.waitFor((events) => events.length >= missed.length + live.length);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(idsAndTypes(resumed.events)).toEqual([...missed, ...live]);
    expect(resumed.events.at(-1)!.data).toMatchObject({ change_set: { id: cs.id } });
    resumed.close();

    // The query parameter works as the header does (for clients that cannot set headers).
    const byQuery = await openSse(`${url}?last_event_id=${lastSeen}`, as('alice'));
    await byQuery.waitFor((events) => events.length >= missed.length + live.length);
    expect(idsAndTypes(byQuery.events)).toEqual([...missed, ...live]);
    byQuery.close();
  });

  it('filters by event type and by change-set, given by uuid or human id', async () => {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    const other = await f.engine.create(f.p['Agent-D']!, configChange());
    await feedCaughtUp(f.db, feed);
    const byType = await openSse(`${url}?type=changeset.submitted,changeset.approved`, as('olga'));
    const byUuid = await openSse(`${url}?change_set=${cs.id}`, as('olga'));
    const byHumanId = await openSse(
      `${url}?change_set=${cs.change_set_id}&type=changeset.approved&last_event_id=0`,
      as('olga'),
    );
    for (const id of [cs.id, other.id]) {
      await f.engine.submit(f.p['Agent-D']!, id);
      await f.engine.decide(f.p['alice']!, id, { decision: 'APPROVED' });
    }
    const ofCs = (
      await f.db.query<{ id: number; type: string }>(
        'SELECT id, type FROM outbox_events WHERE change_set = $1 ORDER BY id',
        [cs.id],
      )
    ).rows;
    await byUuid.waitFor((events) => events.at(-1)?.id === ofCs.at(-1)!.id);
    expect(idsAndTypes(byUuid.events)).toEqual(ofCs.filter((e) => e.type !== 'changeset.created'));
    await byType.waitFor((events) => events.length >= 4);
    expect(byType.events.map((e) => [e.event, (e.data['change_set'] as { id: string }).id])).toEqual([
      ['changeset.submitted', cs.id],
      ['changeset.approved', cs.id],
      ['changeset.submitted', other.id],
      ['changeset.approved', other.id],
    ]);
    // Resumed from 0: the stored approval comes first, from the database.
    await byHumanId.waitFor((events) => events.length >= 1);
    expect(idsAndTypes(byHumanId.events)).toEqual(ofCs.filter((e) => e.type === 'changeset.approved'));
    for (const client of [byType, byUuid, byHumanId]) client.close();
  });

  it('refuses anonymous clients, unknown types and change-sets, and a malformed Last-Event-ID', async () => {
    const get = (query: string, headers: Record<string, string> = as('alice')) =>
      app.inject({ method: 'GET', url: `/api/ledger/events${query}`, headers });
    const anonymous = await get('', {});
    expect([anonymous.statusCode, anonymous.json().code]).toEqual([401, 'UNAUTHENTICATED']);
    const badType = await get('?type=changeset.created,changeset.exploded');
    expect([badType.statusCode, badType.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(badType.json().message).toMatch(/unknown event type changeset\.exploded/);
    const unknown = await get('?change_set=CS-nobody-knows');
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'NOT_FOUND']);
    const badId = await get('', { ...as('alice'), 'last-event-id': 'abc' });
    expect([badId.statusCode, badId.json().code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('unsubscribes from the feed when the client goes away', async () => {
    // The earlier tests' clients are gone too.
    await eventually(() => feed.subscriberCount === 0);
    const client = await openSse(url, as('alice'));
    await eventually(() => feed.subscriberCount === 1);
    client.close();
    await eventually(() => feed.subscriberCount === 0);
  });

  it('answers 503 UNAVAILABLE when the app has no event feed', async () => {
    const bare = await buildApp({ engine: f.engine });
    const response = await bare.inject({ method: 'GET', url: '/api/ledger/events', headers: as('alice') });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'UNAVAILABLE', message: 'event stream not enabled' });
    await bare.close();
  });

  it('ends open streams when the app closes, so shutting down is not held up', async () => {
    const own = await buildApp({ engine: f.engine, events: feed });
    const ownUrl = `${await own.listen({ port: 0, host: '127.0.0.1' })}/api/ledger/events`;
    const client = await openSse(ownUrl, as('alice'));
    const started = Date.now();
    await own.close();
    await client.ended;
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describePostgres('event stream across instances', (backend) => {
  let f: Fixture;
  let otherDb: Db;
  const feeds: EventFeed[] = [];
  const apps: LedgerApp[] = [];
  const urls: string[] = [];
  const tokens: Record<string, string> = {};
  const as = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    otherDb = await openSecondInstanceDb(f.db);
    // Instance A and instance B: each its own pool, engine, feed and HTTP server on one schema.
    for (const [db, engine] of [
      [f.db, f.engine],
      [otherDb, new Engine({ db: otherDb, config: DEFAULT_ENGINE_CONFIG })],
    ] as const) {
      const feed = new EventFeed({ db, pollIntervalMs: 60_000 });
      await feed.start();
      const app = await buildApp({ engine, events: feed });
      urls.push(`${await app.listen({ port: 0, host: '127.0.0.1' })}/api/ledger/events`);
      feeds.push(feed);
      apps.push(app);
    }
    for (const who of WHO) tokens[who] = (await f.engine.issueToken(null, who)).token;
    for (const feed of feeds) await feedCaughtUp(f.db, feed);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const feed of feeds) await feed.stop();
    await otherDb.close();
    await f.db.close();
  });

  it('shows a client of instance B, in order, the events caused through instance A, and resumes after a disconnect', async () => {
    const [a] = apps;
    const onB = await openSse(urls[1]!, as('olga'));
    const start = (await storedEvents(f.db)).at(-1)?.id ?? 0;
    await lifecycle(a!, as);
    await lifecycle(a!, as);
    const expected = await storedEvents(f.db, start);
    // The safety poll is a minute away: only NOTIFY can have woken B's feed.
    await onB.waitFor((events) => events.length >= expected.length);
    expect(idsAndTypes(onB.events)).toEqual(expected);
    onB.close();

    const lastSeen = onB.events.at(-1)!.id;
    await lifecycle(a!, as);
    const missed = await storedEvents(f.db, lastSeen);
    const resumed = await openSse(urls[1]!, { ...as('olga'), 'last-event-id': String(lastSeen) });
    await resumed.waitFor((events) => events.length >= missed.length);
    await lifecycle(a!, as);
    const all = await storedEvents(f.db, lastSeen);
    await resumed.waitFor((events) => events.length >= all.length);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(idsAndTypes(resumed.events)).toEqual(all);
    expect(new Set(resumed.events.map((e) => e.id)).size).toBe(resumed.events.length);
    resumed.close();
  });
});

// GET /api/ledger/changesets/{id}/wait: ends with the outcome (decided, applied, rolled back), at
// the timeout with the current state, at once when the outcome is already there; a client that
// goes away releases its waiter; on PostgreSQL a decision on one instance wakes a wait on another.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { EventFeed } from '../../src/notify/event-feed.js';
import { ChangeSetWaiters } from '../../src/notify/waiters.js';
import type { Db } from '../../src/store/db.js';
import { describeEachBackend, describePostgres, openSecondInstanceDb } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';
import { eventually } from '../helpers/sse.js';

const WHO = ['Agent-A', 'Agent-D', 'alice', 'root'];

interface Answer {
  for: string;
  ended_by: string;
  outcome: string | null;
  change_set: { id: string; change_set_id: string; status: string; version: number };
  event: { type: string; data: Record<string, unknown> } | null;
  reasons: { by: string; what: string; reason: string | null }[];
  next: { action: string; method: string | null; path: string | null; hint: string };
}

describeEachBackend('waiting for a change-set', (backend) => {
  let f: Fixture;
  let feed: EventFeed;
  let waiters: ChangeSetWaiters;
  let app: LedgerApp;
  let base: string;
  const tokens: Record<string, string> = {};
  const as = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

  /** Starts a wait over real HTTP (so that it can be abandoned); resolves with status and body. */
  const wait = (id: string, query: string, abort?: AbortController) =>
    fetch(`${base}/api/ledger/changesets/${id}/wait?${query}`, {
      // One connection per wait: an abandoned one then ends with its client.
      headers: { ...as('Agent-D'), connection: 'close' },
      ...(abort ? { signal: abort.signal } : {}),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as Answer }));

  const pending = async () => {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    return cs;
  };

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    feed = new EventFeed({ db: f.db, pollIntervalMs: 200 });
    await feed.start();
    waiters = new ChangeSetWaiters({ feed, read: (id) => f.engine.get(id) });
    app = await buildApp({ engine: f.engine, events: feed, waiters });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    for (const who of WHO) tokens[who] = (await f.engine.issueToken(null, who)).token;
  });
  afterAll(async () => {
    await app.close();
    await feed.stop();
    await f.db.close();
  });

  it('ends a wait for the decision with the approval, who gave it, and the next step', async () => {
    const cs = await pending();
    const answer = wait(cs.change_set_id, 'for=decision&timeout_s=120');
    await eventually(() => waiters.count === 1);
    await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED', reason: 'looks right' });
    const { status, body } = await answer;
    expect(status).toBe(200);
    expect(body).toMatchObject({ for: 'decision', ended_by: 'outcome', outcome: 'approved' });
    expect(body.change_set).toMatchObject({ id: cs.id, status: 'APPROVED' });
    expect(body.reasons).toContainEqual(
      expect.objectContaining({ by: 'alice', what: 'approved', reason: 'looks right' }),
    );
    expect(body.event?.type).toBe('changeset.approved');
    expect(body.next).toMatchObject({ action: 'apply', method: 'POST', path: `/api/ledger/changesets/${cs.id}/apply` });
    expect(waiters.count).toBe(0);
  });

  it('ends it with a rejection and its reason, and says to reopen', async () => {
    const cs = await pending();
    const answer = wait(cs.id, 'for=decision&timeout_s=120');
    await eventually(() => waiters.count === 1);
    await f.engine.decide(f.p['alice']!, cs.id, { decision: 'REJECTED', reason: 'wrong value' });
    const { body } = await answer;
    expect(body).toMatchObject({ ended_by: 'outcome', outcome: 'rejected', change_set: { status: 'REJECTED' } });
    expect(body.reasons).toContainEqual(
      expect.objectContaining({ by: 'alice', what: 'rejected', reason: 'wrong value' }),
    );
    expect(body.next).toMatchObject({ action: 'reopen', path: `/api/ledger/changesets/${cs.id}/reopen` });
  });

  it('ends a wait for the decision when the change-set is withdrawn', async () => {
    const cs = await pending();
    const answer = wait(cs.id, 'for=decision&timeout_s=120');
    await eventually(() => waiters.count === 1);
    await f.engine.withdraw(f.p['Agent-D']!, cs.id, { reason: 'not needed' });
    const { body } = await answer;
    expect(body).toMatchObject({ outcome: 'withdrawn', change_set: { status: 'DRAFT' }, next: { action: 'submit' } });
    expect(body.reasons).toContainEqual(
      expect.objectContaining({ by: 'Agent-D', what: 'withdrawn', reason: 'not needed' }),
    );
  });

  it('ends a wait for apply when the apply fails, and when it succeeds', async () => {
    const first = await f.engine.create(f.p['Agent-A']!, uiButton());
    const target = first.items[0]!.target_id;
    const clash = await f.engine.create(
      f.p['Agent-A']!,
      uiButton({
        items: [
          { operation_type: 'CREATE', target_type: 'UI_COMPONENT', target_id: target, after_state: { label: 'B' } },
        ],
      }),
    );
    expect(clash.status).toBe('APPROVED');
    await f.engine.apply(f.p['Agent-A']!, first.id);
    const failing = wait(clash.id, 'for=apply&timeout_s=120');
    await eventually(() => waiters.count === 1);
    // CREATE of a target that now exists: the atomic apply fails, the change-set stays APPROVED.
    await expect(f.engine.apply(f.p['Agent-A']!, clash.id)).rejects.toMatchObject({ code: 'APPLY_FAILED' });
    const { body } = await failing;
    expect(body).toMatchObject({ ended_by: 'outcome', outcome: 'apply_failed', change_set: { status: 'APPROVED' } });
    expect(body.reasons.at(-1)).toMatchObject({ by: 'Agent-A', what: 'apply_failed' });
    expect(body.reasons.at(-1)!.reason).toMatch(new RegExp(target.replace(/\./g, '\\.')));
    expect(body.next).toMatchObject({ action: 'apply' });

    const fresh = await f.engine.create(f.p['Agent-A']!, uiButton());
    const applying = wait(fresh.id, 'for=apply&timeout_s=120');
    await eventually(() => waiters.count === 1);
    await f.engine.apply(f.p['Agent-A']!, fresh.id);
    expect((await applying).body).toMatchObject({ outcome: 'applied', change_set: { status: 'APPLIED' } });
  });

  it('answers at the timeout with the current state, marked as a timeout', async () => {
    const cs = await pending();
    const { status, body } = await wait(cs.id, 'for=decision&timeout_s=0.3');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      ended_by: 'timeout',
      outcome: null,
      change_set: { id: cs.id, status: 'PENDING_APPROVAL' },
    });
    expect(body.next).toMatchObject({ action: 'wait', path: `/api/ledger/changesets/${cs.id}/wait?for=decision` });
    expect(waiters.count).toBe(0);
  });

  it('answers at once when the outcome is already there, explained by the latest event', async () => {
    const cs = await pending();
    await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' });
    await f.engine.apply(f.p['Agent-D']!, cs.id);
    // A five-minute timeout: the answer can only come from the state already reached.
    const decided = await wait(cs.change_set_id, 'for=decision&timeout_s=300');
    expect(decided.body).toMatchObject({ ended_by: 'outcome', outcome: 'approved', change_set: { status: 'APPLIED' } });
    expect(decided.body.reasons).toContainEqual(expect.objectContaining({ by: 'alice', what: 'approved' }));
    expect(decided.body.next.action).toBe('none');
    const applied = await wait(cs.id, 'for=apply&timeout_s=300');
    expect(applied.body).toMatchObject({ outcome: 'applied', event: { type: 'changeset.applied' } });
    await f.engine.rollback(f.p['Agent-D']!, cs.id, { reason: 'undo' });
    const rolledBack = await wait(cs.id, 'for=rollback&timeout_s=300');
    expect(rolledBack.body).toMatchObject({ outcome: 'rolled_back', next: { action: 'none' } });
    expect(rolledBack.body.reasons.at(-1)).toMatchObject({ by: 'Agent-D', what: 'rolled_back', reason: 'undo' });

    const draft = await f.engine.create(f.p['Agent-D']!, configChange());
    const notSubmitted = await wait(draft.id, 'timeout_s=300');
    expect(notSubmitted.body).toMatchObject({ for: 'decision', outcome: 'not_submitted', next: { action: 'submit' } });
    expect(waiters.count).toBe(0);
  });

  it('releases the waiter (and the feed subscription) when the client goes away', async () => {
    await eventually(() => waiters.count === 0);
    const before = feed.subscriberCount;
    const cs = await pending();
    const aborts = [new AbortController(), new AbortController()];
    const answers = aborts.map((abort) => wait(cs.id, 'for=decision&timeout_s=300', abort).catch((e: Error) => e));
    await eventually(() => waiters.count === 2);
    expect(feed.subscriberCount).toBe(before + 1);
    for (const abort of aborts) abort.abort();
    for (const answer of answers) expect(await answer).toBeInstanceOf(Error);
    await eventually(() => waiters.count === 0);
    expect(feed.subscriberCount).toBe(before);
  });

  it('refuses a bad for or timeout_s with the allowed values, an unknown change-set, and anonymous clients', async () => {
    const cs = await pending();
    const get = (url: string, headers: Record<string, string> = as('Agent-D')) =>
      app.inject({ method: 'GET', url: `/api/ledger/changesets/${url}`, headers });
    const bad = await get(`${cs.id}/wait?for=approval&timeout_s=301`);
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(bad.json().details).toEqual([
      {
        path: 'query.for',
        message: 'must be one of: decision, apply, rollback',
        allowed: ['decision', 'apply', 'rollback'],
      },
      { path: 'query.timeout_s', message: 'must be at most 300' },
    ]);
    const notNumber = await get(`${cs.id}/wait?timeout_s=soon`);
    expect([notNumber.statusCode, notNumber.json().details[0].path]).toEqual([400, 'query.timeout_s']);
    for (const unknown of ['CS-nobody-knows', '00000000-0000-4000-8000-000000000000']) {
      const missing = await get(`${unknown}/wait?timeout_s=1`);
      expect([missing.statusCode, missing.json().code]).toEqual([404, 'NOT_FOUND']);
    }
    const anonymous = await get(`${cs.id}/wait`, {});
    expect([anonymous.statusCode, anonymous.json().code]).toEqual([401, 'UNAUTHENTICATED']);
    expect(waiters.count).toBe(0);
  });

  it('answers 503 without an event feed, and ends open waits when the app closes', async () => {
    const bare = await buildApp({ engine: f.engine });
    const cs = await pending();
    const refused = await bare.inject({
      method: 'GET',
      url: `/api/ledger/changesets/${cs.id}/wait`,
      headers: as('alice'),
    });
    expect([refused.statusCode, refused.json().code]).toEqual([503, 'UNAVAILABLE']);
    await bare.close();

    const own = await buildApp({ engine: f.engine, events: feed });
    const ownBase = await own.listen({ port: 0, host: '127.0.0.1' });
    const subscribers = feed.subscriberCount;
    const answer = fetch(`${ownBase}/api/ledger/changesets/${cs.id}/wait?timeout_s=300`, { headers: as('Agent-D') });
    await eventually(() => feed.subscriberCount === subscribers + 1);
    await own.close();
    const response = await answer;
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ended_by: 'shutdown', outcome: null, next: { action: 'wait' } });
    expect(feed.subscriberCount).toBe(subscribers);
  });
});

describePostgres('waiting across instances', (backend) => {
  let f: Fixture;
  let otherDb: Db;
  const feeds: EventFeed[] = [];
  const apps: LedgerApp[] = [];
  let onB: string;
  let waitersB: ChangeSetWaiters;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    otherDb = await openSecondInstanceDb(f.db);
    const engineB = new Engine({ db: otherDb, config: DEFAULT_ENGINE_CONFIG });
    // Instance A (the fixture's engine) and instance B, each its own pool and feed, on one schema.
    for (const db of [f.db, otherDb]) {
      const feed = new EventFeed({ db, pollIntervalMs: 60_000 });
      await feed.start();
      feeds.push(feed);
    }
    waitersB = new ChangeSetWaiters({ feed: feeds[1]!, read: (id) => engineB.get(id) });
    const appB = await buildApp({ engine: engineB, events: feeds[1]!, waiters: waitersB });
    onB = await appB.listen({ port: 0, host: '127.0.0.1' });
    apps.push(appB);
    for (const who of WHO) tokens[who] = (await f.engine.issueToken(null, who)).token;
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const feed of feeds) await feed.stop();
    await otherDb.close();
    await f.db.close();
  });

  it('ends a wait on instance B when the change-set is approved through instance A', async () => {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    const answer = fetch(`${onB}/api/ledger/changesets/${cs.change_set_id}/wait?for=decision&timeout_s=120`, {
      headers: { authorization: `Bearer ${tokens['Agent-D']}` },
    }).then((response) => response.json() as Promise<Answer>);
    await eventually(() => waitersB.count === 1);
    await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' });
    // B's safety poll is a minute away and its timeout two: only NOTIFY can have woken it.
    const body = await answer;
    expect(body).toMatchObject({
      ended_by: 'outcome',
      outcome: 'approved',
      change_set: { id: cs.id, status: 'APPROVED' },
    });
    expect(waitersB.count).toBe(0);
  });
});

// The typed client (src/client) against a real server: the app on PGlite, listening on a port, and
// a real local HTTP server in front of it for the retries (503 + Retry-After once, then a proxy).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChangeSetBody,
  createLedgerClient,
  isRefusal,
  LedgerApiError,
  type LedgerClient,
} from '../../src/client/index.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { injectFetch } from '../../src/http/inject-fetch.js';
import { EventFeed } from '../../src/notify/event-feed.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';
import { flakyProxy } from '../helpers/flaky-proxy.js';

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};
/** A change-set needing one approval (alice's), typed as the client takes it. */
const proposal = (overrides: Record<string, unknown> = {}) => configChange(undefined, overrides) as ChangeSetBody;
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describeEachBackend('the typed client', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let feed: EventFeed;
  let url: string;
  const tokens: Record<string, string> = {};
  const as = (who: string, extra: Partial<Parameters<typeof createLedgerClient>[0]> = {}): LedgerClient =>
    createLedgerClient({ baseUrl: url, token: tokens[who], ...extra });

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    feed = new EventFeed({ db: f.db, pollIntervalMs: 200 });
    await feed.start();
    app = await buildApp({ engine: f.engine, events: feed });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    for (const id of ['Agent-D', 'alice', 'olga']) tokens[id] = (await f.engine.issueToken(null, id)).token;
  });
  afterAll(async () => {
    await app.close();
    await feed.stop();
    await f.db.close();
  });

  it('proposes, waits for the decision, decides with the content hash, applies and rolls back', async () => {
    const agent = as('Agent-D');
    const body = proposal();
    const target = body.items[0]?.target_id ?? '';
    const proposed = await agent.propose(body);
    expect(proposed).toMatchObject({ change_set_id: body.change_set_id, status: 'PENDING_APPROVAL' });

    // Nothing decided yet: a short wait ends by its timeout, with the state as it is.
    const early = await agent.waitFor(proposed.change_set_id, 'decision', 1_000);
    expect(early).toMatchObject({ ended_by: 'timeout', change_set: { status: 'PENDING_APPROVAL' } });

    const reviewer = as('alice');
    const awaiting = await reviewer.list({ approver: 'me' });
    expect(awaiting.data.map((cs) => cs.change_set_id)).toContain(proposed.change_set_id);
    const reviewed = await reviewer.get(proposed.change_set_id);
    const waiting = agent.waitFor(proposed.change_set_id, 'decision', 30_000);
    const decided = await reviewer.decide(proposed.change_set_id, {
      decision: 'APPROVED',
      reason: 'fine',
      content_hash: reviewed.content_hash,
    });
    expect(decided.status).toBe('APPROVED');
    expect(await waiting).toMatchObject({ ended_by: 'outcome', outcome: 'approved', next: { action: 'apply' } });
    const decision = (await f.engine.get(proposed.change_set_id)).approvals[0];
    expect(decision).toMatchObject({ approver_id: 'alice', content_hash: reviewed.content_hash });

    const operator = as('olga');
    const dry = await operator.apply(proposed.change_set_id, { mode: 'DRY_RUN' });
    expect(dry).toMatchObject({ mode: 'DRY_RUN', would_succeed: true });
    expect((await operator.get(proposed.change_set_id)).status).toBe('APPROVED');
    const plan = await operator.plan(proposed.change_set_id);
    expect(plan.would_succeed).toBe(true);

    const applied = await operator.apply(proposed.change_set_id, { mode: 'ATOMIC' });
    expect(applied).toMatchObject({ success: true, status: 'APPLIED', applied_items: 1 });
    expect(await operator.getResource('CONFIG', target)).toMatchObject({ version: 1, state: { value: 1 } });

    const rolledBack = await operator.rollback(proposed.change_set_id, { reason: 'changed my mind' });
    expect(rolledBack).toMatchObject({ success: true, rolled_back_items: 1 });
    expect((await operator.get(proposed.change_set_id)).status).toBe('ROLLED_BACK');
    expect(await operator.resourceHistory('CONFIG', target)).toMatchObject({ data: [{ version: 1 }, { version: 2 }] });
    expect(await operator.audit(proposed.change_set_id)).toMatchObject({
      data: ['create', 'submit', 'decision', 'transition', 'apply', 'rollback'].map((action) => ({ action })),
    });
  });

  it('refuses with a LedgerApiError carrying the code, status and details, and stores nothing', async () => {
    const agent = as('Agent-D');
    const created = await agent.create(proposal());
    await agent.submit(created.change_set_id);
    const own = await agent
      .decide(created.change_set_id, { decision: 'APPROVED', content_hash: created.content_hash })
      .catch((error: unknown) => error);
    expect(own).toBeInstanceOf(LedgerApiError);
    expect(own).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(isRefusal(own, 'FORBIDDEN')).toBe(true);
    expect((await f.engine.get(created.change_set_id)).approvals).toEqual([]);

    const invalid = await agent
      .create({ ...proposal(), items: [{ operation_type: 'CREATE', target_type: 'CONFIG', target_id: '' }] })
      .catch((error: unknown) => error);
    expect(invalid).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((invalid as LedgerApiError).details.length).toBeGreaterThan(0);
    expect((invalid as LedgerApiError).message).toMatch(/^VALIDATION_FAILED: .*\n {2}\S/);

    const anonymous = await createLedgerClient({ baseUrl: `${url}/api/ledger/` })
      .list()
      .catch((error: unknown) => error);
    expect(anonymous).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', tokenSent: false });
  });

  it('decides on stale content: 409 STALE_CONTENT, never retried', async () => {
    const agent = as('Agent-D');
    const created = await agent.create(proposal());
    const before = created.content_hash;
    await agent.edit(created.change_set_id, { title: 'Renamed before review' });
    await agent.submit(created.change_set_id);
    const proxy = await flakyProxy(url, []);
    try {
      const reviewer = createLedgerClient({ baseUrl: proxy.url, token: tokens['alice'] });
      const stale = await reviewer
        .decide(created.change_set_id, { decision: 'APPROVED', content_hash: before })
        .catch((error: unknown) => error);
      expect(stale).toMatchObject({ status: 409, code: 'STALE_CONTENT' });
      expect(proxy.seen.filter((s) => s.method === 'POST')).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('retries a 503 and a 429 after their Retry-After with the same Idempotency-Key, and acts once', async () => {
    const proxy = await flakyProxy(url, [
      { status: 503, code: 'OVERLOADED', retryAfter: '1' },
      { status: 429, code: 'RATE_LIMITED', retryAfter: '0' },
    ]);
    try {
      const waits: number[] = [];
      const client = createLedgerClient({
        baseUrl: proxy.url,
        token: tokens['Agent-D'],
        random: () => 0.5,
        sleep: (ms) => {
          waits.push(ms);
          return new Promise((resolve) => setTimeout(resolve, ms));
        },
      });
      const body = proposal();
      const created = await client.create(body);
      expect(created.change_set_id).toBe(body.change_set_id);
      // Retry-After: 1 with the jitter at its middle: 1.1 s, waited for real; then Retry-After: 0.
      expect(waits).toEqual([1100, 0]);
      expect(proxy.seen[1]!.at - proxy.seen[0]!.at).toBeGreaterThanOrEqual(1090);
      expect(proxy.seen.map((s) => s.method)).toEqual(['POST', 'POST', 'POST']);
      expect(proxy.seen[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Set(proxy.seen.map((s) => s.key)).size).toBe(1);
      expect((await f.engine.audit(created.change_set_id)).map((e) => e.action)).toEqual(['create']);

      // Another logical call: a new key.
      await client.submit(created.change_set_id);
      expect(proxy.seen[3]!.key).toMatch(/^[0-9a-f-]{36}$/);
      expect(proxy.seen[3]!.key).not.toBe(proxy.seen[0]!.key);
    } finally {
      await proxy.close();
    }
  });

  it('gives up after its attempts and answers with the last refusal', async () => {
    const busy = { status: 503, code: 'OVERLOADED', retryAfter: '0' };
    const proxy = await flakyProxy(url, [busy, busy, busy, busy]);
    try {
      const client = createLedgerClient({ baseUrl: proxy.url, token: tokens['olga'], retries: { attempts: 3 } });
      await expect(client.list()).rejects.toMatchObject({ status: 503, code: 'OVERLOADED' });
      expect(proxy.seen).toHaveLength(3);
    } finally {
      await proxy.close();
    }
  });

  it('waits again after a server shut down mid-wait, until the outcome', async () => {
    const agent = as('Agent-D');
    const proposed = await agent.propose(proposal());
    const current = await agent.get(proposed.change_set_id);
    // The first wait is answered as a server going away answers it; the next one reaches the server.
    const shutdown = { for: 'decision', ended_by: 'shutdown', outcome: null, waited_ms: 5, change_set: current };
    const proxy = await flakyProxy(url, [{ status: 200, json: { ...shutdown, event: null, reasons: [], next: {} } }]);
    try {
      const sleeps: number[] = [];
      const waiter = createLedgerClient({
        baseUrl: proxy.url,
        token: tokens['Agent-D'],
        sleep: async (ms) => {
          sleeps.push(ms);
        },
      });
      const waiting = waiter.waitFor(proposed.change_set_id, 'decision', 30_000);
      await expect.poll(() => proxy.seen.length, { timeout: 30_000 }).toBe(2);
      await as('alice').decide(proposed.change_set_id, { decision: 'REJECTED', content_hash: current.content_hash });
      expect(await waiting).toMatchObject({ ended_by: 'outcome', outcome: 'rejected' });
      expect(proxy.seen.map((s) => s.url.split('?')[0])).toEqual([
        `/api/ledger/changesets/${proposed.change_set_id}/wait`,
        `/api/ledger/changesets/${proposed.change_set_id}/wait`,
      ]);
      expect(sleeps).toEqual([1000]);
    } finally {
      await proxy.close();
    }
  });

  it('lets an in-process answer be dropped unread, as a retry drops a 503 or 429, without an uncaught error', async () => {
    const inProcess = injectFetch(app);
    const uncaught: unknown[] = [];
    const note = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', note);
    try {
      for (let i = 0; i < 5; i++) {
        // The API document: an answer long enough to arrive in several chunks.
        const answer = await inProcess(new Request('http://in-process/api/ledger/openapi.json'));
        expect(answer.status).toBe(200);
        await answer.body?.cancel();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(uncaught).toEqual([]);
      // Read to its end, an answer is whole.
      const whole = await inProcess(new Request('http://in-process/api/ledger/openapi.json'));
      expect(((await whole.json()) as { openapi: string }).openapi).toMatch(/^3\./);
    } finally {
      process.off('uncaughtException', note);
    }
  });

  it('calls the app in-process through injectFetch, the same as over HTTP', async () => {
    const client = createLedgerClient({
      baseUrl: 'http://in-process',
      token: tokens['Agent-D'],
      fetch: injectFetch(app),
    });
    const created = await client.propose(proposal());
    expect(created.status).toBe('PENDING_APPROVAL');
    expect((await client.me()).id).toBe('Agent-D');
    const refused = await client.get('CS-not-there').catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });
});

describe('the typed client without a server', () => {
  it('says it cannot reach an address nothing listens on, without retrying a refused connection', async () => {
    const server = createServer();
    const url = await listen(server);
    await close(server);
    await expect(createLedgerClient({ baseUrl: url, token: 't' }).list()).rejects.toThrow(
      new RegExp(`^cannot reach changeledger at ${url}: .*ECONNREFUSED`),
    );
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => createLedgerClient({ baseUrl: 'ftp://x' })).toThrow(/http:\/\/ or https:\/\//);
  });
});

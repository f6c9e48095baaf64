// A busy server is not a broken one. A request that waits out the pool answers 503 OVERLOADED with
// Retry-After (the database is up), counted in /metrics; an unreachable database still answers 503
// UNAVAILABLE. With admission control on, a request over the limit waits briefly in a queue, then
// is shed with OVERLOADED before it touches the database; either way a shed keyed POST can be sent
// again and acts exactly once.

import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ERROR_CATALOG } from '../../src/core/errors.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { EventFeed } from '../../src/notify/event-feed.js';
import { ChangeSetWaiters } from '../../src/notify/waiters.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrator.js';
import { openPgDb } from '../../src/store/pg-db.js';
import { describeEachBackend, describePostgres, TEST_DATABASE_URL } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';
import { openSse } from '../helpers/sse.js';

const overloadedCount = async (app: LedgerApp, stage: string): Promise<number> => {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const match = new RegExp(`^changeledger_overloaded_total\\{stage="${stage}"\\} (\\d+)`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
};

const changeSetsNamed = async (db: Db, id: string): Promise<number> =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM change_sets WHERE change_set_id = $1', [id])).rows[0]!
    .n;

const keysStored = async (db: Db, key: string): Promise<number> =>
  (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1', [key])).rows[0]!.n;

describePostgres('a pool with no free connection', () => {
  const schema = `test_${randomBytes(6).toString('hex')}`;
  let f: Fixture;
  let app: LedgerApp;
  let token: string;
  beforeAll(async () => {
    // One connection and a short wait for it, so that holding it is overload.
    const db = await openPgDb({ connectionString: TEST_DATABASE_URL!, schema, max: 1, connectTimeoutMs: 300 });
    await migrate(db);
    f = await makeFixture(db);
    token = (await f.engine.issueToken(null, 'Agent-D')).token;
    app = await buildApp({ engine: f.engine });
  });
  afterAll(async () => {
    await app?.close();
    await f?.db.close();
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL! });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  /** Holds the pool's only connection until the returned function is called. */
  async function holdThePool(): Promise<() => Promise<void>> {
    let release!: () => void;
    let held!: () => void;
    const holding = new Promise<void>((resolve) => {
      held = resolve;
    });
    const done = f.db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      held();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await holding;
    return async () => {
      release();
      await done;
    };
  }

  it('answers 503 OVERLOADED with Retry-After and a busy message, counts it, and the keyed POST retried acts once', async () => {
    const body = configChange();
    const key = `overload-${randomBytes(4).toString('hex')}`;
    const headers = { authorization: `Bearer ${token}`, 'idempotency-key': key };
    const before = await overloadedCount(app, 'pool');
    const release = await holdThePool();
    let shed: Awaited<ReturnType<LedgerApp['inject']>>;
    try {
      shed = await app.inject({ method: 'POST', url: '/api/ledger/changesets', headers, payload: body });
    } finally {
      await release();
    }
    expect(shed.statusCode).toBe(503);
    expect(shed.json()).toEqual({
      statusCode: 503,
      code: 'OVERLOADED',
      error: 'Service Unavailable',
      message: 'the server is busy (every database connection is in use): retry in 1 s',
      fix: ERROR_CATALOG.OVERLOADED.fix,
    });
    expect(shed.headers['retry-after']).toBe('1');
    expect(await overloadedCount(app, 'pool')).toBe(before + 1);
    // Readiness says the same: busy, not unreachable.
    const releaseAgain = await holdThePool();
    let ready: Awaited<ReturnType<LedgerApp['inject']>>;
    try {
      ready = await app.inject({ method: 'GET', url: '/readyz' });
    } finally {
      await releaseAgain();
    }
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'overloaded' });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({ status: 'ready' });
    // Shed means not done: nothing stored, the key free.
    expect(await changeSetsNamed(f.db, body.change_set_id)).toBe(0);
    expect(await keysStored(f.db, key)).toBe(0);
    const retried = await app.inject({ method: 'POST', url: '/api/ledger/changesets', headers, payload: body });
    expect(retried.statusCode).toBe(201);
    const again = await app.inject({ method: 'POST', url: '/api/ledger/changesets', headers, payload: body });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await changeSetsNamed(f.db, body.change_set_id)).toBe(1);
  });

  it('still answers 503 UNAVAILABLE, not OVERLOADED, when the database cannot be reached', async () => {
    // A port nothing listens on: every connection attempt is refused.
    const url = new URL(TEST_DATABASE_URL!);
    url.hostname = '127.0.0.1';
    url.port = '1';
    const down = await openPgDb({ connectionString: url.toString(), max: 1, connectTimeoutMs: 300 });
    const downApp = await buildApp({ engine: new Engine({ db: down, config: DEFAULT_ENGINE_CONFIG }) });
    try {
      const answer = await downApp.inject({
        method: 'GET',
        url: '/api/ledger/changesets',
        headers: { authorization: 'Bearer clg_whatever' },
      });
      expect(answer.statusCode).toBe(503);
      expect(answer.json()).toMatchObject({
        code: 'UNAVAILABLE',
        message: 'the database is unavailable, try again shortly',
      });
      expect(answer.headers['retry-after']).toBe('2');
      expect(await overloadedCount(downApp, 'pool')).toBe(0);
    } finally {
      await downApp.close();
      await down.close();
    }
  });
});

describeEachBackend('admission control', (backend) => {
  let f: Fixture;
  let token: string;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    token = (await f.engine.issueToken(null, 'Agent-D')).token;
  });
  afterAll(async () => {
    await f.db.close();
  });

  /**
   * A create whose body is sent half now and half when `finish` is called: the request holds its
   * admission slot all the while. `finish` resolves to the answer's status line.
   */
  async function slowCreate(
    base: string,
    id: string,
  ): Promise<{ finish(): Promise<string>; closed(): boolean; drop(): void }> {
    const { port } = new URL(base);
    const body = Buffer.from(JSON.stringify(configChange(undefined, { change_set_id: id })));
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let received = '';
    let closed = false;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
    });
    socket.once('close', () => {
      closed = true;
    });
    const answered = new Promise<string>((resolve) => socket.once('close', () => resolve(received.split('\r\n')[0]!)));
    socket.write(
      `POST /api/ledger/changesets HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${token}\r\n` +
        `content-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`,
    );
    socket.write(body.subarray(0, 10));
    return {
      closed: () => closed,
      // A test that failed midway drops it, or closing the app would wait for its body for ever.
      drop: () => socket.destroy(),
      finish() {
        // No half-close: Node's server drops a request whose client has ended its side.
        socket.write(body.subarray(10));
        return answered;
      },
    };
  }

  const post = (base: string, body: { change_set_id: string }, key: string) =>
    fetch(`${base}/api/ledger/changesets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });

  it('sheds a request over max_in_flight at once with 503 OVERLOADED, before it touches the database', async () => {
    const app = await buildApp({ engine: f.engine, admission: { maxInFlight: 1, waitMs: 0 } });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const holder = await slowCreate(base, `CS-HOLD-${randomBytes(3).toString('hex')}`);
      const body = configChange(undefined, { change_set_id: `CS-SHED-${randomBytes(3).toString('hex')}` });
      const id = body.change_set_id;
      const key = `shed-${randomBytes(4).toString('hex')}`;
      const shed = await post(base, body, key);
      expect(shed.status).toBe(503);
      expect(shed.headers.get('retry-after')).toBe('1');
      expect(await shed.json()).toMatchObject({
        code: 'OVERLOADED',
        message: expect.stringMatching(/^the server is busy/),
      });
      // The event stream and the probes are not counted.
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect(await changeSetsNamed(f.db, id)).toBe(0);
      expect(await keysStored(f.db, key)).toBe(0);
      expect(await overloadedCount(app, 'admission')).toBe(1);
      expect(await holder.finish()).toBe('HTTP/1.1 201 Created');
      // The slot is free again: the same request, sent again, is done once.
      expect((await post(base, body, key)).status).toBe(201);
      expect((await post(base, body, key)).headers.get('idempotent-replayed')).toBe('true');
      expect(await changeSetsNamed(f.db, id)).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('lets a request over max_in_flight wait up to admission_wait_ms for a slot', async () => {
    const app = await buildApp({ engine: f.engine, admission: { maxInFlight: 1, waitMs: 60_000 } });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const holder = await slowCreate(base, `CS-HOLD-${randomBytes(3).toString('hex')}`);
      const body = configChange(undefined, { change_set_id: `CS-WAIT-${randomBytes(3).toString('hex')}` });
      let settled = false;
      const waiting = post(base, body, `wait-${randomBytes(4).toString('hex')}`).finally(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);
      expect(await holder.finish()).toBe('HTTP/1.1 201 Created');
      expect((await waiting).status).toBe(201);
      expect(await overloadedCount(app, 'admission')).toBe(0);
    } finally {
      await app.close();
    }
  });

  /**
   * With admission at one request and no wait: a create holding the one slot, established for sure
   * (a read answers OVERLOADED), whatever order a busy machine parses the two requests in. A holder
   * that lost the race (shed itself) is replaced.
   */
  async function holdTheSlot(base: string) {
    for (;;) {
      const holder = await slowCreate(base, `CS-HOLD-${randomBytes(3).toString('hex')}`);
      while (!holder.closed()) {
        const probe = await fetch(`${base}/api/ledger/me`, { headers: { authorization: `Bearer ${token}` } });
        await probe.body?.cancel();
        if (probe.status === 503) return holder;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  it('does not count the wait and the event stream: they answer while every slot is taken', async () => {
    const feed = new EventFeed({ db: f.db, pollIntervalMs: 200 });
    await feed.start();
    const waiters = new ChangeSetWaiters({ feed, read: (id) => f.engine.get(id) });
    const app = await buildApp({ engine: f.engine, events: feed, waiters, admission: { maxInFlight: 1, waitMs: 0 } });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const headers = { authorization: `Bearer ${token}` };
    let holder: Awaited<ReturnType<typeof holdTheSlot>> | undefined;
    try {
      const cs = await f.engine.submit(f.p['Agent-D']!, (await f.engine.create(f.p['Agent-D']!, configChange())).id);
      holder = await holdTheSlot(base);
      const shedBefore = await overloadedCount(app, 'admission');
      const wait = await fetch(`${base}/api/ledger/changesets/${cs.change_set_id}/wait?for=decision&timeout_s=1`, {
        headers,
      });
      expect(wait.status).toBe(200);
      expect(await wait.json()).toMatchObject({ ended_by: 'timeout' });
      const events = await openSse(`${base}/api/ledger/events`, headers);
      expect(events.status).toBe(200);
      events.close();
      // Nothing shed for them, while an ordinary read still is.
      expect(await overloadedCount(app, 'admission')).toBe(shedBefore);
      expect((await fetch(`${base}/api/ledger/changesets/${cs.change_set_id}`, { headers })).status).toBe(503);
      expect(await holder.finish()).toBe('HTTP/1.1 201 Created');
    } finally {
      holder?.drop();
      await app.close();
      await feed.stop();
    }
  });

  it('answers an MCP tool call shed under load as a retryable OVERLOADED tool error that did nothing; its client retries first', async () => {
    const app = await buildApp({ engine: f.engine, admission: { maxInFlight: 1, waitMs: 0 } });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const agent = new Client({ name: 'overload-agent', version: '1.0.0' });
    await agent.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', base), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    let holder: Awaited<ReturnType<typeof holdTheSlot>> | undefined;
    try {
      // Held all along: the tool's own calls are shed at every attempt, then the agent is told.
      holder = await holdTheSlot(base);
      const body = configChange(undefined, { change_set_id: `CS-MCP-${randomBytes(3).toString('hex')}` });
      const shedBefore = await overloadedCount(app, 'admission');
      const refused = await agent.callTool({ name: 'propose_change_set', arguments: body });
      expect(refused.isError).toBe(true);
      expect(refused.structuredContent).toMatchObject({
        code: 'OVERLOADED',
        message: expect.stringMatching(/^the server is busy/),
        retryable: true,
        retry_after_s: 1,
      });
      const text = refused.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
      expect(text).toMatch(/^OVERLOADED: the server is busy/);
      expect(text).toMatch(/retryable: nothing was done; make the same call again in 1 s/);
      expect(text.match(/fix: /g)).toHaveLength(1);
      // The in-process client sent it again after each Retry-After (5 attempts), and nothing was stored.
      expect(await overloadedCount(app, 'admission')).toBe(shedBefore + 5);
      expect(await changeSetsNamed(f.db, body.change_set_id)).toBe(0);
      expect(await holder.finish()).toBe('HTTP/1.1 201 Created');

      // Freed while the client waits to retry: the same call succeeds, once.
      holder = await holdTheSlot(base);
      const shedAgain = await overloadedCount(app, 'admission');
      const proposing = agent.callTool({ name: 'propose_change_set', arguments: body });
      await expect.poll(() => overloadedCount(app, 'admission'), { timeout: 30_000 }).toBeGreaterThan(shedAgain);
      expect(await holder.finish()).toBe('HTTP/1.1 201 Created');
      const proposed = await proposing;
      expect(proposed.isError, JSON.stringify(proposed.content)).toBeFalsy();
      expect(proposed.structuredContent).toMatchObject({ change_set_id: body.change_set_id });
      expect(await changeSetsNamed(f.db, body.change_set_id)).toBe(1);
      expect((await f.engine.audit(body.change_set_id)).map((e) => e.action)).toEqual(['create']);
    } finally {
      holder?.drop();
      await agent.close();
      await app.close();
    }
  });
});

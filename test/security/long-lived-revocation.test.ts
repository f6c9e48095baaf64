// Issue 19 item 4, on the long-lived responses that came after the event stream: the resource watch
// (SSE), the wait long-poll (GET /changesets/{id}/wait, up to 300 s) and the MCP server's requests
// (a `subscriptions/listen` stream, a wait_for_decision call in progress). The attack: open one,
// have the token revoked or the principal deactivated, and keep it open, or collect the change-set's
// state when it ends. The wait went on to its timeout and answered 200 with the change-set; an MCP
// listen stream stayed open. Now every one of them is on the app's credential watch
// (src/http/stream-credentials.ts): it ends within auth.token_cache_ms of the revocation, on every
// instance; a wait ends with 401 UNAUTHENTICATED instead of the state. Replayed across two app
// instances sharing one database: the response is open on instance A, the revocation goes
// through instance B's API.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../../src/engine/engine-config.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { EventFeed } from '../../src/notify/event-feed.js';
import type { Db } from '../../src/store/db.js';
import { describeEachBackend, openSecondInstanceDb } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';
import { openSse } from '../helpers/sse.js';

const TOKEN_CACHE_MS = 300;
const CONFIG: EngineConfig = {
  ...DEFAULT_ENGINE_CONFIG,
  auth: { ...DEFAULT_ENGINE_CONFIG.auth, token_cache_ms: TOKEN_CACHE_MS },
};
/** Far longer than the check period, far shorter than anything these responses would wait on their own. */
const ENDS_WITHIN_MS = TOKEN_CACHE_MS * 2 + 4_000;

/** 'ended' when `done` settles within `ms`, 'open' when it is still pending then. */
const settlesWithin = (done: Promise<unknown>, ms: number): Promise<'ended' | 'open'> =>
  Promise.race([
    done.then(
      () => 'ended' as const,
      () => 'ended' as const,
    ),
    new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), ms)),
  ]);

describeEachBackend('long-lived responses end with their credentials (issue 19 item 4)', (backend) => {
  let f: Fixture;
  let otherDb: Db;
  const apps: LedgerApp[] = [];
  const feeds: EventFeed[] = [];
  let urlA: string;

  beforeAll(async () => {
    f = await makeFixture(await backend.open(), CONFIG);
    if (backend.name === 'postgres') {
      otherDb = await openSecondInstanceDb(f.db);
    } else {
      otherDb = f.db;
    }
    for (const engine of [f.engine, new Engine({ db: otherDb, config: CONFIG })]) {
      const feed = new EventFeed({ db: engine.db, pollIntervalMs: 200 });
      await feed.start();
      feeds.push(feed);
      apps.push(await buildApp({ engine, events: feed, eventsHeartbeatMs: 100 }));
    }
    urlA = await apps[0]!.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const feed of feeds) await feed.stop();
    if (otherDb !== f.db) await otherDb.close();
    await f.db.close();
  });

  /** A fresh token of `who`, and its revocation through instance B's API. */
  async function tokenOf(who: string) {
    const issued = await f.engine.issueToken(null, who);
    const root = (await f.engine.issueToken(null, 'root')).token;
    return {
      token: issued.token,
      revokeOnB: async () => {
        const response = await apps[1]!.inject({
          method: 'DELETE',
          url: `/api/ledger/tokens/${issued.token_id}`,
          headers: { authorization: `Bearer ${root}` },
        });
        expect(response.statusCode, response.body).toBe(200);
      },
      deactivateOnB: async () => {
        const response = await apps[1]!.inject({
          method: 'PATCH',
          url: `/api/ledger/principals/${who}`,
          headers: { authorization: `Bearer ${root}` },
          payload: { active: false },
        });
        expect(response.statusCode, response.body).toBe(200);
      },
    };
  }

  async function pending(): Promise<string> {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    return (await f.engine.submit(f.p['Agent-D']!, cs.id)).id;
  }

  it('ends a resource watch on instance A once its token is revoked on instance B', async () => {
    const { token, revokeOnB } = await tokenOf('alice');
    const watch = await openSse(`${urlA}/api/ledger/resources/watch`, { authorization: `Bearer ${token}` });
    expect(watch.status).toBe(200);
    await watch.waitFor((events) => events.some((e) => e.event === 'ready'));
    expect(await settlesWithin(watch.ended, TOKEN_CACHE_MS * 3)).toBe('open');
    await revokeOnB();
    expect(await settlesWithin(watch.ended, ENDS_WITHIN_MS)).toBe('ended');
    expect(watch.comments).toContain('the token was revoked or its principal deactivated');
  });

  it('ends a wait on instance A with 401, not the change-set, once its token is revoked on instance B', async () => {
    const id = await pending();
    const { token, revokeOnB } = await tokenOf('olga');
    const waiting = fetch(`${urlA}/api/ledger/changesets/${id}/wait?timeout_s=120`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await settlesWithin(waiting, TOKEN_CACHE_MS * 3)).toBe('open');
    await revokeOnB();
    expect(await settlesWithin(waiting, ENDS_WITHIN_MS)).toBe('ended');
    const response = await waiting;
    const body = (await response.json()) as { code: string; message: string };
    expect(response.status).toBe(401);
    expect(body).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(body.message).toMatch(/revoked or its principal deactivated while waiting/);
    expect(JSON.stringify(body)).not.toContain(id);
  });

  it('ends a wait on instance A once its principal is deactivated on instance B', async () => {
    const id = await pending();
    const { token, deactivateOnB } = await tokenOf('sam');
    const waiting = fetch(`${urlA}/api/ledger/changesets/${id}/wait?timeout_s=120&for=apply`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await settlesWithin(waiting, TOKEN_CACHE_MS * 3)).toBe('open');
    await deactivateOnB();
    expect(await settlesWithin(waiting, ENDS_WITHIN_MS)).toBe('ended');
    expect((await waiting).status).toBe(401);
  });

  async function mcpClient(token: string): Promise<Client> {
    const client = new Client(
      { name: 'revoked-agent', version: '1.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    await client.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', urlA), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    return client;
  }

  it('ends an MCP listen stream on instance A once its token is revoked on instance B', async () => {
    const { token, revokeOnB } = await tokenOf('Agent-C');
    const client = await mcpClient(token);
    const subscription = await client.listen({ toolsListChanged: true });
    expect(await settlesWithin(subscription.closed, TOKEN_CACHE_MS * 3)).toBe('open');
    await revokeOnB();
    expect(await settlesWithin(subscription.closed, ENDS_WITHIN_MS)).toBe('ended');
    expect(await subscription.closed).not.toBe('local');
    await client.close();
  });

  it("ends an MCP wait_for_decision in progress on instance A without the change-set's state", async () => {
    const id = await pending();
    const { token, revokeOnB } = await tokenOf('Agent-B');
    const client = await mcpClient(token);
    const call = client.callTool({ name: 'wait_for_decision', arguments: { id, timeout_s: 120 } });
    expect(await settlesWithin(call, TOKEN_CACHE_MS * 3)).toBe('open');
    await revokeOnB();
    expect(await settlesWithin(call, ENDS_WITHIN_MS)).toBe('ended');
    const outcome = await call.then(
      (result) => result,
      (error: unknown) => ({ isError: true, thrown: String(error) }),
    );
    expect(outcome.isError).toBe(true);
    expect(JSON.stringify(outcome)).not.toContain('"change_set"');
    await client.close().catch(() => {});
  });
});

// Issue 19 item 4: an open event stream outlived its token. `GET /events` kept streaming after the
// token was revoked or the principal deactivated. Now every instance checks the tokens of its open
// streams again every auth.token_cache_ms (one query for all of them) and ends those that no longer
// authenticate. Replayed here across two app instances sharing one database: the stream is open on
// instance A, the revocation goes through instance B's API.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../../src/engine/engine-config.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { EventFeed } from '../../src/notify/event-feed.js';
import type { Db } from '../../src/store/db.js';
import { describeEachBackend, openSecondInstanceDb } from '../helpers/backends.js';
import { type Fixture, makeFixture } from '../helpers/fixture.js';
import { openSse, type SseClient } from '../helpers/sse.js';

const TOKEN_CACHE_MS = 300;
const CONFIG: EngineConfig = {
  ...DEFAULT_ENGINE_CONFIG,
  auth: { ...DEFAULT_ENGINE_CONFIG.auth, token_cache_ms: TOKEN_CACHE_MS },
};

/** Resolves true when the stream ends within `ms`, false when it is still open then. */
const endsWithin = (client: SseClient, ms: number): Promise<boolean> =>
  Promise.race([
    client.ended.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms)),
  ]);

describeEachBackend('stream revocation (issue 19: streams end with their credentials)', (backend) => {
  let f: Fixture;
  let otherDb: Db;
  const apps: LedgerApp[] = [];
  const feeds: EventFeed[] = [];
  let streamUrl: string;
  const tokens: Record<string, { token: string; token_id: string }> = {};
  const bearer = (who: string) => ({ authorization: `Bearer ${tokens[who]!.token}` });

  beforeAll(async () => {
    f = await makeFixture(await backend.open(), CONFIG);
    // Instance B: an engine (and token cache) of its own; on PostgreSQL a pool of its own too.
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
    streamUrl = `${await apps[0]!.listen({ port: 0, host: '127.0.0.1' })}/api/ledger/events`;
    for (const who of ['alice', 'bob', 'olga', 'root']) tokens[who] = await f.engine.issueToken(null, who);
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const feed of feeds) await feed.stop();
    if (otherDb !== f.db) await otherDb.close();
    await f.db.close();
  });

  /** Through instance B's HTTP API, as root. */
  const onB = (method: 'DELETE' | 'PATCH', url: string, payload?: Record<string, unknown>) =>
    apps[1]!.inject({ method, url: `/api/ledger${url}`, headers: bearer('root'), ...(payload ? { payload } : {}) });

  it('ends a stream on instance A within the token-cache period once its token is revoked on instance B', async () => {
    const olga = await openSse(streamUrl, bearer('olga'));
    const alice = await openSse(streamUrl, bearer('alice'));
    expect([olga.status, alice.status]).toEqual([200, 200]);
    // Valid tokens are checked again and again, and kept.
    expect(await endsWithin(olga, TOKEN_CACHE_MS * 3)).toBe(false);
    await olga.waitFor(() => olga.comments.includes('heartbeat'));

    const revoked = await onB('DELETE', `/tokens/${tokens['olga']!.token_id}`);
    expect(revoked.statusCode, revoked.body).toBe(200);
    const started = Date.now();
    expect(await endsWithin(olga, TOKEN_CACHE_MS * 2 + 1_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(TOKEN_CACHE_MS * 2 + 1_000);
    expect(olga.comments).toContain('the token was revoked or its principal deactivated');
    // Another principal's stream goes on; the revoked token opens no new one.
    expect(await endsWithin(alice, TOKEN_CACHE_MS * 2)).toBe(false);
    const again = await apps[0]!.inject({ method: 'GET', url: '/api/ledger/events', headers: bearer('olga') });
    expect([again.statusCode, again.json().code]).toEqual([401, 'UNAUTHENTICATED']);
    alice.close();
  });

  it('ends a stream on instance A once its principal is deactivated on instance B', async () => {
    const bob = await openSse(streamUrl, bearer('bob'));
    expect(bob.status).toBe(200);
    expect(await endsWithin(bob, TOKEN_CACHE_MS * 2)).toBe(false);
    const deactivated = await onB('PATCH', '/principals/bob', { active: false });
    expect(deactivated.statusCode, deactivated.body).toBe(200);
    expect(await endsWithin(bob, TOKEN_CACHE_MS * 2 + 1_000)).toBe(true);
  });

  it('ends a stream at once when the revocation goes through its own instance', async () => {
    // A token-cache period of a minute: only the Engine telling the stream watch can end it in time.
    const slow = new Engine({ db: f.db, config: { ...CONFIG, auth: { ...CONFIG.auth, token_cache_ms: 60_000 } } });
    const app = await buildApp({ engine: slow, events: feeds[0]! });
    const url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/api/ledger/events`;
    const fresh = await f.engine.issueToken(null, 'alice');
    const client = await openSse(url, { authorization: `Bearer ${fresh.token}` });
    expect(client.status).toBe(200);
    const revoked = await app.inject({
      method: 'DELETE',
      url: `/api/ledger/tokens/${fresh.token_id}`,
      headers: bearer('root'),
    });
    expect(revoked.statusCode).toBe(200);
    expect(await endsWithin(client, 5_000)).toBe(true);
    await app.close();
  });
});

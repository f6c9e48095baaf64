// Write requests are limited per principal (token bucket); reads are not, and other principals are unaffected.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';

describeEachBackend('write rate limits', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let now = 1_000_000;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    for (const id of ['Agent-D', 'alice']) tokens[id] = (await f.engine.issueToken(null, id)).token;
    app = await buildApp({ engine: f.engine, rateLimit: { perMinute: 60, burst: 3, now: () => now } });
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });
  const as = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });
  const post = (who: string) =>
    app.inject({ method: 'POST', url: '/api/ledger/changesets', headers: as(who), payload: configChange() });
  const created = async () =>
    (await f.db.query<{ n: number }>("SELECT count(*)::int AS n FROM change_sets WHERE created_by = 'Agent-D'"))
      .rows[0]!.n;

  it('answers 429 with Retry-After past the burst, stores nothing, refills with time, and spares reads and others', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post('Agent-D')).statusCode);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const limited = await post('Agent-D');
    expect(limited.json()).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED', error: 'Too Many Requests' });
    expect(limited.headers['retry-after']).toBe('1');
    expect(await created()).toBe(3);
    expect((await post('alice')).statusCode).toBe(201);
    expect(
      (await app.inject({ method: 'GET', url: '/api/ledger/changesets', headers: as('Agent-D') })).statusCode,
    ).toBe(200);
    now += 1_000; // one request a second refills
    expect((await post('Agent-D')).statusCode).toBe(201);
    expect((await post('Agent-D')).statusCode).toBe(429);
    expect(await created()).toBe(4);
  });
});

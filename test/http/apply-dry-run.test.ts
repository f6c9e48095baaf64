// DRY_RUN through the apply route answers the plan, as GET …/plan does, and writes nothing;
// Engine.apply itself never answers a plan (Engine.plan does).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';

describeEachBackend('HTTP apply DRY_RUN', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let token = '';
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    token = (await f.engine.issueToken(null, 'olga')).token;
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  it('answers the plan, the same as GET …/plan, and leaves the change-set as it was', async () => {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    const headers = { authorization: `Bearer ${token}` };
    const url = `/api/ledger/changesets/${cs.id}`;
    const dry = await app.inject({ method: 'POST', url: `${url}/apply`, headers, payload: { mode: 'DRY_RUN' } });
    const plan = await app.inject({ method: 'GET', url: `${url}/plan`, headers });
    expect(dry.statusCode).toBe(200);
    expect(dry.json()).toEqual(plan.json());
    expect(dry.json()).toMatchObject({ id: cs.id, status: 'DRAFT', mode: 'DRY_RUN', would_succeed: true });
    expect(await f.engine.get(cs.id)).toMatchObject({ status: 'DRAFT', version: cs.version });
  });
});

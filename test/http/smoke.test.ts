import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';

describeEachBackend('http smoke', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    for (const id of ['Agent-D', 'alice', 'olga']) tokens[id] = (await f.engine.issueToken(null, id)).token;
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });
  const as = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

  it('drives a change-set through its life over HTTP', async () => {
    const body = configChange();
    const created = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: as('Agent-D'),
      payload: body,
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers.etag).toBe('"1"');
    const id = created.json().id;
    expect(
      (await app.inject({ method: 'POST', url: `/api/ledger/changesets/${id}/submit`, headers: as('Agent-D') })).json()
        .status,
    ).toBe('PENDING_APPROVAL');
    const approve = await app.inject({
      method: 'POST',
      url: `/api/ledger/changesets/${body.change_set_id}/approve`,
      headers: as('alice'),
      payload: { decision: 'APPROVED' },
    });
    expect(approve.json().status).toBe('APPROVED');
    const apply = await app.inject({
      method: 'POST',
      url: `/api/ledger/changesets/${id}/apply`,
      headers: as('olga'),
      payload: { mode: 'ATOMIC' },
    });
    expect(apply.json()).toMatchObject({ success: true, status: 'APPLIED' });
    const list = await app.inject({
      method: 'GET',
      url: '/api/ledger/changesets?status=APPLIED&limit=5',
      headers: as('olga'),
    });
    expect(list.json().data.map((c: { id: string }) => c.id)).toContain(id);
    const verify = await app.inject({ method: 'GET', url: '/api/ledger/audit/verify', headers: as('olga') });
    expect(verify.json().ok).toBe(true);
  });

  it('answers refusals in the error shape', async () => {
    const anon = await app.inject({ method: 'GET', url: '/api/ledger/changesets' });
    expect(anon.statusCode).toBe(401);
    expect(anon.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED', error: 'Unauthorized' });
    const bad = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: { ...as('alice'), 'content-type': 'application/json' },
      payload: '{"title": ',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('VALIDATION_FAILED');
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: as('alice'),
      payload: { title: 5, extra: true },
    });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().details).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'extra', message: 'unknown field' })]),
    );
    const openapi = await app.inject({ method: 'GET', url: '/api/ledger/openapi.json' });
    expect(openapi.json().openapi).toBe('3.1.0');
  });
});

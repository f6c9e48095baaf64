// Idempotency keys, cursor pagination and filters, ETag / If-Match, health, readiness and metrics.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton, uniqueId } from '../helpers/fixture.js';

describeEachBackend('HTTP API features', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    for (const id of ['Agent-A', 'Agent-D', 'alice', 'bob', 'olga', 'root'])
      tokens[id] = (await f.engine.issueToken(null, id)).token;
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });
  const as = (who: string, extra: Record<string, string> = {}) => ({
    authorization: `Bearer ${tokens[who]}`,
    ...extra,
  });
  const count = async (table: string) =>
    (await f.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

  it('replays a POST repeated with the same Idempotency-Key and refuses the key with another body', async () => {
    const body = configChange();
    const headers = as('Agent-D', { 'idempotency-key': `key-${uniqueId()}` });
    const first = await app.inject({ method: 'POST', url: '/api/ledger/changesets', headers, payload: body });
    const again = await app.inject({ method: 'POST', url: '/api/ledger/changesets', headers, payload: body });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    const { rows } = await f.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM change_sets WHERE change_set_id = $1',
      [body.change_set_id],
    );
    expect(rows[0]!.n).toBe(1);
    const other = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers,
      payload: { ...body, title: 'Different' },
    });
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('keeps keys per principal and releases the key of a refused request', async () => {
    const key = `shared-${uniqueId()}`;
    const refused = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: as('alice', { 'idempotency-key': key }),
      payload: { title: '' },
    });
    expect(refused.statusCode).toBe(400);
    const { rows } = await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1', [
      key,
    ]);
    expect(rows[0]!.n).toBe(0);
    const a = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: as('alice', { 'idempotency-key': key }),
      payload: configChange(),
    });
    const b = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: as('bob', { 'idempotency-key': key }),
      payload: configChange(),
    });
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().id).not.toBe(b.json().id);
  });

  it('pages through the list newest first with cursors and filters', async () => {
    const tag = uniqueId('tag');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      f.clock.advance(1000);
      const res = await app.inject({
        method: 'POST',
        url: '/api/ledger/changesets',
        headers: as('Agent-D'),
        payload: configChange(undefined, { tags: [tag], title: `Paged ${i}` }),
      });
      ids.push(res.json().id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url = `/api/ledger/changesets?tag=${tag}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await app.inject({ method: 'GET', url, headers: as('bob') });
      expect(res.statusCode).toBe(200);
      const page: { data: { id: string }[]; next_cursor: string | null } = res.json();
      seen.push(...page.data.map((c) => c.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const search = await app.inject({
      method: 'GET',
      url: `/api/ledger/changesets?tag=${tag}&q=paged%203`,
      headers: as('bob'),
    });
    expect(search.json().data.map((c: { title: string }) => c.title)).toEqual(['Paged 3']);
    const bad = await app.inject({ method: 'GET', url: '/api/ledger/changesets?cursor=nonsense', headers: as('bob') });
    expect(bad.statusCode).toBe(400);
    const badStatus = await app.inject({
      method: 'GET',
      url: '/api/ledger/changesets?status=DONE',
      headers: as('bob'),
    });
    expect(badStatus.statusCode).toBe(400);
    expect(badStatus.json().message).toMatch(/unknown status DONE/);
  });

  it('lists what I can decide now with approver=me', async () => {
    const mine = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: as('Agent-D'),
      payload: configChange(),
    });
    const id = mine.json().id;
    const queue = async (who: string) =>
      (await app.inject({ method: 'GET', url: '/api/ledger/changesets?approver=me&limit=200', headers: as(who) }))
        .json()
        .data.map((c: { id: string }) => c.id);
    expect(await queue('alice')).not.toContain(id); // still a draft
    await app.inject({ method: 'POST', url: `/api/ledger/changesets/${id}/submit`, headers: as('Agent-D') });
    expect(await queue('alice')).toContain(id); // via approval_chain
    expect(await queue('root')).toContain(id); // group admin
    expect(await queue('bob')).not.toContain(id); // not eligible
    expect(await queue('Agent-D')).not.toContain(id); // its creator
    await app.inject({
      method: 'POST',
      url: `/api/ledger/changesets/${id}/approve`,
      headers: as('alice'),
      payload: { decision: 'APPROVED' },
    });
    expect(await queue('alice')).not.toContain(id); // decided
  });

  it('returns an ETag and honours If-Match on PATCH with 412', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: as('Agent-D'),
      payload: configChange(),
    });
    const id = created.json().id;
    const got = await app.inject({ method: 'GET', url: `/api/ledger/changesets/${id}`, headers: as('bob') });
    expect(got.headers.etag).toBe('"1"');
    const notModified = await app.inject({
      method: 'GET',
      url: `/api/ledger/changesets/${id}`,
      headers: as('bob', { 'if-none-match': '"1"' }),
    });
    expect(notModified.statusCode).toBe(304);
    const edited = await app.inject({
      method: 'PATCH',
      url: `/api/ledger/changesets/${id}`,
      headers: as('Agent-D', { 'if-match': '"1"' }),
      payload: { title: 'Retitled' },
    });
    expect(edited.statusCode).toBe(200);
    expect(edited.headers.etag).toBe('"2"');
    const stale = await app.inject({
      method: 'PATCH',
      url: `/api/ledger/changesets/${id}`,
      headers: as('Agent-D', { 'if-match': '"1"' }),
      payload: { title: 'Lost update' },
    });
    expect(stale.statusCode).toBe(412);
    expect(stale.json().code).toBe('PRECONDITION_FAILED');
    expect((await f.engine.get(id)).title).toBe('Retitled');
  });

  it('answers health, readiness and metrics', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    const cs = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: as('Agent-A'),
      payload: uiButton(),
    });
    await app.inject({
      method: 'POST',
      url: `/api/ledger/changesets/${cs.json().id}/apply`,
      headers: as('Agent-A'),
      payload: {},
    });
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(
      /changeledger_http_requests_total\{method="POST",route="\/api\/ledger\/changesets",status="201"\} \d+/,
    );
    expect(metrics).toMatch(/changeledger_http_request_duration_seconds_bucket/);
    expect(metrics).toMatch(/changeledger_changesets\{status="APPLIED"\} [1-9]/);
    expect(metrics).toMatch(/changeledger_applies_total\{result="success"\} 1/);
  });

  it('stores nothing for a refused request', async () => {
    const before = await Promise.all(
      ['change_sets', 'change_set_items', 'audit_entries', 'outbox_events', 'idempotency_keys'].map(count),
    );
    const body = configChange(undefined, {
      items: [{ operation_type: 'UPDATE', target_type: 'CONFIG', target_id: 'x' }],
    });
    const res = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: as('Agent-D', { 'idempotency-key': uniqueId() }),
      payload: body,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().details).toEqual([expect.objectContaining({ path: 'items[0].after_state' })]);
    const after = await Promise.all(
      ['change_sets', 'change_set_items', 'audit_entries', 'outbox_events', 'idempotency_keys'].map(count),
    );
    expect(after).toEqual(before);
  });
});

// Refusals an agent can act on, over HTTP: one detail per problem at the path it wrote, a field of
// fixed values listed once with `allowed`, shape and meaning of a change-set body in one answer, and
// a `fix` saying what to do; a refusal stores nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CATALOG } from '../../src/core/errors.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';

const PRIORITY_DETAIL = {
  path: 'priority',
  message: 'must be one of: LOW, NORMAL, HIGH, CRITICAL',
  allowed: ['LOW', 'NORMAL', 'HIGH', 'CRITICAL'],
};

interface Detail {
  path?: string;
  message: string;
  allowed?: string[];
}

describeEachBackend('refusals an agent can act on', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    for (const id of ['Agent-A', 'Agent-D', 'alice', 'bob', 'olga']) {
      tokens[id] = (await f.engine.issueToken(null, id)).token;
    }
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });
  const as = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });
  const send = (who: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown, headers = {}) =>
    app.inject({ method, url: `/api/ledger${url}`, headers: { ...as(who), ...headers }, payload: payload as object });
  const count = async () => (await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM change_sets')).rows[0]?.n;
  const details = (response: { json(): { details?: Detail[] } }) => response.json().details ?? [];

  describe('the problems of a body', () => {
    it('lists the values of a field of fixed values once, with allowed, and no schema noise', async () => {
      const before = await count();
      const response = await send('Agent-D', 'POST', '/changesets', configChange(undefined, { priority: 'URGENT' }));
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'VALIDATION_FAILED', fix: ERROR_CATALOG.VALIDATION_FAILED.fix });
      expect(details(response)).toEqual([PRIORITY_DETAIL]);
      expect(await count()).toBe(before);
    });

    it('does the same on a route the schema alone guards (apply mode)', async () => {
      const response = await send('olga', 'POST', '/changesets/nobody/apply', { mode: 'FAST' });
      expect(response.statusCode).toBe(400);
      expect(details(response)).toEqual([
        {
          path: 'mode',
          message: 'must be one of: AUTO, ATOMIC, BEST_EFFORT, DRY_RUN',
          allowed: ['AUTO', 'ATOMIC', 'BEST_EFFORT', 'DRY_RUN'],
        },
      ]);
      expect(JSON.stringify(response.json())).not.toMatch(/anyOf|constant/);
    });

    it('names a missing field and an unknown one by their own paths', async () => {
      const body = configChange();
      const { target_id: _omitted, ...item } = body.items[0] as Record<string, unknown>;
      const response = await send('Agent-D', 'POST', '/changesets', { ...body, colour: 'red', items: [item] });
      expect(response.statusCode).toBe(400);
      expect(details(response)).toEqual(
        expect.arrayContaining([
          { path: 'colour', message: 'unknown field' },
          { path: 'items[0].target_id', message: 'is required' },
        ]),
      );
      expect(details(response)).toHaveLength(2);
    });

    it('answers the shape and the meaning of a create together: a bad priority, a duplicate key and a cycle', async () => {
      const before = await count();
      const item = (key: string, depends_on: string[]) => ({
        key,
        depends_on,
        operation_type: 'CREATE',
        target_type: 'CONFIG',
        target_id: `t.${key}`,
        after_state: {},
      });
      const body = configChange(undefined, {
        priority: 'URGENT',
        items: [item('a', ['b']), item('b', ['a']), item('b', [])],
      });
      const response = await send('Agent-D', 'POST', '/changesets', body);
      expect(response.statusCode).toBe(400);
      const found = details(response);
      expect(found).toContainEqual(PRIORITY_DETAIL);
      expect(found).toContainEqual({ path: 'items[2].key', message: expect.stringMatching(/^duplicate key "b"/) });
      expect(found).toContainEqual({
        path: 'items[0].depends_on',
        message: expect.stringMatching(/^dependency cycle/),
      });
      expect(new Set(found.map((d) => d.path)).size).toBe(found.length);
      expect(await count()).toBe(before);
    });

    it('answers the shape and the meaning of an edit together, and leaves the change-set as it was', async () => {
      const created = (await send('Agent-D', 'POST', '/changesets', configChange())).json();
      const response = await send('Agent-D', 'PATCH', `/changesets/${created.id}`, {
        priority: 'SOON',
        items: [
          { operation_type: 'CREATE', target_type: 'CONFIG', target_id: 'x', after_state: {}, depends_on: ['nope'] },
        ],
      });
      expect(response.statusCode).toBe(400);
      expect(details(response)).toEqual([
        PRIORITY_DETAIL,
        { path: 'items[0].depends_on[0]', message: 'unknown item key "nope"' },
      ]);
      const after = (await send('Agent-D', 'GET', `/changesets/${created.id}`)).json();
      expect(after).toMatchObject({ version: created.version, priority: created.priority });
    });

    it('names query and params problems with their part', async () => {
      const limit = await send('Agent-D', 'GET', '/changesets?limit=0&bogus=1');
      expect(limit.statusCode).toBe(400);
      expect(details(limit)).toEqual([
        { path: 'query.bogus', message: 'unknown field' },
        { path: 'query.limit', message: 'must be at least 1' },
      ]);
      const status = await send('Agent-D', 'GET', '/deliveries?status=LOST');
      expect(details(status)).toEqual([
        {
          path: 'query.status',
          message: 'must be one of: PENDING, DELIVERED, DEAD',
          allowed: ['PENDING', 'DELIVERED', 'DEAD'],
        },
      ]);
      const id = await send('Agent-D', 'GET', `/changesets/${'x'.repeat(65)}`);
      expect(id.statusCode).toBe(400);
      expect(details(id)).toEqual([{ path: 'params.id', message: 'must have at most 64 characters' }]);
    });
  });

  describe('the fix', () => {
    it('tells an agent that submits an auto-approved change-set to apply it', async () => {
      const created = (await send('Agent-A', 'POST', '/changesets', uiButton())).json();
      expect(created.status).toBe('APPROVED');
      const response = await send('Agent-A', 'POST', `/changesets/${created.change_set_id}/submit`);
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({
        code: 'INVALID_TRANSITION',
        fix: `submit is not needed: this change-set was auto-approved; apply it (POST /api/ledger/changesets/${created.change_set_id}/apply)`,
      });
      const after = (await send('Agent-A', 'GET', `/changesets/${created.id}`)).json();
      expect(after).toMatchObject({ status: 'APPROVED', version: created.version });
    });

    it('names the actions a status allows for any other transition refused', async () => {
      const created = (await send('Agent-D', 'POST', '/changesets', configChange())).json();
      const response = await send('olga', 'POST', `/changesets/${created.id}/apply`, { mode: 'ATOMIC' });
      expect(response.statusCode).toBe(409);
      const { fix, details: found } = response.json();
      expect(found[0]).toMatchObject({ status: 'DRAFT', actions: ['edit', 'submit', 'close'] });
      expect(fix).toMatch(/^from DRAFT the lifecycle allows: edit \(PATCH .*\); submit \(POST .*\/submit; .*\); close/);
    });

    it('says whom to ask when the principal may not act', async () => {
      const created = (await send('Agent-D', 'POST', '/changesets', configChange())).json();
      const response = await send('bob', 'POST', `/changesets/${created.id}/submit`);
      expect(response.statusCode).toBe(403);
      expect(response.json().fix).toBe('ask its creator Agent-D to submit it');
    });

    it('says to read again after a stale content hash or a moved version', async () => {
      const created = (await send('Agent-D', 'POST', '/changesets', configChange())).json();
      await send('Agent-D', 'POST', `/changesets/${created.id}/submit`);
      const stale = await send('alice', 'POST', `/changesets/${created.id}/approve`, {
        decision: 'APPROVED',
        content_hash: `sha256:${'0'.repeat(64)}`,
      });
      expect(stale.statusCode).toBe(409);
      expect(stale.json()).toMatchObject({
        code: 'STALE_CONTENT',
        fix: 'GET the change-set, review the new content and decide again with its content_hash.',
      });
      const approveWith = (ifMatch: string) =>
        send('alice', 'POST', `/changesets/${created.id}/approve`, { decision: 'APPROVED' }, { 'if-match': ifMatch });
      const moved = await approveWith('"1"');
      expect(moved.statusCode).toBe(412);
      expect(moved.json().fix).toBe('GET it again and resend with If-Match set to its current ETag.');
      const malformed = await approveWith('yesterday');
      expect(malformed.statusCode).toBe(412);
      expect(details(malformed)).toEqual([
        { path: 'headers.if-match', message: 'must be an ETag this API returned, e.g. "7"' },
      ]);
      const after = (await send('alice', 'GET', `/changesets/${created.id}`)).json();
      expect(after).toMatchObject({ status: 'PENDING_APPROVAL', received_approvals: 0, approvals: [] });
    });

    it('says to use a new Idempotency-Key for a different request', async () => {
      const key = { 'idempotency-key': `refusals-${Date.now()}` };
      expect((await send('Agent-D', 'POST', '/changesets', configChange(), key)).statusCode).toBe(201);
      const reused = await send('Agent-D', 'POST', '/changesets', configChange(), key);
      expect(reused.statusCode).toBe(422);
      expect(reused.json().fix).toBe(
        'Use a new Idempotency-Key for a different request; repeat the same body to replay the first answer.',
      );
    });

    it('says how to get a token', async () => {
      const response = await app.inject({ method: 'GET', url: '/api/ledger/changesets' });
      expect(response.statusCode).toBe(401);
      expect(response.json().fix).toMatch(/^Send Authorization: Bearer <token> .*principals\/\{id\}\/tokens/);
    });

    it('says when to retry a rate-limited request', async () => {
      const limited = await buildApp({ engine: f.engine, rateLimit: { perMinute: 1, burst: 1 } });
      try {
        const post = () =>
          limited.inject({ method: 'POST', url: '/api/ledger/changesets', headers: as('bob'), payload: {} });
        await post();
        const response = await post();
        expect(response.statusCode).toBe(429);
        expect(response.json().fix).toBe(
          `retry after ${response.headers['retry-after']} s (the Retry-After header), and send fewer write requests a minute`,
        );
      } finally {
        await limited.close();
      }
    });
  });
});

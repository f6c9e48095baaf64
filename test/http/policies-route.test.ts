import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { engineConfigOf, parseConfig } from '../../src/config.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { type Fixture, makeFixture } from '../helpers/fixture.js';

const POLICIES = [
  {
    name: 'security-review',
    condition: 'items.exists(i, i.target_id.startsWith("security."))',
    effect: 'require_approval',
    approvers: ['group:security'],
    count: 2,
    message: 'Security targets need two security reviewers',
  },
  { name: 'weekend-freeze', actions: ['apply'], condition: 'now.getDayOfWeek() in [6, 0]', effect: 'deny' },
  { name: 'large-change-set', actions: ['create', 'submit'], condition: 'size(items) > 10', effect: 'warn' },
];

describeEachBackend('GET /api/ledger/policies', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    const config = engineConfigOf(parseConfig(stringify({ policies: POLICIES }), { env: {} }));
    f = await makeFixture(await backend.open(), config);
    app = await buildApp({ engine: f.engine });
    for (const id of ['Agent-A', 'alice', 'root']) tokens[id] = (await f.engine.issueToken(null, id)).token;
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });
  const as = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

  it('lists the loaded policies, in order, with their defaults filled in', async () => {
    const response = await app.inject({ method: 'GET', url: '/api/ledger/policies', headers: as('alice') });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      since: null,
      data: [
        { ...POLICIES[0], mode: 'enforce', actions: ['create', 'submit', 'apply', 'rollback'] },
        {
          ...POLICIES[1],
          mode: 'enforce',
          approvers: [],
          count: 1,
          message: null,
        },
        { ...POLICIES[2], mode: 'enforce', approvers: [], count: 1, message: null },
      ],
    });
  });

  it('shows every principal the same enforced policies: agents and admins alike', async () => {
    const [agent, admin] = await Promise.all(
      ['Agent-A', 'root'].map((who) => app.inject({ method: 'GET', url: '/api/ledger/policies', headers: as(who) })),
    );
    expect(agent!.statusCode).toBe(200);
    expect(agent!.json().data).toEqual(admin!.json().data);
    expect(agent!.json().data).toHaveLength(3);
    // An admin's answer also names the report's window (no shadow policy here, so no report).
    expect(agent!.json().since).toBeNull();
    expect(admin!.json().since).toBe('2026-10-26T10:00:00.000Z');
  });

  it('refuses a caller without a valid token with 401', async () => {
    const missing = await app.inject({ method: 'GET', url: '/api/ledger/policies' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    const unknown = await app.inject({
      method: 'GET',
      url: '/api/ledger/policies',
      headers: { authorization: 'Bearer clg_nope' },
    });
    expect(unknown.statusCode).toBe(401);
  });

  it('is read-only: there is no route to change policies', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      const response = await app.inject({ method, url: '/api/ledger/policies', headers: as('root'), payload: {} });
      expect(response.statusCode).toBe(404);
    }
    const after = await app.inject({ method: 'GET', url: '/api/ledger/policies', headers: as('root') });
    expect(after.json().data.map((p: { name: string }) => p.name)).toEqual(POLICIES.map((p) => p.name));
  });

  it('answers an empty list when no policy is configured', async () => {
    const bare = await buildApp({ engine: new Engine({ db: f.db, config: DEFAULT_ENGINE_CONFIG }) });
    try {
      const response = await bare.inject({ method: 'GET', url: '/api/ledger/policies', headers: as('alice') });
      expect(response.json()).toEqual({ since: null, data: [] });
    } finally {
      await bare.close();
    }
  });

  it('is documented in the OpenAPI description', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/api/ledger/openapi.json' })).json();
    expect(spec.paths['/api/ledger/policies']).toHaveProperty('get');
  });
});

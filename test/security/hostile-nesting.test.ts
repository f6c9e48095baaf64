// Issue 19 item 5: bodies nested 10,000 and 100,000 levels deep, as arrays and as objects, sent to
// several routes with and without an Idempotency-Key. The key's body hash walked the body
// recursively before anything checked its depth, and overflowed the stack (a 500). Now the depth
// check at the edge (src/http/input-guard.ts) runs before anything walks the body: every one is a
// 400 VALIDATION_FAILED that names the depth, and a refused request leaves no key behind.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { MAX_BODY_DEPTH } from '../../src/http/input-guard.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uniqueId } from '../helpers/fixture.js';

const deepArray = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const deepObject = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

/** Where each route takes the nesting: the whole body, or one field of an otherwise good body. */
const SHAPES: Record<string, (nested: string) => string> = {
  'the whole body': (nested) => nested,
  'a JSON field': (nested) => `{"metadata":{"deep":${nested}}}`,
  'a JSON field of a valid create': (nested) =>
    JSON.stringify(configChange()).replace('"title"', `"metadata":{"deep":${nested}},"title"`),
  'an item state': (nested) =>
    JSON.stringify({ ...configChange(), items: [] }).replace(
      '"items":[]',
      `"items":[{"operation_type":"CREATE","target_type":"T","target_id":"t","after_state":${nested}}]`,
    ),
};

describeEachBackend('hostile nesting (issue 19: depth checks run before anything walks the body)', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let target: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    for (const id of ['Agent-D', 'alice', 'root']) tokens[id] = (await f.engine.issueToken(null, id)).token;
    target = (await f.engine.create(f.p['Agent-D']!, configChange())).id;
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  const routes = (): { method: 'POST' | 'PATCH' | 'DELETE'; url: string; who: string }[] => [
    { method: 'POST', url: '/api/ledger/changesets', who: 'Agent-D' },
    { method: 'PATCH', url: `/api/ledger/changesets/${target}`, who: 'Agent-D' },
    { method: 'POST', url: `/api/ledger/changesets/${target}/approve`, who: 'alice' },
    { method: 'POST', url: `/api/ledger/changesets/${target}/apply`, who: 'Agent-D' },
    { method: 'POST', url: '/api/ledger/principals', who: 'root' },
    { method: 'POST', url: '/api/ledger/principals/alice/tokens', who: 'root' },
    { method: 'PATCH', url: '/api/ledger/principals/alice', who: 'root' },
    { method: 'DELETE', url: '/api/ledger/tokens/no-such-token', who: 'root' },
  ];

  for (const levels of [10_000, 100_000]) {
    for (const [kind, nest] of [
      ['arrays', deepArray],
      ['objects', deepObject],
    ] as const) {
      it(`refuses ${levels.toLocaleString('en')} levels of ${kind} with 400 on every route, with and without Idempotency-Key`, async () => {
        const nested = nest(levels);
        for (const route of routes()) {
          for (const [shape, wrap] of Object.entries(SHAPES)) {
            for (const withKey of [false, true]) {
              const key = `deep-${uniqueId()}`;
              const response = await app.inject({
                method: route.method,
                url: route.url,
                headers: {
                  authorization: `Bearer ${tokens[route.who]}`,
                  'content-type': 'application/json',
                  ...(withKey ? { 'idempotency-key': key } : {}),
                },
                payload: wrap(nested),
              });
              const what = `${route.method} ${route.url}, ${shape}, ${withKey ? 'with' : 'without'} a key`;
              expect(response.statusCode, `${what}: ${response.body.slice(0, 300)}`).toBe(400);
              expect(response.json(), what).toMatchObject({ code: 'VALIDATION_FAILED' });
              expect(response.json().message, what).toMatch(
                new RegExp(`nested more than ${MAX_BODY_DEPTH} levels deep`),
              );
              const { rows } = await f.db.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [key]);
              expect(rows, what).toHaveLength(0);
            }
          }
        }
      });
    }
  }

  it('still accepts a body nested as deep as an item state may be, with an Idempotency-Key', async () => {
    let state: unknown = 1;
    for (let i = 0; i < 100; i++) state = { a: state };
    const body = configChange(undefined, {});
    body.items[0]!.after_state = state as { value: number };
    const response = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: { authorization: `Bearer ${tokens['Agent-D']}`, 'idempotency-key': `ok-${uniqueId()}` },
      payload: body,
    });
    expect(response.statusCode, response.body).toBe(201);
  });

  it('nothing was created by the refused requests', async () => {
    const { rows } = await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM change_sets');
    expect(rows[0]!.n).toBe(2);
  });
});

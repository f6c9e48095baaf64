// Issue 19 item 5: bodies nested 10,000 and 100,000 levels deep, as arrays and as objects, sent to
// several routes with and without an Idempotency-Key. The key's body hash walked the body
// recursively before anything checked its depth, and overflowed the stack (a 500). Now the depth
// check at the edge (src/http/input-guard.ts) runs before anything walks the body: every one is a
// 400 VALIDATION_FAILED that names the depth, and a refused request leaves no key behind.
import { createHmac } from 'node:crypto';
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

// The surfaces that take their body as text and parse it themselves, or take no bearer token: the
// MCP server (its SDK validated tool arguments recursively, and 10,000 levels answered a tool error
// "Maximum call stack size exceeded"), Slack's interactions route, enrolment redemption and the
// single sign-on callback. None answers a 500; /mcp refuses the depth before the SDK sees it.
describeEachBackend('hostile nesting and size on the other surfaces (issue 19 item 5)', (backend) => {
  const SECRET = 'hostile-nesting-signing-secret';
  let f: Fixture;
  let app: LedgerApp;
  let agent: string;

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({
      engine: f.engine,
      slack: [{ api_url: 'http://127.0.0.1:9/api', bot_token: 'xoxb-none', signing_secret: SECRET }],
    });
    agent = (await f.engine.issueToken(null, 'Agent-D')).token;
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  const META =
    '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",' +
    '"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}';
  /** A tools/call as the MCP client SDK sends it (revision 2026-07-28), `args` spliced in as text. */
  const mcpCall = (tool: string, args: string) =>
    app.inject({
      method: 'POST',
      url: '/mcp',
      headers: {
        authorization: `Bearer ${agent}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': tool,
      },
      payload: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{${META},"name":"${tool}","arguments":${args}}}`,
    });

  it('refuses 10,000 levels in MCP tool arguments with 400 VALIDATION_FAILED before the SDK walks them', async () => {
    for (const [kind, nest] of [
      ['arrays', deepArray],
      ['objects', deepObject],
    ] as const) {
      const nested = nest(10_000);
      for (const [tool, args] of [
        ['propose_change_set', SHAPES['a JSON field of a valid create']!(nested)],
        ['get_change_set', `{"id":${nested}}`],
      ] as const) {
        const response = await mcpCall(tool, args);
        expect(response.statusCode, `${tool}, ${kind}: ${response.body.slice(0, 300)}`).toBe(400);
        expect(response.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
        expect(response.json().message).toMatch(new RegExp(`nested more than ${MAX_BODY_DEPTH} levels deep`));
      }
    }
    // A call nested as deep as the API allows still reaches the tool.
    const shallow = await mcpCall('get_change_set', '{"id":"CS-none"}');
    expect(shallow.statusCode).toBe(200);
    expect(shallow.body).toContain('NOT_FOUND');
    const { rows } = await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM change_sets');
    expect(rows[0]!.n).toBe(0);
  });

  it('answers 413 to a body over the limit on /mcp, Slack interactions and enrolment redemption', async () => {
    const huge = 'x'.repeat(11 * 1024 * 1024);
    const answers = [
      await mcpCall('get_change_set', `{"id":"${huge}"}`),
      await app.inject({
        method: 'POST',
        url: '/api/ledger/integrations/slack/interactions',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `payload=${huge.slice(0, 2 * 1024 * 1024)}`,
      }),
      await app.inject({
        method: 'POST',
        url: '/api/ledger/enrolments/redeem',
        payload: `{"code":"${huge}"}`,
        headers: { 'content-type': 'application/json' },
      }),
    ];
    for (const response of answers) {
      expect(response.statusCode).toBe(413);
      expect(response.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    }
    // Each names its route's own limit; only where change-sets travel is splitting the change the fix.
    const [mcp, slack, redeem] = answers.map((response) => response.json() as { message: string; fix: string });
    expect(mcp!.message).toMatch(/larger than the 10485760 bytes \/mcp accepts \(server\.body_limit_bytes\)/);
    expect(mcp!.fix).toMatch(/^Split the change into several change-sets/);
    expect(slack!.message).toMatch(
      /larger than the \d+ bytes \/api\/ledger\/integrations\/slack\/interactions accepts$/,
    );
    expect(slack!.message).not.toContain('10485760');
    expect(redeem!.message).toMatch(/larger than the 10485760 bytes \/api\/ledger\/enrolments\/redeem accepts$/);
    for (const refusal of [slack!, redeem!]) expect(refusal.fix).toMatch(/^Send a body of at most \d+ bytes/);
  });

  it('answers no 500 to 10,000 levels sent to enrolment redemption, Slack interactions (signed or not) and the sign-on callback', async () => {
    const nested = deepObject(10_000);
    const redeem = await app.inject({
      method: 'POST',
      url: '/api/ledger/enrolments/redeem',
      headers: { 'content-type': 'application/json', 'idempotency-key': uniqueId('deep') },
      payload: `{"code":${nested}}`,
    });
    expect(redeem.statusCode).toBe(400);
    expect(redeem.json()).toMatchObject({ code: 'VALIDATION_FAILED' });

    const raw = `payload=${encodeURIComponent(`{"type":"block_actions","actions":[{"action_id":"approve","value":${JSON.stringify(nested)}}],"user":{"id":"U1"},"deep":${nested}}`)}`;
    for (const signed of [false, true]) {
      const timestamp = String(Math.floor(f.engine.now().getTime() / 1000));
      const signature = `v0=${createHmac('sha256', signed ? SECRET : 'not-the-secret')
        .update(`v0:${timestamp}:${raw}`)
        .digest('hex')}`;
      const slack = await app.inject({
        method: 'POST',
        url: '/api/ledger/integrations/slack/interactions',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': timestamp,
          'x-slack-signature': signature,
        },
        payload: raw,
      });
      expect(slack.statusCode, slack.body.slice(0, 300)).toBeLessThan(500);
      if (!signed) expect(slack.statusCode).toBe(401);
    }

    const callback = await app.inject({
      method: 'GET',
      url: `/api/ledger/auth/oidc/callback?${'a[b]'.repeat(2_000)}=1&state=${'['.repeat(10_000)}`,
    });
    expect(callback.statusCode).toBeLessThan(500);
    expect(callback.json()).toHaveProperty('code');
  });
});

// Contacts are private. The attack: any principal lists GET /principals (or reads one principal, or
// the notification deliveries) and collects every email address and Slack id. Now those two fields
// are shown to admins and to the principal itself only; the OpenAPI description says so.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileRoutes, DEFAULT_ROUTES } from '../../src/core/routing.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { routeEvents } from '../../src/notify/router.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';

type Seen = { id: string; email?: string | null; slack_id?: string | null };

describeEachBackend('contacts private', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    for (const who of ['Agent-A', 'alice', 'olga', 'root']) tokens[who] = (await f.engine.issueToken(null, who)).token;
    await f.engine.updatePrincipal(f.p['root']!, 'bob', { slack_id: 'U0BOB' });
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  const get = async (who: string, url: string) => {
    const response = await app.inject({
      method: 'GET',
      url: `/api/ledger${url}`,
      headers: { authorization: `Bearer ${tokens[who]}` },
    });
    expect(response.statusCode).toBe(200);
    return response.json();
  };

  it("lists principals without anyone else's email or Slack id, for an agent and for a non-admin person", async () => {
    for (const who of ['Agent-A', 'alice', 'olga']) {
      const { data } = (await get(who, '/principals')) as { data: Seen[] };
      expect(data.length).toBeGreaterThan(5);
      for (const p of data) {
        if (p.id === who) expect(p.email).toBe(`${who.toLowerCase()}@example.com`);
        else expect(p).not.toHaveProperty('email');
        if (p.id !== who) expect(p).not.toHaveProperty('slack_id');
      }
      expect(JSON.stringify(data)).not.toContain('U0BOB');
      expect(JSON.stringify(data).match(/@example\.com/g)).toHaveLength(1);
    }
  });

  it("shows one principal's contacts to that principal and to admins only", async () => {
    expect(await get('alice', '/principals/bob')).toEqual({
      id: 'bob',
      kind: 'human',
      display_name: 'bob',
      groups: [],
      risk: null,
      active: true,
    });
    expect(await get('alice', '/principals/alice')).toMatchObject({ email: 'alice@example.com', slack_id: null });
    expect(await get('root', '/principals/bob')).toMatchObject({ email: 'bob@example.com', slack_id: 'U0BOB' });
    expect(await get('alice', '/me')).toMatchObject({ email: 'alice@example.com' });
  });

  it('shows admins every contact', async () => {
    const { data } = (await get('root', '/principals')) as { data: Seen[] };
    expect(data.find((p) => p.id === 'bob')).toMatchObject({ email: 'bob@example.com', slack_id: 'U0BOB' });
    expect(data.every((p) => 'email' in p && 'slack_id' in p)).toBe(true);
  });

  it("shows an operator no one else's address among the notification deliveries", async () => {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    const mail = {
      type: 'email' as const,
      host: '127.0.0.1',
      port: 25,
      secure: false,
      user: null,
      password: null,
      from: 'l@x',
    };
    await routeEvents(f.db, { routes: compileRoutes(DEFAULT_ROUTES), channels: { mail } }, () => f.clock.now);
    const asOperator = (await get('olga', '/deliveries?channel=mail')).data as {
      recipient: string;
      address: string | null;
    }[];
    expect(asOperator.map((d) => d.recipient)).toContain('alice');
    for (const d of asOperator) expect(d.address).toBe(d.recipient === 'olga' ? 'olga@example.com' : null);
    const asAdmin = (await get('root', '/deliveries?channel=mail')).data as { recipient: string; address: string }[];
    for (const d of asAdmin) expect(d.address).toBe(`${d.recipient.toLowerCase()}@example.com`);
  });

  it('says so in the OpenAPI description of both principal routes', async () => {
    const paths = (await get('alice', '/openapi.json')).paths;
    for (const route of ['/api/ledger/principals', '/api/ledger/principals/{id}'])
      expect(paths[route].get.description).toMatch(/only for admins and for the principal itself/);
    // The answer is the named Principal shape: its contact fields say who sees them.
    const document = await get('alice', '/openapi.json');
    expect(JSON.stringify(document.paths['/api/ledger/principals/{id}'].get.responses['200'])).toContain(
      '#/components/schemas/Principal',
    );
    expect(JSON.stringify(document.components.schemas.Principal)).toContain('only for admins and the principal itself');
  });
});

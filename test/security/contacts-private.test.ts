// Contacts are private. The attack: any principal lists GET /principals (or reads one principal, or
// the notification deliveries) and collects every email address and Slack id. Now those two fields
// are shown to admins and to the principal itself only; the OpenAPI description says so.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileRoutes, DEFAULT_ROUTES } from '../../src/core/routing.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { EventFeed } from '../../src/notify/event-feed.js';
import { routeEvents } from '../../src/notify/router.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';
import { openSse } from '../helpers/sse.js';

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

const slackIdOf = (id: string) => `USLACK${id.toUpperCase().replace(/[^A-Z0-9]/g, '')}`;

// The surfaces that came later, each of which names principals: the track record, the activity
// stats, the event stream (its replay), a wait's answer and the MCP tools. None carries anyone's
// contacts to a principal that is not an admin: every principal here has an email and a Slack id,
// and what a non-admin reads holds neither, but its own.
describeEachBackend('contacts private on every later surface', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let feed: EventFeed;
  let url: string;
  let changeSet: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    feed = new EventFeed({ db: f.db, pollIntervalMs: 100 });
    await feed.start();
    app = await buildApp({ engine: f.engine, events: feed });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    for (const id of Object.keys(f.p)) await f.engine.updatePrincipal(f.p['root']!, id, { slack_id: slackIdOf(id) });
    for (const who of ['Agent-D', 'alice', 'root']) tokens[who] = (await f.engine.issueToken(null, who)).token;
    // A lifecycle that names several principals: proposed, decided, applied; an admin grant too.
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    const current = await f.engine.get(cs.id);
    await f.engine.decide(f.p['alice']!, cs.id, {
      decision: 'APPROVED',
      reason: 'ok',
      content_hash: current.content_hash,
    });
    changeSet = cs.id;
    await f.engine.updatePrincipal(f.p['root']!, 'bob', { groups: ['admin'] });
  });
  afterAll(async () => {
    await app.close();
    await feed.stop();
    await f.db.close();
  });

  /** Every email or Slack id of a principal other than `who` found in `text`. */
  const othersContacts = (who: string, text: string): string[] =>
    Object.keys(f.p)
      .filter((id) => id !== who)
      .flatMap((id) => [`${id.toLowerCase()}@example.com`, slackIdOf(id)])
      .filter((contact) => text.includes(contact));

  const get = async (who: string, path: string) => {
    const response = await app.inject({
      method: 'GET',
      url: `/api/ledger${path}`,
      headers: { authorization: `Bearer ${tokens[who]}` },
    });
    expect(response.statusCode, `${path}: ${response.body.slice(0, 200)}`).toBe(200);
    return response.body;
  };

  const mcpTool = async (who: string, tool: string, args: Record<string, unknown>) => {
    const response = await app.inject({
      method: 'POST',
      url: '/mcp',
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': tool,
      },
      payload: {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' },
            'io.modelcontextprotocol/clientCapabilities': {},
          },
          name: tool,
          arguments: args,
        },
      },
    });
    expect(response.statusCode, response.body.slice(0, 300)).toBe(200);
    expect(response.body).not.toContain('"isError":true');
    return response.body;
  };

  it("the track record, activity stats, a wait and the MCP tools carry no one else's contacts", async () => {
    for (const who of ['Agent-D', 'alice']) {
      const answers = [
        await get(who, '/agents/Agent-D/track-record'),
        await get(who, '/stats/activity'),
        await get(who, `/changesets/${changeSet}/wait?timeout_s=0`),
        await get(who, `/changesets/${changeSet}`),
        await mcpTool(who, 'get_change_set', { id: changeSet }),
        await mcpTool(who, 'list_change_sets', {}),
        await mcpTool(who, 'wait_for_decision', { id: changeSet, timeout_s: 0 }),
      ];
      expect(answers.join('\n')).toContain('Agent-D');
      for (const answer of answers) expect(othersContacts(who, answer), answer.slice(0, 200)).toEqual([]);
    }
    // An admin reading the same sees contacts where the API gives them (the check above can fail).
    expect(othersContacts('root', await get('root', '/principals'))).not.toEqual([]);
  });

  it("the event stream's replay carries no one's contacts", async () => {
    const stream = await openSse(`${url}/api/ledger/events?last_event_id=0`, {
      authorization: `Bearer ${tokens['Agent-D']}`,
    });
    const events = await stream.waitFor((seen) => seen.some((e) => e.event === 'principal.admin_granted'));
    stream.close();
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['changeset.approval_decision', 'token.issued']));
    expect(othersContacts('Agent-D', JSON.stringify(events))).toEqual([]);
    expect(othersContacts('nobody', JSON.stringify(events))).toEqual([]);
  });
});

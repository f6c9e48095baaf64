// Issue 19 item 1, id confusion: an agent created a change-set whose change_set_id was another
// change-set's internal id (a UUID); `/changesets/<that uuid>/approve` then found either row (the
// lookup was `id = $1 OR change_set_id = $2`, first row) and the lead's approval landed on the
// attacker's content. Now a change_set_id shaped like a UUID is refused, a UUID-shaped reference
// means the internal id only, and migration 0006 renames rows from before and forbids the shape.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { EventFeed } from '../../src/notify/event-feed.js';
import { type EventEnvelope, renderMessage } from '../../src/notify/messages.js';
import type { Db } from '../../src/store/db.js';
import { loadMigrations, migrate } from '../../src/store/migrator.js';
import { type Backend, describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';

const WHO = ['Agent-A', 'Agent-D', 'alice', 'root'];

async function appFor(f: Fixture) {
  const app = await buildApp({ engine: f.engine });
  const tokens: Record<string, string> = {};
  for (const who of WHO) tokens[who] = (await f.engine.issueToken(null, who)).token;
  const call = (who: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
    app.inject({
      method,
      url: `/api/ledger${url}`,
      headers: { authorization: `Bearer ${tokens[who]}` },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
  return { app, call };
}

const approvalsOf = async (db: Db, uuid: string) =>
  (await db.query<{ approver_id: string }>('SELECT approver_id FROM approvals WHERE change_set = $1', [uuid])).rows;

describeEachBackend('id confusion (issue 19: one id namespace)', (backend: Backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let call: Awaited<ReturnType<typeof appFor>>['call'];

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    ({ app, call } = await appFor(f));
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  it("refuses a change_set_id that is another change-set's UUID, saying why, and stores nothing", async () => {
    const victim = (await call('Agent-D', 'POST', '/changesets', configChange())).json();
    const before = (await f.db.query('SELECT id FROM change_sets')).rows.length;
    for (const spelled of [victim.id, victim.id.toUpperCase(), '00000000-0000-0000-0000-000000000000']) {
      const attack = await call('Agent-A', 'POST', '/changesets', configChange(undefined, { change_set_id: spelled }));
      expect(attack.statusCode, attack.body).toBe(400);
      const body = attack.json();
      expect(body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED', error: 'Bad Request' });
      expect(body.details).toEqual([{ path: 'change_set_id', message: expect.stringMatching(/UUID/) }]);
      expect(body.message).toMatch(
        /change_set_id: must not be shaped like a UUID: it would be confused with the internal ids/,
      );
    }
    expect((await f.db.query('SELECT id FROM change_sets')).rows).toHaveLength(before);
    // Ids that merely look a little like one are still fine.
    for (const fine of [`${victim.id}-x`, victim.id.replaceAll('-', ''), 'CS-0000-0000-0000-000000000000']) {
      const created = await call('Agent-A', 'POST', '/changesets', configChange(undefined, { change_set_id: fine }));
      expect(created.statusCode, created.body).toBe(201);
    }
  });

  it('an edit cannot change the change_set_id either', async () => {
    const cs = (await call('Agent-D', 'POST', '/changesets', configChange())).json();
    const other = (await call('Agent-D', 'POST', '/changesets', configChange())).json();
    const edit = await call('Agent-D', 'PATCH', `/changesets/${cs.id}`, { change_set_id: other.id });
    expect([edit.statusCode, edit.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await call('Agent-D', 'GET', `/changesets/${cs.id}`)).json().change_set_id).toBe(cs.change_set_id);
  });

  it('the table itself refuses a UUID-shaped change_set_id, whoever writes it', async () => {
    const cs = (await call('Agent-D', 'POST', '/changesets', configChange())).json();
    const error = await f.db
      .query('UPDATE change_sets SET change_set_id = $1 WHERE id = $2', [cs.id.toUpperCase(), cs.id])
      .then(
        () => null,
        (thrown: unknown) => thrown as { code?: string },
      );
    expect(error?.code).toBe('23514');
  });
});

describeEachBackend('id confusion: a row from before migration 0006 (issue 19)', (backend: Backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let call: Awaited<ReturnType<typeof appFor>>['call'];
  let victim: { id: string; change_set_id: string };
  let attacker: { id: string; change_set_id: string };

  beforeAll(async () => {
    // A database without migration 0006 (as at version 5), where nothing stopped the attacker's id;
    // the later migrations are there because today's engine needs their columns.
    const db = await backend.open({ migrate: false });
    await migrate(
      db,
      loadMigrations().filter((m) => m.version !== 6),
    );
    f = await makeFixture(db);
    ({ app, call } = await appFor(f));
    victim = (
      await call('Agent-D', 'POST', '/changesets', configChange(undefined, { approval_chain: ['alice'] }))
    ).json();
    attacker = (
      await call('Agent-A', 'POST', '/changesets', {
        ...configChange(undefined, { approval_chain: ['alice'] }),
        title: 'Something far riskier',
      })
    ).json();
    expect((await call('Agent-A', 'POST', `/changesets/${attacker.id}/submit`)).statusCode).toBe(200);
    await f.db.query('UPDATE change_sets SET change_set_id = $1 WHERE id = $2', [victim.id, attacker.id]);
    // The victim's row is written after the attacker's: under the old lookup a scan met the attacker's first.
    expect((await call('Agent-D', 'POST', `/changesets/${victim.change_set_id}/submit`)).statusCode).toBe(200);
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  it("every read and action by the victim's UUID reaches the victim, never the row that took its UUID as change_set_id", async () => {
    const got = await call('alice', 'GET', `/changesets/${victim.id}`);
    expect(got.json()).toMatchObject({ id: victim.id, title: 'Tune a setting' });
    expect((await call('alice', 'GET', `/changesets/${victim.id}/plan`)).json().change_set_id).toBe(
      victim.change_set_id,
    );
    const audit = (await call('alice', 'GET', `/changesets/${victim.id}/audit`)).json().data as {
      change_set: string;
    }[];
    expect(new Set(audit.map((entry) => entry.change_set))).toEqual(new Set([victim.id]));
    // The link a notification of the victim's submit carries opens the victim.
    const { rows } = await f.db.query<{ envelope: EventEnvelope }>(
      "SELECT envelope FROM outbox_events WHERE change_set = $1 AND type = 'changeset.submitted'",
      [victim.id],
    );
    const link = renderMessage(rows[0]!.envelope, { dashboardUrl: 'https://ledger.example' }).link;
    expect(link).toBe(`https://ledger.example/changesets/${victim.id}`);
    const opened = await call('alice', 'GET', link.replace('https://ledger.example', ''));
    expect(opened.json()).toMatchObject({ id: victim.id, change_set_id: victim.change_set_id });
    const approved = await call('alice', 'POST', `/changesets/${victim.id}/approve`, { decision: 'APPROVED' });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ id: victim.id, status: 'APPROVED' });
    expect(await approvalsOf(f.db, victim.id)).toEqual([{ approver_id: 'alice' }]);
    expect(await approvalsOf(f.db, attacker.id)).toEqual([]);
    const applied = await call('Agent-D', 'POST', `/changesets/${victim.id}/apply`, { mode: 'ATOMIC' });
    expect(applied.json()).toMatchObject({ status: 'APPLIED' });
    expect((await call('alice', 'GET', `/changesets/${attacker.id}`)).json().status).toBe('PENDING_APPROVAL');
  });

  it("a wait and the MCP tools by the victim's UUID reach the victim too", async () => {
    const feed = new EventFeed({ db: f.db, pollIntervalMs: 100 });
    await feed.start();
    const withFeed = await buildApp({ engine: f.engine, events: feed });
    const token = (await f.engine.issueToken(null, 'alice')).token;
    try {
      const get = (url: string) =>
        withFeed.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      const waited = await get(`/api/ledger/changesets/${victim.id}/wait?for=decision&timeout_s=0`);
      expect(waited.statusCode, waited.body).toBe(200);
      expect(waited.json().change_set).toMatchObject({ id: victim.id, title: 'Tune a setting' });
      const mcp = await withFeed.inject({
        method: 'POST',
        url: '/mcp',
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/call',
          'mcp-name': 'get_change_set',
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
            name: 'get_change_set',
            arguments: { id: victim.id },
          },
        },
      });
      expect(mcp.statusCode, mcp.body).toBe(200);
      expect(mcp.json().result.structuredContent).toMatchObject({ id: victim.id, title: 'Tune a setting' });
    } finally {
      await withFeed.close();
      await feed.stop();
    }
  });

  it('migration 0006 renames the UUID-shaped change_set_id, and both rows stay reachable, each by its own ids', async () => {
    const result = await migrate(f.db);
    expect(result.applied.map((m) => m.version)).toContain(6);
    const legacy = `legacy-${victim.id}`;
    expect((await call('alice', 'GET', `/changesets/${legacy}`)).json()).toMatchObject({
      id: attacker.id,
      change_set_id: legacy,
    });
    expect((await call('alice', 'GET', `/changesets/${attacker.id}`)).json().change_set_id).toBe(legacy);
    expect((await call('alice', 'GET', `/changesets/${victim.id}`)).json().id).toBe(victim.id);
    expect((await call('alice', 'GET', `/changesets/${victim.change_set_id}`)).json().id).toBe(victim.id);
  });
});

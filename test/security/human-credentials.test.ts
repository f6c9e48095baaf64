// People authenticate themselves. The attack: an admin issues a token for an approver
// (POST /principals/sec-lead/tokens, or creates the human and takes the token from POST /principals)
// and approves their own change-set with it. Now admins issue tokens for agents and services only,
// unless auth.admin_may_issue_human_tokens is on; and every token issued, every admin grant or
// removal, is an event that reaches the principal concerned and the other admins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileRoutes, DEFAULT_ROUTES } from '../../src/core/routing.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import type { EmailChannel } from '../../src/notify/notify-config.js';
import { routeEvents } from '../../src/notify/router.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, skipSetUpEvents, uniqueId } from '../helpers/fixture.js';
import { rejection } from '../helpers/ledger.js';

const MAIL: EmailChannel = {
  type: 'email',
  host: '127.0.0.1',
  port: 25,
  secure: false,
  user: null,
  password: null,
  from: 'ledger@example.com',
};

/** Routes the pending events by the default routes; returns who each event type reached. */
async function recipientsByType(f: Fixture): Promise<Record<string, string[]>> {
  await routeEvents(f.db, { routes: compileRoutes(DEFAULT_ROUTES), channels: { mail: MAIL } }, () => f.clock.now);
  const { rows } = await f.db.query<{ event_type: string; recipient: string }>(
    'SELECT event_type, recipient FROM deliveries ORDER BY event_type, recipient',
  );
  const by: Record<string, string[]> = {};
  for (const row of rows) by[row.event_type] = [...(by[row.event_type] ?? []), row.recipient];
  await f.db.query('DELETE FROM deliveries');
  return by;
}

describeEachBackend('human credentials', (backend) => {
  describe('by default', () => {
    let f: Fixture;
    let app: LedgerApp;
    let root: string;
    let agentD: string;
    beforeAll(async () => {
      f = await makeFixture(await backend.open());
      app = await buildApp({ engine: f.engine });
      root = (await f.engine.issueToken(null, 'root')).token;
      agentD = (await f.engine.issueToken(null, 'Agent-D')).token;
      await skipSetUpEvents(f.db);
    });
    afterAll(async () => {
      await app.close();
      await f.db.close();
    });

    const post = (url: string, payload: unknown = {}, token = root) =>
      app.inject({
        method: 'POST',
        url: `/api/ledger${url}`,
        headers: { authorization: `Bearer ${token}` },
        payload: payload as object,
      });
    const count = async (sql: string) => (await f.db.query<{ n: number }>(sql)).rows[0]!.n;

    it('refuses an admin a token for a human approver, pointing to enrolment, and stores nothing', async () => {
      // The attack: root's own change-set names alice; root takes a token for alice to approve it.
      const cs = (await post('/changesets', configChange(), agentD)).json();
      expect((await post(`/changesets/${cs.id}/submit`, {}, agentD)).statusCode).toBe(200);
      const before = {
        tokens: await count('SELECT count(*)::int AS n FROM tokens'),
        audit: await count('SELECT count(*)::int AS n FROM audit_entries'),
        events: await count('SELECT count(*)::int AS n FROM outbox_events'),
      };
      const refused = await post('/principals/alice/tokens', { name: 'mine now' });
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toMatchObject({ statusCode: 403, code: 'FORBIDDEN', error: 'Forbidden' });
      expect(refused.json().message).toContain('POST /api/ledger/principals/alice/enrolments');
      expect({
        tokens: await count('SELECT count(*)::int AS n FROM tokens'),
        audit: await count('SELECT count(*)::int AS n FROM audit_entries'),
        events: await count('SELECT count(*)::int AS n FROM outbox_events'),
      }).toEqual(before);
    });

    it('refuses turning a person into an agent for a moment to take a token (or an agent into a person)', async () => {
      const patch = (id: string, kind: string) =>
        app.inject({
          method: 'PATCH',
          url: `/api/ledger/principals/${id}`,
          headers: { authorization: `Bearer ${root}` },
          payload: { kind },
        });
      for (const [id, kind] of [
        ['alice', 'agent'],
        ['alice', 'service'],
        ['Agent-C', 'human'],
      ] as const) {
        const refused = await patch(id, kind);
        expect(refused.statusCode).toBe(403);
        expect(refused.json().message).toContain('nobody turns into or out of a human');
      }
      expect((await f.engine.requirePrincipal('alice')).kind).toBe('human');
      // Between agent and service, and to the same kind, nothing changes that matters here.
      expect((await patch('Agent-C', 'service')).statusCode).toBe(200);
      expect((await patch('Agent-C', 'agent')).statusCode).toBe(200);
      expect((await patch('alice', 'human')).statusCode).toBe(200);
    });

    it('creates a human without a token, and an agent or a service with one', async () => {
      const human = await post('/principals', { id: uniqueId('person'), kind: 'human', groups: ['security'] });
      expect(human.statusCode).toBe(201);
      expect(human.json().token).toBeNull();
      expect(
        await count(`SELECT count(*)::int AS n FROM tokens WHERE principal_id = '${human.json().principal.id}'`),
      ).toBe(0);
      // The default kind is human: no token either.
      expect((await post('/principals', { id: uniqueId('person') })).json().token).toBeNull();
      for (const kind of ['agent', 'service']) {
        const created = await post('/principals', { id: uniqueId(kind), kind });
        expect(created.statusCode).toBe(201);
        expect(created.json().token).toMatchObject({ principal_id: created.json().principal.id });
        const more = await post(`/principals/${created.json().principal.id}/tokens`, { name: 'second' });
        expect(more.statusCode).toBe(201);
      }
    });

    it('refuses the engine method the same way when an admin acts', async () => {
      const error = await rejection(f.engine.issueToken(f.p['root']!, 'bob'));
      expect(error.code).toBe('FORBIDDEN');
    });

    it('tells the principal and the other admins of every token issued', async () => {
      await recipientsByType(f);
      expect((await post('/principals/Agent-C/tokens', { name: 'deploy' })).statusCode).toBe(201);
      await f.engine.updatePrincipal(f.p['root']!, 'Agent-C', { email: 'agent-c@example.com' });
      expect((await post('/principals/Agent-C/tokens', { name: 'deploy 2' })).statusCode).toBe(201);
      const { rows } = await f.db.query<{ data: Record<string, unknown> }>(
        "SELECT envelope->'data' AS data FROM outbox_events WHERE type = 'token.issued' ORDER BY id",
      );
      expect(rows.at(-1)!.data).toMatchObject({ principal_id: 'Agent-C', name: 'deploy 2', via: 'admin' });
      expect(JSON.stringify(rows)).not.toMatch(/clg_/);
      // root acted: root2 hears of both, root of neither; Agent-C (an address by routing time) of both.
      expect((await recipientsByType(f))['token.issued']).toEqual(['Agent-C', 'Agent-C', 'root2', 'root2']);
    });

    it('tells the principal and the other admins when admin rights are granted or removed', async () => {
      await recipientsByType(f);
      await f.engine.updatePrincipal(f.p['root']!, 'bob', { groups: ['admin'] });
      await f.engine.updatePrincipal(f.p['root']!, 'bob', { groups: ['operator'] });
      await f.engine.updatePrincipal(f.p['root']!, 'bob', { display_name: 'Bob' }); // no change of admin
      const by = await recipientsByType(f);
      expect(by['principal.admin_granted']).toEqual(['bob', 'root2']);
      expect(by['principal.admin_revoked']).toEqual(['bob', 'root2']);
      // A second admin created over the API is a grant too.
      await post('/principals', { id: 'admin-two', kind: 'service', groups: ['admin'], email: 'a2@example.com' });
      expect((await recipientsByType(f))['principal.admin_granted']).toEqual(['admin-two', 'root2']);
    });
  });

  describe('with auth.admin_may_issue_human_tokens (development set-ups)', () => {
    let f: Fixture;
    let app: LedgerApp;
    let root: string;
    beforeAll(async () => {
      f = await makeFixture(await backend.open(), {
        ...DEFAULT_ENGINE_CONFIG,
        auth: { ...DEFAULT_ENGINE_CONFIG.auth, admin_may_issue_human_tokens: true },
      });
      app = await buildApp({ engine: f.engine });
      root = (await f.engine.issueToken(null, 'root')).token;
    });
    afterAll(async () => {
      await app.close();
      await f.db.close();
    });

    it('lets an admin issue a token for a human, and create one with its token', async () => {
      const headers = { authorization: `Bearer ${root}` };
      const issued = await app.inject({ method: 'POST', url: '/api/ledger/principals/alice/tokens', headers });
      expect(issued.statusCode).toBe(201);
      const created = await app.inject({
        method: 'POST',
        url: '/api/ledger/principals',
        headers,
        payload: { id: uniqueId('person'), kind: 'human' },
      });
      expect(created.json().token).toMatchObject({ principal_id: created.json().principal.id });
    });
  });
});

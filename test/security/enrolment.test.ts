// One-time enrolments: an admin creates one, only the code's holder redeems it, once. The attacks:
// redeem a code twice (or twice at once), redeem an expired one, create one without being an
// admin, or, as an admin, redeem a person's code yourself; the last cannot be refused (the code
// is the credential), so it must be seen: audited, and announced to the person's own contacts.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileRoutes, DEFAULT_ROUTES } from '../../src/core/routing.js';
import { hashToken } from '../../src/engine/principals.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { routeEvents } from '../../src/notify/router.js';
import { describeEachBackend } from '../helpers/backends.js';
import { type Fixture, makeFixture, skipSetUpEvents } from '../helpers/fixture.js';

const DASHBOARD = 'https://ledger.example.com';

describeEachBackend('enrolment', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let root: string;
  let olga: string;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine, dashboardUrl: DASHBOARD });
    root = (await f.engine.issueToken(null, 'root')).token;
    olga = (await f.engine.issueToken(null, 'olga')).token;
    await skipSetUpEvents(f.db);
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  const enrol = (id: string, token = root) =>
    app.inject({
      method: 'POST',
      url: `/api/ledger/principals/${id}/enrolments`,
      headers: { authorization: `Bearer ${token}` },
    });
  const redeem = (code: string) =>
    app.inject({ method: 'POST', url: '/api/ledger/enrolments/redeem', payload: { code } });
  const me = (token: string) =>
    app.inject({ method: 'GET', url: '/api/ledger/me', headers: { authorization: `Bearer ${token}` } });

  it('gives the admin a code shown once, kept only as its hash, and the principal a token of its own', async () => {
    const created = await enrol('alice');
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(Object.keys(body).sort()).toEqual(['code', 'enrolment_id', 'expires_at', 'principal_id', 'redeem_url']);
    expect(body.redeem_url).toBe(`${DASHBOARD}/enrol#code=${body.code}`);
    expect(Date.parse(body.expires_at) - f.clock.now.getTime()).toBe(24 * 3_600_000);
    const { rows } = await f.db.query<{ code_hash: string }>('SELECT code_hash FROM enrolments WHERE id = $1', [
      body.enrolment_id,
    ]);
    expect(rows[0]!.code_hash).toBe(hashToken(body.code));

    const redeemed = await redeem(body.code);
    expect(redeemed.statusCode).toBe(201);
    const { token } = redeemed.json();
    expect(token).toMatchObject({ principal_id: 'alice' });
    expect((await me(token.token)).json()).toMatchObject({ id: 'alice' });
  });

  it('serves the dashboard page redeem_url leads to', async () => {
    const page = await app.inject({ method: 'GET', url: '/enrol', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
  });

  it('redeems a code once: again is 410 GONE, and stores nothing', async () => {
    const { code } = (await enrol('bob')).json();
    expect((await redeem(code)).statusCode).toBe(201);
    const tokens = (await f.db.query("SELECT id FROM tokens WHERE principal_id = 'bob'")).rows.length;
    const again = await redeem(code);
    expect(again.statusCode).toBe(410);
    expect(again.json()).toMatchObject({ statusCode: 410, code: 'GONE', error: 'Gone' });
    expect(again.json().message).toMatch(/redeemed at .* a code works once/);
    expect((await f.db.query("SELECT id FROM tokens WHERE principal_id = 'bob'")).rows.length).toBe(tokens);
  });

  it('gives one token when the same code is redeemed many times at once', async () => {
    const { code, enrolment_id } = (await enrol('sam')).json();
    const answers = await Promise.all(Array.from({ length: 6 }, () => redeem(code)));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([201, 410, 410, 410, 410, 410]);
    const { rows } = await f.db.query<{ token_id: string }>('SELECT token_id FROM enrolments WHERE id = $1', [
      enrolment_id,
    ]);
    const winner = answers.find((a) => a.statusCode === 201)!.json().token;
    expect(rows[0]!.token_id).toBe(winner.token_id);
    expect(
      (await f.db.query('SELECT id FROM tokens WHERE name = $1', [`enrolment ${enrolment_id}`])).rows,
    ).toHaveLength(1);
  });

  it('refuses an expired code with 410 GONE, and an unknown one with 404', async () => {
    const { code } = (await enrol('olga')).json();
    f.clock.advance(24 * 3_600_000 + 1);
    const expired = await redeem(code);
    expect(expired.statusCode).toBe(410);
    expect(expired.json().message).toMatch(/expired at/);
    const unknown = await redeem('clge_not-a-code');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('NOT_FOUND');
  });

  it('lets only admins create enrolments', async () => {
    const refused = await enrol('alice', olga);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('FORBIDDEN');
    expect((await enrol('nobody-here')).statusCode).toBe(404);
    const anonymous = await app.inject({ method: 'POST', url: '/api/ledger/principals/alice/enrolments' });
    expect(anonymous.statusCode).toBe(401);
  });

  it("shows an admin who redeems a code in someone else's name: audited, and announced to that person", async () => {
    await routeEvents(f.db, { routes: compileRoutes(DEFAULT_ROUTES), channels: {} }, () => f.clock.now);
    // root creates bob's enrolment and redeems it himself.
    const { code, enrolment_id } = (await enrol('bob')).json();
    const stolen = (await redeem(code)).json().token;
    const { rows: audit } = await f.db.query<{ actor: string; action: string; data: Record<string, unknown> }>(
      "SELECT actor, action, data FROM audit_entries WHERE action IN ('enrolment.create', 'enrolment.redeem') AND data->>'enrolment_id' = $1 ORDER BY seq",
      [enrolment_id],
    );
    expect(audit.map((e) => [e.actor, e.action])).toEqual([
      ['root', 'enrolment.create'],
      ['bob', 'enrolment.redeem'],
    ]);
    expect(audit[1]!.data).toMatchObject({ principal_id: 'bob', token_id: stolen.token_id, created_by: 'root' });
    expect(JSON.stringify(audit)).not.toContain(code);

    const channels = {
      mail: {
        type: 'email' as const,
        host: '127.0.0.1',
        port: 25,
        secure: false,
        user: null,
        password: null,
        from: 'l@x',
      },
    };
    await routeEvents(f.db, { routes: compileRoutes(DEFAULT_ROUTES), channels }, () => f.clock.now);
    const { rows } = await f.db.query<{ recipient: string }>(
      `SELECT d.recipient FROM deliveries d JOIN outbox_events e ON e.id = d.event_id
       WHERE e.type = 'token.issued' AND e.envelope->'data'->>'token_id' = $1 ORDER BY d.recipient`,
      [stolen.token_id],
    );
    // bob is the event's actor (his code was used) and still hears of it; so do both admins.
    expect(rows.map((r) => r.recipient)).toEqual(['bob', 'root', 'root2']);
  });
});

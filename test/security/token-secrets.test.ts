// Secrets are shown once. The attack: an admin issues a token with an Idempotency-Key, loses admin
// rights, and replays the request to read the token again; or anyone with database read access
// finds secrets in the idempotency table. Now no table holds a secret of any token or enrolment
// code, and a replay of a token-issuing request is re-authorized, then refused.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAdmin } from '../../src/engine/bootstrap.js';
import { hashToken } from '../../src/engine/principals.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { withoutSecrets } from '../../src/http/idempotency.js';
import { LOG_REDACT } from '../../src/server.js';
import type { Db } from '../../src/store/db.js';
import { describeEachBackend } from '../helpers/backends.js';
import { type Fixture, makeFixture, uniqueId } from '../helpers/fixture.js';

/** Every text-like column (text, varchar, json, jsonb, arrays) of every table in the current schema. */
async function textColumns(db: Db): Promise<{ table: string; column: string }[]> {
  const { rows } = await db.query<{ table: string; column: string }>(
    `SELECT table_name AS table, column_name AS column FROM information_schema.columns
     WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'ARRAY')
     ORDER BY table_name, column_name`,
  );
  return rows;
}

/** Where `needle` occurs in the database: `table.column` for each column holding it. */
async function findEverywhere(db: Db, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const { table, column } of await textColumns(db)) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${table}" WHERE strpos("${column}"::text, $1) > 0`,
      [needle],
    );
    if (rows[0]!.n > 0) found.push(`${table}.${column}`);
  }
  return found;
}

describe('withoutSecrets', () => {
  it('leaves out every token, code and redeem_url string at any depth, and nothing else', () => {
    expect(
      withoutSecrets({
        principal: { id: 'a', token: null },
        token: { token_id: 't', token: 'clg_x', principal_id: 'a' },
        list: [{ code: 'clge_y', redeem_url: 'http://d/enrol#code=clge_y', expires_at: 'e' }],
      }),
    ).toEqual({
      principal: { id: 'a', token: null },
      token: { token_id: 't', principal_id: 'a' },
      list: [{ expires_at: 'e' }],
    });
  });
});

describeEachBackend('token secrets', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let root: string;
  let root2: string;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    root = (await f.engine.issueToken(null, 'root')).token;
    root2 = (await f.engine.issueToken(null, 'root2')).token;
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  const post = (token: string, url: string, payload: unknown, key?: string) =>
    app.inject({
      method: 'POST',
      url: `/api/ledger${url}`,
      headers: { authorization: `Bearer ${token}`, ...(key ? { 'idempotency-key': key } : {}) },
      payload: payload as object,
    });

  it('replays no token: a repeat is refused with SECRET_SHOWN_ONCE, naming what was issued but not the secret', async () => {
    const key = uniqueId('key');
    const first = await post(root, '/principals/Agent-A/tokens', { name: 'ci' }, key);
    expect(first.statusCode).toBe(201);
    const issued = first.json().token;
    const again = await post(root, '/principals/Agent-A/tokens', { name: 'ci' }, key);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'SECRET_SHOWN_ONCE' });
    expect(again.json().details[0].issued).toEqual({ token: { token_id: issued.token_id, principal_id: 'Agent-A' } });
    expect(again.body).not.toContain(issued.token);
    // Still exactly one token issued by that key.
    const { rows } = await f.db.query("SELECT id FROM tokens WHERE principal_id = 'Agent-A' AND name = 'ci'");
    expect(rows).toHaveLength(1);
  });

  it('re-authorizes a repeat: an admin who lost the group gets FORBIDDEN, not the token', async () => {
    const mallory = (
      await post(root, '/principals', { id: uniqueId('mallory'), kind: 'service', groups: ['admin'] })
    ).json();
    const malloryToken = mallory.token.token as string;
    const key = uniqueId('key');
    const issued = await post(malloryToken, '/principals/Agent-B/tokens', {}, key);
    expect(issued.statusCode).toBe(201);
    const demoted = await app.inject({
      method: 'PATCH',
      url: `/api/ledger/principals/${mallory.principal.id}`,
      headers: { authorization: `Bearer ${root2}` },
      payload: { groups: [] },
    });
    expect(demoted.statusCode).toBe(200);
    const replay = await post(malloryToken, '/principals/Agent-B/tokens', {}, key);
    expect(replay.statusCode).toBe(403);
    expect(replay.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect(replay.body).not.toContain(issued.json().token.token);
    expect(replay.headers['idempotent-replayed']).toBeUndefined();
  });

  it('keeps no secret of any issued token or enrolment code anywhere in the database', async () => {
    const secrets: string[] = [];
    const key = () => uniqueId('key');
    // POST /principals (an agent gets its first token), with and without an Idempotency-Key.
    for (const k of [key(), undefined]) {
      const created = await post(root, '/principals', { id: uniqueId('agent'), kind: 'agent' }, k);
      expect(created.statusCode).toBe(201);
      secrets.push(created.json().token.token);
    }
    // POST /principals/:id/tokens.
    const token = await post(root, '/principals/Agent-C/tokens', { name: 'deploy' }, key());
    expect(token.statusCode).toBe(201);
    secrets.push(token.json().token.token);
    // An enrolment (its code is a secret too) and its redemption.
    const enrolment = await post(root, '/principals/alice/enrolments', {}, key());
    expect(enrolment.statusCode).toBe(201);
    secrets.push(enrolment.json().code);
    const redeemed = await app.inject({
      method: 'POST',
      url: '/api/ledger/enrolments/redeem',
      payload: { code: enrolment.json().code },
      headers: { 'idempotency-key': key() },
    });
    expect(redeemed.statusCode).toBe(201);
    secrets.push(redeemed.json().token.token);
    // Single sign-on: a known person, and one created on first sign-in (the route hands the token to
    // the dashboard in a URL fragment; test/security/oidc-login.test.ts runs the whole flow).
    const sso = { principal_claim: 'email', groups_claim: 'groups', group_map: {}, auto_create: true };
    for (const email of ['bob@example.com', `${uniqueId('new')}@example.com`]) {
      const issued = await f.engine.signInWithSso(
        { issuer: 'https://idp.example.com', claims: { sub: email, email, email_verified: true } },
        sso,
      );
      secrets.push(issued.token);
    }
    // The bootstrap admin's generated token (written to its file, never to the database).
    const dataDir = mkdtempSync(join(tmpdir(), 'changeledger-secrets-'));
    await bootstrapAdmin(f.engine, { envToken: null, dataDir });
    secrets.push(readFileSync(join(dataDir, 'admin-token'), 'utf8').trim());
    // The scan finds what is there: each token's hash is in tokens.token_hash.
    expect(await findEverywhere(f.db, hashToken(secrets[0]!))).toEqual(['tokens.token_hash']);
    expect(await findEverywhere(f.db, hashToken(enrolment.json().code))).toEqual(['enrolments.code_hash']);
    for (const secret of new Set(secrets)) {
      expect(secret).toMatch(/^clge?_/);
      expect(await findEverywhere(f.db, secret), `secret ${secret.slice(0, 8)}… found`).toEqual([]);
    }
    // …and the idempotency table kept the answers, without their secrets.
    const { rows } = await f.db.query<{ response: unknown }>(
      'SELECT response FROM idempotency_keys WHERE response IS NOT NULL',
    );
    expect(rows.length).toBeGreaterThanOrEqual(4);
  });

  it('writes no token, enrolment code or Idempotency-Key to the request log, at its most verbose', async () => {
    const lines: string[] = [];
    const logged = await buildApp({
      engine: f.engine,
      logger: { level: 'trace', redact: LOG_REDACT, stream: { write: (line: string) => lines.push(line) } },
    });
    const secrets: string[] = [root];
    const keys: string[] = [];
    const inject = (method: 'GET' | 'POST', url: string, token: string | null, payload?: object) =>
      logged.inject({
        method,
        url,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          'idempotency-key': keys[keys.push(uniqueId('logged-key')) - 1]!,
          accept: 'application/json, text/event-stream',
        },
        ...(payload ? { payload } : {}),
      });
    const issued = await inject('POST', '/api/ledger/principals/Agent-D/tokens', root, { name: 'logged' });
    secrets.push(issued.json().token.token);
    const enrolment = await inject('POST', '/api/ledger/principals/bob/enrolments', root, {});
    secrets.push(enrolment.json().code);
    const redeemed = await inject('POST', '/api/ledger/enrolments/redeem', null, { code: enrolment.json().code });
    secrets.push(redeemed.json().token.token);
    await inject('GET', '/api/ledger/me', secrets[1]!);
    await inject('GET', '/api/ledger/me', 'clg_not-a-token');
    await inject('POST', '/mcp', secrets[1]!, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    await logged.close();
    const log = lines.join('');
    expect(log).toContain('/api/ledger/enrolments/redeem');
    expect(secrets).toHaveLength(4);
    for (const secret of [...secrets, 'clg_not-a-token', ...keys]) expect(log).not.toContain(secret);
  });
});

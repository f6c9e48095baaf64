// The dashboard's files: public, served at every dashboard route (deep links included), never in
// the way of the API; without a build, a page that says how to build it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { migrate } from '../../src/store/migrator.js';
import { openPgliteDb } from '../../src/store/pglite-db.js';
import { type Fixture, makeFixture } from '../helpers/fixture.js';

const INDEX = '<!doctype html><title>dashboard</title><script type="module" src="/assets/app-1234.js"></script>';

describe('dashboard files', () => {
  let f: Fixture;
  let built: LedgerApp;
  let unbuilt: LedgerApp;
  let webRoot: string;
  let token: string;
  beforeAll(async () => {
    const db = await openPgliteDb();
    await migrate(db);
    f = await makeFixture(db);
    webRoot = mkdtempSync(join(tmpdir(), 'changeledger-web-'));
    mkdirSync(join(webRoot, 'assets'));
    writeFileSync(join(webRoot, 'index.html'), INDEX);
    writeFileSync(join(webRoot, 'assets', 'app-1234.js'), 'console.log("dashboard");');
    built = await buildApp({ engine: f.engine, webRoot });
    unbuilt = await buildApp({ engine: f.engine, webRoot: join(webRoot, 'missing') });
    token = (await f.engine.issueToken(null, 'alice')).token;
  });
  afterAll(async () => {
    await built.close();
    await unbuilt.close();
    await f.db.close();
    rmSync(webRoot, { recursive: true, force: true });
  });

  it.each([
    '/',
    '/queue',
    '/changesets',
    '/changesets/CS-2026-0001',
    '/resources',
    '/resources/SECURITY_POLICY/security.firewall',
    '/resources/UI/a%2Fb',
    '/overview',
  ])('answers %s with the page, without a token', async (url) => {
    const res = await built.inject({ method: 'GET', url, headers: { accept: 'text/html,*/*;q=0.8' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.body).toBe(INDEX);
  });

  it('serves the built assets publicly, cached for good (their names change with their content)', async () => {
    const res = await built.inject({ method: 'GET', url: '/assets/app-1234.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toContain('immutable');
    expect((await built.inject({ method: 'GET', url: '/assets/nope.js' })).statusCode).toBe(404);
  });

  it('keeps the API, health and docs as they were', async () => {
    const unknown = await built.inject({ method: 'GET', url: '/api/ledger/nope', headers: { accept: 'text/html' } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('NOT_FOUND');
    const anonymous = await built.inject({
      method: 'GET',
      url: '/api/ledger/changesets',
      headers: { accept: 'text/html' },
    });
    expect(anonymous.statusCode).toBe(401);
    const listed = await built.inject({
      method: 'GET',
      url: '/api/ledger/changesets',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(listed.statusCode).toBe(200);
    expect((await built.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await built.inject({ method: 'GET', url: '/docs/' })).statusCode).toBe(200);
    const openapi = await built.inject({ method: 'GET', url: '/api/ledger/openapi.json' });
    expect(Object.keys(openapi.json().paths).every((path) => path.startsWith('/api/ledger/'))).toBe(true);
  });

  it('answers a dashboard route with a JSON 404 to a client that does not take HTML', async () => {
    const res = await built.inject({ method: 'GET', url: '/changesets/CS-1', headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('NOT_FOUND');
  });

  it('says how to build the dashboard when it is not built, and still serves the API', async () => {
    const res = await unbuilt.inject({ method: 'GET', url: '/changesets/CS-1' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('The dashboard is not built. Run <code>npm run build</code>');
    expect((await unbuilt.inject({ method: 'GET', url: '/assets/app-1234.js' })).statusCode).toBe(404);
    expect((await unbuilt.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

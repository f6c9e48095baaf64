// Single sign-on against a real OpenID Connect provider (oidc-provider, started here on a random
// port), not a mock. A browser is played with fetch and a cookie jar: the ledger's login redirects
// to the provider, the provider's own (development) login and consent forms are submitted, the
// provider redirects to the ledger's callback, and the ledger hands the dashboard a token in the
// URL fragment. The attacks: a forged state, a replayed code, an ID token for another nonce, an
// answer claiming another issuer, and a person the ledger does not know.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LOGIN_COOKIE, OidcLogin } from '../../src/engine/oidc-login.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { type Fixture, makeFixture, skipSetUpEvents } from '../helpers/fixture.js';

const CLIENT_ID = 'changeledger';
const CLIENT_SECRET = 'a-client-secret-of-the-test-provider';

/** The provider's people: `alice` is known to the ledger by email, `stranger` is not. */
const ACCOUNTS: Record<string, Record<string, unknown>> = {
  'idp-alice': { email: 'Alice@example.com', email_verified: true, name: 'Alice', groups: ['idp-admins', 'idp-sec'] },
  'idp-bob': { email: 'bob@example.com', email_verified: true, name: 'Bob', groups: ['idp-other'] },
  'idp-stranger': { email: 'stranger@example.com', email_verified: true, name: 'Stranger', groups: [] },
};

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function startProvider(redirectUri: string): Promise<{ issuer: string; server: Server }> {
  const server = createServer();
  const issuer = `http://127.0.0.1:${await listen(server)}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
      },
    ],
    async findAccount(_ctx, id) {
      const claims = ACCOUNTS[id];
      return claims ? { accountId: id, claims: async () => ({ sub: id, ...claims }) } : undefined;
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    // The claims go into the ID token itself, which is all the ledger reads.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['test-provider-cookie-key'] },
  });
  server.on('request', provider.callback());
  return { issuer, server };
}

/** A browser: a cookie jar per origin, redirects followed by hand, the provider's forms submitted. */
class Browser {
  readonly jar = new Map<string, Map<string, string>>();

  cookies(url: URL): Map<string, string> {
    const cookies = this.jar.get(url.origin) ?? new Map<string, string>();
    this.jar.set(url.origin, cookies);
    return cookies;
  }

  async request(url: URL, init: RequestInit = {}): Promise<Response> {
    const cookies = this.cookies(url);
    const cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie ? { cookie } : {}) },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      if (value === '' || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))) cookies.delete(name);
      else cookies.set(name, value);
    }
    return response;
  }

  /**
   * From `start`, through the provider's login (as `account`) and consent, until a redirect to a
   * URL that `stop` accepts: that URL, not fetched.
   */
  async walk(start: URL, account: string, stop: (url: URL) => boolean): Promise<URL> {
    let response = await this.request(start);
    let url = start;
    for (let step = 0; step < 20; step++) {
      if (response.status >= 300 && response.status < 400) {
        url = new URL(response.headers.get('location')!, url);
        if (stop(url)) return url;
        response = await this.request(url);
        continue;
      }
      const html = await response.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
      if (!action || !prompt) throw new Error(`stuck at ${url.href} (${response.status}): ${html.slice(0, 300)}`);
      const form = new URLSearchParams(prompt === 'login' ? { prompt, login: account, password: 'x' } : { prompt });
      url = new URL(action, url);
      response = await this.request(url, {
        method: 'POST',
        body: form.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    }
    throw new Error('too many redirects');
  }
}

describeEachBackend('single sign-on (OpenID Connect)', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let provider: Server;
  let ledger: string;
  let login: OidcLogin;

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    await skipSetUpEvents(f.db);
    // The port first: the provider must know the redirect URI before the ledger is built.
    const probe = createServer();
    const port = await listen(probe);
    await new Promise((resolve) => probe.close(resolve));
    ledger = `http://127.0.0.1:${port}`;
    const callback = `${ledger}/api/ledger/auth/oidc/callback`;
    const started = await startProvider(callback);
    provider = started.server;
    login = new OidcLogin(
      {
        issuer: started.issuer,
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_url: callback,
        scopes: ['openid', 'email', 'profile', 'groups'],
      },
      () => f.clock.now,
    );
    app = await buildApp({
      engine: f.engine,
      dashboardUrl: ledger,
      oidc: {
        login,
        sso: {
          principal_claim: 'email',
          groups_claim: 'groups',
          group_map: { 'idp-admins': 'admin', 'idp-sec': 'security' },
          auto_create: false,
        },
      },
    });
    await app.listen({ host: '127.0.0.1', port });
  });
  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => provider?.close(resolve));
    provider?.closeAllConnections();
    await f?.db.close();
  });

  const loginUrl = () => new URL('/api/ledger/auth/oidc/login', ledger);
  const isCallback = (url: URL) => url.pathname === '/api/ledger/auth/oidc/callback';
  const me = (token: string) =>
    fetch(`${ledger}/api/ledger/me`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown>,
    }));
  const refusal = async (response: Response) => ({
    status: response.status,
    body: (await response.json()) as { statusCode: number; code: string; message: string },
  });

  it('signs a known person in: the token reaches the dashboard in the fragment and works as them, groups mapped', async () => {
    const browser = new Browser();
    const signedIn = await browser.walk(loginUrl(), 'idp-alice', (url) => url.pathname === '/signed-in');
    expect(signedIn.origin).toBe(ledger);
    expect(signedIn.search).toBe('');
    const token = new URLSearchParams(signedIn.hash.slice(1)).get('token')!;
    expect(token).toMatch(/^clg_/);
    // The sign-in cookie served its one attempt.
    expect(browser.cookies(new URL(ledger)).has(LOGIN_COOKIE)).toBe(false);

    const seen = await me(token);
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({ id: 'alice', kind: 'human' });
    expect([...(seen.body.groups as string[])].sort()).toEqual(['admin', 'security']);

    // Audited on the system chain as the replay needs it, and announced.
    const { rows: audit } = await f.db.query<{ actor: string; action: string; data: Record<string, unknown> }>(
      "SELECT actor, action, data FROM audit_entries WHERE actor = 'alice' ORDER BY seq",
    );
    expect(audit.map((e) => e.action)).toEqual(['principal.update', 'sso.sign_in', 'token.create']);
    expect(audit[0]!.data).toMatchObject({ id: 'alice', groups: ['admin', 'security'] });
    expect(audit[2]!.data).toMatchObject({ principal_id: 'alice', via: 'sso' });
    expect(JSON.stringify(audit)).not.toContain(token);
    const { rows: events } = await f.db.query<{ type: string }>(
      "SELECT type FROM outbox_events WHERE actor = 'alice' ORDER BY id",
    );
    expect(events.map((e) => e.type)).toEqual(['principal.admin_granted', 'token.issued']);
    expect((await f.engine.verifyAudit()).ok).toBe(true);
  });

  it('takes groups away the provider no longer gives, and leaves unmapped groups alone', async () => {
    await f.engine.updatePrincipal(f.p['root']!, 'bob', { groups: ['admin', 'operator'] });
    const signedIn = await new Browser().walk(loginUrl(), 'idp-bob', (url) => url.pathname === '/signed-in');
    const token = new URLSearchParams(signedIn.hash.slice(1)).get('token')!;
    const seen = await me(token);
    expect(seen.body).toMatchObject({ id: 'bob', groups: ['operator'] });
    const { rows } = await f.db.query<{ type: string }>(
      "SELECT type FROM outbox_events WHERE actor = 'bob' AND type LIKE 'principal.%'",
    );
    expect(rows.map((r) => r.type)).toEqual(['principal.admin_revoked']);
  });

  it('refuses a callback whose state is not the one this browser started with (400), storing nothing', async () => {
    const browser = new Browser();
    const callback = await browser.walk(loginUrl(), 'idp-alice', isCallback);
    const tokensBefore = await f.db.query('SELECT id FROM tokens');
    callback.searchParams.set('state', 'forged-state');
    const answer = await refusal(await browser.request(callback));
    expect(answer).toMatchObject({ status: 400, body: { statusCode: 400, code: 'VALIDATION_FAILED' } });
    expect(answer.body.message).toMatch(/state does not match/);
    expect((await f.db.query('SELECT id FROM tokens')).rows).toHaveLength(tokensBefore.rows.length);
  });

  it('refuses a callback without the sign-in cookie (400)', async () => {
    const callback = await new Browser().walk(loginUrl(), 'idp-alice', isCallback);
    const answer = await refusal(await fetch(callback, { redirect: 'manual' }));
    expect(answer).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(answer.body.message).toMatch(/no sign-in is in progress/);
  });

  it('refuses a replayed code (401): the provider honours a code once', async () => {
    const browser = new Browser();
    const callback = await browser.walk(loginUrl(), 'idp-alice', isCallback);
    const cookie = `${LOGIN_COOKIE}=${browser.cookies(new URL(ledger)).get(LOGIN_COOKIE)}`;
    const first = await fetch(callback, { redirect: 'manual', headers: { cookie } });
    expect(first.status).toBe(302);
    const replay = await refusal(await fetch(callback, { redirect: 'manual', headers: { cookie } }));
    expect(replay).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(replay.body.message).toMatch(/invalid_grant/);
  });

  it('refuses an ID token issued for another nonce (401)', async () => {
    const browser = new Browser();
    const callback = await browser.walk(loginUrl(), 'idp-alice', isCallback);
    // The same sign-in (state, PKCE verifier) sealed with another nonce, as a mixed-up session would be.
    const sealed = browser.cookies(new URL(ledger)).get(LOGIN_COOKIE)!;
    const pending = JSON.parse(Buffer.from(sealed.split('.')[0]!, 'base64url').toString());
    const cookie = `${LOGIN_COOKIE}=${login.seal({ ...pending, nonce: 'another-nonce' })}`;
    const answer = await refusal(await fetch(callback, { redirect: 'manual', headers: { cookie } }));
    expect(answer).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(answer.body.message).toMatch(/nonce/);
  });

  it('refuses an answer claiming another issuer (401)', async () => {
    const browser = new Browser();
    const callback = await browser.walk(loginUrl(), 'idp-alice', isCallback);
    callback.searchParams.set('iss', 'https://evil.example.com');
    const answer = await refusal(await browser.request(callback));
    expect(answer).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(answer.body.message).toMatch(/iss/);
  });

  it('refuses a sealed cookie it did not seal (400)', async () => {
    const browser = new Browser();
    const callback = await browser.walk(loginUrl(), 'idp-alice', isCallback);
    const sealed = browser.cookies(new URL(ledger)).get(LOGIN_COOKIE)!;
    const cookie = `${LOGIN_COOKIE}=${sealed.split('.')[0]}.${'A'.repeat(43)}`;
    const answer = await refusal(await fetch(callback, { redirect: 'manual', headers: { cookie } }));
    expect(answer).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
  });

  it('refuses a person the ledger does not know while auto_create is off (403), creating nobody', async () => {
    const browser = new Browser();
    const callback = await browser.walk(loginUrl(), 'idp-stranger', isCallback);
    const answer = await refusal(await browser.request(callback));
    expect(answer).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(answer.body.message).toMatch(/no principal has email stranger@example\.com/);
    const { rows } = await f.db.query("SELECT id FROM principals WHERE email = 'stranger@example.com'");
    expect(rows).toEqual([]);
  });
});

// What the provider's claims do once verified, on the engine alone (no provider needed).
describeEachBackend('single sign-on: from claims to a principal', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  const sso = { principal_claim: 'email', groups_claim: 'groups', group_map: { ops: 'operator' }, auto_create: true };
  const identity = (claims: Record<string, unknown>) => ({ issuer: 'https://idp.example.com', claims });
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => null,
      (error: { code: string; message: string }) => error,
    );

  it('creates a person at first sign-in when auto_create is on, journalled so audit verify accounts for it', async () => {
    const issued = await f.engine.signInWithSso(
      identity({ sub: 's1', email: 'new.person@example.com', name: 'New Person', groups: ['ops', 'unmapped'] }),
      sso,
    );
    const principal = await f.engine.authenticate(issued.token);
    expect(principal).toMatchObject({ id: 'new.person@example.com', kind: 'human', groups: ['operator'] });
    const { rows } = await f.db.query<{ action: string }>(
      "SELECT action FROM audit_entries WHERE actor = 'new.person@example.com' ORDER BY seq",
    );
    expect(rows.map((r) => r.action)).toEqual(['principal.create', 'sso.sign_in', 'token.create']);
    expect((await f.engine.verifyAudit()).ok).toBe(true);
  });

  it('answers 404 in the error shape while single sign-on is not configured', async () => {
    const app = await buildApp({ engine: f.engine });
    for (const url of ['/api/ledger/auth/oidc/login', '/api/ledger/auth/oidc/callback?code=x&state=y']) {
      const answer = await app.inject({ method: 'GET', url });
      expect(answer.statusCode).toBe(404);
      expect(answer.json()).toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/oidc\.issuer/) });
    }
    await app.close();
  });

  it('refuses an agent (single sign-on is for people), an unverified email and a missing claim', async () => {
    await f.engine.updatePrincipal(f.p['root']!, 'Agent-A', { email: 'agent-a@example.com' });
    expect(await failure(f.engine.signInWithSso(identity({ email: 'agent-a@example.com' }), sso))).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/is of kind agent: single sign-on is for people/),
    });
    expect(
      await failure(f.engine.signInWithSso(identity({ email: 'alice@example.com', email_verified: false }), sso)),
    ).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/not verified/) });
    expect(await failure(f.engine.signInWithSso(identity({ sub: 'x' }), sso))).toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/no email claim/),
    });
    const { rows } = await f.db.query("SELECT id FROM tokens WHERE name LIKE 'sso %'");
    expect(rows).toHaveLength(1);
  });
});

// The OpenID Connect side of single sign-on (authorization code with PKCE, via openid-client).
// Nothing is kept on the server between the two legs: the state, nonce and PKCE verifier ride in
// a short-lived cookie sealed with an HMAC whose key is derived from the client secret, which
// every instance shares, so the callback may land on any instance. The cookie is HttpOnly and
// SameSite=Lax (the provider's redirect back is a top-level GET, so the browser sends it).
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import * as oidc from 'openid-client';
import { LedgerError } from '../core/errors.js';
import type { SsoIdentity } from './sso.js';

export interface OidcClientOptions {
  issuer: string;
  client_id: string;
  client_secret: string;
  redirect_url: string;
  scopes: readonly string[];
}

/** The name of the cookie that carries a sign-in in progress. */
export const LOGIN_COOKIE = 'changeledger_oidc';
/** How long a sign-in may take at the provider, in seconds. */
export const LOGIN_TTL_SECONDS = 600;

interface PendingLogin {
  state: string;
  nonce: string;
  verifier: string;
  /** Expiry, epoch milliseconds. */
  exp: number;
}

/** What went wrong, from openid-client's error: the provider's error code, or the check that failed. */
function reasonOf(error: unknown): string {
  if (error instanceof oidc.ResponseBodyError || error instanceof oidc.AuthorizationResponseError)
    return `${error.error}${error.error_description ? ` (${error.error_description})` : ''}`;
  const message = (error as Error).message;
  // openid-client's messages are generic ("unexpected JWT claim value encountered"); the check's own is in cause.
  const cause = (error as Error).cause;
  return cause instanceof Error && cause.message !== message ? `${message}: ${cause.message}` : message;
}

const RESTART = 'start again at /api/ledger/auth/oidc/login';

export class OidcLogin {
  private configuration: Promise<oidc.Configuration> | null = null;
  private readonly key: Buffer;

  constructor(
    readonly options: OidcClientOptions,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.key = Buffer.from(hkdfSync('sha256', options.client_secret, 'changeledger', 'oidc login cookie', 32));
  }

  /** The provider's metadata, fetched once; a failed fetch is tried again on the next sign-in. */
  private discover(): Promise<oidc.Configuration> {
    if (this.configuration) return this.configuration;
    const issuer = new URL(this.options.issuer);
    // http is for local providers only (development, tests); openid-client refuses it otherwise.
    const execute = issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [];
    this.configuration = oidc
      .discovery(issuer, this.options.client_id, this.options.client_secret, undefined, { execute })
      .catch((error: unknown) => {
        this.configuration = null;
        throw new LedgerError(
          'UNAVAILABLE',
          `the identity provider ${this.options.issuer} could not be reached: ${(error as Error).message}`,
          undefined,
          { cause: error },
        );
      });
    return this.configuration;
  }

  seal(login: PendingLogin): string {
    const body = Buffer.from(JSON.stringify(login)).toString('base64url');
    return `${body}.${createHmac('sha256', this.key).update(body).digest('base64url')}`;
  }

  private unseal(cookie: string | undefined): PendingLogin {
    const [body, mac, extra] = (cookie ?? '').split('.');
    if (!body || !mac || extra !== undefined)
      throw new LedgerError('VALIDATION_FAILED', `no sign-in is in progress in this browser: ${RESTART}`);
    const expected = createHmac('sha256', this.key).update(body).digest();
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new LedgerError('VALIDATION_FAILED', `the sign-in cookie is not one this server sealed: ${RESTART}`);
    const login = JSON.parse(Buffer.from(body, 'base64url').toString()) as PendingLogin;
    if (login.exp <= this.now().getTime())
      throw new LedgerError('VALIDATION_FAILED', `the sign-in took longer than ${LOGIN_TTL_SECONDS} s: ${RESTART}`);
    return login;
  }

  /** Where to send the browser, and the sealed cookie that the callback will need. */
  async start(): Promise<{ url: string; cookie: string }> {
    const configuration = await this.discover();
    const login = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      exp: this.now().getTime() + LOGIN_TTL_SECONDS * 1000,
    };
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: this.options.redirect_url,
      scope: this.options.scopes.join(' '),
      state: login.state,
      nonce: login.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(login.verifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, cookie: this.seal(login) };
  }

  /**
   * The provider's answer (the callback's query string) checked against the sealed cookie, the code
   * exchanged, the ID token verified (issuer, audience, nonce, signature): the identity it vouches for.
   */
  async finish(query: string, cookie: string | undefined): Promise<SsoIdentity> {
    const login = this.unseal(cookie);
    const params = new URLSearchParams(query);
    if (params.get('state') !== login.state)
      throw new LedgerError('VALIDATION_FAILED', `the state does not match this browser's sign-in: ${RESTART}`);
    const configuration = await this.discover();
    const callback = new URL(this.options.redirect_url);
    callback.search = params.toString();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, callback, {
        pkceCodeVerifier: login.verifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw new LedgerError(
        'UNAUTHENTICATED',
        `the identity provider's answer was refused: ${reasonOf(error)}`,
        undefined,
        {
          cause: error,
        },
      );
    }
    const claims = tokens.claims();
    if (!claims) throw new LedgerError('UNAUTHENTICATED', 'the identity provider sent no ID token');
    return { issuer: configuration.serverMetadata().issuer, claims: { ...claims } };
  }
}

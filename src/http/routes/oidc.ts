// Single sign-on for the dashboard: login sends the browser to the identity provider, callback
// takes its answer, signs the person in (engine) and hands the token to the dashboard in a URL
// fragment, which browsers never send to a server, so it is in no server's log.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LedgerError } from '../../core/errors.js';
import { type Engine, LOGIN_COOKIE, LOGIN_TTL_SECONDS, type OidcLogin, type SsoOptions } from '../../engine/index.js';
import { operation } from '../openapi.js';

export interface OidcRouteOptions {
  /** Absent: single sign-on is not configured (oidc.issuer unset) and both routes answer 404. */
  login?: OidcLogin;
  sso: SsoOptions;
  /** The dashboard's base URL (no trailing slash), where the signed-in page is. */
  dashboardUrl: string;
}

const PATH = '/api/ledger/auth/oidc';

function cookieOf(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

function loginCookie(value: string, maxAge: number, secure: boolean): string {
  return `${LOGIN_COOKIE}=${value}; Path=${PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

export function oidcRoutes(app: FastifyInstance, engine: Engine, options: OidcRouteOptions): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const configured = (): OidcLogin => {
    if (options.login) return options.login;
    throw new LedgerError('NOT_FOUND', 'single sign-on is not configured on this server (oidc.issuer)');
  };
  const secure = () => options.login?.options.redirect_url.startsWith('https:') ?? false;
  const schema = (operationId: string, summary: string, description: string) =>
    operation('GET', {
      operationId,
      tags: ['auth'],
      summary,
      description,
      public: true,
      answers: { 302: { description: 'A redirect', headers: ['Location'] } },
      refusals: ['NOT_FOUND', 'FORBIDDEN', 'UNAUTHENTICATED', 'CONFLICT'],
    });

  r.get(
    '/auth/oidc/login',
    {
      schema: schema(
        'startOidcLogin',
        'Sign in with the identity provider (dashboard)',
        'Redirects to the provider (PKCE).',
      ),
    },
    async (_request, reply) => {
      const { url, cookie } = await configured().start();
      return reply.header('set-cookie', loginCookie(cookie, LOGIN_TTL_SECONDS, secure())).redirect(url, 302);
    },
  );
  r.get(
    '/auth/oidc/callback',
    {
      schema: schema(
        'finishOidcLogin',
        'Where the identity provider sends the browser back',
        'Checks state, nonce and PKCE, signs the person in with a new token of their own (audited, ' +
          '`token.issued` via sso) and redirects to `<dashboard>/signed-in#token=…`.',
      ),
    },
    async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      // The cookie serves one attempt, whatever its outcome.
      reply.header('set-cookie', loginCookie('', 0, secure()));
      const identity = await configured().finish(query, cookieOf(request, LOGIN_COOKIE));
      const issued = await engine.signInWithSso(identity, options.sso, { ip: request.ip });
      reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
      return reply.redirect(`${options.dashboardUrl}/signed-in#token=${encodeURIComponent(issued.token)}`, 302);
    },
  );
}

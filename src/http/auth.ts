// Bearer tokens on every API route but the public ones; the principal rides on the request.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LedgerError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { Engine } from '../engine/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Route patterns anyone may call. */
// Redeeming an enrolment needs no token: its code is the credential.
const PUBLIC = new Set([
  '/api/ledger/openapi.json',
  '/api/ledger/enrolments/redeem',
  '/api/ledger/auth/oidc/login',
  '/api/ledger/auth/oidc/callback',
  // Slack's interactivity request URL: authenticated by Slack's request signature instead.
  '/api/ledger/integrations/slack/interactions',
]);

/** The bearer token of the request: null without Authorization, '' when it is not a bearer token. */
export function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? '';
}

export function registerAuth(app: FastifyInstance, engine: Engine): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    // Decide by the route the router matched, never by the raw URL: the router decodes
    // percent-escapes (/%61pi/… is /api/…), a string test on request.url would not.
    const route = request.routeOptions.url;
    if (route === undefined || PUBLIC.has(route) || !route.startsWith('/api/')) return;
    const token = bearer(request);
    if (token === null) throw new LedgerError('UNAUTHENTICATED', 'missing Authorization: Bearer <token>');
    const principal = token ? await engine.authenticate(token) : null;
    if (!principal) {
      throw new LedgerError('UNAUTHENTICATED', 'unknown or revoked token', undefined, {
        fix: 'ask an admin for a new token (POST /api/ledger/principals/{id}/tokens, or changeledger principal token create <id>); a person signs in on the dashboard again',
      });
    }
    request.principal = principal;
  });
}

/** The authenticated principal (routes behind the auth hook always have one). */
export function actorOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new LedgerError('UNAUTHENTICATED', 'missing Authorization: Bearer <token>');
  return request.principal;
}

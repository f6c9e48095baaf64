// The MCP server at /mcp (docs/agents.md#mcp): streamable HTTP, stateless, behind the API's own
// bearer tokens. This file is the HTTP edge only: who is calling (401 with the challenge that
// points at the protected-resource metadata), that metadata (RFC 9728), and the hand-over of the
// raw request to the MCP SDK's handler. The tools themselves are src/mcp/, and they reach the
// API through the typed client, in process, with the caller's own token.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LedgerError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { Engine } from '../engine/index.js';
import { createLedgerMcpHandler, type FetchLike, type McpSettings } from '../mcp/http-handler.js';
import { bearer } from './auth.js';
import { assertStorableJsonText } from './input-guard.js';
import type { StreamCredentialWatch } from './stream-credentials.js';

export const MCP_PATH = '/mcp';
const METADATA_PATH = '/.well-known/oauth-protected-resource';

export interface McpRouteOptions extends McpSettings {
  /** Host names /mcp answers to besides the loopback ones (config dashboard_url's and mcp.allowed_hosts). */
  allowedHosts: readonly string[];
  /** The OpenID Connect issuer (config oidc.issuer) named as the authorization server; null: none. */
  issuer: string | null;
  /** How the tools reach the API: a fetch into the same app (injectFetch), with the caller's token. */
  fetch: FetchLike;
  /** The app's watch of open requests' tokens: a request (a listen stream, a long call) ends with its token. */
  credentials: StreamCredentialWatch;
}

export const MCP_DEFAULTS = { enabled: true, disabled: [], issuer: null, allowedHosts: [] } as const;

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/** The host name of a Host header value or an Origin (port and scheme dropped); null when unreadable. */
function hostnameOf(value: string, isOrigin: boolean): string | null {
  try {
    return new URL(isOrigin ? value : `http://${value}`).hostname.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * DNS rebinding: a web page whose own name now resolves to this server's address must not reach
 * /mcp. Its requests carry its name in Host (and Origin): only the names this server is known by
 * are answered.
 */
function foreignHost(request: FastifyRequest, allowed: ReadonlySet<string>): string | null {
  const host = request.headers.host ?? '';
  const origin = request.headers.origin;
  const hostName = hostnameOf(host, false);
  if (hostName === null || !allowed.has(hostName)) return `Host ${host || '(none)'}`;
  if (origin !== undefined && origin !== 'null') {
    const originName = hostnameOf(origin, true);
    if (originName === null || !allowed.has(originName)) return `Origin ${origin}`;
  }
  return null;
}

/** The address the caller reached: the resource identifier of RFC 9728. */
const resourceOf = (request: FastifyRequest): string => `${request.protocol}://${request.host}${MCP_PATH}`;
const metadataUrlOf = (request: FastifyRequest): string =>
  `${request.protocol}://${request.host}${METADATA_PATH}${MCP_PATH}`;

function challenge(reply: FastifyReply, request: FastifyRequest, refusal: LedgerError, invalid: boolean) {
  // RFC 6750: no error code when no credentials were sent at all.
  const error = invalid ? ', error="invalid_token"' : '';
  return reply
    .status(401)
    .header('www-authenticate', `Bearer resource_metadata="${metadataUrlOf(request)}"${error}`)
    .send(refusal.toBody());
}

/** The Fastify request as a web-standard one, with the body bytes as they arrived. */
function toWebRequest(request: FastifyRequest, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  const body = typeof request.body === 'string' && request.body.length > 0 ? request.body : undefined;
  return new Request(`${request.protocol}://${request.host}${request.url}`, {
    method: request.method,
    headers,
    signal,
    ...(body && request.method !== 'GET' && request.method !== 'HEAD' ? { body } : {}),
  });
}

/** Registered in a scope of its own: /mcp hands the SDK the body as it came, no other route does. */
export async function mcpRoutes(scope: FastifyInstance, engine: Engine, options: McpRouteOptions): Promise<void> {
  const handler = createLedgerMcpHandler(options.fetch, { disabled: options.disabled });
  const allowedHosts = new Set([...LOOPBACK, ...options.allowedHosts.map((name) => name.toLowerCase())]);
  // Before the server stops accepting: open listen streams end, so close() does not wait on them.
  scope.addHook('preClose', () => handler.close());

  const metadata = async (request: FastifyRequest) => ({
    resource: resourceOf(request),
    ...(options.issuer ? { authorization_servers: [options.issuer] } : {}),
    bearer_methods_supported: ['header'],
    resource_name: 'changeledger',
  });
  scope.get(`${METADATA_PATH}${MCP_PATH}`, { schema: { hide: true } }, metadata);
  scope.get(METADATA_PATH, { schema: { hide: true } }, metadata);

  // The SDK reads the body itself (JSON-RPC parse errors, 415 for other media types): hand it the text.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  // Who called, for the handler. Not request.principal: the write limit counts the tools' own API
  // calls, not the MCP messages that carry them (a tools/list would cost a write otherwise).
  const callers = new WeakMap<FastifyRequest, { principal: Principal; token: string }>();
  scope.route({
    method: ['GET', 'POST', 'DELETE'],
    url: MCP_PATH,
    schema: { hide: true },
    onRequest: async (request, reply) => {
      const foreign = foreignHost(request, allowedHosts);
      if (foreign)
        throw new LedgerError(
          'FORBIDDEN',
          `${foreign} is not a name this server answers /mcp to: add it to mcp.allowed_hosts (docs/agents.md#mcp)`,
        );
      const token = bearer(request);
      if (token === null)
        return challenge(
          reply,
          request,
          new LedgerError('UNAUTHENTICATED', 'missing Authorization: Bearer <token>'),
          false,
        );
      const principal = token ? await engine.authenticate(token) : null;
      if (!principal || !token)
        return challenge(reply, request, new LedgerError('UNAUTHENTICATED', 'unknown or revoked token'), true);
      callers.set(request, { principal, token });
    },
    handler: async (request, reply) => {
      const caller = callers.get(request);
      if (!caller) throw new LedgerError('UNAUTHENTICATED', 'missing Authorization: Bearer <token>');
      const { principal, token } = caller;
      // Depth and unstorable text are refused before the SDK walks the arguments (input-guard.ts).
      if (typeof request.body === 'string' && request.body.length > 0) assertStorableJsonText(request.body);
      // A caller that goes away aborts what its request still waits for (a long wait_for_decision),
      // and so does the end of its credentials: a revoked token or a deactivated principal ends
      // its listen streams and its calls in progress (stream-credentials.ts).
      const gone = new AbortController();
      const unwatch = options.credentials.add(token, () => gone.abort());
      reply.raw.once('close', () => {
        unwatch();
        gone.abort();
      });
      const response = await handler.fetch(toWebRequest(request, gone.signal), {
        authInfo: { token, clientId: principal.id, scopes: [] },
      });
      return reply.send(response);
    },
  });
}

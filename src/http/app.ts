// buildApp(deps) → a Fastify instance, separate from listen() so tests use app.inject().
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import { LedgerError, RETRY_AFTER_SECONDS } from '../core/errors.js';
import type { Engine, EngineConfig } from '../engine/index.js';
import type { EventFeed } from '../notify/event-feed.js';
import { ChangeSetWaiters } from '../notify/waiters.js';
import { type Admission, registerAdmission } from './admission.js';
import { registerAuth } from './auth.js';
import { DEFAULT_WEB_ROOT, registerDashboard } from './dashboard.js';
import { toLedgerError, validatorCompiler } from './errors.js';
import { registerIdempotency } from './idempotency.js';
import { injectFetch } from './inject-fetch.js';
import { registerInputGuard } from './input-guard.js';
import { MCP_DEFAULTS, type McpRouteOptions, mcpRoutes } from './mcp-route.js';
import { type Metrics, registerMetrics } from './metrics.js';
import { addComponents, swaggerOptions } from './openapi.js';
import { type RateLimit, registerRateLimit } from './rate-limit.js';
import { registerResponseCheck } from './response-check.js';
import { agentRoutes } from './routes/agents.js';
import { changeSetRoutes } from './routes/change-sets.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { eventRoutes } from './routes/events.js';
import { ledgerRoutes } from './routes/ledger.js';
import { type OidcRouteOptions, oidcRoutes } from './routes/oidc.js';
import { type InteractiveSlackApp, slackRoutes } from './routes/slack.js';
import { statsRoutes } from './routes/stats.js';
import { waitRoutes } from './routes/wait.js';
import { appCredentialWatch } from './stream-credentials.js';

export interface AppDeps {
  engine: Engine;
  bodyLimitBytes?: number;
  pageSizeMax?: number;
  requestTimeoutMs?: number;
  logger?: FastifyServerOptions['logger'];
  version?: string;
  /** The instance's event feed; without it GET /events answers 503 UNAVAILABLE. */
  events?: EventFeed;
  /** The waits of GET /changesets/{id}/wait; default: on `events` (none without it: 503). */
  waiters?: ChangeSetWaiters;
  /** Per-principal write limit; default none (tests), the server passes the configured one. */
  rateLimit?: RateLimit;
  /** Admission control (API requests at once, then a short queue); default off, the server passes the configured one. */
  admission?: Omit<Admission, 'onShed'>;
  /** Interval of the SSE heartbeat comment (default 15 s). */
  eventsHeartbeatMs?: number;
  /** The dashboard's base URL (config dashboard_url), for links the API hands out; default none (relative links). */
  dashboardUrl?: string;
  /** Single sign-on (config oidc); default none: the sign-in routes answer 404. */
  oidc?: Omit<OidcRouteOptions, 'dashboardUrl'>;
  /** Slack apps answering Approve / Reject buttons (interactiveSlackApps); default none: the route answers 404. */
  slack?: readonly InteractiveSlackApp[];
  /**
   * Reads a candidate configuration for POST /policies/replay with the loader's schema and rules
   * (config.ts candidateEngineConfig, which the server passes); default none: the route answers 404.
   */
  candidateConfig?: (text: string) => EngineConfig;
  /** The built dashboard (default dist/web); without its index.html the dashboard routes say how to build it. */
  webRoot?: string;
  /** The MCP server at /mcp (config mcp); default on with every tool, no authorization server named. */
  mcp?: { enabled: boolean } & Omit<McpRouteOptions, 'fetch' | 'credentials'>;
}

export interface LedgerApp extends FastifyInstance {
  /** Turns /readyz unready (graceful shutdown starts here). */
  markShuttingDown(): void;
  /** This app's Prometheus metrics (GET /metrics); the dispatcher reports deliveries here. */
  metrics: Metrics;
}

export async function buildApp(deps: AppDeps): Promise<LedgerApp> {
  const { engine } = deps;
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.bodyLimitBytes ?? 10 * 1024 * 1024,
    requestTimeout: deps.requestTimeoutMs ?? 30_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Long enough for any id the schemas allow (target ids are up to 512 characters, escaped).
    routerOptions: { maxParamLength: 4096 },
    // Errors the router raises before any route runs get the API's shape too.
    frameworkErrors: (error, _request, reply) => {
      const refusal = new LedgerError('VALIDATION_FAILED', `the request URL is not valid: ${error.message}`);
      void (reply as unknown as FastifyReply).status(400).send(refusal.toBody());
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: true } },
  }) as unknown as LedgerApp;
  app.setValidatorCompiler(validatorCompiler);
  // JSON only: a text/plain body is 415 like any other type, not a string handed to the schemas.
  app.removeContentTypeParser('text/plain');
  // Schemas document responses; serialising with JSON.stringify never drops a field they forgot.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setErrorHandler((error, request, reply) => {
    const refusal = toLedgerError(error, request);
    if (refusal.code === 'OVERLOADED') {
      metrics.overloaded.inc({ stage: 'pool' });
      request.log.warn({ err: error }, 'request shed: no database connection freed up in time');
    } else if (refusal.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    const retryAfter = RETRY_AFTER_SECONDS[refusal.code as keyof typeof RETRY_AFTER_SECONDS];
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    return reply.status(refusal.statusCode).send(refusal.toBody());
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(
      new LedgerError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`, undefined, {
        fix: 'Check the method and the path: GET /api/ledger/openapi.json lists every route.',
      }).toBody(),
    ),
  );

  let shuttingDown = false;
  app.markShuttingDown = () => {
    shuttingDown = true;
  };
  // While shutting down, a kept-alive connection is closed after its response: otherwise it turns
  // idle after close() began and nothing closes it, and the stop waits out its timeout.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (shuttingDown) reply.header('connection', 'close');
    return payload;
  });

  const dashboardUrl = (deps.dashboardUrl ?? '').replace(/\/+$/, '');
  // The API document (./openapi.ts): named components first, so that routes can refer to them.
  await app.register(swagger, swaggerOptions({ version: deps.version ?? '0.1.0', serverUrl: dashboardUrl }));
  addComponents(app);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  registerResponseCheck(app);

  const metrics = registerMetrics(app, engine);
  app.metrics = metrics;
  // Before authentication: a shed request has not touched the database at all.
  registerAdmission(app, {
    ...(deps.admission ?? { maxInFlight: 0, waitMs: 0 }),
    onShed: () => metrics.overloaded.inc({ stage: 'admission' }),
  });
  registerAuth(app, engine);
  registerRateLimit(app, deps.rateLimit ?? { perMinute: 0, burst: 1 });
  registerInputGuard(app);

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    if (shuttingDown) return reply.status(503).send({ status: 'shutting down' });
    try {
      const schema = await engine.schemaStatus();
      if (schema.current !== schema.expected)
        return reply.status(503).send({ status: 'migrations pending', ...schema });
      return { status: 'ready', ...schema };
    } catch (error) {
      // Busy is not down: every pool connection stayed in use for the whole wait.
      if (toLedgerError(error).code === 'OVERLOADED')
        return reply
          .status(503)
          .header('retry-after', String(RETRY_AFTER_SECONDS.OVERLOADED))
          .send({ status: 'overloaded' });
      return reply.status(503).send({ status: 'database unreachable' });
    }
  });

  await registerDashboard(app, deps.webRoot ?? DEFAULT_WEB_ROOT);
  // Every long-lived response (event streams, waits, MCP requests) ends with its token.
  const credentials = appCredentialWatch(app, engine);

  await app.register(
    async (api) => {
      registerIdempotency(api, engine);
      changeSetRoutes(api, engine, metrics, deps.pageSizeMax ?? 200);
      ledgerRoutes(api, engine, { dashboardUrl, candidateConfig: deps.candidateConfig });
      eventRoutes(api, engine, { feed: deps.events, heartbeatMs: deps.eventsHeartbeatMs ?? 15_000, credentials });
      deliveryRoutes(api, engine, deps.pageSizeMax ?? 200);
      agentRoutes(api, engine);
      statsRoutes(api, engine);
      slackRoutes(api, engine, { apps: deps.slack ?? [], dashboardUrl });
      waitRoutes(
        api,
        engine,
        deps.waiters ??
          (deps.events &&
            new ChangeSetWaiters({
              feed: deps.events,
              read: (id) => engine.get(id),
              onError: (error) => app.log.error({ err: error }, 'a wait could not read its change-set'),
            })),
        credentials,
      );
      oidcRoutes(api, engine, {
        ...(deps.oidc ?? {
          sso: { principal_claim: 'email', groups_claim: 'groups', group_map: {}, auto_create: false },
        }),
        dashboardUrl,
      });
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: '/api/ledger' },
  );
  const mcp = deps.mcp ?? MCP_DEFAULTS;
  if (mcp.enabled)
    await app.register(async (scope) => mcpRoutes(scope, engine, { ...mcp, fetch: injectFetch(app), credentials }));
  return app;
}

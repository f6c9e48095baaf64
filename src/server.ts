// The running service: database (PostgreSQL or embedded), migrations, the bootstrap admin, HTTP.
import { join } from 'node:path';
import type { Config } from './config.js';
import { candidateEngineConfig, engineConfigOf } from './config.js';
import { defined } from './core/defined.js';
import { type AuditKey, loadAuditKey } from './engine/audit-key.js';
import { signatureKeyId } from './engine/audit-signer.js';
import { type BootstrapResult, bootstrapAdmin } from './engine/bootstrap.js';
import { Engine } from './engine/engine.js';
import { OidcLogin } from './engine/oidc-login.js';
import { DeadlineScheduler } from './engine/scheduler.js';
import { buildApp, type LedgerApp } from './http/app.js';
import { createChannels } from './notify/channels/index.js';
import { Dispatcher } from './notify/dispatcher.js';
import { EventFeed } from './notify/event-feed.js';
import { interactiveSlackApps } from './notify/slack-api.js';
import { systemHeadSignature } from './store/audit.js';
import type { Db } from './store/db.js';
import { migrate } from './store/migrator.js';
import { openPgDb } from './store/pg-db.js';
import { openPgliteDb } from './store/pglite-db.js';
import { openPgliteWorkerDb } from './store/pglite-worker-db.js';

/** What the request log leaves out: credentials, should a serializer ever log request headers. */
export const LOG_REDACT = ['req.headers.authorization', 'req.headers["idempotency-key"]'];

export async function openDatabase(config: Config): Promise<Db> {
  if (config.database.url) {
    return openPgDb({
      connectionString: config.database.url,
      max: config.database.pool_max,
      statementTimeoutMs: config.database.statement_timeout_ms,
    });
  }
  const dataDir = join(config.database.data_dir, 'db');
  return config.database.embedded_thread === 'worker' ? openPgliteWorkerDb({ dataDir }) : openPgliteDb({ dataDir });
}

/** The configured audit signing key (docs/configuration.md); `create` makes the data directory's. */
export function auditKeyOf(config: Config, options: { create: boolean }): AuditKey | null {
  return loadAuditKey({
    envKey: config.audit_key,
    keyFile: config.audit.signing_key_file,
    dataDir: config.database.data_dir,
    create: options.create,
  });
}

/** Single sign-on as configured: off (no login) while oidc.issuer is unset. */
function oidcOf(config: Config, engine: Engine) {
  const { issuer, client_id, client_secret, redirect_url, scopes, ...sso } = config.oidc;
  // The loader requires client_id and client_secret whenever issuer is set.
  const login =
    issuer && client_id && client_secret
      ? new OidcLogin({ issuer, client_id, client_secret, redirect_url, scopes }, engine.ctx.clock)
      : undefined;
  return { login, sso };
}

export interface RunningServer {
  app: LedgerApp;
  db: Db;
  engine: Engine;
  /** This instance's event feed (SSE streams, dispatcher wake-ups). */
  events: EventFeed;
  /** Null when notifications.dispatcher.enabled is false. */
  dispatcher: Dispatcher | null;
  url: string;
  admin: BootstrapResult;
  /** The key that signs audit chain heads, and where it came from. */
  auditKey: AuditKey;
  /**
   * Graceful stop: unready first; event streams end and in-flight requests finish; the dispatcher
   * finishes the deliveries it is sending; then the database closes.
   */
  stop(): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  // Policies compile before anything else: a bad condition stops the start at once.
  const engineConfig = engineConfigOf(config);
  // The signing key next: a key named but unreadable stops the start before the database opens.
  const auditKey = defined(auditKeyOf(config, { create: true }), 'audit key (created when missing)');
  const db = await openDatabase(config);
  try {
    await migrate(db);
    // Checked before this instance writes: a head it cannot verify, it will not sign over.
    const signedBy = signatureKeyId(await systemHeadSignature(db));
    const engine = new Engine({
      db,
      config: engineConfig,
      signer: auditKey.signer,
      viewCacheBytes: config.cache.view_bytes,
    });
    const admin = await bootstrapAdmin(engine, { envToken: config.admin_token, dataDir: config.database.data_dir });
    let dispatcher: Dispatcher | null = null;
    const events = new EventFeed({
      db,
      onNewEvents: () => dispatcher?.poke(),
      onError: (error) => app.log.error({ err: error }, 'event feed read failed'),
    });
    const app = await buildApp({
      engine,
      events,
      bodyLimitBytes: config.server.body_limit_bytes,
      pageSizeMax: config.limits.page_size_max,
      dashboardUrl: config.dashboard_url,
      candidateConfig: candidateEngineConfig,
      oidc: oidcOf(config, engine),
      slack: interactiveSlackApps(config.notifications),
      requestTimeoutMs: config.server.request_timeout_ms,
      logger: { level: config.log_level, redact: LOG_REDACT },
      rateLimit: { perMinute: config.limits.write_requests_per_minute, burst: config.limits.write_burst },
      admission: { maxInFlight: config.server.max_in_flight, waitMs: config.server.admission_wait_ms },
      mcp: {
        enabled: config.mcp.enabled,
        disabled: config.mcp.tools.disabled,
        issuer: config.oidc.issuer,
        allowedHosts: [new URL(config.dashboard_url).hostname, ...config.mcp.allowed_hosts],
      },
    });
    if (signedBy !== null && signedBy !== auditKey.signer.keyId) {
      app.log.warn(
        `the audit chain heads are signed with key ${signedBy}, this instance's key is ${auditKey.signer.keyId}: ` +
          'every instance on one database must share one key (docs/security.md); heads it extends stay unsigned',
      );
    }
    let address: string;
    try {
      await events.start();
      address = await app.listen({ host: config.server.host, port: config.server.port });
    } catch (error) {
      await events.stop();
      await app.close();
      throw error;
    }
    if (config.notifications.dispatcher.enabled) {
      dispatcher = new Dispatcher({
        db,
        notifications: config.notifications,
        channels: createChannels(config.notifications, { dashboardUrl: config.dashboard_url }),
        onError: (error) => app.log.error({ err: error }, 'notification dispatch pass failed'),
        onOutcome: (channel, outcome, seconds) => app.metrics.observeDelivery(channel, outcome, seconds),
      });
      dispatcher.start();
    }
    const deadlines = new DeadlineScheduler(engine, config.approval.deadline_check_interval_ms, (error) =>
      app.log.error({ err: error }, 'approval deadline pass failed'),
    );
    deadlines.start();
    let stopping: Promise<void> | null = null;
    const stop = () => {
      stopping ??= (async () => {
        app.markShuttingDown();
        // Unready but still serving for a moment, so that load balancers (and probes already on
        // their way) see 503 from /readyz before connections are refused.
        await new Promise((resolve) => setTimeout(resolve, config.server.drain_ms));
        await deadlines.stop();
        // Ends the event streams (preClose), stops accepting, lets in-flight requests finish.
        await app.close();
        await dispatcher?.stop();
        await events.stop();
        await db.close();
      })();
      return stopping;
    };
    return { app, db, engine, events, dispatcher, url: address, admin, auditKey, stop };
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}

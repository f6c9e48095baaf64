// The running service: database (PostgreSQL or embedded), migrations, the bootstrap admin, HTTP.
import { join } from 'node:path';
import type { Config } from './config.js';
import { engineConfigOf } from './config.js';
import { type BootstrapResult, bootstrapAdmin } from './engine/bootstrap.js';
import { Engine } from './engine/engine.js';
import { buildApp, type LedgerApp } from './http/app.js';
import type { Db } from './store/db.js';
import { migrate } from './store/migrator.js';
import { openPgDb } from './store/pg-db.js';
import { openPgliteDb } from './store/pglite-db.js';

export async function openDatabase(config: Config): Promise<Db> {
  if (config.database.url) {
    return openPgDb({
      connectionString: config.database.url,
      max: config.database.pool_max,
      statementTimeoutMs: config.database.statement_timeout_ms,
    });
  }
  return openPgliteDb({ dataDir: join(config.database.data_dir, 'db') });
}

export interface RunningServer {
  app: LedgerApp;
  db: Db;
  engine: Engine;
  url: string;
  admin: BootstrapResult;
  /** Graceful stop: unready first, in-flight requests finish, then the database closes. */
  stop(): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  const db = await openDatabase(config);
  try {
    await migrate(db);
    const engine = new Engine({ db, config: engineConfigOf(config) });
    const admin = await bootstrapAdmin(engine, { envToken: config.admin_token, dataDir: config.database.data_dir });
    const app = await buildApp({
      engine,
      bodyLimitBytes: config.server.body_limit_bytes,
      pageSizeMax: config.limits.page_size_max,
      requestTimeoutMs: config.server.request_timeout_ms,
      logger: { level: config.log_level, redact: ['req.headers.authorization', 'req.headers["idempotency-key"]'] },
    });
    const address = await app.listen({ host: config.server.host, port: config.server.port });
    let stopping: Promise<void> | null = null;
    const stop = () => {
      stopping ??= (async () => {
        app.markShuttingDown();
        await app.close();
        await db.close();
      })();
      return stopping;
    };
    return { app, db, engine, url: address, admin, stop };
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}

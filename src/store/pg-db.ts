// The PostgreSQL adapter (node-postgres pool).
import pg from 'pg';
import type { Db, Queryable, QueryResult } from './db.js';
import { translateDbError } from './errors.js';
import { PgListener } from './pg-listener.js';

const INT8 = 20;

/** The channel of the outbox's NOTIFY (migrations 0004 and 0014; notify/event-feed.ts listens). */
const EVENTS_CHANNEL = 'changeledger_events';

export interface PgDbOptions {
  connectionString: string;
  /** Optional schema to work in (created when missing): tests isolate themselves this way. */
  schema?: string;
  max?: number;
  statementTimeoutMs?: number;
  /** How long a request waits for a pool connection before failing with OVERLOADED (default 5 s). */
  connectTimeoutMs?: number;
  /**
   * Notify the event feeds after commit, coalesced (default), instead of from inside each writing
   * transaction (migration 0004's trigger; false restores it, for measuring).
   */
  notifyAfterCommit?: boolean;
}

const statementNames = new Map<string, string>();

/**
 * Parameterised statements are sent as named prepared statements: each connection parses and
 * plans one once instead of on every call (planning was most of each statement's server CPU).
 * The SQL texts are fixed strings of the store, so the set of names is small and bounded.
 */
function prepared(text: string, params: readonly unknown[] | undefined): pg.QueryConfig {
  if (!params || params.length === 0) return { text };
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `cl_${statementNames.size}`;
    statementNames.set(text, name);
  }
  return { name, text, values: params as unknown[] };
}

const insertsEvents = new Map<string, boolean>();

/** Whether `text` writes outbox events (cached: the store's statement texts are a bounded set). */
function writesOutbox(text: string): boolean {
  let writes = insertsEvents.get(text);
  if (writes === undefined) {
    writes = /INSERT\s+INTO\s+outbox_events\b/i.test(text);
    if (insertsEvents.size < 10_000) insertsEvents.set(text, writes);
  }
  return writes;
}

/** `client` as a Queryable; `wroteEvents` hears of every statement that inserted outbox events. */
function wrap(client: pg.Pool | pg.PoolClient, wroteEvents?: () => void): Queryable {
  return {
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      try {
        const result = await client.query(prepared(text, params));
        if (wroteEvents && writesOutbox(text)) wroteEvents();
        return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
      } catch (error) {
        throw translateDbError(error);
      }
    },
    async exec(script: string): Promise<void> {
      try {
        await client.query(script);
      } catch (error) {
        throw translateDbError(error);
      }
    },
  };
}

export async function openPgDb(options: PgDbOptions): Promise<Db> {
  if (options.schema) {
    const admin = new pg.Client({ connectionString: options.connectionString });
    await admin.connect();
    try {
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(options.schema)}`);
    } finally {
      await admin.end();
    }
  }
  const notifyAfterCommit = options.notifyAfterCommit ?? true;
  // `options` in the URL (e.g. a search_path) would replace ours: join them instead.
  const url = new URL(options.connectionString);
  const fromUrl = url.searchParams.get('options');
  url.searchParams.delete('options');
  const settings = [
    fromUrl ?? '',
    options.schema ? `-c search_path=${options.schema}` : '',
    options.statementTimeoutMs ? `-c statement_timeout=${options.statementTimeoutMs}` : '',
    // Tells migration 0014's trigger that this connection notifies after commit itself.
    notifyAfterCommit ? '-c changeledger.notify_after_commit=on' : '',
  ].filter(Boolean);
  const connection = {
    connectionString: url.toString(),
    ...(settings.length > 0 ? { options: settings.join(' ') } : {}),
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  };
  // A database that does not answer fails requests fast (503) instead of holding them.
  const pool = new pg.Pool({
    ...connection,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    keepAlive: true,
  });
  const listeners = new Set<PgListener>();
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => {});
  // The outbox NOTIFY, after commit and coalesced: at most one in flight, and one more queued
  // behind it when events commit meanwhile (the one in flight may have been delivered before
  // they committed). Listeners re-read the table, so one NOTIFY stands for any number of commits.
  // A NOTIFY that is lost (this process dies after a commit, or the send fails) leaves the event
  // to each feed's safety poll (notify/event-feed.ts).
  let notifying: Promise<void> | null = null;
  let notifyAgain = false;
  let closing = false;
  const notify = (): void => {
    if (closing) return;
    if (notifying) {
      notifyAgain = true;
      return;
    }
    notifying = pool
      .query(`NOTIFY ${EVENTS_CHANNEL}`)
      .then(
        () => {},
        () => {},
      )
      .finally(() => {
        notifying = null;
        if (notifyAgain) {
          notifyAgain = false;
          notify();
        }
      });
  };
  const wroteEvents = notifyAfterCommit ? notify : undefined;
  const direct = wrap(pool, wroteEvents);
  return {
    kind: 'postgres',
    query: direct.query,
    exec: direct.exec,
    async transaction(fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw translateDbError(error);
      }
      let broken = false;
      // The pool listens for a client's 'error' only while it is idle: a connection lost while this
      // transaction holds it, between two statements, would be an unhandled 'error' event and end the
      // process. Noted here instead; the next statement fails, and the client is not reused.
      const onLost = () => {
        broken = true;
      };
      client.on('error', onLost);
      let events = false;
      try {
        await client.query('BEGIN');
        const result = await fn(
          wrap(
            client,
            wroteEvents &&
              (() => {
                events = true;
              }),
          ),
        );
        await client.query('COMMIT');
        if (events) notify();
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw translateDbError(error);
      } finally {
        client.removeListener('error', onLost);
        client.release(broken);
      }
    },
    async listen(channel, onNotify) {
      const listener = new PgListener({
        newClient: () => new pg.Client({ ...connection, keepAlive: true }),
        channel,
        onNotify,
      });
      try {
        await listener.start();
      } catch (error) {
        throw translateDbError(error);
      }
      listeners.add(listener);
      return async () => {
        listeners.delete(listener);
        await listener.close();
      };
    },
    async close() {
      // The last commits' NOTIFY goes out before the pool ends.
      while (notifying) await notifying;
      closing = true;
      await Promise.all([...listeners].map((listener) => listener.close()));
      listeners.clear();
      await pool.end();
    },
  };
}

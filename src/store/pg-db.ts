// The PostgreSQL adapter (node-postgres pool).
import pg from 'pg';
import type { Db, Queryable, QueryResult } from './db.js';
import { translateDbError } from './errors.js';
import { PgListener } from './pg-listener.js';

const INT8 = 20;

export interface PgDbOptions {
  connectionString: string;
  /** Optional schema to work in (created when missing): tests isolate themselves this way. */
  schema?: string;
  max?: number;
  statementTimeoutMs?: number;
  /** How long a request waits for a pool connection before failing with OVERLOADED (default 5 s). */
  connectTimeoutMs?: number;
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

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      try {
        const result = await client.query(prepared(text, params));
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
  // `options` in the URL (e.g. a search_path) would replace ours: join them instead.
  const url = new URL(options.connectionString);
  const fromUrl = url.searchParams.get('options');
  url.searchParams.delete('options');
  const settings = [
    fromUrl ?? '',
    options.schema ? `-c search_path=${options.schema}` : '',
    options.statementTimeoutMs ? `-c statement_timeout=${options.statementTimeoutMs}` : '',
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
  const direct = wrap(pool);
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
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
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
      await Promise.all([...listeners].map((listener) => listener.close()));
      listeners.clear();
      await pool.end();
    },
  };
}

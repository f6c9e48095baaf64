// The embedded adapter: PGlite, PostgreSQL in WebAssembly, one connection in this process. Its
// errors are translated like the PostgreSQL adapter's (store/errors.ts): callers see the same ones.
import type { PGlite } from '@electric-sql/pglite';
import type { Db, Queryable, QueryResult } from './db.js';
import { translateDbError } from './errors.js';
import { createPglite } from './pglite-open.js';

export interface PgliteDbOptions {
  /** A directory to persist to; omitted → in memory. */
  dataDir?: string;
}

const rethrowTranslated = (error: unknown): never => {
  throw translateDbError(error);
};

function wrap(target: Pick<PGlite, 'query' | 'exec'>): Queryable {
  return {
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const result = await target.query<R>(text, params as unknown[] | undefined).catch(rethrowTranslated);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(script: string): Promise<void> {
      await target.exec(script).catch(rethrowTranslated);
    },
  };
}

export async function openPgliteDb(options: PgliteDbOptions = {}): Promise<Db> {
  const pglite = await createPglite(options.dataDir);
  const direct = wrap(pglite);
  return {
    kind: 'pglite',
    query: direct.query,
    exec: direct.exec,
    // PGlite serialises transactions itself: it has a single connection.
    transaction: (fn) => pglite.transaction((tx) => fn(wrap(tx))).catch(rethrowTranslated),
    // PGlite delivers NOTIFY in-process when the notifying transaction commits (a statement
    // trigger's pg_notify inside pglite.transaction() included), and never for a rollback.
    async listen(channel, onNotify) {
      const unlisten = await pglite.listen(channel, () => onNotify());
      return async () => {
        if (!pglite.closed) await unlisten();
      };
    },
    async close() {
      await pglite.close();
    },
  };
}

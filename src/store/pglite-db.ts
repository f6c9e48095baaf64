// The embedded adapter: PGlite, PostgreSQL in WebAssembly, one connection in this process. Its
// errors are translated like the PostgreSQL adapter's (store/errors.ts): callers see the same ones.
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { Db, Queryable, QueryResult } from './db.js';
import { translateDbError } from './errors.js';
import { createPglite } from './pglite-open.js';
import { PreparedStatements } from './pglite-prepared.js';

export interface PgliteDbOptions {
  /** A directory to persist to; omitted → in memory. */
  dataDir?: string;
}

const rethrowTranslated = (error: unknown): never => {
  throw translateDbError(error);
};

/** `pglite`, or its transaction `tx`, as a Queryable. */
function wrap(pglite: PGlite, prepared: PreparedStatements, tx?: Transaction): Queryable {
  return {
    query: <R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> =>
      prepared.query<R>(text, params, tx).catch(rethrowTranslated),
    async exec(script: string): Promise<void> {
      await (tx ?? pglite)
        .exec(script)
        .catch(rethrowTranslated)
        .finally(() => prepared.forgetAll());
    },
  };
}

export async function openPgliteDb(options: PgliteDbOptions = {}): Promise<Db> {
  const pglite = await createPglite(options.dataDir);
  const prepared = new PreparedStatements(pglite);
  const direct = wrap(pglite, prepared);
  return {
    kind: 'pglite',
    query: direct.query,
    exec: direct.exec,
    // PGlite serialises transactions itself: it has a single connection.
    transaction: (fn) => pglite.transaction((tx) => fn(wrap(pglite, prepared, tx))).catch(rethrowTranslated),
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

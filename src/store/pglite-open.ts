// How PGlite is created, the same in this thread (pglite-db.ts) and on a worker thread
// (pglite-worker.ts): BIGINT as a number, persisted to `dataDir` or in memory.
import { mkdirSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';

export async function createPglite(dataDir: string | undefined): Promise<PGlite> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  return PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    parsers: { [types.INT8]: (value: string) => Number(value) },
  });
}

// One loop over every database backend: PGlite always, PostgreSQL when TEST_DATABASE_URL is set.
// Under CHANGELEDGER_TEST_STRICT=1 a missing PostgreSQL fails the run instead of being skipped.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrator.js';
import { openPgDb } from '../../src/store/pg-db.js';
import { openPgliteDb } from '../../src/store/pglite-db.js';
import { openPgliteWorkerDb } from '../../src/store/pglite-worker-db.js';

export const TEST_DATABASE_URL = process.env['TEST_DATABASE_URL'];
export const STRICT = process.env['CHANGELEDGER_TEST_STRICT'] === '1';
/** Where the tests' PGlite runs (database.embedded_thread): `server` (this thread, the default) or `worker`. */
export const PGLITE_THREAD = process.env['CHANGELEDGER_TEST_PGLITE_THREAD'] === 'worker' ? 'worker' : 'server';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated database of its own (a schema of its own on PostgreSQL). */
  open(options?: { migrate?: boolean; max?: number }): Promise<Db>;
}

const schemas: string[] = [];

const pglite: Backend = {
  name: 'pglite',
  async open(options = {}) {
    const db = await (PGLITE_THREAD === 'worker' ? openPgliteWorkerDb() : openPgliteDb());
    if (options.migrate !== false) await migrate(db);
    return db;
  },
};

const postgres: Backend = {
  name: 'postgres',
  async open(options = {}) {
    const schema = `test_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    const db = await openPgDb({ connectionString: TEST_DATABASE_URL!, schema, max: options.max ?? 10 });
    if (options.migrate !== false) await migrate(db);
    return db;
  },
};

/**
 * A second pool on the schema `db` (opened by the PostgreSQL backend) uses: what another server
 * instance on the same database opens, for the tests of several instances at once.
 */
export async function openSecondInstanceDb(db: Db, options: { max?: number } = {}): Promise<Db> {
  const schema = (await db.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]!.schema;
  return openPgDb({ connectionString: TEST_DATABASE_URL!, schema, ...options });
}

async function dropSchemas(): Promise<void> {
  if (schemas.length === 0 || !TEST_DATABASE_URL) return;
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** The PostgreSQL run of a block: real when configured, a clear skip, or a failure under strict mode. */
function describeOnPostgres(title: string, body: (backend: Backend) => void): void {
  if (TEST_DATABASE_URL) {
    describe(`${title} [postgres]`, () => {
      afterAll(dropSchemas);
      body(postgres);
    });
  } else if (STRICT) {
    describe(`${title} [postgres]`, () => {
      it('needs TEST_DATABASE_URL (CHANGELEDGER_TEST_STRICT=1 forbids skipping PostgreSQL)', () => {
        throw new Error(
          'TEST_DATABASE_URL is not set, and CHANGELEDGER_TEST_STRICT=1 forbids skipping PostgreSQL tests',
        );
      });
    });
  } else {
    describe.skipIf(true)(`${title} [postgres] — skipped: TEST_DATABASE_URL is not set`, () => {
      it('runs on PostgreSQL', () => {});
    });
  }
}

/** Declares `body` once per backend: PGlite always, then PostgreSQL (see describeOnPostgres). */
export function describeEachBackend(title: string, body: (backend: Backend) => void): void {
  describe(`${title} [pglite]`, () => body(pglite));
  describeOnPostgres(title, body);
}

/** Only on PostgreSQL (many connections at once, several instances). */
export const describePostgres = describeOnPostgres;

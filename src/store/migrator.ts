// Numbered, forward-only SQL migrations, run in one transaction under an advisory lock so that
// several instances starting together migrate once. A database whose schema is newer than this
// code, or whose applied history differs from the files, is refused rather than touched.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db, Queryable } from './db.js';

/** An arbitrary, fixed key for pg_advisory_xact_lock: "changeledger migrate". */
const MIGRATION_LOCK = 4_281_771_336;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationResult {
  applied: { version: number; name: string }[];
  current: number;
}

export class SchemaError extends Error {
  override name = 'SchemaError';
}

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** The migrations shipped with this code, read and hashed once (they do not change while it runs). */
let bundled: Migration[] | undefined;
const bundledMigrations = (): Migration[] => (bundled ??= loadMigrations());

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(`${dir}/${file}`, 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.slice(5, -4),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

async function appliedMigrations(tx: Queryable): Promise<{ version: number; checksum: string }[]> {
  await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const { rows } = await tx.query<{ version: number; checksum: string }>(
    'SELECT version, checksum FROM schema_migrations ORDER BY version',
  );
  return rows;
}

function checkHistory(applied: { version: number; checksum: string }[], known: Migration[]): void {
  const latest = known.at(-1)?.version ?? 0;
  for (const row of applied) {
    if (row.version > latest) {
      throw new SchemaError(
        `the database schema is at version ${row.version}, newer than this code (${latest}): upgrade changeledger`,
      );
    }
    const file = known.find((m) => m.version === row.version);
    if (!file) throw new SchemaError(`migration ${row.version} was applied but is missing from this code`);
    if (file.checksum !== row.checksum)
      throw new SchemaError(`migration ${row.version} (${file.name}) was changed after it was applied`);
  }
}

export async function migrate(db: Db, migrations: Migration[] = bundledMigrations()): Promise<MigrationResult> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const applied = await appliedMigrations(tx);
    checkHistory(applied, migrations);
    const done = new Set(applied.map((row) => row.version));
    const result: MigrationResult = { applied: [], current: applied.at(-1)?.version ?? 0 };
    for (const migration of migrations.filter((m) => !done.has(m.version))) {
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
      result.applied.push({ version: migration.version, name: migration.name });
      result.current = migration.version;
    }
    return result;
  });
}

export interface SchemaStatus {
  current: number;
  expected: number;
}

/** For readiness: is the schema exactly what this code expects? */
export async function schemaStatus(db: Db, migrations: Migration[] = bundledMigrations()): Promise<SchemaStatus> {
  const expected = migrations.at(-1)?.version ?? 0;
  const { rows: exists } = await db.query<{ present: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
  );
  if (!exists[0]?.present) return { current: 0, expected };
  const { rows } = await db.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
  return { current: rows[0]?.version ?? 0, expected };
}

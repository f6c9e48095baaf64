// Fresh PostgreSQL databases for the benchmarks: each run creates its own and drops it afterwards,
// so no figure depends on what an earlier run (or another bench) left behind.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server the benchmarks use: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local default. */
export const BASE_URL =
  process.env['BENCH_DATABASE_URL'] || process.env['TEST_DATABASE_URL'] || 'postgres://root@127.0.0.1:5432/root';

/** run.ts sets one id per `npm run bench`, so that it can clean up after a child that crashed. */
export const RUN_ID = process.env['BENCH_RUN_ID'] || randomBytes(3).toString('hex');
/** BENCH_DATABASE_PREFIX: another prefix, for a shared server where each user keeps to names of their own. */
export const DATABASE_PREFIX = process.env['BENCH_DATABASE_PREFIX'] || 'changeledger_bench_';

export function databaseUrl(name: string): string {
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: BASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface FreshDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createDatabase(label: string): Promise<FreshDatabase> {
  const name = `${DATABASE_PREFIX}${RUN_ID}_${label}_${randomBytes(2).toString('hex')}`.toLowerCase();
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  return {
    name,
    url: databaseUrl(name),
    drop: () => dropDatabase(name),
  };
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
}

/** Databases of this run still present (a child that crashed leaves its database behind). */
export async function leftoverDatabases(runId: string): Promise<string[]> {
  return withAdmin(async (admin) => {
    const { rows } = await admin.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname',
      [`${DATABASE_PREFIX}${runId}_`],
    );
    return rows.map((row) => row.datname);
  });
}

export interface ServerInfo {
  version: string;
  settings: Record<string, string>;
}

/** The PostgreSQL version and the settings that decide the commit rate. */
export async function serverInfo(): Promise<ServerInfo> {
  return withAdmin(async (admin) => {
    const version = (await admin.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
    const { rows } = await admin.query<{ name: string; setting: string }>(
      'SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY name',
      [['fsync', 'synchronous_commit', 'shared_buffers', 'max_connections', 'wal_level', 'commit_delay']],
    );
    return { version, settings: Object.fromEntries(rows.map((r) => [r.name, r.setting])) };
  });
}

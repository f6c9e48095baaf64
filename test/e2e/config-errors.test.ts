// A bad configuration stops the real process at start-up: a non-zero exit, and stderr names the
// exact place to fix (docs/configuration.md), or refuses a database newer than the code (docs/design.md#storage-and-deployment).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openPgliteDb } from '../../src/store/pglite-db.js';
import { describePostgres } from '../helpers/backends.js';
import {
  cleanUp,
  type Env,
  expectCleanStop,
  freePort,
  freshPostgresUrl,
  makeTempDir,
  postgresQuery,
  runCli,
  startServer,
} from './helpers.js';

/** `changeledger --config bad.yaml serve` in a fresh directory, run to its end. */
async function serveWith(yaml: string | null, env: Env = {}) {
  const cwd = makeTempDir();
  const args = ['serve'];
  if (yaml !== null) {
    writeFileSync(join(cwd, 'bad.yaml'), yaml);
    args.unshift('--config', 'bad.yaml');
  }
  const port = String(await freePort());
  return runCli(args, {
    cwd,
    env: { PORT: port, CHANGELEDGER_DATA_DIR: join(cwd, 'data'), ...env },
    timeoutMs: 60_000,
  });
}

const FUTURE = 9999;

describe('a bad configuration stops the start', () => {
  afterAll(cleanUp);

  it.each([
    ['an unknown key', 'server: {prot: 1}\n', {}, 'bad.yaml at server.prot: unknown key'],
    ['a wrong type', 'server: {port: abc}\n', {}, 'bad.yaml at server.port: must be an integer from 1 to 65535'],
    [
      'a missing environment variable',
      // Block style: in a flow mapping the `{` of `${` would have to be quoted.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${NAME} reference in the YAML
      'database:\n  url: ${NOPE_NOT_SET}\n',
      { NOPE_NOT_SET: undefined },
      'bad.yaml at database.url: environment variable NOPE_NOT_SET is not set',
    ],
    [
      'an invalid environment override',
      null,
      { PORT: '99999' },
      'environment variable PORT: must be an integer from 1 to 65535',
    ],
  ] as const)('%s: exits non-zero naming it', async (_case, yaml, env, message) => {
    const run = await serveWith(yaml, env);
    expect(run.stderr, run.output).toContain(`changeledger: configuration error in ${message}\n`);
    expect(run.code, run.output).not.toBe(0);
    expect(run.code).not.toBeNull();
    expect(run.stdout).not.toContain('listening on');
  });
});

describe('a database schema newer than the code stops the start [pglite]', () => {
  afterAll(cleanUp);

  it('exits non-zero saying the schema is newer than this code', async () => {
    const server = await startServer();
    await expectCleanStop(server);
    // One process owns an embedded database: open it only once the server is gone.
    const db = await openPgliteDb({ dataDir: join(server.dataDir, 'db') });
    try {
      await db.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, 'from_the_future', 'x')", [
        FUTURE,
      ]);
    } finally {
      await db.close();
    }
    const run = await runCli(['serve'], {
      cwd: server.cwd,
      env: { PORT: String(await freePort()), CHANGELEDGER_DATA_DIR: server.dataDir },
    });
    expect(run.stderr, run.output).toContain(`the database schema is at version ${FUTURE}, newer than this code`);
    expect(run.code, run.output).not.toBe(0);
    expect(run.stdout).not.toContain('listening on');
  });
});

describePostgres('a database schema newer than the code stops the start', () => {
  afterAll(cleanUp);

  it('exits non-zero saying the schema is newer than this code', async () => {
    const { url, schema } = await freshPostgresUrl();
    const server = await startServer({ databaseUrl: url });
    await expectCleanStop(server);
    await postgresQuery(
      `INSERT INTO ${pg.escapeIdentifier(schema)}.schema_migrations (version, name, checksum) VALUES ($1, 'from_the_future', 'x')`,
      [FUTURE],
    );
    const run = await runCli(['serve'], {
      cwd: server.cwd,
      env: { PORT: String(await freePort()), CHANGELEDGER_DATA_DIR: server.dataDir, DATABASE_URL: url },
    });
    expect(run.stderr, run.output).toContain(`the database schema is at version ${FUTURE}, newer than this code`);
    expect(run.code, run.output).not.toBe(0);
  });
});

// Several instances started at once with the same CHANGELEDGER_ADMIN_TOKEN all start: one of them
// issues the token, the others find it (docs/design.md#storage-and-deployment: any number of instances on one database).

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { bootstrapAdmin } from '../../src/engine/bootstrap.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrator.js';
import { openPgDb } from '../../src/store/pg-db.js';
import { describePostgres, TEST_DATABASE_URL } from '../helpers/backends.js';

describePostgres('the bootstrap admin', () => {
  const schema = `test_${randomBytes(6).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'changeledger-bootstrap-'));
  const dbs: Db[] = [];
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.close()));
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL! });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is bootstrapped by instances starting at once with the same token, one token issued', async () => {
    dbs.push(await openPgDb({ connectionString: TEST_DATABASE_URL!, schema }));
    await migrate(dbs[0]!);
    for (let i = 1; i < 4; i++) dbs.push(await openPgDb({ connectionString: TEST_DATABASE_URL!, schema }));
    const token = `clg_${randomBytes(32).toString('base64url')}`;
    const results = await Promise.all(
      dbs.map((db) => bootstrapAdmin(new Engine({ db, config: DEFAULT_ENGINE_CONFIG }), { envToken: token, dataDir })),
    );
    expect(results.filter((result) => result.created)).toHaveLength(1);
    const engine = new Engine({ db: dbs[0]!, config: DEFAULT_ENGINE_CONFIG });
    expect(await engine.authenticate(token)).toMatchObject({ id: 'admin', groups: ['admin'] });
    const { rows } = await dbs[0]!.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM tokens WHERE principal_id = 'admin'",
    );
    expect(rows[0]!.n).toBe(1);
    expect((await engine.verifyAudit()).ok).toBe(true);
  });
});

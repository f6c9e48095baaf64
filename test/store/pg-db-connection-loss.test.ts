// A connection lost in the middle of a transaction (the database restarted, the backend killed)
// fails that transaction with UNAVAILABLE and nothing else: no unhandled 'error' event ends the
// process, and the pool goes on with fresh connections.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LedgerError } from '../../src/core/errors.js';
import type { Db } from '../../src/store/db.js';
import { type Backend, describePostgres, TEST_DATABASE_URL } from '../helpers/backends.js';

describePostgres('a transaction whose connection is lost', (backend: Backend) => {
  let db: Db;
  let admin: pg.Client;
  beforeAll(async () => {
    db = await backend.open({ migrate: false, max: 2 });
    admin = new pg.Client({ connectionString: TEST_DATABASE_URL! });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
    await db.close();
  });

  it('fails with UNAVAILABLE when the backend is killed between two statements, and the pool recovers', async () => {
    const failed = db.transaction(async (tx) => {
      const [row] = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows;
      await admin.query('SELECT pg_terminate_backend($1)', [row!.pid]);
      // The client learns of the lost connection while no statement of its own is running.
      await new Promise((resolve) => setTimeout(resolve, 200));
      await tx.query('SELECT 1');
    });
    await expect(failed).rejects.toSatisfy((error) => error instanceof LedgerError && error.code === 'UNAVAILABLE');
    expect((await db.transaction((tx) => tx.query<{ n: number }>('SELECT 1 AS n'))).rows).toEqual([{ n: 1 }]);
  });
});

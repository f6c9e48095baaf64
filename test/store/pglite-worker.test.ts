// The embedded database on a worker thread (store/pglite-worker-db.ts): errors keep their SQLSTATE
// and fields through the thread boundary, a transaction's statements run in order with nothing
// between them, NOTIFY arrives on commit only, close() writes the data and ends the thread, a
// worker that cannot start fails the open, and a worker that dies fails calls with UNAVAILABLE.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/core/errors.js';
import type { Db } from '../../src/store/db.js';
import { isUniqueViolation, sqlState } from '../../src/store/errors.js';
import { migrate } from '../../src/store/migrator.js';
import { openPgliteWorkerDb } from '../../src/store/pglite-worker-db.js';

const rejection = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );

describe('store: PGlite on a worker thread', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openPgliteWorkerDb();
    await migrate(db);
    await db.exec('CREATE TABLE worker_t (id integer PRIMARY KEY, note text)');
  });
  afterAll(() => db.close());

  it('passes rows with their types, and keeps the SQLSTATE and fields of an error', async () => {
    const { rows } = await db.query<{ n: number; at: Date; doc: unknown }>(
      "SELECT 9007199254740991::int8 AS n, '2026-01-02T03:04:05Z'::timestamptz AS at, $1::jsonb AS doc",
      [JSON.stringify({ a: [1, 'x'] })],
    );
    expect(rows).toEqual([{ n: 9007199254740991, at: new Date('2026-01-02T03:04:05Z'), doc: { a: [1, 'x'] } }]);

    await db.query('INSERT INTO worker_t VALUES (1, $1)', ['one']);
    const duplicate = await rejection(db.query('INSERT INTO worker_t VALUES (1, $1)', ['again']));
    expect(isUniqueViolation(duplicate, 'worker_t_pkey')).toBe(true);
    expect(duplicate).toMatchObject({ table: 'worker_t', detail: 'Key (id)=(1) already exists.' });

    // The version guard of an optimistic write (migration 0005): CL409, which sends an action to the lock.
    const guard = await rejection(db.query('SELECT changeledger_version_guard($1::integer)', [null]));
    expect(sqlState(guard)).toBe('CL409');
    expect((guard as Error).message).toBe('the change-set changed while this action decided');

    // A value the database cannot store is a refusal (store/errors.ts), translated on this side.
    const nul = await rejection(db.query('INSERT INTO worker_t VALUES (2, $1)', ['a\u0000b']));
    expect(nul).toBeInstanceOf(LedgerError);
    expect((nul as LedgerError).code).toBe('VALIDATION_FAILED');
  });

  it('runs a transaction on its own: others wait for it, a throw rolls it back, a failed statement fails it', async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = db.transaction(async (tx) => {
      await tx.query('INSERT INTO worker_t VALUES (10, $1)', ['first']);
      order.push('first inserted');
      await held;
      // Still alone: the other transaction's and the plain statement have not run.
      const { rows } = await tx.query<{ id: number }>('SELECT id FROM worker_t WHERE id >= 10 ORDER BY id');
      order.push(`first sees ${rows.map((r) => r.id).join(',')}`);
      return 'committed';
    });
    const second = db.transaction(async (tx) => {
      await tx.query('INSERT INTO worker_t VALUES (11, $1)', ['second']);
      order.push('second inserted');
      return (await tx.query<{ id: number }>('SELECT id FROM worker_t WHERE id >= 10 ORDER BY id')).rows;
    });
    const plain = db.query<{ id: number }>('SELECT id FROM worker_t WHERE id >= 10 ORDER BY id').then((r) => {
      order.push('plain ran');
      return r.rows;
    });
    // Let the worker run whatever it would run before the first transaction ends.
    await new Promise((resolve) => setTimeout(resolve, 300));
    order.push('released');
    release();
    expect(await first).toBe('committed');
    expect((await second).map((r) => r.id)).toEqual([10, 11]);
    expect((await plain).map((r) => r.id)).toEqual([10, 11]);
    expect(order).toEqual(['first inserted', 'released', 'first sees 10', 'second inserted', 'plain ran']);

    const thrown = await rejection(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO worker_t VALUES (20, $1)', ['rolled back']);
        throw new Error('changed my mind');
      }),
    );
    expect((thrown as Error).message).toBe('changed my mind');
    const failed = await rejection(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO worker_t VALUES (21, $1)', ['rolled back']);
        await tx.query('INSERT INTO worker_t VALUES (10, $1)', ['duplicate']);
      }),
    );
    expect(isUniqueViolation(failed, 'worker_t_pkey')).toBe(true);
    const left = await db.query('SELECT id FROM worker_t WHERE id IN (20, 21)');
    expect(left.rows).toEqual([]);
  });

  it('notifies a listener when the notifying transaction commits, not for a rollback, and not once stopped', async () => {
    let heard = 0;
    const stop = await db.listen('worker_channel', () => heard++);
    await db.transaction(async (tx) => {
      await tx.query("SELECT pg_notify('worker_channel', 'x')");
      expect(heard).toBe(0);
    });
    await expect.poll(() => heard).toBe(1);
    await rejection(
      db.transaction(async (tx) => {
        await tx.query("SELECT pg_notify('worker_channel', 'x')");
        throw new Error('rolled back');
      }),
    );
    await stop();
    await db.query("SELECT pg_notify('worker_channel', 'x')");
    // A round trip after the notification: anything still to arrive would have arrived by now.
    await db.query('SELECT 1');
    expect(heard).toBe(1);
  });
});

describe('store: the PGlite worker starting and ending', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'cl-pglite-worker-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('writes its data on close, ends the thread, and refuses calls afterwards', async () => {
    const dataDir = join(tempDir(), 'db');
    let worker!: Worker;
    const db = await openPgliteWorkerDb({ dataDir, onWorker: (w) => (worker = w) });
    let exited = false;
    worker.once('exit', () => (exited = true));
    await db.exec('CREATE TABLE kept (note text)');
    await db.transaction((tx) => tx.query('INSERT INTO kept VALUES ($1)', ['written']));
    await db.close();
    expect(exited).toBe(true);
    await db.close();
    const closed = await rejection(db.query('SELECT 1'));
    expect(closed).toBeInstanceOf(LedgerError);
    expect((closed as LedgerError).code).toBe('UNAVAILABLE');

    const again = await openPgliteWorkerDb({ dataDir });
    try {
      expect((await again.query('SELECT note FROM kept')).rows).toEqual([{ note: 'written' }]);
    } finally {
      await again.close();
    }
  });

  it('fails the open with the reason when the database cannot start', async () => {
    const file = join(tempDir(), 'not-a-directory');
    writeFileSync(file, 'x');
    const error = await rejection(openPgliteWorkerDb({ dataDir: join(file, 'db') }));
    expect((error as Error).message).toMatch(/ENOTDIR|not a directory/);
  });

  it('fails waiting and later calls with UNAVAILABLE when the worker dies', async () => {
    let worker!: Worker;
    const db = await openPgliteWorkerDb({ onWorker: (w) => (worker = w) });
    const waiting = db.query('SELECT pg_sleep(5)');
    const inTransaction = db.transaction(async (tx) => {
      await tx.query('SELECT 1');
      await tx.query('SELECT pg_sleep(5)');
    });
    // Ended as a crash would end it, while it runs a statement.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await worker.terminate();
    for (const call of [waiting, inTransaction, db.query('SELECT 1'), db.transaction((tx) => tx.query('SELECT 1'))]) {
      const error = await rejection(call);
      expect(error).toBeInstanceOf(LedgerError);
      expect((error as LedgerError).code).toBe('UNAVAILABLE');
    }
    await db.close();
  });
});

// Statements run as named prepared statements on every adapter (pg-db.ts; pglite-prepared.ts for
// PGlite, on the server's thread and on the worker): one text prepared once and run many times
// returns typed results for every call's parameters; a call that fails keeps its error's fields and
// leaves the statement usable; a schema change after a statement was prepared does not break it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { isUniqueViolation, sqlState } from '../../src/store/errors.js';
import { openPgliteDb } from '../../src/store/pglite-db.js';
import { openPgliteWorkerDb } from '../../src/store/pglite-worker-db.js';
import { describeEachBackend } from '../helpers/backends.js';

const rejection = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );

const TYPED = `SELECT $1::int8 AS n, $2::timestamptz AS at, $3::jsonb AS doc, $4::text AS maybe,
  $5::text[] AS tags, $6::int[] AS counts`;

/** How often the session ran `text` as a prepared statement (0 when it was never prepared). */
async function preparedRuns(db: Db, text: string): Promise<number> {
  const { rows } = await db.query<{ runs: number }>(
    'SELECT coalesce(sum(generic_plans + custom_plans), 0)::int AS runs FROM pg_prepared_statements WHERE statement = $1',
    [text],
  );
  return rows[0]?.runs ?? 0;
}

describeEachBackend('store: statements prepared once, run many times', (backend) => {
  let db: Db;
  beforeAll(async () => {
    // One connection on PostgreSQL: pg_prepared_statements shows that connection's statements.
    db = await backend.open({ max: 1 });
    await db.exec('CREATE TABLE prepared_t (id integer PRIMARY KEY, note text)');
  });
  afterAll(() => db.close());

  it('returns typed results for each call of the same text, and runs it prepared', async () => {
    for (let i = 0; i < 12; i++) {
      const at = new Date(Date.UTC(2026, 0, 1 + i, 3, 4, 5));
      const params = [
        9007199254740000 + i,
        at.toISOString(),
        JSON.stringify({ i, list: [i, `x${i}`] }),
        i % 2 === 0 ? null : `odd ${i}`,
        [`a${i}`, 'b'],
        [i, i + 1],
      ];
      const { rows } = await db.query(TYPED, params);
      expect(rows).toEqual([
        {
          n: 9007199254740000 + i,
          at,
          doc: { i, list: [i, `x${i}`] },
          maybe: i % 2 === 0 ? null : `odd ${i}`,
          tags: [`a${i}`, 'b'],
          counts: [i, i + 1],
        },
      ]);
    }
    expect(await preparedRuns(db, TYPED)).toBeGreaterThanOrEqual(12);
  });

  it('keeps a failed call\u2019s error fields, and the statement works on the next call', async () => {
    const insert = 'INSERT INTO prepared_t VALUES ($1, $2)';
    await db.query(insert, [1, 'one']);
    for (let attempt = 0; attempt < 2; attempt++) {
      const duplicate = await rejection(db.query(insert, [1, 'again']));
      expect(isUniqueViolation(duplicate, 'prepared_t_pkey')).toBe(true);
      expect(duplicate).toMatchObject({ table: 'prepared_t', detail: 'Key (id)=(1) already exists.' });
    }
    expect((await db.query(insert, [2, 'two'])).rowCount).toBe(1);

    const guard = 'SELECT changeledger_version_guard($1::integer) AS version';
    const conflict = await rejection(db.query(guard, [null]));
    expect(sqlState(conflict)).toBe('CL409');
    expect((conflict as Error).message).toBe('the change-set changed while this action decided');
    expect((await db.query(guard, [7])).rows).toEqual([{ version: 7 }]);

    // In a transaction: the failure rolls it back, and the next transaction runs the same statements.
    const failed = await rejection(
      db.transaction(async (tx) => {
        await tx.query(insert, [3, 'three']);
        await tx.query(guard, [null]);
      }),
    );
    expect(sqlState(failed)).toBe('CL409');
    await db.transaction(async (tx) => {
      await tx.query(insert, [3, 'three']);
      expect((await tx.query(guard, [8])).rows).toEqual([{ version: 8 }]);
    });
    const { rows } = await db.query<{ id: number }>('SELECT id FROM prepared_t WHERE id > $1 ORDER BY id', [0]);
    expect(rows.map((row) => row.id)).toEqual([1, 2, 3]);
    expect(await preparedRuns(db, insert)).toBeGreaterThan(0);
  });

  it('runs a prepared statement after the table it reads was altered', async () => {
    const read = 'SELECT id, note FROM prepared_t WHERE id = $1';
    expect((await db.query(read, [1])).rows).toEqual([{ id: 1, note: 'one' }]);
    await db.exec('ALTER TABLE prepared_t ADD COLUMN extra text; CREATE INDEX prepared_t_note ON prepared_t (note)');
    expect((await db.query(read, [1])).rows).toEqual([{ id: 1, note: 'one' }]);
  });
});

// A statement whose result columns a schema change altered: PostgreSQL refuses to run it prepared
// ("cached plan must not change result type", 0A000). The embedded adapter prepares statements
// afresh after a script (migrations), and prepares one again when a statement's change refused it.
describe.each([
  ['server', openPgliteDb],
  ['worker', openPgliteWorkerDb],
])('store: PGlite (%s thread) runs a statement whose result columns changed', (_thread, open) => {
  let db: Db;
  beforeAll(async () => {
    db = await open();
    await db.exec('CREATE TABLE altered_t (id integer PRIMARY KEY); INSERT INTO altered_t VALUES (1)');
  });
  afterAll(() => db.close());

  it('after a script, in and outside a transaction', async () => {
    const all = 'SELECT * FROM altered_t WHERE id = $1';
    expect((await db.query(all, [1])).rows).toEqual([{ id: 1 }]);
    await db.exec("ALTER TABLE altered_t ADD COLUMN note text DEFAULT 'n'");
    expect((await db.transaction((tx) => tx.query(all, [1]))).rows).toEqual([{ id: 1, note: 'n' }]);
    await db.exec('ALTER TABLE altered_t ADD COLUMN more integer DEFAULT 2');
    expect((await db.query(all, [1])).rows).toEqual([{ id: 1, note: 'n', more: 2 }]);
  });

  it('after a statement that altered its table', async () => {
    const all = 'SELECT * FROM altered_t WHERE id = $1 AND $2::boolean';
    expect((await db.query(all, [1, true])).rows).toEqual([{ id: 1, note: 'n', more: 2 }]);
    await db.query('ALTER TABLE altered_t DROP COLUMN more');
    expect((await db.query(all, [1, true])).rows).toEqual([{ id: 1, note: 'n' }]);
  });
});

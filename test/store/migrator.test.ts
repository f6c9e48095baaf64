import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/db.js';
import { loadMigrations, migrate, SchemaError, schemaStatus } from '../../src/store/migrator.js';
import { describeEachBackend } from '../helpers/backends.js';

describeEachBackend('migrator', (backend) => {
  let db: Db;
  beforeAll(async () => {
    db = await backend.open({ migrate: false });
  });
  afterAll(() => db.close());

  it('applies every migration once and reports each', async () => {
    const known = loadMigrations();
    expect(await schemaStatus(db)).toEqual({ current: 0, expected: known.at(-1)!.version });
    const first = await migrate(db);
    expect(first.applied.map((m) => m.version)).toEqual(known.map((m) => m.version));
    const again = await migrate(db);
    expect(again).toEqual({ applied: [], current: known.at(-1)!.version });
    expect(await schemaStatus(db)).toEqual({ current: known.at(-1)!.version, expected: known.at(-1)!.version });
  });

  it('migrates once when several instances start together', async () => {
    const fresh = await backend.open({ migrate: false });
    try {
      const results = await Promise.all([migrate(fresh), migrate(fresh), migrate(fresh)]);
      const applied = results.map((r) => r.applied.length);
      expect(applied.filter((n) => n > 0)).toEqual([loadMigrations().length]);
    } finally {
      await fresh.close();
    }
  });

  it('refuses a database whose schema is newer than the code', async () => {
    await db.query("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')");
    await expect(migrate(db)).rejects.toThrow(SchemaError);
    await expect(migrate(db)).rejects.toThrow(/version 9999, newer than this code/);
    await db.query('DELETE FROM schema_migrations WHERE version = 9999');
  });

  it('refuses a migration changed after it was applied', async () => {
    const changed = loadMigrations().map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m));
    await expect(migrate(db, changed)).rejects.toThrow(/was changed after it was applied/);
  });

  it('refuses updates and deletes of audit entries', async () => {
    await db.query(
      "INSERT INTO audit_entries (chain, chain_seq, at, actor, action, data, prev_hash, hash) VALUES ('t', 1, now(), 'a', 'x', '{}', '0', '1')",
    );
    await expect(db.query("UPDATE audit_entries SET actor = 'b' WHERE chain = 't'")).rejects.toThrow(/append-only/);
    await expect(db.query("DELETE FROM audit_entries WHERE chain = 't'")).rejects.toThrow(/append-only/);
    const { rows } = await db.query<{ actor: string }>("SELECT actor FROM audit_entries WHERE chain = 't'");
    expect(rows).toEqual([{ actor: 'a' }]);
  });
});

describe('loadMigrations', () => {
  it('finds numbered files in order', () => {
    const versions = loadMigrations().map((m) => m.version);
    expect(versions[0]).toBe(1);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
  });
});

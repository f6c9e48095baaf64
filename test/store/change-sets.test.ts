// store/change-sets.ts, change-set-contents.ts and change-set-list.ts on both backends: the columns
// declared once (core/change-set-shape.ts) are the table's, rows round-trip through the INSERT and
// the UPDATE, references resolve one way only, and contents and lists read what is stored.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  CHANGE_SET_COLUMNS,
  JSONB_COLUMNS,
  SUMMARY_FIELDS,
  TIMESTAMP_COLUMNS,
} from '../../src/core/change-set-shape.js';
import { summaryOf } from '../../src/engine/view.js';
import { lockChangeSetContents, readChangeSetContents } from '../../src/store/change-set-contents.js';
import { countByStatus, listChangeSets } from '../../src/store/change-set-list.js';
import {
  byReference,
  type ChangeSetRow,
  changeSetInsert,
  changeSetUpdate,
  findChangeSet,
} from '../../src/store/change-sets.js';
import { runWrites } from '../../src/store/statement.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';

describeEachBackend('store: change-sets', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  const draft = (overrides: Record<string, unknown> = {}) =>
    f.engine.create(f.p['Agent-D']!, configChange(undefined, overrides));

  it('declares every column of change_sets it reads, with the timestamptz and jsonb ones the table has', async () => {
    const { rows } = await f.db.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_name = 'change_sets' AND table_schema = current_schema()`,
    );
    const types = new Map(rows.map((r) => [r.column_name, r.data_type]));
    for (const column of CHANGE_SET_COLUMNS) expect(types.has(column), column).toBe(true);
    const declared = (type: string) => CHANGE_SET_COLUMNS.filter((c) => types.get(c) === type).sort();
    expect(declared('timestamp with time zone')).toEqual([...TIMESTAMP_COLUMNS].sort());
    expect(declared('jsonb')).toEqual([...JSONB_COLUMNS].sort());
    // The internal columns (audit chain, notice flags) are never in the API's summary.
    expect(SUMMARY_FIELDS).not.toContain('audit_head');
    expect([...types.keys()].filter((c) => !CHANGE_SET_COLUMNS.includes(c as never)).sort()).toEqual([
      'escalated_at',
      'expired_at',
      'reminded_at',
    ]);
  });

  it('inserts a row and finds it again, equal field by field, by its id or its change_set_id', async () => {
    const cs = await draft();
    const row = (await findChangeSet(f.db, cs.id))!;
    const copy: ChangeSetRow = {
      ...row,
      id: randomUUID(),
      change_set_id: `${row.change_set_id}-copy`,
      metadata: { nested: { a: [1, 'x'] } },
      approval_deadline: '2026-12-01T00:00:00.000Z',
      rolled_back_at: '2026-12-02T00:00:00.000Z',
      rolled_back_by: 'root',
    };
    await runWrites(f.db, [changeSetInsert(copy)]);
    expect(await findChangeSet(f.db, copy.id)).toEqual(copy);
    expect(await findChangeSet(f.db, copy.change_set_id)).toEqual(copy);
    expect(summaryOf(copy)).toEqual(Object.fromEntries(SUMMARY_FIELDS.map((k) => [k, copy[k]])));
    expect(Object.keys(summaryOf(copy))).toEqual(SUMMARY_FIELDS);
  });

  it('reads a UUID-shaped reference as the internal id only, anything else as the change_set_id', async () => {
    const cs = await draft();
    expect(byReference(cs.id)).toEqual({ clause: 'id = $1::uuid', params: [cs.id] });
    expect(byReference(cs.change_set_id, 'c.')).toEqual({ clause: 'c.change_set_id = $1', params: [cs.change_set_id] });
    expect(await findChangeSet(f.db, randomUUID())).toBeNull();
    expect(await findChangeSet(f.db, 'no-such-change-set')).toBeNull();
  });

  it('updates the given columns, bumps the version, and with expectVersion only that version', async () => {
    const cs = await draft();
    const { rows } = await runWrites<{ version: number }>(f.db, [
      changeSetUpdate(cs.id, { title: 'renamed', metadata: { k: 'v' }, submitted_at: '2026-11-26T00:00:00.000Z' }),
    ]);
    expect(rows).toEqual([{ version: cs.version + 1 }]);
    expect(await findChangeSet(f.db, cs.id)).toMatchObject({
      title: 'renamed',
      metadata: { k: 'v' },
      submitted_at: '2026-11-26T00:00:00.000Z',
      version: cs.version + 1,
    });
    const stale = await runWrites(f.db, [changeSetUpdate(cs.id, { title: 'late' }, { expectVersion: cs.version })]);
    expect(stale.rows).toEqual([]);
    expect((await findChangeSet(f.db, cs.id))!.title).toBe('renamed');
    // Fixed fields are never written by an update, even when a patch carries them.
    await runWrites(f.db, [changeSetUpdate(cs.id, { created_by: 'mallory' } as never)]);
    expect((await findChangeSet(f.db, cs.id))!.created_by).toBe(cs.created_by);
  });

  it('clears the round notice flags on a new round only', async () => {
    const cs = await draft();
    await f.db.query('UPDATE change_sets SET reminded_at = now(), escalated_at = now() WHERE id = $1::uuid', [cs.id]);
    const flags = async () =>
      (
        await f.db.query<{ r: boolean; e: boolean }>(
          'SELECT reminded_at IS NOT NULL AS r, escalated_at IS NOT NULL AS e FROM change_sets WHERE id = $1::uuid',
          [cs.id],
        )
      ).rows[0];
    await runWrites(f.db, [changeSetUpdate(cs.id, { title: 'same round' })]);
    expect(await flags()).toEqual({ r: true, e: true });
    await runWrites(f.db, [changeSetUpdate(cs.id, { title: 'new round' }, { newRound: true })]);
    expect(await flags()).toEqual({ r: false, e: false });
  });

  it('reads contents (row, items in sequence, approvals) with and without the row lock', async () => {
    const cs = await draft();
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED', reason: 'ok' });
    const read = (await readChangeSetContents(f.db, cs.change_set_id))!;
    expect(read.row.status).toBe('APPROVED');
    expect(read.items.map((i) => i.id)).toEqual(cs.items.map((i) => i.id));
    expect(read.approvals).toMatchObject([
      { approver_id: 'alice', decision: 'APPROVED', reason: 'ok', approver: { id: 'alice', active: true } },
    ]);
    const locked = await f.db.transaction((tx) => lockChangeSetContents(tx, cs.id));
    expect(locked).toEqual(read);
    expect(await readChangeSetContents(f.db, 'missing')).toBeNull();
    expect(await f.db.transaction((tx) => lockChangeSetContents(tx, randomUUID()))).toBeNull();
  });

  it('lists summaries newest first, filtered, after a cursor, and counts by status', async () => {
    const tag = `t${Date.now().toString(36)}`;
    const a = await draft({ tags: [tag], title: 'Alpha 100%' });
    f.clock.advance(1000);
    const b = await draft({ tags: [tag], title: 'Beta' });
    await f.engine.submit(f.p['Agent-D']!, b.id);
    const all = await listChangeSets(f.db, { tag, limit: 10 });
    expect(all.map((s) => s.id)).toEqual([b.id, a.id]);
    expect(Object.keys(all[0]!)).toEqual(SUMMARY_FIELDS);
    expect(await listChangeSets(f.db, { tag, status: ['DRAFT'], limit: 10 })).toMatchObject([{ id: a.id }]);
    expect(await listChangeSets(f.db, { tag, q: '100%', limit: 10 })).toMatchObject([{ id: a.id }]);
    expect(await listChangeSets(f.db, { tag, q: '1_0', limit: 10 })).toEqual([]);
    const first = all[0]!;
    const next = await listChangeSets(f.db, { tag, after: { created_at: first.created_at, id: first.id }, limit: 10 });
    expect(next.map((s) => s.id)).toEqual([a.id]);
    expect(await listChangeSets(f.db, { tag, approver: { id: 'alice', groups: [] }, limit: 10 })).toMatchObject([
      { id: b.id },
    ]);
    expect(await listChangeSets(f.db, { tag, approver: { id: 'Agent-D', groups: [] }, limit: 10 })).toEqual([]);
    const counts = await countByStatus(f.db);
    expect(counts['PENDING_APPROVAL']).toBeGreaterThanOrEqual(1);
    expect(Object.values(counts).reduce((x, y) => x + y, 0)).toBe(
      Number((await f.db.query<{ n: string }>('SELECT count(*) AS n FROM change_sets')).rows[0]!.n),
    );
  });
});

// store/items.ts on both backends: items round-trip (absent fields stay absent, not null), outcomes
// are written per item, a reopen resets every item, and the aggregate decodes what loadItems reads.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Item } from '../../src/core/types.js';
import {
  deleteItems,
  ITEM_COLUMNS,
  insertItems,
  itemOfTuple,
  itemsAggregate,
  itemsReset,
  itemsUpdate,
  loadItems,
  RESET_OUTCOME,
} from '../../src/store/items.js';
import { runWrites } from '../../src/store/statement.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';

describeEachBackend('store: items', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  /** A change-set whose items the test replaces with its own. */
  async function emptyChangeSet(): Promise<string> {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    await deleteItems(f.db, cs.id);
    expect(await loadItems(f.db, cs.id)).toEqual([]);
    return cs.id;
  }

  const base = (sequence: number, extra: Partial<Item> = {}): Item => ({
    id: randomUUID(),
    sequence,
    key: `k${sequence}`,
    operation_type: 'UPDATE',
    target_type: 'WIDGET',
    target_id: `w.${sequence}`,
    depends_on: [],
    status: 'PENDING',
    error: null,
    applied_version: null,
    ...extra,
  });

  it('stores items and loads them in sequence, absent fields absent and null states kept', async () => {
    const id = await emptyChangeSet();
    const items = [
      base(2, { after_state: null, before_state: { a: 1 }, base_version: 0, depends_on: ['k1'] }),
      base(1, { operation_type: 'DELETE' }),
      base(3, { diff_data: [{ op: 'replace', path: '/a', value: 2 }] }),
    ];
    await insertItems(f.db, id, items);
    const loaded = await loadItems(f.db, id);
    expect(loaded.map((i) => i.sequence)).toEqual([1, 2, 3]);
    const [first, second, third] = loaded;
    expect(first).toMatchObject({ operation_type: 'DELETE', depends_on: [], status: 'PENDING' });
    expect('after_state' in first! && first.after_state).toBe(undefined);
    expect(first!.base_version).toBeUndefined();
    expect(second).toMatchObject({ after_state: null, before_state: { a: 1 }, base_version: 0, depends_on: ['k1'] });
    expect(second!.after_state).toBeNull();
    expect(third!.diff_data).toEqual([{ op: 'replace', path: '/a', value: 2 }]);
    expect(second!.previous_state).toBeNull();
    // Nothing to insert sends nothing.
    expect(await runWrites(f.db, [null])).toEqual({ rows: [], rowCount: 0 });
  });

  it('writes each item its own outcome, and a reset makes every item pending again', async () => {
    const id = await emptyChangeSet();
    const [a, b] = [base(1), base(2)];
    await insertItems(f.db, id, [a, b]);
    await runWrites(f.db, [
      itemsUpdate([
        {
          ...RESET_OUTCOME,
          id: a.id,
          status: 'APPLIED',
          applied_version: 4,
          previous_present: true,
          previous_state: { v: 3 },
          previous_version: 3,
          applied_order: 1,
        },
        { ...RESET_OUTCOME, id: b.id, status: 'FAILED', error: { code: 'CONFLICT', message: 'moved' } },
      ]),
    ]);
    const [x, y] = await loadItems(f.db, id);
    expect(x).toMatchObject({
      status: 'APPLIED',
      applied_version: 4,
      previous_state: { v: 3 },
      previous_version: 3,
      applied_order: 1,
    });
    expect(y).toMatchObject({ status: 'FAILED', error: { code: 'CONFLICT', message: 'moved' }, applied_version: null });
    expect(itemsUpdate([])).toBeNull();
    await runWrites(f.db, [itemsReset(id)]);
    for (const item of await loadItems(f.db, id)) expect(item).toMatchObject({ ...RESET_OUTCOME });
  });

  it('decodes the positional aggregate into what loadItems reads', async () => {
    const id = await emptyChangeSet();
    await insertItems(f.db, id, [base(1, { after_state: { deep: [1, { x: null }] } }), base(2)]);
    const { rows } = await f.db.query<{ items: unknown[][] }>(
      `SELECT ${itemsAggregate(ITEM_COLUMNS)} AS items FROM change_sets c WHERE c.id = $1::uuid`,
      [id],
    );
    // loadItems reads every column (SELECT *): the aggregate has all but the change-set's id.
    const loaded = (await loadItems(f.db, id)).map((item) => {
      const { change_set, ...rest } = item as typeof item & { change_set: string };
      expect(change_set).toBe(id);
      return rest;
    });
    expect(rows[0]!.items.map((tuple) => itemOfTuple(ITEM_COLUMNS, tuple))).toEqual(loaded);
  });

  it('deletes the items of one change-set only', async () => {
    const [one, two] = [await emptyChangeSet(), await emptyChangeSet()];
    await insertItems(f.db, one, [base(1)]);
    await insertItems(f.db, two, [base(1)]);
    await deleteItems(f.db, one);
    expect(await loadItems(f.db, one)).toEqual([]);
    expect(await loadItems(f.db, two)).toHaveLength(1);
  });
});

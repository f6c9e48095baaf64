// store/resources.ts on both backends: target states read (with placeholders to lock when writing),
// final states written under the lock or guarded by the version read, history kept per version,
// the later writes a rollback would erase, and the resource views.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { targetKey } from '../../src/core/item-semantics.js';
import {
  distinctTargets,
  getHistory,
  getResource,
  guardedStateWrites,
  historyInsert,
  laterWrites,
  listResources,
  loadFirstStates,
  loadTargetStates,
  targetWrites,
} from '../../src/store/resources.js';
import { runWrites } from '../../src/store/statement.js';
import { describeEachBackend } from '../helpers/backends.js';
import { type Fixture, makeFixture } from '../helpers/fixture.js';
import { applyItems, create, newTarget, seedTarget, TYPE, update } from '../helpers/ledger.js';

describeEachBackend('store: resources', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  const t = (target_id: string) => ({ target_type: TYPE, target_id });
  const AT = '2026-11-25T10:00:00.000Z';

  it('orders distinct targets by type, then id (the lock order)', () => {
    expect(distinctTargets([t('b'), { target_type: 'A', target_id: 'z' }, t('a'), t('b')])).toEqual([
      { target_type: 'A', target_id: 'z' },
      t('a'),
      t('b'),
    ]);
  });

  it('reads current states; with the lock, absent targets get a version-0 placeholder', async () => {
    const [present, absent] = [newTarget(), newTarget()];
    await seedTarget(f, present, { v: 1 }, { v: 2 });
    const read = await loadTargetStates(f.db, [t(present), t(absent)], { lock: false });
    expect(read.get(targetKey(TYPE, present))).toEqual({ present: true, state: { v: 2 }, version: 2 });
    expect(read.has(targetKey(TYPE, absent))).toBe(false);
    const locked = await f.db.transaction((tx) =>
      loadTargetStates(tx, [t(absent), t(present)], { lock: true, now: AT }),
    );
    expect(locked.get(targetKey(TYPE, absent))).toEqual({ present: false, state: null, version: 0 });
    expect(await getResource(f.db, t(absent))).toBeNull();
    expect((await loadFirstStates(f.db, [t(present), t(absent)])).get(targetKey(TYPE, present))).toEqual({ v: 1 });
  });

  it('writes final states with their history and drops unused placeholders', async () => {
    const cs = await applyItems(f, [create(newTarget(), { seed: true })]);
    const [written, unused] = [newTarget(), newTarget()];
    await f.db.transaction((tx) => loadTargetStates(tx, [t(written), t(unused)], { lock: true, now: AT }));
    const context = { changeSet: cs.id, actor: 'olga', at: AT };
    const state = { ...t(written), present: true, state: { n: 1 }, version: 1 };
    await runWrites(
      f.db,
      targetWrites(
        { states: [state], history: [{ ...state, operation: 'CREATE', item: null }], unused: [t(unused)] },
        context,
      ),
    );
    expect(await getResource(f.db, t(written))).toEqual({
      ...state,
      updated_at: AT,
      change_set: cs.change_set_id,
    });
    const { rows } = await f.db.query('SELECT 1 FROM resources WHERE target_type = $1 AND target_id = $2', [
      TYPE,
      unused,
    ]);
    expect(rows).toEqual([]);
    expect(await getHistory(f.db, t(written))).toEqual([
      {
        version: 1,
        present: true,
        state: { n: 1 },
        operation: 'CREATE',
        change_set: cs.change_set_id,
        change_set_uuid: cs.id,
        item: null,
        actor: 'olga',
        at: AT,
      },
    ]);
    expect(historyInsert([], context)).toBeNull();
  });

  it('writes a guarded state only at the version read, an absent one only while still absent', async () => {
    const cs = await applyItems(f, [create(newTarget(), { seed: true })]);
    const [existing, fresh] = [newTarget(), newTarget()];
    await seedTarget(f, existing, { v: 1 });
    const context = { changeSet: cs.id, at: AT };
    const count = async (writes: ReturnType<typeof guardedStateWrites>) => {
      let rows = 0;
      for (const write of writes) rows += (await runWrites(f.db, [write])).rows.length;
      return rows;
    };
    const stale = { ...t(existing), present: true, state: { v: 'late' }, version: 2, expected: 0 };
    expect(await count(guardedStateWrites([stale], context))).toBe(0);
    const moved = { ...stale, expected: 5 };
    expect(await count(guardedStateWrites([moved], context))).toBe(0);
    const current = { ...stale, expected: 1 };
    const created = { ...t(fresh), present: true, state: { new: 1 }, version: 1, expected: 0 };
    expect(await count(guardedStateWrites([current, created], context))).toBe(2);
    expect(await getResource(f.db, t(existing))).toMatchObject({ state: { v: 'late' }, version: 2 });
    expect(await getResource(f.db, t(fresh))).toMatchObject({ state: { new: 1 }, version: 1 });
    expect(await count(guardedStateWrites([created], context))).toBe(0);
  });

  it('lists the writes after a version by other change-sets, oldest first, and present resources in key order', async () => {
    const id = newTarget('later');
    const first = await applyItems(f, [create(id, { v: 1 })]);
    const second = await applyItems(f, [update(id, { v: 2 })]);
    const third = await applyItems(f, [update(id, { v: 3 })]);
    const later = await laterWrites(f.db, [{ ...t(id), after_version: 1 }], first.id);
    expect(later.get(targetKey(TYPE, id))).toEqual([
      { version: 2, change_set: second.change_set_id, present: true, state: { v: 2 } },
      { version: 3, change_set: third.change_set_id, present: true, state: { v: 3 } },
    ]);
    expect((await laterWrites(f.db, [{ ...t(id), after_version: 2 }], third.id)).size).toBe(0);

    const listed = await listResources(f.db, { target_type: TYPE, prefix: 'later.', limit: 100 });
    expect(listed.map((r) => r.target_id)).toContain(id);
    expect(listed.every((r) => r.target_id.startsWith('later.') && r.present)).toBe(true);
    const after = await listResources(f.db, { target_type: TYPE, after: t(id), limit: 100 });
    expect(after.every((r) => r.target_id > id)).toBe(true);
    expect(await listResources(f.db, { prefix: 'later_', limit: 100 })).toEqual([]);
  });
});

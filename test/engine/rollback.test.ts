import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeSet, Json } from '../../src/core/types.js';
import type { ApplyResult } from '../../src/engine/apply.js';
import { describeEachBackend } from '../helpers/backends.js';
import { type Fixture, makeFixture } from '../helpers/fixture.js';
import {
  applyItems,
  approvedChangeSet,
  create,
  expectContiguousHistory,
  fiveItemsWithLateConflict,
  item,
  newTarget,
  type Observed,
  observe,
  observeAll,
  outboxTypes,
  rejection,
  resolveConflict,
  seedTarget,
  TYPE,
  update,
} from '../helpers/ledger.js';

describeEachBackend('engine rollback', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  const present = (state: Json, version: number): Observed['resource'] => ({ present: true, state, version });

  describe('restores every target exactly', () => {
    const t = {
      created: newTarget('created'),
      deleted: newTarget('deleted'),
      updated: newTarget('updated'),
      cleared: newTarget('cleared'),
      reset: newTarget('reset'),
      resetTo: newTarget('reset-to'),
    };
    const ids = Object.values(t);
    let cs: ChangeSet;
    let beforeApply: Observed[];
    let rolled: Awaited<ReturnType<Fixture['engine']['rollback']>>;

    beforeAll(async () => {
      await seedTarget(f, t.deleted, { d: 1 });
      await seedTarget(f, t.updated, { u: 1, keep: [1] });
      await seedTarget(f, t.cleared, { c: [1, 2] });
      await seedTarget(f, t.reset, { r: 1 }, { r: 2 });
      await seedTarget(f, t.resetTo, 'first', 'second');
      cs = await approvedChangeSet(f, [
        create(t.created, { n: 1 }),
        item('DELETE', t.deleted, { before_state: { d: 1 } }),
        item('UPDATE', t.updated, { diff_data: [{ op: 'replace', path: '/u', value: 2 }], base_version: 1 }),
        item('CLEAR', t.cleared),
        item('RESET', t.reset),
        item('RESET', t.resetTo, { after_state: 'third' }),
      ]);
      beforeApply = await observeAll(f, ids);
      const applied = (await f.engine.apply(f.p['olga']!, cs.id, { mode: 'ATOMIC' })) as ApplyResult;
      expect(applied).toMatchObject({ success: true, applied_items: 6 });
      f.clock.advance(60_000);
      rolled = await f.engine.rollback(f.p['Agent-A']!, cs.id, { reason: 'revert' });
    });

    it('answers with the rollback result and marks the change-set and its items', async () => {
      expect(rolled).toMatchObject({
        success: true,
        rolled_back_items: 6,
        failed_items: 0,
        errors: [],
        rolled_back_at: f.clock.now.toISOString(),
        rolled_back_by: 'Agent-A',
        reason: 'revert',
      });
      const after = await f.engine.get(cs.id);
      expect(after).toMatchObject({ status: 'ROLLED_BACK', rolled_back_by: 'Agent-A' });
      expect(after.items.map((i) => i.status)).toEqual(Array(6).fill('ROLLED_BACK'));
      expect(await outboxTypes(f, cs.id)).toContain('changeset.rolled_back');
    });

    it('removes a created target (engine.resource rejects NOT_FOUND)', async () => {
      const error = await rejection(f.engine.resource(TYPE, t.created));
      expect(error.code).toBe('NOT_FOUND');
    });

    it('re-creates a deleted target with its previous state', async () => {
      expect((await observe(f, t.deleted)).resource).toEqual(present({ d: 1 }, 3));
    });

    it('puts updated, cleared and reset targets back to their previous states', async () => {
      const after = await observeAll(f, [t.updated, t.cleared, t.reset, t.resetTo]);
      const before = [beforeApply[2]!, beforeApply[3]!, beforeApply[4]!, beforeApply[5]!];
      expect(after.map((o) => o.resource?.state)).toEqual(before.map((o) => o.resource?.state));
      expect(after.map((o) => o.resource?.version)).toEqual(before.map((o) => o.resource!.version + 2));
    });

    it('records each rollback as a new ROLLBACK version, with no gap in any history', async () => {
      for (const [index, id] of ids.entries()) {
        const history = await expectContiguousHistory(f, id);
        const before = beforeApply[index]!;
        expect(history).toHaveLength(before.history + 2);
        expect(history.at(-2)).toMatchObject({ change_set: cs.change_set_id, actor: 'olga' });
        expect(history.at(-1)).toMatchObject({
          operation: 'ROLLBACK',
          change_set: cs.change_set_id,
          actor: 'Agent-A',
          present: before.resource?.present ?? false,
          state: before.resource?.state ?? null,
        });
      }
    });
  });

  it('restores a target the change-set wrote twice to what it was before the first write', async () => {
    const shared = newTarget('shared');
    const cs = await applyItems(f, [
      item('UPDATE', shared, { depends_on: ['mk'], diff_data: [{ op: 'add', path: '/b', value: 2 }] }),
      create(shared, { a: 1 }, { key: 'mk' }),
    ]);
    await f.engine.rollback(f.p['olga']!, cs.id, {});
    const history = await expectContiguousHistory(f, shared);
    expect(history.map((h) => [h.version, h.operation, h.present, h.state])).toEqual([
      [1, 'CREATE', true, { a: 1 }],
      [2, 'UPDATE', true, { a: 1, b: 2 }],
      [3, 'ROLLBACK', true, { a: 1 }],
      [4, 'ROLLBACK', false, null],
    ]);
  });

  it('rolls back only the applied items of a PARTIALLY_APPLIED change-set', async () => {
    const { cs, t } = await fiveItemsWithLateConflict(f);
    const before = await observeAll(f, [t.b, t.c, t.d, t.e]);
    const applied = (await f.engine.apply(f.p['olga']!, cs.id, { mode: 'BEST_EFFORT' })) as ApplyResult;
    expect(applied.status).toBe('PARTIALLY_APPLIED');
    const rolled = await f.engine.rollback(f.p['olga']!, cs.id, { reason: 'give up' });
    expect(rolled).toMatchObject({ success: true, rolled_back_items: 3 });
    const after = await observeAll(f, [t.b, t.c, t.d, t.e]);
    expect(after.map((o) => o.resource?.state)).toEqual(before.map((o) => o.resource?.state));
    expect(after.map((o) => o.history)).toEqual([before[0]!.history + 2, 2, 0, before[3]!.history + 2]);
    const created = await f.engine.resourceHistory(TYPE, t.a);
    expect(created.map((h) => [h.operation, h.present])).toEqual([
      ['CREATE', true],
      ['ROLLBACK', false],
    ]);
    const items = (await f.engine.get(cs.id)).items.map((i) => [i.key, i.status]);
    expect(items).toEqual([
      ['a', 'ROLLED_BACK'],
      ['b', 'ROLLED_BACK'],
      ['c', 'FAILED'],
      ['d', 'SKIPPED'],
      ['e', 'ROLLED_BACK'],
    ]);
  });

  it('rolls back items applied over two attempts, newest first', async () => {
    const { cs, t } = await fiveItemsWithLateConflict(f);
    await f.engine.apply(f.p['olga']!, cs.id, { mode: 'BEST_EFFORT' });
    await resolveConflict(f, t);
    expect(await f.engine.apply(f.p['olga']!, cs.id, {})).toMatchObject({ status: 'APPLIED', applied_items: 2 });
    const rolled = await f.engine.rollback(f.p['olga']!, cs.id, {});
    expect(rolled).toMatchObject({ success: true, rolled_back_items: 5 });
    const written = async (id: string) => (await f.engine.resourceHistory(TYPE, id)).at(-1)!;
    expect(await written(t.c)).toMatchObject({ version: 5, operation: 'ROLLBACK', state: { v: 1 } });
    expect(await written(t.d)).toMatchObject({ version: 2, operation: 'ROLLBACK', present: false });
    expect(await written(t.e)).toMatchObject({ version: 3, operation: 'ROLLBACK', state: { v: 1 } });
    const rollbackAt = (await f.engine.audit(cs.id)).filter((e) => e.action === 'rollback');
    expect(rollbackAt).toHaveLength(1);
    for (const id of Object.values(t)) await expectContiguousHistory(f, id);
  });

  /** A change-set that updated `touched` and created `fresh`, then a later change-set updated `touched`. */
  async function appliedThenTouched() {
    const [touched, fresh] = [newTarget('touched'), newTarget('fresh')];
    await seedTarget(f, touched, { v: 1 });
    const cs = await applyItems(f, [update(touched, { v: 2 }), create(fresh, { f: 1 })]);
    const later = await applyItems(f, [update(touched, { v: 3 })]);
    return { cs, later, touched, fresh, ids: [touched, fresh] };
  }

  it('refuses with 409 CONFLICT naming the target and the later change-set, and writes nothing', async () => {
    const { cs, later, touched, ids } = await appliedThenTouched();
    const before = await observeAll(f, ids);
    const auditBefore = (await f.engine.audit(cs.id)).length;
    const error = await rejection(f.engine.rollback(f.p['Agent-A']!, cs.id, { reason: 'revert' }));
    expect(error).toMatchObject({ code: 'CONFLICT', statusCode: 409 });
    expect(error.message).toContain(`${TYPE}/${touched}`);
    expect(error.message).toContain(later.change_set_id);
    expect(error.details).toEqual([
      expect.objectContaining({
        target_type: TYPE,
        target_id: touched,
        change_sets: [later.change_set_id],
        version_written: 2,
        current_version: 3,
        message: expect.stringContaining(later.change_set_id),
      }),
    ]);
    expect(await observeAll(f, ids)).toEqual(before);
    expect((await f.engine.get(cs.id)).status).toBe('APPLIED');
    expect(await f.engine.audit(cs.id)).toHaveLength(auditBefore);
  });

  it.each(['Agent-A', 'olga'])('force is 403 FORBIDDEN for %s, who is not admin', async (who) => {
    const { cs, ids } = await appliedThenTouched();
    const before = await observeAll(f, ids);
    const error = await rejection(f.engine.rollback(f.p[who]!, cs.id, { force: true }));
    expect(error).toMatchObject({ code: 'FORBIDDEN', statusCode: 403 });
    expect(error.message).toContain('admin');
    expect(await observeAll(f, ids)).toEqual(before);
    expect((await f.engine.get(cs.id)).status).toBe('APPLIED');
  });

  it('force works for an admin, restores the targets and is audited', async () => {
    const { cs, later, touched, fresh } = await appliedThenTouched();
    const rolled = await f.engine.rollback(f.p['root']!, cs.id, { reason: 'override', force: true });
    expect(rolled).toMatchObject({ success: true, rolled_back_items: 2, rolled_back_by: 'root', forced: true });
    expect((await observe(f, touched)).resource).toEqual(present({ v: 1 }, 4));
    const touchedHistory = await expectContiguousHistory(f, touched);
    expect(touchedHistory.map((h) => h.change_set)).toEqual([
      expect.any(String),
      cs.change_set_id,
      later.change_set_id,
      cs.change_set_id,
    ]);
    const freshHistory = await expectContiguousHistory(f, fresh);
    expect(freshHistory.map((h) => [h.operation, h.present])).toEqual([
      ['CREATE', true],
      ['ROLLBACK', false],
    ]);
    const entry = (await f.engine.audit(cs.id)).find((e) => e.action === 'rollback');
    expect(entry).toMatchObject({
      actor: 'root',
      data: {
        force: true,
        reason: 'override',
        overridden: [{ target_type: TYPE, target_id: touched, change_sets: [later.change_set_id] }],
      },
    });
    expect(await f.engine.verifyAudit()).toMatchObject({ ok: true });
  });

  /**
   * The sequence of issue 20: SA writes the target twice (two apply attempts) and SC writes it in
   * between. SA's last write is still the current version, yet rolling SA back would erase SC's.
   */
  async function interleavedWrites() {
    const target = newTarget('interleaved');
    await seedTarget(f, target, { v: 1 });
    const sa = await approvedChangeSet(f, [
      item('UPDATE', target, { diff_data: [{ op: 'add', path: '/a', value: 1 }] }),
      update(target, { v: 1, a: 2 }, { before_state: { v: 1, a: 1 } }),
    ]);
    const sb = await applyItems(f, [update(target, { v: 5 })]);
    expect(await f.engine.apply(f.p['olga']!, sa.id, { mode: 'BEST_EFFORT' })).toMatchObject({
      status: 'PARTIALLY_APPLIED',
      applied_items: 1,
      failed_items: 1,
    });
    const sc = await applyItems(f, [update(target, { v: 1, a: 1 })]);
    expect(await f.engine.apply(f.p['olga']!, sa.id, {})).toMatchObject({ status: 'APPLIED', applied_items: 1 });
    expect((await observe(f, target)).resource).toEqual(present({ v: 1, a: 2 }, 5));
    return { sa, sb, sc, target };
  }

  it('refuses when another change-set wrote the target between two writes of this one', async () => {
    const { sa, sc, target } = await interleavedWrites();
    const before = await observe(f, target);
    const auditBefore = (await f.engine.audit(sa.id)).length;
    const error = await rejection(f.engine.rollback(f.p['olga']!, sa.id, { reason: 'revert' }));
    expect(error).toMatchObject({ code: 'CONFLICT', statusCode: 409 });
    expect(error.message).toContain(`${TYPE}/${target}`);
    expect(error.message).toContain(sc.change_set_id);
    expect(error.details).toEqual([
      expect.objectContaining({
        target_type: TYPE,
        target_id: target,
        change_sets: [sc.change_set_id],
        version_written: 3,
        current_version: 5,
        later_writes: [{ version: 4, change_set: sc.change_set_id }],
      }),
    ]);
    expect(await observe(f, target)).toEqual(before);
    expect((await f.engine.get(sa.id)).status).toBe('APPLIED');
    expect((await f.engine.get(sc.id)).status).toBe('APPLIED');
    expect(await f.engine.audit(sa.id)).toHaveLength(auditBefore);
  });

  it('a forced rollback over an interleaved write records exactly what it overwrote', async () => {
    const { sa, sc, target } = await interleavedWrites();
    const rolled = await f.engine.rollback(f.p['root']!, sa.id, { reason: 'override', force: true });
    expect(rolled).toMatchObject({ success: true, rolled_back_items: 2, forced: true });
    const history = await expectContiguousHistory(f, target);
    expect(history.slice(5).map((h) => [h.version, h.operation, h.state])).toEqual([
      [6, 'ROLLBACK', { v: 1, a: 1 }],
      [7, 'ROLLBACK', { v: 5 }],
    ]);
    const entry = (await f.engine.audit(sa.id)).find((e) => e.action === 'rollback');
    expect(entry?.data).toMatchObject({
      force: true,
      overridden: [
        {
          target_type: TYPE,
          target_id: target,
          change_sets: [sc.change_set_id],
          overwritten: { version: 5, present: true, state: { v: 1, a: 2 } },
          later_writes: [{ version: 4, change_set: sc.change_set_id, present: true, state: { v: 1, a: 1 } }],
        },
      ],
    });
    expect(await f.engine.verifyAudit()).toMatchObject({ ok: true });
  });
});

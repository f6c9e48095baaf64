import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../../src/core/types.js';
import type { ApplyResult } from '../../src/engine/apply.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';
import {
  approvedChangeSet,
  create,
  fiveItemsWithLateConflict,
  type ItemBody,
  item,
  newTarget,
  observe,
  observeAll,
  outboxTypes,
  rejection,
  resolveConflict,
  seedTarget,
  TYPE,
  update,
} from '../helpers/ledger.js';

const RESULT_KEYS = 'applied_at applied_by applied_items errors failed_items items mode skipped_items status success';

const statusByKey = (items: { key: string; status: string }[]) =>
  Object.fromEntries(items.map((entry) => [entry.key, entry.status]));

describeEachBackend('engine apply', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  const apply = async (id: string, mode: string) => (await f.engine.apply(f.p['olga']!, id, { mode })) as ApplyResult;

  /** Rows locked for targets about to be created (version 0) that an apply left behind. */
  async function placeholders(): Promise<number> {
    const { rows } = await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM resources WHERE version = 0');
    return rows[0]!.n;
  }

  /** Counts of every table an apply could write, plus the change-set's version. */
  async function footprint(id: string, targets: readonly string[]) {
    const { rows } = await f.db.query<{ audit: number; outbox: number; history: number; resources: number }>(
      `SELECT (SELECT count(*)::int FROM audit_entries) AS audit, (SELECT count(*)::int FROM outbox_events) AS outbox,
              (SELECT count(*)::int FROM resource_history) AS history, (SELECT count(*)::int FROM resources) AS resources`,
    );
    return { ...rows[0], version: (await f.engine.get(id)).version, targets: await observeAll(f, targets) };
  }

  it('ATOMIC: a conflicting third item applies nothing, keeps APPROVED, answers 409 APPLY_FAILED and is audited', async () => {
    const { cs, ids } = await fiveItemsWithLateConflict(f);
    const before = await observeAll(f, ids);
    expect(before.map((o) => o.resource?.version ?? null)).toEqual([null, 1, 2, null, 1]);
    const error = await rejection(f.engine.apply(f.p['olga']!, cs.id, { mode: 'ATOMIC' }));
    expect(error).toMatchObject({ code: 'APPLY_FAILED', statusCode: 409 });
    expect(error.message).toContain('c: current state of');
    const itemId = (key: string) => cs.items.find((i) => i.key === key)!.id;
    expect(error.details).toEqual([
      {
        item_id: itemId('c'),
        key: 'c',
        code: 'CONFLICT',
        message: expect.stringContaining('differs from before_state'),
      },
      { item_id: itemId('d'), key: 'd', code: 'DEPENDENCY_FAILED', message: 'depends on item c, which failed' },
    ]);
    expect(await observeAll(f, ids)).toEqual(before);
    expect(await placeholders()).toBe(0);
    const after = await f.engine.get(cs.id);
    expect(after.status).toBe('APPROVED');
    expect(after.items.map((i) => i.status)).toEqual(['PENDING', 'PENDING', 'PENDING', 'PENDING', 'PENDING']);
    const failed = (await f.engine.audit(cs.id)).filter((entry) => entry.action === 'apply_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ actor: 'olga', data: { mode: 'ATOMIC', applied_items: 0, failed_items: 1 } });
    expect(await outboxTypes(f, cs.id)).toContain('changeset.apply_failed');
    expect(await outboxTypes(f, cs.id)).not.toContain('changeset.applied');
  });

  it('BEST_EFFORT: applies the rest, skips dependants, ends PARTIALLY_APPLIED, then applies only the remainder', async () => {
    const { cs, t, ids } = await fiveItemsWithLateConflict(f);
    const first = await apply(cs.id, 'BEST_EFFORT');
    expect(first).toMatchObject({ success: false, mode: 'BEST_EFFORT', status: 'PARTIALLY_APPLIED' });
    expect(first).toMatchObject({ applied_items: 3, failed_items: 1, skipped_items: 1 });
    expect(statusByKey(first.items)).toEqual({ a: 'APPLIED', b: 'APPLIED', c: 'FAILED', d: 'SKIPPED', e: 'APPLIED' });
    expect(first.errors.map((e) => [e.key, e.code])).toEqual([
      ['c', 'CONFLICT'],
      ['d', 'DEPENDENCY_FAILED'],
    ]);
    const partial = await f.engine.get(cs.id);
    expect(partial.status).toBe('PARTIALLY_APPLIED');
    expect(statusByKey(partial.items)).toEqual(statusByKey(first.items));
    expect(await observe(f, t.a)).toEqual({ resource: { present: true, state: { v: 1 }, version: 1 }, history: 1 });
    expect(await observe(f, t.b)).toEqual({ resource: { present: true, state: { v: 2 }, version: 2 }, history: 2 });
    expect(await observe(f, t.c)).toEqual({ resource: { present: true, state: { v: 99 }, version: 2 }, history: 2 });
    expect(await observe(f, t.d)).toEqual({ resource: null, history: 0 });
    expect(await placeholders()).toBe(0);
    const appliedBefore = await observeAll(f, [t.a, t.b, t.e]);
    const unchanged = await footprint(cs.id, ids);
    const plan = await f.engine.plan(cs.id);
    expect(await footprint(cs.id, ids)).toEqual(unchanged);
    expect(plan.items.map((i) => [i.key, i.status])).toEqual([
      ['a', 'APPLIED'],
      ['b', 'APPLIED'],
      ['e', 'APPLIED'],
      ['c', 'WOULD_FAIL'],
      ['d', 'WOULD_SKIP'],
    ]);

    await resolveConflict(f, t);
    const second = await apply(cs.id, 'AUTO');
    expect(second).toMatchObject({ success: true, status: 'APPLIED', applied_items: 2, failed_items: 0 });
    expect(second.items.map((i) => [i.key, i.status, i.from_version, i.to_version])).toEqual([
      ['c', 'APPLIED', 3, 4],
      ['d', 'APPLIED', 0, 1],
    ]);
    expect(await observeAll(f, [t.a, t.b, t.e])).toEqual(appliedBefore);
    expect((await observe(f, t.c)).resource).toEqual({ present: true, state: { v: 2 }, version: 4 });
    expect((await observe(f, t.d)).resource).toEqual({ present: true, state: { v: 1 }, version: 1 });
    const done = await f.engine.get(cs.id);
    expect(done.status).toBe('APPLIED');
    expect(done.items.every((i) => i.status === 'APPLIED')).toBe(true);
  });

  it.each(['AUTO', 'ATOMIC', 'BEST_EFFORT'])(
    '%s returns the result shape of docs/design.md#apply-and-rollback',
    async (mode) => {
      const [kept, made] = [newTarget('kept'), newTarget('made')];
      await seedTarget(f, kept, { n: 1 });
      const cs = await approvedChangeSet(f, [update(kept, { n: 2 }), create(made, [1])]);
      const result = await apply(cs.id, mode);
      expect(Object.keys(result).sort().join(' ')).toBe(RESULT_KEYS);
      expect(result).toEqual({
        success: true,
        mode,
        status: 'APPLIED',
        applied_items: 2,
        failed_items: 0,
        skipped_items: 0,
        errors: [],
        items: [
          { item_id: cs.items[0]!.id, key: '0', status: 'APPLIED', from_version: 1, to_version: 2 },
          { item_id: cs.items[1]!.id, key: '1', status: 'APPLIED', from_version: 0, to_version: 1 },
        ],
        applied_at: f.clock.now.toISOString(),
        applied_by: 'olga',
      });
      expect(await f.engine.get(cs.id)).toMatchObject({ status: 'APPLIED', applied_by: 'olga' });
    },
  );

  it('DRY_RUN and plan return the plan and write nothing, in every status', async () => {
    const [kept, made] = [newTarget('kept'), newTarget('made')];
    await seedTarget(f, kept, { n: 1, old: true });
    const body = {
      change_set_id: `DRY-${kept}`,
      title: 'Two updates',
      agent_type: 'UI',
      category: 'UI_LAYOUT',
      items: [
        item('UPDATE', kept, { diff_data: [{ op: 'remove', path: '/old' }] }),
        create(made, { m: 1 }),
        update(kept, { n: 2 }),
      ],
    };
    const creator = f.p['Agent-A']!;
    const steps: [string, () => Promise<unknown>][] = [
      ['DRAFT', () => f.engine.create(creator, body)],
      ['PENDING_APPROVAL', () => f.engine.submit(creator, body.change_set_id)],
      ['APPROVED', () => f.engine.decide(f.p['root']!, body.change_set_id, { decision: 'APPROVED' })],
      ['APPLIED', () => f.engine.apply(f.p['olga']!, body.change_set_id, { mode: 'ATOMIC' })],
      ['ROLLED_BACK', () => f.engine.rollback(creator, body.change_set_id, {})],
      ['REJECTED', async () => f.engine.close(creator, (await f.engine.reopen(creator, body.change_set_id)).id)],
    ];
    for (const [status, step] of steps) {
      await step();
      const before = await footprint(body.change_set_id, [kept, made]);
      // DRY_RUN is the plan (Engine.plan; the HTTP apply route answers it): apply refuses it.
      const dry = await rejection(f.engine.apply(f.p['olga']!, body.change_set_id, { mode: 'DRY_RUN' }));
      const plan = await f.engine.plan(body.change_set_id);
      expect(await footprint(body.change_set_id, [kept, made])).toEqual(before);
      expect(dry).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: 'mode' }] });
      expect(plan).toMatchObject({ change_set_id: body.change_set_id, status, mode: 'DRY_RUN' });
      if (status === 'APPLIED') {
        expect(plan.items.map((i) => i.status)).toEqual(['APPLIED', 'APPLIED', 'APPLIED']);
        continue;
      }
      // Rolling back wrote two versions of `kept` (one per item) and one of `made`.
      const rolledBack = status === 'ROLLED_BACK' || status === 'REJECTED';
      const v = rolledBack ? 5 : 1;
      expect(plan.would_succeed).toBe(true);
      expect(plan.items[0]).toMatchObject({
        key: '0',
        status: 'WOULD_APPLY',
        current: { present: true, version: v, state: { n: 1, old: true } },
        result: { present: true, version: v + 1, state: { n: 1 } },
        diff: [{ op: 'remove', path: '/old' }],
        error: null,
      });
      expect(plan.items[1]).toMatchObject({
        current: { present: false, version: rolledBack ? 2 : 0, state: null },
        result: { present: true, state: { m: 1 } },
        diff: [{ op: 'replace', path: '', value: { m: 1 } }],
      });
      expect(plan.items[2]).toMatchObject({ diff: [{ op: 'replace', path: '/n', value: 2 }], error: null });
    }
  });

  it('the plan reports the error an item would hit', async () => {
    const missing = newTarget('missing');
    const cs = await f.engine.create(f.p['Agent-D']!, configChange(undefined, { items: [update(missing, { x: 1 })] }));
    const plan = await f.engine.plan(cs.id);
    expect(plan.would_succeed).toBe(false);
    expect(plan.items[0]).toMatchObject({
      status: 'WOULD_FAIL',
      current: { present: false, version: 0, state: null },
      result: null,
      diff: [],
      error: { code: 'NOT_FOUND', message: `target ${TYPE}/${missing} does not exist` },
    });
  });

  it('applies items in stable topological order of depends_on', async () => {
    const [shared, other] = [newTarget('shared'), newTarget('other')];
    const cs = await approvedChangeSet(f, [
      item('UPDATE', shared, { key: 'upd', depends_on: ['mk'], diff_data: [{ op: 'add', path: '/b', value: 2 }] }),
      create(shared, { a: 1 }, { key: 'mk' }),
      create(other, {}, { key: 'other' }),
    ]);
    const result = await apply(cs.id, 'ATOMIC');
    expect(result.items.map((i) => [i.key, i.from_version, i.to_version])).toEqual([
      ['mk', 0, 1],
      ['upd', 1, 2],
      ['other', 0, 1],
    ]);
    const history = await f.engine.resourceHistory(TYPE, shared);
    const idOf = (key: string) => cs.items.find((i) => i.key === key)!.id;
    expect(history.map((h) => [h.version, h.operation, h.item, h.state])).toEqual([
      [1, 'CREATE', idOf('mk'), { a: 1 }],
      [2, 'UPDATE', idOf('upd'), { a: 1, b: 2 }],
    ]);
  });

  describe('item semantics', () => {
    const op = (operation_type: string, extra: ItemBody = {}): ItemBody => ({ operation_type, ...extra });
    const patch = (...diff_data: ItemBody[]) => ({ diff_data });
    /** [name, states the target goes through first, item, resulting state, present afterwards]. */
    const APPLIES: [string, Json[], ItemBody, Json, boolean][] = [
      ['CREATE', [], op('CREATE', { after_state: { a: 1 } }), { a: 1 }, true],
      [
        'UPDATE by diff_data (RFC 6902)',
        [{ a: 1, b: [1, 2], c: 'x' }],
        op('UPDATE', {
          ...patch(
            { op: 'test', path: '/c', value: 'x' },
            { op: 'replace', path: '/a', value: 2 },
            { op: 'remove', path: '/b/0' },
            { op: 'add', path: '/d', value: { e: true } },
            { op: 'move', from: '/c', path: '/f' },
          ),
        }),
        { a: 2, b: [2], d: { e: true }, f: 'x' },
        true,
      ],
      [
        'UPDATE of the whole document by diff_data',
        [{ a: 1 }],
        op('UPDATE', patch({ op: 'replace', path: '', value: [0] })),
        [0],
        true,
      ],
      ['UPDATE by after_state', [{ a: 1 }], op('UPDATE', { after_state: [1] }), [1], true],
      [
        'UPDATE by diff_data that produces after_state',
        [{ a: 1 }],
        op('UPDATE', { ...patch({ op: 'add', path: '/b', value: 1 }), after_state: { a: 1, b: 1 } }),
        { a: 1, b: 1 },
        true,
      ],
      ['DELETE', [{ a: 1 }], op('DELETE'), null, false],
      ['RESET to after_state', [{ a: 1 }, { a: 2 }], op('RESET', { after_state: 'r' }), 'r', true],
      ['RESET to the first recorded state', [{ a: 1 }, { a: 2 }, { a: 3 }], op('RESET'), { a: 1 }, true],
      ['CLEAR an object', [{ a: 1 }], op('CLEAR'), {}, true],
      ['CLEAR an array', [[1, 2]], op('CLEAR'), [], true],
      ['CLEAR a string', ['text'], op('CLEAR'), '', true],
      ['CLEAR a number', [7], op('CLEAR'), null, true],
      [
        'UPDATE whose before_state and base_version match',
        [{ a: 1 }, { a: 2 }],
        op('UPDATE', { after_state: { a: 3 }, before_state: { a: 2 }, base_version: 2 }),
        { a: 3 },
        true,
      ],
    ];
    /** [name, states the target goes through first, item, the item's error code]. */
    const REFUSES: [string, Json[], ItemBody, string][] = [
      [
        'UPDATE with a stale base_version',
        [{ a: 1 }, { a: 2 }],
        op('UPDATE', { after_state: 0, base_version: 1 }),
        'CONFLICT',
      ],
      [
        'UPDATE whose before_state differs',
        [{ a: 1 }],
        op('UPDATE', { after_state: 0, before_state: { a: 2 } }),
        'CONFLICT',
      ],
      ['CREATE expecting a before_state', [], op('CREATE', { after_state: 0, before_state: {} }), 'CONFLICT'],
      ['CREATE of an existing target', [{ a: 1 }], op('CREATE', { after_state: 0 }), 'CONFLICT'],
      ['UPDATE of a missing target', [], op('UPDATE', { after_state: 0 }), 'NOT_FOUND'],
      [
        'UPDATE whose patch fails',
        [{ a: 1 }],
        op('UPDATE', patch({ op: 'test', path: '/a', value: 2 })),
        'PATCH_FAILED',
      ],
      [
        'UPDATE whose patch does not produce after_state',
        [{ a: 1 }],
        op('UPDATE', { ...patch({ op: 'add', path: '/b', value: 1 }), after_state: { a: 1 } }),
        'PATCH_MISMATCH',
      ],
    ];

    async function changeSetOn(seeds: Json[], body: ItemBody) {
      const target = newTarget();
      if (seeds.length > 0) await seedTarget(f, target, seeds[0]!, ...seeds.slice(1));
      return { target, cs: await approvedChangeSet(f, [{ ...body, target_type: TYPE, target_id: target }]) };
    }

    it.each(APPLIES)('%s', async (_name, seeds, body, state, present) => {
      const { target, cs } = await changeSetOn(seeds, body);
      expect((await apply(cs.id, 'ATOMIC')).success).toBe(true);
      const version = seeds.length + 1;
      const history = await f.engine.resourceHistory(TYPE, target);
      expect(history).toHaveLength(version);
      expect(history.at(-1)).toMatchObject({ version, operation: body['operation_type'], present, state });
      expect((await observe(f, target)).resource).toEqual(present ? { present, state, version } : null);
    });

    // Single CREATE and UPDATE items are auto-approved at create, so nothing dry-runs them before apply.
    it.each(REFUSES)('refuses %s with %s', async (_name, seeds, body, code) => {
      const { target, cs } = await changeSetOn(seeds, body);
      const before = await observe(f, target);
      const refused = await rejection(apply(cs.id, 'ATOMIC'));
      expect(refused).toMatchObject({ code: 'APPLY_FAILED', details: [{ key: '0', code }] });
      expect(await observe(f, target)).toEqual(before);
    });
  });

  it('auto_apply: an auto-approved change-set is APPLIED right after create', async () => {
    const body = uiButton({ auto_apply: true });
    const cs = await f.engine.create(f.p['Agent-A']!, body);
    expect(cs).toMatchObject({ status: 'APPLIED', applied_by: 'Agent-A' });
    const target = body.items[0]!.target_id;
    expect(await f.engine.resource('UI_COMPONENT', target)).toMatchObject({ state: { label: 'OK' }, version: 1 });
  });

  it('auto_apply: a change-set needing an approval is APPLIED right after the approval', async () => {
    const target = newTarget('config');
    const cs = await f.engine.create(f.p['Agent-D']!, configChange(target, { auto_apply: true }));
    expect((await f.engine.submit(f.p['Agent-D']!, cs.id)).status).toBe('PENDING_APPROVAL');
    const approved = await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' });
    expect(approved).toMatchObject({ status: 'APPLIED', applied_by: 'Agent-D' });
    expect(await f.engine.resource('CONFIG', target)).toMatchObject({ state: { value: 1 }, version: 1 });
    expect(await outboxTypes(f, cs.id)).toContain('changeset.applied');
  });
});

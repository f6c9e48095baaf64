import { describe, expect, it } from 'vitest';
import { applyItem, simulateItems, type TargetState, targetKey } from '../../src/core/item-semantics.js';
import { deepEqual } from '../../src/core/json-equal.js';
import type { Item, ItemInput, Json, OperationType } from '../../src/core/types.js';

const input = (operation_type: OperationType, extra: Partial<ItemInput> = {}): ItemInput => ({
  key: 'k1',
  operation_type,
  target_type: 'config',
  target_id: 'web',
  depends_on: [],
  ...extra,
});

const item = (key: string, sequence: number, operation_type: OperationType, extra: Partial<Item> = {}): Item => ({
  ...input(operation_type, { key }),
  id: `id-${key}`,
  sequence,
  status: 'PENDING',
  error: null,
  applied_version: null,
  ...extra,
});

const present = (state: Json, version = 3, first_state?: Json): TargetState => ({
  present: true,
  state,
  version,
  first_state,
});
const absent = (version = 0): TargetState => ({ present: false, state: null, version });
const WEB = targetKey('config', 'web');

describe('deepEqual', () => {
  it.each([
    { a: { x: 1, y: [1, { z: 2 }] }, b: { y: [1, { z: 2 }], x: 1 }, equal: true },
    { a: [1, 2], b: [2, 1], equal: false },
    { a: { x: 1 }, b: { x: 1, y: null }, equal: false },
    { a: { x: null }, b: { y: null }, equal: false },
    { a: [], b: {}, equal: false },
    { a: '1', b: 1, equal: false },
    { a: null, b: null, equal: true },
  ])('deepEqual($a, $b) is $equal', ({ a, b, equal }) => {
    expect(deepEqual(a as Json, b as Json)).toBe(equal);
  });
});

describe('applyItem preconditions by operation', () => {
  const after = { replicas: 2 };
  it.each([
    { op: 'CREATE', current: absent(), next: { present: true, state: after, version: 1 } },
    { op: 'UPDATE', current: present({ replicas: 1 }), next: { present: true, state: after, version: 4 } },
    { op: 'DELETE', current: present({ replicas: 1 }), next: { present: false, state: null, version: 4 } },
    { op: 'RESET', current: present({ replicas: 1 }), next: { present: true, state: after, version: 4 } },
    { op: 'CLEAR', current: present({ replicas: 1 }), next: { present: true, state: {}, version: 4 } },
    { op: 'CREATE', current: absent(5), next: { present: true, state: after, version: 6 } },
  ] as const)(
    '$op on a target at version $current.version (present: $current.present) applies',
    ({ op, current, next }) => {
      expect(applyItem(input(op, { after_state: after }), current)).toEqual({ ok: true, next });
    },
  );

  it.each([
    { op: 'CREATE', current: present({}), code: 'CONFLICT', message: 'target config/web already exists (version 3)' },
    { op: 'UPDATE', current: absent(), code: 'NOT_FOUND', message: 'target config/web does not exist' },
    { op: 'DELETE', current: absent(2), code: 'NOT_FOUND', message: 'target config/web does not exist' },
    { op: 'RESET', current: absent(), code: 'NOT_FOUND', message: 'target config/web does not exist' },
    { op: 'CLEAR', current: absent(), code: 'NOT_FOUND', message: 'target config/web does not exist' },
  ] as const)('$op refuses when the target is present: $current.present', ({ op, current, code, message }) => {
    expect(applyItem(input(op, { after_state: {} }), current)).toEqual({ ok: false, error: { code, message } });
  });
});

describe('applyItem drift checks', () => {
  const current = present({ a: 1, b: { c: [1, 2] } }, 4);
  it.each([
    { name: 'before_state equal', extra: { before_state: { a: 1, b: { c: [1, 2] } } } },
    { name: 'before_state equal in another key order', extra: { before_state: { b: { c: [1, 2] }, a: 1 } } },
    { name: 'base_version equal', extra: { base_version: 4 } },
    { name: 'both equal', extra: { base_version: 4, before_state: { b: { c: [1, 2] }, a: 1 } } },
  ])('passes with $name', ({ extra }) => {
    expect(applyItem(input('UPDATE', { after_state: 1, ...extra }), current).ok).toBe(true);
  });

  it.each([
    {
      name: 'a different before_state',
      target: current,
      extra: { before_state: { a: 1, b: { c: [2, 1] } } },
      message: 'current state of config/web differs from before_state',
    },
    {
      name: 'a different base_version',
      target: current,
      extra: { base_version: 3 },
      message: 'target config/web is at version 4, the change-set expected 3',
    },
    {
      name: 'a before_state of null on an absent target',
      target: absent(),
      extra: { before_state: null },
      message: 'target config/web does not exist, the change-set expected a before_state',
    },
  ])('fails with CONFLICT on $name', ({ target, extra, message }) => {
    const result = applyItem(input('UPDATE', { after_state: 1, ...extra }), target);
    expect(result).toEqual({ ok: false, error: { code: 'CONFLICT', message } });
  });

  it('checks drift before CREATE treats the target as absent', () => {
    const result = applyItem(input('CREATE', { after_state: 1, base_version: 2 }), absent(0));
    expect(result).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
  });
});

describe('applyItem UPDATE', () => {
  const current = present({ replicas: 1, image: 'web:1' }, 2);
  const patch = [{ op: 'replace' as const, path: '/replicas', value: 3 }];
  it.each([
    { name: 'a patch', extra: { diff_data: patch }, state: { replicas: 3, image: 'web:1' } },
    { name: 'an after_state', extra: { after_state: { replicas: 9 } }, state: { replicas: 9 } },
    {
      name: 'a patch and an agreeing after_state',
      extra: { diff_data: patch, after_state: { image: 'web:1', replicas: 3 } },
      state: { replicas: 3, image: 'web:1' },
    },
    {
      name: 'a patch on the root',
      extra: { diff_data: [{ op: 'replace' as const, path: '', value: 'x' }] },
      state: 'x',
    },
    {
      name: 'a passing test op',
      extra: { diff_data: [{ op: 'test' as const, path: '/image', value: 'web:1' }, ...patch] },
      state: { replicas: 3, image: 'web:1' },
    },
  ] as { name: string; extra: Partial<ItemInput>; state: Json }[])('applies $name', ({ extra, state }) => {
    expect(applyItem(input('UPDATE', extra), current)).toEqual({
      ok: true,
      next: { present: true, state, version: 3 },
    });
  });

  it.each([
    {
      name: 'a failing test op',
      extra: { diff_data: [...patch, { op: 'test' as const, path: '/image', value: 'web:2' }] },
      code: 'PATCH_FAILED',
      message:
        'cannot patch config/web: patch op 1 (test at "/image") failed: the value differs from the expected value',
    },
    {
      name: 'a remove of a missing path',
      extra: { diff_data: [{ op: 'remove' as const, path: '/nope' }] },
      code: 'PATCH_FAILED',
      message: 'cannot patch config/web: patch op 0 (remove at "/nope") failed: no value at that path',
    },
    {
      name: 'an invalid pointer',
      extra: { diff_data: [{ op: 'add' as const, path: 'replicas', value: 1 }] },
      code: 'PATCH_FAILED',
      message: 'cannot patch config/web: patch op 0 (add at "replicas") failed: Invalid JSON Pointer: replicas',
    },
    {
      name: 'a patch and a disagreeing after_state',
      extra: { diff_data: patch, after_state: { replicas: 4, image: 'web:1' } },
      code: 'PATCH_MISMATCH',
      message: 'patching config/web with diff_data does not produce after_state',
    },
    {
      name: 'neither a patch nor an after_state',
      extra: {},
      code: 'INVALID_ITEM',
      message: 'UPDATE of config/web has neither diff_data nor after_state',
    },
  ])('fails on $name', ({ extra, code, message }) => {
    expect(applyItem(input('UPDATE', extra), current)).toEqual({ ok: false, error: { code, message } });
  });

  it('mutates neither the current state nor the item', () => {
    const target = present({ list: [1, 2] }, 1);
    const update = input('UPDATE', { diff_data: [{ op: 'add', path: '/list/-', value: { n: 3 } }] });
    const snapshot = structuredClone({ target, update });
    const result = applyItem(update, target);
    expect({ target, update }).toEqual(snapshot);
    if (!result.ok) throw new Error('expected success');
    (result.next.state as { list: Json[] }).list.push(4);
    expect(update.diff_data![0]!.value).toEqual({ n: 3 });
  });
});

describe('applyItem RESET and CLEAR', () => {
  it.each([
    {
      name: 'with an after_state',
      extra: { after_state: { v: 2 } },
      first: { v: 0 },
      result: { ok: true, next: { present: true, state: { v: 2 }, version: 4 } },
    },
    {
      name: 'to the first recorded state',
      extra: {},
      first: { v: 0 },
      result: { ok: true, next: { present: true, state: { v: 0 }, version: 4 } },
    },
    {
      name: 'to a first recorded state of null',
      extra: {},
      first: null,
      result: { ok: true, next: { present: true, state: null, version: 4 } },
    },
    {
      name: 'without any first recorded state',
      extra: {},
      first: undefined,
      result: {
        ok: false,
        error: { code: 'NO_INITIAL_STATE', message: 'no first recorded state of config/web to reset to' },
      },
    },
  ])('RESET $name', ({ extra, first, result }) => {
    expect(applyItem(input('RESET', extra), present({ v: 1 }, 3, first))).toEqual(result);
  });

  it.each([
    { type: 'an object', state: { a: 1 }, empty: {} },
    { type: 'an array', state: [1, 2], empty: [] },
    { type: 'a string', state: 'text', empty: '' },
    { type: 'a number', state: 42, empty: null },
    { type: 'a boolean', state: true, empty: null },
    { type: 'null', state: null, empty: null },
  ])('CLEAR empties $type', ({ state, empty }) => {
    expect(applyItem(input('CLEAR'), present(state, 7))).toEqual({
      ok: true,
      next: { present: true, state: empty, version: 8 },
    });
  });
});

describe('simulateItems', () => {
  it('lets a later item see an earlier item on the same target', () => {
    const items = [
      item('update', 2, 'UPDATE', { diff_data: [{ op: 'add', path: '/b', value: 2 }], base_version: 1 }),
      item('create', 1, 'CREATE', { after_state: { a: 1 } }),
      item('reset', 3, 'RESET'),
    ];
    const sim = simulateItems(items, new Map());
    expect(sim.order).toEqual(['create', 'update', 'reset']);
    expect(sim.outcomes.get('create')).toEqual({
      status: 'APPLIED',
      from: absent(),
      to: present({ a: 1 }, 1, undefined),
    });
    expect(sim.outcomes.get('update')).toMatchObject({ status: 'APPLIED', to: { state: { a: 1, b: 2 }, version: 2 } });
    expect(sim.states.get(WEB)).toEqual({ present: true, state: { a: 1 }, version: 3, first_state: { a: 1 } });
  });

  it('skips dependants of a failed item transitively while independent items apply', () => {
    const items = [
      item('bad', 1, 'UPDATE', { after_state: 1, base_version: 9 }),
      item('child', 2, 'UPDATE', { after_state: 2, depends_on: ['bad'] }),
      item('grandchild', 3, 'DELETE', { depends_on: ['child'] }),
      item('free', 4, 'CLEAR', { target_id: 'other' }),
    ];
    const resources = new Map([
      [WEB, present({ a: 1 }, 2)],
      [targetKey('config', 'other'), present([1], 1)],
    ]);
    const sim = simulateItems(items, resources);
    const statuses = Object.fromEntries([...sim.outcomes].map(([key, outcome]) => [key, outcome.status]));
    expect(statuses).toEqual({ bad: 'FAILED', child: 'SKIPPED', grandchild: 'SKIPPED', free: 'APPLIED' });
    expect(sim.outcomes.get('child')).toMatchObject({
      error: { code: 'DEPENDENCY_FAILED', message: 'depends on item bad, which failed' },
    });
    expect(sim.outcomes.get('grandchild')).toMatchObject({
      error: { message: 'depends on item child, which was skipped' },
    });
    expect(sim.states.get(WEB)).toEqual(present({ a: 1 }, 2));
  });

  it('leaves out already applied items and counts them as satisfied dependencies', () => {
    const items = [
      item('done', 1, 'CREATE', { after_state: { a: 1 }, status: 'APPLIED' }),
      item('next', 2, 'UPDATE', { after_state: { a: 2 }, depends_on: ['done'], base_version: 1 }),
    ];
    const sim = simulateItems(items, new Map([[WEB, present({ a: 1 }, 1)]]), new Set(['done']));
    expect(sim.order).toEqual(['next']);
    expect([...sim.outcomes.keys()]).toEqual(['next']);
    expect(sim.outcomes.get('next')).toMatchObject({ status: 'APPLIED', to: { version: 2 } });
  });

  it('treats a target missing from resources as absent at version 0', () => {
    const sim = simulateItems([item('u', 1, 'UPDATE', { after_state: 1 })], new Map());
    expect(sim.outcomes.get('u')).toEqual({
      status: 'FAILED',
      from: absent(),
      error: { code: 'NOT_FOUND', message: 'target config/web does not exist' },
    });
  });

  it('mutates neither the resources nor the items', () => {
    const resources = new Map([[WEB, present({ list: [1] }, 1, { list: [] })]]);
    const items = [
      item('add', 1, 'UPDATE', { diff_data: [{ op: 'add', path: '/list/-', value: 2 }] }),
      item('reset', 2, 'RESET'),
    ];
    const snapshot = structuredClone({ resources: [...resources], items });
    const sim = simulateItems(items, resources);
    expect({ resources: [...resources], items }).toEqual(snapshot);
    expect(sim.states.get(WEB)).toMatchObject({ state: { list: [] }, version: 3 });
    expect(sim.states.get(WEB)!.state).not.toBe(resources.get(WEB)!.first_state);
  });
});

import { describe, expect, it } from 'vitest';
import { type TargetState, targetKey } from '../../src/core/item-semantics.js';
import { planItems } from '../../src/core/plan.js';
import type { Item, OperationType } from '../../src/core/types.js';

const item = (key: string, sequence: number, operation_type: OperationType, extra: Partial<Item> = {}): Item => ({
  key,
  operation_type,
  target_type: 'config',
  target_id: 'web',
  depends_on: [],
  id: `id-${key}`,
  sequence,
  status: 'PENDING',
  error: null,
  applied_version: null,
  ...extra,
});

const WEB = targetKey('config', 'web');
const resources = (state: TargetState['state'], version: number): Map<string, TargetState> =>
  new Map([[WEB, { present: true, state, version }]]);

describe('planItems', () => {
  it('shows the current state, the result and an RFC 6902 diff for an UPDATE', () => {
    const update = item('u', 1, 'UPDATE', { after_state: { replicas: 3, image: 'web:1', tags: ['a'] } });
    const plan = planItems([update], resources({ replicas: 1, image: 'web:1', debug: true }, 4));
    expect(plan).toEqual({
      would_succeed: true,
      items: [
        {
          item_id: 'id-u',
          key: 'u',
          sequence: 1,
          operation_type: 'UPDATE',
          target_type: 'config',
          target_id: 'web',
          status: 'WOULD_APPLY',
          current: { present: true, version: 4, state: { replicas: 1, image: 'web:1', debug: true } },
          result: { present: true, version: 5, state: { replicas: 3, image: 'web:1', tags: ['a'] } },
          diff: [
            { op: 'remove', path: '/debug' },
            { op: 'add', path: '/tags', value: ['a'] },
            { op: 'replace', path: '/replicas', value: 3 },
          ],
          error: null,
        },
      ],
    });
  });

  it.each([
    {
      op: 'CREATE',
      current: new Map(),
      extra: { after_state: { a: 1 } },
      diff: [{ op: 'replace', path: '', value: { a: 1 } }],
    },
    { op: 'DELETE', current: resources({ a: 1 }, 1), extra: {}, diff: [{ op: 'replace', path: '', value: null }] },
    { op: 'CLEAR', current: resources({ a: 1 }, 1), extra: {}, diff: [{ op: 'remove', path: '/a' }] },
  ] as const)('diffs a $op against null for an absent side', ({ op, current, extra, diff }) => {
    expect(planItems([item('x', 1, op, extra)], current).items[0]!.diff).toEqual(diff);
  });

  it('reports the error an item would hit and the items it would skip', () => {
    const items = [
      item('skip', 1, 'DELETE', { depends_on: ['fail'] }),
      item('fail', 2, 'UPDATE', { after_state: 1, base_version: 3 }),
      item('other', 3, 'CREATE', { target_id: 'new', after_state: 'x' }),
    ];
    const plan = planItems(items, resources({ a: 1 }, 4));
    expect(plan.would_succeed).toBe(false);
    expect(
      plan.items.map(({ key, status, result, diff, error }) => ({ key, status, result, diff, code: error?.code })),
    ).toEqual([
      { key: 'fail', status: 'WOULD_FAIL', result: null, diff: [], code: 'CONFLICT' },
      { key: 'skip', status: 'WOULD_SKIP', result: null, diff: [], code: 'DEPENDENCY_FAILED' },
      {
        key: 'other',
        status: 'WOULD_APPLY',
        result: { present: true, version: 1, state: 'x' },
        diff: expect.any(Array),
        code: undefined,
      },
    ]);
    expect(plan.items[0]!.error!.message).toBe('target config/web is at version 4, the change-set expected 3');
    expect(plan.items[1]!.current).toEqual({ present: true, version: 4, state: { a: 1 } });
  });

  it('lists already applied items first, as they are, and plans the rest after them', () => {
    const items = [
      item('retry', 1, 'UPDATE', { diff_data: [{ op: 'replace', path: '/a', value: 2 }], depends_on: ['done'] }),
      item('done', 2, 'CREATE', { after_state: { a: 1 }, status: 'APPLIED', applied_version: 1 }),
    ];
    const plan = planItems(items, resources({ a: 1 }, 1));
    expect(plan.would_succeed).toBe(true);
    expect(plan.items.map((planned) => [planned.key, planned.status])).toEqual([
      ['done', 'APPLIED'],
      ['retry', 'WOULD_APPLY'],
    ]);
    expect(plan.items[0]).toMatchObject({
      current: { present: true, version: 1, state: { a: 1 } },
      result: null,
      diff: [],
    });
    expect(plan.items[1]).toMatchObject({
      result: { version: 2, state: { a: 2 } },
      diff: [{ op: 'replace', path: '/a', value: 2 }],
    });
  });

  it('lists every item exactly once, in application order', () => {
    const items = [
      item('c', 1, 'UPDATE', { after_state: 3, depends_on: ['b'] }),
      item('b', 2, 'UPDATE', { after_state: 2, depends_on: ['a'] }),
      item('a', 3, 'CREATE', { target_id: 'z', after_state: 1 }),
      item('d', 4, 'CLEAR'),
    ];
    const plan = planItems(items, resources('hello', 1));
    expect(plan.items.map((planned) => planned.key)).toEqual(['a', 'b', 'c', 'd']);
    expect(plan.items.map((planned) => planned.result?.version)).toEqual([1, 2, 3, 4]);
  });
});

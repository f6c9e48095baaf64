import { describe, expect, it } from 'vitest';
import { assertApprovedContent, decideApply, itemsToApply, statusAfter } from '../../src/core/apply-decision.js';
import { contentHash } from '../../src/core/canonical-json.js';
import { LedgerError } from '../../src/core/errors.js';
import type { StoredItem } from '../../src/core/item-record.js';
import { type TargetState, targetKey } from '../../src/core/item-semantics.js';
import type { Approval, OperationType } from '../../src/core/types.js';

const item = (key: string, operation_type: OperationType, target_id: string, extra: Partial<StoredItem> = {}) =>
  ({
    key,
    operation_type,
    target_type: 'config',
    target_id,
    depends_on: [],
    id: `id-${key}`,
    sequence: 0,
    status: 'PENDING',
    error: null,
    applied_version: null,
    previous_present: null,
    previous_state: null,
    previous_version: null,
    applied_order: null,
    ...extra,
  }) satisfies StoredItem;

const target = (target_id: string) => ({ target_type: 'config', target_id });
const states = (entries: [string, TargetState][]) => new Map(entries.map(([id, s]) => [targetKey('config', id), s]));
const absent: TargetState = { present: false, state: null, version: 0 };

describe('decideApply', () => {
  const create = item('a', 'CREATE', 'a', { after_state: { n: 1 } });
  const update = item('b', 'UPDATE', 'b', { after_state: { n: 2 } });
  const both = [create, update];
  const bothTargets = [target('a'), target('b')];
  const failing = states([
    ['a', absent],
    ['b', absent], // UPDATE of an absent target fails
  ]);
  /** ATOMIC, under the lock, both items on failing targets, unless said otherwise; not a needsLock. */
  const decide = (input: Partial<Parameters<typeof decideApply>[0]>) => {
    const base = { items: both, status: 'APPROVED', atomic: true, locked: true, targets: bothTargets, states: failing };
    const decision = decideApply({ ...base, ...input } as Parameters<typeof decideApply>[0]);
    if ('needsLock' in decision) throw new Error('unexpected needsLock');
    return decision;
  };

  it('applies every pending item: APPLIED, items recorded with what they found, one history row each', () => {
    const decision = decide({
      states: states([
        ['a', absent],
        ['b', { present: true, state: { n: 1 }, version: 3 }],
      ]),
    });
    expect(decision.failedAtomically).toBe(false);
    expect(decision.status).toBe('APPLIED');
    expect(decision.counts).toEqual({ applied: 2, failed: 0, skipped: 0 });
    expect(
      decision.updates.map((u) => [u.id, u.status, u.applied_version, u.previous_version, u.applied_order]),
    ).toEqual([
      ['id-a', 'APPLIED', 1, 0, 1],
      ['id-b', 'APPLIED', 4, 3, 2],
    ]);
    expect(decision.writes.states.map((s) => [s.target_id, s.version, s.state])).toEqual([
      ['a', 1, { n: 1 }],
      ['b', 4, { n: 2 }],
    ]);
    expect(decision.writes.history.map((h) => [h.target_id, h.version, h.operation, h.item])).toEqual([
      ['a', 1, 'CREATE', 'id-a'],
      ['b', 4, 'UPDATE', 'id-b'],
    ]);
    expect(decision.writes.unused).toEqual([]);
  });

  it('ATOMIC with a failing item applies nothing, keeps the status and reports the would-be-applied items as PENDING', () => {
    const decision = decide({});
    expect(decision.failedAtomically).toBe(true);
    expect(decision.status).toBe('APPROVED');
    expect(decision.counts).toEqual({ applied: 0, failed: 1, skipped: 0 });
    expect(decision.updates).toEqual([]);
    expect(decision.writes.states).toEqual([]);
    expect(decision.writes.history).toEqual([]);
    // Both placeholders (locked, version 0) stay unwritten: both are dropped.
    expect(decision.writes.unused).toEqual(bothTargets);
    expect(decision.items.map((i) => [i.key, i.status, i.to_version])).toEqual([
      ['a', 'PENDING', null],
      ['b', 'FAILED', null],
    ]);
    expect(decision.errors).toEqual([expect.objectContaining({ item_id: 'id-b', key: 'b' })]);
  });

  it('BEST_EFFORT under the lock applies what it can: PARTIALLY_APPLIED, the failed item recorded', () => {
    const decision = decide({ atomic: false });
    expect(decision.status).toBe('PARTIALLY_APPLIED');
    expect(decision.counts).toEqual({ applied: 1, failed: 1, skipped: 0 });
    expect(decision.updates.map((u) => [u.id, u.status])).toEqual([
      ['id-a', 'APPLIED'],
      ['id-b', 'FAILED'],
    ]);
    // The created target is written; the absent one nobody wrote is an unused placeholder.
    expect(decision.writes.states.map((s) => s.target_id)).toEqual(['a']);
    expect(decision.writes.unused).toEqual([target('b')]);
  });

  it('a partial BEST_EFFORT apply read without the lock needs the lock', () => {
    const decision = decideApply({
      items: both,
      status: 'APPROVED',
      atomic: false,
      locked: false,
      targets: bothTargets,
      states: failing,
    });
    expect(decision).toEqual({ needsLock: 'a partial apply' });
  });

  it('skips the dependants of a failed item and leaves the status as it was when nothing applied', () => {
    const dependant = item('c', 'CREATE', 'c', { after_state: {}, depends_on: ['b'] });
    const decision = decide({
      items: [update, dependant],
      atomic: false,
      locked: false,
      targets: [target('b'), target('c')],
      states: states([
        ['b', absent],
        ['c', absent],
      ]),
    });
    expect(decision.status).toBe('APPROVED');
    expect(decision.counts).toEqual({ applied: 0, failed: 1, skipped: 1 });
    expect(decision.items.map((i) => [i.key, i.status])).toEqual([
      ['b', 'FAILED'],
      ['c', 'SKIPPED'],
    ]);
    // Not locked: there are no placeholders to drop.
    expect(decision.writes.unused).toEqual([]);
  });

  it('applies only what a BEST_EFFORT apply left pending, numbering after the items applied before', () => {
    const applied = { ...create, status: 'APPLIED' as const, applied_version: 1, applied_order: 1 };
    expect(itemsToApply([applied, update])).toEqual([update]);
    const decision = decide({
      items: [applied, update],
      status: 'PARTIALLY_APPLIED',
      locked: false,
      targets: [target('b')],
      states: states([['b', { present: true, state: { n: 1 }, version: 7 }]]),
    });
    expect(decision.status).toBe('APPLIED');
    expect(decision.updates.map((u) => [u.id, u.applied_order, u.applied_version])).toEqual([['id-b', 2, 8]]);
  });
});

describe('statusAfter', () => {
  it('is APPLIED when every item is, PARTIALLY_APPLIED when some are, else unchanged', () => {
    const pending = [{ status: 'PENDING' as const }, { status: 'PENDING' as const }];
    expect(statusAfter('APPROVED', pending, 2)).toBe('APPLIED');
    expect(statusAfter('APPROVED', pending, 1)).toBe('PARTIALLY_APPLIED');
    expect(statusAfter('APPROVED', pending, 0)).toBe('APPROVED');
    expect(statusAfter('PARTIALLY_APPLIED', [{ status: 'APPLIED' }, { status: 'FAILED' }], 1)).toBe('APPLIED');
    expect(statusAfter('PARTIALLY_APPLIED', [{ status: 'APPLIED' }, { status: 'FAILED' }], 0)).toBe(
      'PARTIALLY_APPLIED',
    );
  });
});

describe('assertApprovedContent', () => {
  const items = [item('a', 'CREATE', 'a', { after_state: { n: 1 } })];
  const content = { title: 'T', description: null, category: 'CONFIG', priority: 'LOW' };
  const hash = contentHash({ ...content, items });
  const changeSet = { ...content, change_set_id: 'CS-1', content_hash: hash, required_approvals: 1 };
  const approval = (extra: Partial<Approval> = {}): Approval => ({
    id: 'ap',
    approver_id: 'root',
    decision: 'APPROVED',
    reason: null,
    content_hash: hash,
    stale: false,
    decided_at: '2026-01-01T00:00:00.000Z',
    ...extra,
  });
  const refusal = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    throw new Error('expected a refusal');
  };

  it('passes content approved as it is', () => {
    expect(() => assertApprovedContent(changeSet, items, [approval()])).not.toThrow();
  });

  it('refuses content that differs from what was approved (CONFLICT)', () => {
    const changed = [{ ...items[0]!, after_state: { n: 2 } }];
    const error = refusal(() => assertApprovedContent(changeSet, changed, [approval()]));
    expect(error).toBeInstanceOf(LedgerError);
    expect(error).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('differs') });
  });

  it('counts only current approvals of this content', () => {
    for (const stale of [
      approval({ stale: true }),
      approval({ content_hash: 'sha256:other' }),
      approval({ decision: 'REJECTED' }),
    ]) {
      expect(refusal(() => assertApprovedContent(changeSet, items, [stale]))).toMatchObject({
        code: 'CONFLICT',
        message: 'CS-1 has 0 of 1 approvals of its current content',
      });
    }
    expect(() => assertApprovedContent({ ...changeSet, required_approvals: 0 }, items, [])).not.toThrow();
  });
});

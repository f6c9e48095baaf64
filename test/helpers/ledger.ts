// Steps shared by the apply, rollback and submit tests: change-sets brought to APPROVED, targets set
// up and moved on through the engine itself, and observations of the resource store and outbox.
import { expect } from 'vitest';
import { LedgerError } from '../../src/core/errors.js';
import type { ChangeSet, Json } from '../../src/core/types.js';
import { type Fixture, uniqueId } from './fixture.js';

export const TYPE = 'WIDGET';

let counter = 0;
/** A target id no other test uses. */
export const newTarget = (name = 'w'): string => `${name}.${++counter}`;

export type ItemBody = Record<string, unknown>;

export const item = (operation_type: string, target_id: string, extra: ItemBody = {}): ItemBody => ({
  operation_type,
  target_type: TYPE,
  target_id,
  ...extra,
});
export const create = (target_id: string, after_state: Json, extra: ItemBody = {}): ItemBody =>
  item('CREATE', target_id, { after_state, ...extra });
export const update = (target_id: string, after_state: Json, extra: ItemBody = {}): ItemBody =>
  item('UPDATE', target_id, { after_state, ...extra });

/** A UI_LAYOUT change-set by Agent-A, brought to APPROVED: submitted when needed, then approved by admins. */
export async function approvedChangeSet(f: Fixture, items: ItemBody[], overrides: ItemBody = {}): Promise<ChangeSet> {
  const creator = f.p['Agent-A']!;
  const body = { change_set_id: uniqueId(), title: 'Widgets', agent_type: 'UI', category: 'UI_LAYOUT', items };
  let cs = await f.engine.create(creator, { ...body, ...overrides });
  if (cs.status === 'DRAFT') cs = await f.engine.submit(creator, cs.id);
  for (const approver of ['root', 'root2', 'Agent-B']) {
    if (cs.status !== 'PENDING_APPROVAL') break;
    cs = await f.engine.decide(f.p[approver]!, cs.id, { decision: 'APPROVED' });
  }
  expect(cs.status).toBe('APPROVED');
  return cs;
}

/** Applies `items` through a change-set of their own: how tests set targets up or move them on. */
export async function applyItems(f: Fixture, items: ItemBody[]): Promise<ChangeSet> {
  const cs = await approvedChangeSet(f, items);
  const result = await f.engine.apply(f.p['olga']!, cs.id, { mode: 'ATOMIC' });
  expect(result).toMatchObject({ success: true, status: 'APPLIED' });
  return cs;
}

/** Creates a target with the first state, then moves it through the others: one version each. */
export async function seedTarget(f: Fixture, target_id: string, first: Json, ...later: Json[]): Promise<void> {
  await applyItems(f, [create(target_id, first)]);
  for (const state of later) await applyItems(f, [update(target_id, state)]);
}

export interface Observed {
  resource: { present: boolean; state: Json; version: number } | null;
  history: number;
}

/** What engine.resource says (null for NOT_FOUND) and how many versions the history holds. */
export async function observe(f: Fixture, target_id: string): Promise<Observed> {
  const history = (await f.engine.resourceHistory(TYPE, target_id)).length;
  try {
    const { present, state, version } = await f.engine.resource(TYPE, target_id);
    return { resource: { present, state, version }, history };
  } catch (error) {
    if (error instanceof LedgerError && error.code === 'NOT_FOUND') return { resource: null, history };
    throw error;
  }
}

export const observeAll = (f: Fixture, ids: readonly string[]): Promise<Observed[]> =>
  Promise.all(ids.map((id) => observe(f, id)));

/** The LedgerError a promise rejects with (fails the test when it resolves or throws anything else). */
export async function rejection(promise: Promise<unknown>): Promise<LedgerError> {
  const error = await promise.then(
    (value: unknown) => expect.fail(`expected a LedgerError, but it resolved with ${JSON.stringify(value)}`),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(LedgerError);
  return error as LedgerError;
}

export async function outboxTypes(f: Fixture, changeSetUuid: string): Promise<string[]> {
  const { rows } = await f.db.query<{ type: string }>(
    'SELECT type FROM outbox_events WHERE change_set = $1 ORDER BY id',
    [changeSetUuid],
  );
  return rows.map((row) => row.type);
}

/** Asserts the target's history is versions 1..n with no gap, n being its current version; returns it. */
export async function expectContiguousHistory(f: Fixture, target_id: string) {
  const history = await f.engine.resourceHistory(TYPE, target_id);
  expect(history.map((h) => h.version)).toEqual(history.map((_, index) => index + 1));
  const { rows } = await f.db.query<{ version: number }>(
    'SELECT version FROM resources WHERE target_type = $1 AND target_id = $2',
    [TYPE, target_id],
  );
  expect(rows[0]?.version).toBe(history.length);
  return history;
}

export type FiveKeys = 'a' | 'b' | 'c' | 'd' | 'e';

/**
 * The acceptance shape of docs/design.md#apply-and-rollback: five approved items whose third (key c) stops matching after approval,
 * because another change-set (`later`) changed its target. Item d depends on c; e is independent.
 * a creates, b patches (base_version 1), c updates (before_state {v:1}), d creates, e deletes.
 */
export async function fiveItemsWithLateConflict(f: Fixture) {
  const t: Record<FiveKeys, string> = {
    a: newTarget('a'),
    b: newTarget('b'),
    c: newTarget('c'),
    d: newTarget('d'),
    e: newTarget('e'),
  };
  await seedTarget(f, t.b, { v: 1 });
  await seedTarget(f, t.c, { v: 1 });
  await seedTarget(f, t.e, { v: 1 });
  const cs = await approvedChangeSet(f, [
    create(t.a, { v: 1 }, { key: 'a' }),
    item('UPDATE', t.b, { key: 'b', diff_data: [{ op: 'replace', path: '/v', value: 2 }], base_version: 1 }),
    update(t.c, { v: 2 }, { key: 'c', before_state: { v: 1 } }),
    create(t.d, { v: 1 }, { key: 'd', depends_on: ['c'] }),
    item('DELETE', t.e, { key: 'e', base_version: 1 }),
  ]);
  const later = await applyItems(f, [update(t.c, { v: 99 })]);
  return { cs, t, later, ids: Object.values(t) };
}

/** Makes item c's precondition true again: its target goes back to {v:1} (a new version, 3). */
export const resolveConflict = (f: Fixture, t: Record<FiveKeys, string>) => applyItems(f, [update(t.c, { v: 1 })]);

// The read routes' SQL (store/change-set-read.ts): GET /changesets/:id in one statement and the
// list's summary columns return exactly what the earlier composition returned (findChangeSet +
// loadItems + loadApprovals through changeSetView; SELECT c.* through toChangeSetRow and summaryOf),
// down to undefined fields, key order and timestamps with microseconds.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepAudience } from '../../src/core/approvals.js';
import { LedgerError } from '../../src/core/errors.js';
import type { ChangeSet } from '../../src/core/types.js';
import type { ApplyResult } from '../../src/engine/apply.js';
import { Engine } from '../../src/engine/engine.js';
import { encodeCursor } from '../../src/engine/list.js';
import { changeSetView, summaryOf } from '../../src/engine/view.js';
import { loadApprovals } from '../../src/store/approvals.js';
import { listChangeSets } from '../../src/store/change-set-list.js';
import { readChangeSet } from '../../src/store/change-set-read.js';
import { findChangeSet, toChangeSetRow } from '../../src/store/change-sets.js';
import type { Db, Queryable } from '../../src/store/db.js';
import { loadItems } from '../../src/store/items.js';
import { findCandidates } from '../../src/store/principals.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uniqueId } from '../helpers/fixture.js';
import {
  applyItems,
  approvedChangeSet,
  create,
  fiveItemsWithLateConflict,
  item,
  newTarget,
  seedTarget,
  update,
} from '../helpers/ledger.js';

/** GET /changesets/:id as it was: three statements (four while pending) composed by changeSetView. */
async function threeQueryGet(db: Queryable, reference: string): Promise<ChangeSet | null> {
  const row = await findChangeSet(db, reference);
  if (!row) return null;
  // The deciders from findCandidates, the audience submit asks (the read statement has its own subquery).
  const { ids, groups } = stepAudience(row.approval_steps);
  const candidates = row.status === 'PENDING_APPROVAL' ? await findCandidates(db, ids, groups) : [];
  return changeSetView(row, await loadItems(db, row.id), await loadApprovals(db, row.id), candidates);
}

/** The list as it was: every column, decoded by toChangeSetRow, shaped by summaryOf. */
async function selectStarList(db: Queryable, limit: number, after?: string[], status?: string[]) {
  const where: string[] = [];
  const params: unknown[] = [];
  if (status) {
    params.push(status);
    where.push(`c.status = ANY($${params.length}::text[])`);
  }
  if (after) {
    params.push(after[0], after[1]);
    where.push(`(c.created_at, c.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(limit + 1);
  const { rows } = await db.query(
    `SELECT c.* FROM change_sets c ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY c.created_at DESC, c.id DESC LIMIT $${params.length}`,
    params,
  );
  const page = rows.slice(0, limit).map(toChangeSetRow);
  const last = page.at(-1);
  return {
    data: page.map(summaryOf),
    next_cursor: rows.length > limit && last ? encodeCursor([last.created_at, last.id]) : null,
  };
}

/** Exactly equal: same values, same undefined fields, same JSON text (key order included). */
function expectSame(actual: unknown, expected: unknown): void {
  expect(actual).toStrictEqual(expected);
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
}

const SCENARIOS = [
  'draft with every kind of item',
  'pending approval, with a deadline',
  'approved, with stale and current approvals',
  'applied, items with previous states',
  'rolled back',
  'partially applied, with failed and skipped items',
  'timestamps with microseconds',
] as const;
type Scenario = (typeof SCENARIOS)[number];

describeEachBackend('change-set reads', (backend) => {
  let f: Fixture;
  /** An engine whose database counts the statements sent to it. */
  let reader: Engine;
  const sent: string[] = [];
  const ids = {} as Record<Scenario, string>;

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    const counting: Db = {
      ...f.db,
      query: (text, params) => {
        sent.push(text);
        return f.db.query(text, params);
      },
    };
    reader = new Engine({ db: counting, config: f.engine.ctx.config, clock: f.engine.ctx.clock });
    const agentD = f.p['Agent-D']!;
    const alice = f.p['alice']!;

    const t = { updated: newTarget('u'), deleted: newTarget('d'), reset: newTarget('r'), cleared: newTarget('c') };
    await seedTarget(f, t.updated, { u: 1, keep: [1, null] }, { u: 2, keep: [1, null] });
    await seedTarget(f, t.deleted, { d: 1 });
    await seedTarget(f, t.reset, 'first', 'second');
    await seedTarget(f, t.cleared, { c: [1, 2] });
    const everyKind = [
      create(newTarget('created'), { n: 1, nested: { empty: {}, none: null, text: 'ünïcødé "quoted" \\ \n' } }),
      item('UPDATE', t.updated, {
        key: 'patch',
        diff_data: [{ op: 'replace', path: '/u', value: 3 }],
        base_version: 2,
      }),
      update(t.updated, { u: 4 }, { key: 'full', before_state: { u: 2, keep: [1, null] }, depends_on: ['patch'] }),
      item('DELETE', t.deleted, { before_state: { d: 1 } }),
      item('RESET', t.reset),
      item('RESET', t.reset, { key: 'reset-to', after_state: 'third' }),
      item('CLEAR', t.cleared),
      create(newTarget('null'), null),
      update(t.deleted, { d: 2 }, { key: 'from-null', before_state: null }),
    ];

    const draft = await f.engine.create(agentD, configChange(undefined, { items: everyKind }));
    ids['draft with every kind of item'] = draft.id;

    const pending = await f.engine.create(agentD, configChange());
    await f.engine.submit(agentD, pending.id);
    ids['pending approval, with a deadline'] = pending.id;

    const twice = await f.engine.create(agentD, configChange());
    await f.engine.submit(agentD, twice.id);
    await f.engine.decide(alice, twice.id, { decision: 'REJECTED', reason: 'not yet — "soon" \\ ✓' });
    f.clock.advance(1_000);
    await f.engine.reopen(agentD, twice.id);
    await f.engine.submit(agentD, twice.id);
    f.clock.advance(1_000);
    await f.engine.decide(alice, twice.id, { decision: 'APPROVED' });
    ids['approved, with stale and current approvals'] = twice.id;

    const applied = await approvedChangeSet(f, [
      create(newTarget('a'), { a: 1 }),
      item('UPDATE', t.updated, { diff_data: [{ op: 'replace', path: '/u', value: 5 }], base_version: 2 }),
      item('DELETE', t.deleted, { before_state: { d: 1 } }),
      item('RESET', t.reset, { after_state: 'third' }),
      item('CLEAR', t.cleared),
    ]);
    const result = (await f.engine.apply(f.p['olga']!, applied.id, { mode: 'ATOMIC' })) as ApplyResult;
    expect(result).toMatchObject({ success: true, status: 'APPLIED' });
    ids['applied, items with previous states'] = applied.id;

    const undone = await applyItems(f, [create(newTarget('b'), { b: 1 }), update(t.updated, { u: 6 })]);
    f.clock.advance(60_000);
    await f.engine.rollback(f.p['Agent-A']!, undone.id, { reason: 'revert' });
    ids['rolled back'] = undone.id;

    const { cs: partial } = await fiveItemsWithLateConflict(f);
    await f.engine.apply(f.p['olga']!, partial.id, { mode: 'BEST_EFFORT' });
    ids['partially applied, with failed and skipped items'] = partial.id;

    const precise = await f.engine.create(agentD, configChange());
    await f.engine.submit(agentD, precise.id);
    await f.engine.decide(alice, precise.id, { decision: 'APPROVED' });
    await f.db.query(
      `UPDATE change_sets SET created_at = clock_timestamp() - interval '1 hour 0.000999 s',
         updated_at = clock_timestamp() + interval '0.999999 s', submitted_at = '2026-11-25 10:00:00.123456+00',
         approval_deadline = '2026-11-26 09:59:59.999999+00' WHERE id = $1`,
      [precise.id],
    );
    await f.db.query("UPDATE approvals SET decided_at = '2026-11-25 10:00:00.000001+00' WHERE change_set = $1", [
      precise.id,
    ]);
    ids['timestamps with microseconds'] = precise.id;
  });
  afterAll(() => f.db.close());

  describe('GET /changesets/:id in one statement', () => {
    it.each(SCENARIOS)('%s: the same change-set as the three queries, from one statement', async (scenario) => {
      const expected = await threeQueryGet(f.db, ids[scenario]);
      expect(expected).not.toBeNull();
      sent.length = 0;
      const byId = await reader.get(ids[scenario]);
      expect(sent).toHaveLength(1);
      expectSame(byId, expected);
      expectSame(await readChangeSet(f.db, expected!.change_set_id), expected);
    });

    it('the scenarios cover what the view maps: absent fields, stale approvals, previous states, errors', async () => {
      const all = await Promise.all(SCENARIOS.map((scenario) => reader.get(ids[scenario])));
      const items = all.flatMap((cs) => cs.items);
      const approvals = all.flatMap((cs) => cs.approvals);
      for (const field of ['after_state', 'before_state', 'diff_data', 'base_version'] as const) {
        expect(items.some((i) => i[field] === undefined && field in i)).toBe(true);
        expect(items.some((i) => i[field] !== undefined)).toBe(true);
      }
      // JSON null is a state: present (has_*_state), unlike an absent one.
      expect(items.some((i) => i.after_state === null)).toBe(true);
      expect(items.some((i) => i.before_state === null)).toBe(true);
      expect(new Set(items.map((i) => i.operation_type))).toEqual(
        new Set(['CREATE', 'UPDATE', 'DELETE', 'RESET', 'CLEAR']),
      );
      expect(new Set(items.map((i) => i.status))).toEqual(
        new Set(['PENDING', 'APPLIED', 'FAILED', 'SKIPPED', 'ROLLED_BACK']),
      );
      expect(items.some((i) => i.error !== null && i.applied_version === null)).toBe(true);
      expect(items.some((i) => i.depends_on.length > 0)).toBe(true);
      expect(approvals.some((a) => a.stale)).toBe(true);
      expect(approvals.some((a) => !a.stale && a.reason === null)).toBe(true);
      expect(new Set(all.map((cs) => cs.status))).toEqual(
        new Set(['DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'APPLIED', 'ROLLED_BACK', 'PARTIALLY_APPLIED']),
      );
      for (const field of ['approval_deadline', 'submitted_at', 'applied_at', 'rolled_back_at'] as const)
        expect(all.some((cs) => cs[field] !== null)).toBe(true);
      const twice = all[SCENARIOS.indexOf('approved, with stale and current approvals')]!;
      expect(twice.approvals.map((a) => [a.approver_id, a.decision, a.stale])).toEqual([
        ['alice', 'REJECTED', true],
        ['alice', 'APPROVED', false],
      ]);
      // PostgreSQL keeps microseconds; the API shows milliseconds, cut as the Date parse cuts them.
      const precise = all[SCENARIOS.indexOf('timestamps with microseconds')]!;
      expect(precise.submitted_at).toBe('2026-11-25T10:00:00.123Z');
      expect(precise.approval_deadline).toBe('2026-11-26T09:59:59.999Z');
      expect(precise.approvals[0]!.decided_at).toBe('2026-11-25T10:00:00.000Z');
      const { rows } = await f.db.query<{ us: number }>(
        'SELECT extract(microseconds FROM created_at)::int % 1000 AS us FROM change_sets WHERE id = $1',
        [precise.id],
      );
      expect(rows[0]!.us).not.toBe(0);
    });

    it('answers null (NOT_FOUND from the engine) for an unknown UUID or change_set_id, in one statement', async () => {
      for (const reference of [randomUUID(), uniqueId('NOPE')]) {
        expect(await readChangeSet(f.db, reference)).toBeNull();
        sent.length = 0;
        const error = await reader.get(reference).catch((thrown: unknown) => thrown);
        expect(error).toBeInstanceOf(LedgerError);
        expect(error).toMatchObject({ code: 'NOT_FOUND', message: `change-set ${reference} does not exist` });
        expect(sent).toHaveLength(1);
      }
    });
  });

  describe('the list reads only the summary columns', () => {
    it('walks every page exactly as SELECT c.* + summaryOf did, cursors included, one statement a page', async () => {
      let cursor: string | undefined;
      let pages = 0;
      let seen = 0;
      do {
        const after = cursor ? (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as string[]) : undefined;
        const expected = await selectStarList(f.db, 4, after);
        sent.length = 0;
        const page = await reader.list(f.p['root']!, { limit: 4, ...(cursor ? { cursor } : {}) });
        expect(sent).toHaveLength(1);
        expectSame(page, expected);
        cursor = page.next_cursor ?? undefined;
        seen += page.data.length;
        pages++;
      } while (cursor);
      const { rows } = await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM change_sets');
      expect(seen).toBe(rows[0]!.n);
      expect(pages).toBeGreaterThan(3);
    });

    it('filters as before', async () => {
      const status = ['APPLIED', 'ROLLED_BACK', 'APPROVED'];
      const expected = await selectStarList(f.db, 50, undefined, status);
      expect(expected.data.length).toBeGreaterThan(2);
      expectSame(await listChangeSets(f.db, { status, limit: 51 }), expected.data);
      expectSame(await f.engine.list(f.p['root']!, { status: status.join(',') }), expected);
      const precise = await f.engine.get(ids['timestamps with microseconds']);
      expect(expected.data.some((summary) => summary.id === precise.id)).toBe(true);
    });

    it('leaves internal columns out', async () => {
      const [first] = await listChangeSets(f.db, { limit: 1 });
      expect(Object.keys(first!)).toEqual(Object.keys(summaryOf(toChangeSetRow({ ...first }))));
      for (const internal of ['audit_head', 'audit_count', 'reminded_at', 'escalated_at', 'expired_at'])
        expect(first).not.toHaveProperty(internal);
    });
  });
});

// The statement builder's rules (store/statement.ts), checked outside production: the parts of one
// statement write different rows, and an optimistic action writes only through its one guarded
// statement (commitChangeSet). Each rule is broken on purpose here and must throw; the real actions,
// run with the checks on, must pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal } from '../../src/engine/journal.js';
import { commitChangeSet, NeedsLock, optimistic } from '../../src/engine/scope.js';
import { approvalsStaleUpdate, decisionUpsert } from '../../src/store/approvals.js';
import { auditInsert } from '../../src/store/audit.js';
import { changeSetUpdate } from '../../src/store/change-sets.js';
import { type ItemUpdate, itemsReset, itemsUpdate, loadItems, RESET_OUTCOME } from '../../src/store/items.js';
import { outboxInsert } from '../../src/store/outbox.js';
import { guardedStateWrites, historyInsert, targetWrites } from '../../src/store/resources.js';
import { combine, runWrites, STATEMENT_CHECKS, StatementRuleError, type Write } from '../../src/store/statement.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';
import { approvedChangeSet, create, newTarget, update } from '../helpers/ledger.js';

const ID_1 = '00000000-0000-4000-8000-000000000001';
const ID_2 = '00000000-0000-4000-8000-000000000002';
const outcome = (id: string): ItemUpdate => ({ id, ...RESET_OUTCOME, status: 'APPLIED' });
const context = { changeSet: ID_1, actor: 'alice', at: '2026-11-25T10:00:00.000Z' };
const target = (target_id: string, version = 1) => ({
  target_type: 'WIDGET',
  target_id,
  present: true,
  state: {},
  version,
});
const event = { type: 'x', occurred_at: context.at, actor: 'alice', change_set: null, envelope: {} };
const entry = (chain: string, chain_seq: number) => ({
  chain,
  chain_seq,
  at: context.at,
  actor: 'alice',
  action: 'edit',
  change_set: ID_1,
  data: {},
  prev_hash: '0'.repeat(64),
  hash: '1'.repeat(64),
});

const clash = (writes: (Write | null)[]) => () => combine(writes.filter((w): w is Write => w !== null));

describe('statement rules', () => {
  it('are checked under vitest (and in development), so every test below runs with them', () => {
    expect(STATEMENT_CHECKS).toBe(true);
  });

  it('refuse two parts that write the same rows of a table', () => {
    expect(clash([itemsUpdate([outcome(ID_1)]), itemsUpdate([outcome(ID_2), outcome(ID_1)])])).toThrow(
      StatementRuleError,
    );
    expect(clash([itemsUpdate([outcome(ID_1)]), itemsUpdate([outcome(ID_1)])])).toThrow(
      /parts 0 and 1 of one statement both write change_set_items \(row "0{8}-0{4}-4000-8000-0{11}1"\)/,
    );
    expect(clash([changeSetUpdate(ID_1, { title: 'a' }), changeSetUpdate(ID_1, { title: 'b' })])).toThrow(
      /both write change_sets/,
    );
    const states = { states: [target('w.1')], history: [], unused: [] };
    const insert = guardedStateWrites([{ ...target('w.1'), expected: 0 }], context);
    expect(clash([...targetWrites(states, context), ...insert])).toThrow(
      /both write resources \(row \["WIDGET","w.1"\]\)/,
    );
    expect(clash([auditInsert([entry(ID_1, 1), entry(ID_1, 2)]), auditInsert([entry(ID_1, 2)])])).toThrow(
      /audit_entries/,
    );
  });

  it('refuse a part that may write any row of a table beside another part writing it', () => {
    expect(clash([itemsReset(ID_1), itemsUpdate([outcome(ID_2)])])).toThrow(/change_set_items \(any row\)/);
    const decision = {
      id: ID_2,
      change_set: ID_1,
      approver_id: 'alice',
      decision: 'APPROVED' as const,
      reason: null,
      content_hash: 'h',
      decided_at: context.at,
    };
    expect(clash([approvalsStaleUpdate(ID_1), decisionUpsert(decision)])).toThrow(/approvals \(any row\)/);
  });

  it('let parts write different rows of one table, new rows, and other tables', () => {
    const unused = { states: [target('w.1')], history: [], unused: [{ target_type: 'WIDGET', target_id: 'w.2' }] };
    const parts = [
      itemsUpdate([outcome(ID_1)]),
      itemsUpdate([outcome(ID_2)]),
      ...targetWrites(unused, context),
      ...guardedStateWrites([{ ...target('w.3'), expected: 0 }], context),
      historyInsert([{ ...target('w.1', 1), operation: 'CREATE', item: null }], context),
      historyInsert([{ ...target('w.1', 2), operation: 'UPDATE', item: null }], context),
      outboxInsert([event]),
      outboxInsert([event]),
      auditInsert([entry(ID_1, 1)]),
      auditInsert([entry(ID_2, 1)]),
      changeSetUpdate(ID_1, { title: 'a' }),
    ];
    const { text } = combine(parts.filter((w): w is Write => w !== null));
    expect(text).toMatch(/^WITH w0 AS \(UPDATE change_set_items/);
  });
});

describeEachBackend('statement rules on the database', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  const draft = () => f.engine.create(f.p['Agent-D']!, configChange());
  const journal = () => new Journal('alice', f.clock.now.toISOString()).audit('test', {});

  it('sends nothing when two parts of a statement write the same rows', async () => {
    const cs = await draft();
    const [item] = await loadItems(f.db, cs.id);
    const write = () => runWrites(f.db, [itemsUpdate([outcome(item!.id)]), itemsReset(cs.id)]);
    await expect(write()).rejects.toThrow(StatementRuleError);
    expect((await loadItems(f.db, cs.id))[0]!.status).toBe('PENDING');
    expect((await f.engine.get(cs.id)).version).toBe(cs.version);
  });

  it('refuses an optimistic action that writes before its guarded statement, and keeps nothing of it', async () => {
    const cs = await draft();
    const act = optimistic(f.engine.ctx, cs.id, async (scope) => {
      await scope.db.query('UPDATE change_sets SET title = $2 WHERE id = $1::uuid', [scope.row.id, 'sneaked']);
      return commitChangeSet(scope, journal(), { title: 'committed' });
    });
    await expect(act).rejects.toThrow(/a write outside the guarded statement in an optimistic action/);
    const after = await f.engine.get(cs.id);
    expect([after.title, after.version]).toEqual([cs.title, cs.version]);
  });

  it('refuses an optimistic action that writes through runWrites without the guard', async () => {
    const cs = await draft();
    const act = optimistic(f.engine.ctx, cs.id, (scope) =>
      runWrites(scope.db, [itemsReset(scope.row.id), changeSetUpdate(scope.row.id, { title: 'unguarded' })]),
    );
    await expect(act).rejects.toThrow(StatementRuleError);
    expect((await f.engine.get(cs.id)).title).toBe(cs.title);
  });

  it('refuses a second guarded statement, and scripts', async () => {
    const cs = await draft();
    const twice = optimistic(f.engine.ctx, cs.id, async (scope) => {
      const first = await commitChangeSet(scope, journal(), { title: 'first' });
      await commitChangeSet(
        { ...scope, access: { mode: 'optimistic', db: scope.db, version: first.version } },
        journal(),
        { title: 'second' },
      );
    });
    await expect(twice).rejects.toThrow(/a second guarded statement/);
    expect((await f.engine.get(cs.id)).title).toBe('first');
    const script = optimistic(f.engine.ctx, cs.id, (scope) => scope.db.exec('SELECT 1'));
    await expect(script).rejects.toThrow(/runs no scripts/);
  });

  it('lets an optimistic action read, then write through commitChangeSet once', async () => {
    const cs = await draft();
    const version = await optimistic(f.engine.ctx, cs.id, async (scope) => {
      expect(await loadItems(scope.db, scope.row.id)).toHaveLength(cs.items.length);
      const committed = await commitChangeSet(scope, journal(), { title: 'read then written' });
      await loadItems(scope.db, scope.row.id);
      return committed.version;
    });
    expect(await f.engine.get(cs.id)).toMatchObject({ title: 'read then written', version });
  });

  it('leaves the row lock unrestricted: an action run again under it writes as it needs', async () => {
    const cs = await draft();
    let runs = 0;
    await optimistic(f.engine.ctx, cs.id, async (scope) => {
      runs++;
      if (scope.access.mode === 'optimistic') throw new NeedsLock('test');
      await scope.access.tx.query('UPDATE change_set_items SET key = key WHERE change_set = $1::uuid', [scope.row.id]);
      return commitChangeSet(scope, journal(), { title: 'locked' });
    });
    expect(runs).toBe(2);
    expect((await f.engine.get(cs.id)).title).toBe('locked');
  });

  it('passes for the real actions: create, edit, submit, withdraw, reopen, decide, apply, rollback, close', async () => {
    const agent = f.p['Agent-D']!;
    const cs = await draft();
    await f.engine.edit(agent, cs.id, { title: 'edited' });
    await f.engine.submit(agent, cs.id);
    await f.engine.withdraw(agent, cs.id, { reason: 'again' });
    await f.engine.submit(agent, cs.id);
    expect((await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' })).status).toBe('APPROVED');
    expect(await f.engine.apply(f.p['olga']!, cs.id, {})).toMatchObject({ success: true, status: 'APPLIED' });
    expect(await f.engine.rollback(agent, cs.id, { reason: 'undo' })).toMatchObject({ success: true });
    expect((await f.engine.reopen(agent, cs.id)).status).toBe('DRAFT');

    const id = newTarget();
    const many = await approvedChangeSet(f, [create(id, { v: 1 }), update(id, { v: 2 })]);
    const best = await f.engine.apply(f.p['olga']!, many.id, { mode: 'BEST_EFFORT' });
    expect(best).toMatchObject({ success: true, applied_items: 2 });

    const rejected = await draft();
    await f.engine.submit(agent, rejected.id);
    await f.engine.decide(f.p['alice']!, rejected.id, { decision: 'REJECTED', reason: 'no' });
    await f.engine.close(agent, (await draft()).id);
    expect(await f.engine.verifyAudit()).toMatchObject({ ok: true });
  });
});

// Optimistic actions (engine/scope.ts): decide, submit, withdraw, reopen, close and apply read the
// change-set without a lock and write in one statement guarded by the version they read. Without
// contention that is two statements and no transaction; when another writer gets in between, the
// guarded statement leaves nothing behind and the action runs again under the row lock, deciding
// on what is there now.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/core/errors.js';
import type { Principal } from '../../src/core/types.js';
import type { ApplyResult } from '../../src/engine/apply.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { readEvents } from '../../src/store/outbox.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';
import {
  applyItems,
  approvedChangeSet,
  create,
  expectContiguousHistory,
  newTarget,
  observe,
  rejection,
  seedTarget,
  update,
} from '../helpers/ledger.js';
import { SpyDb } from '../helpers/spy-db.js';

/** The optimistic read: contents without FOR UPDATE. */
const OPTIMISTIC_READ = /contents_approvals FROM change_sets c WHERE (?![\s\S]*FOR UPDATE)/;
/** Apply's read of the targets' states without FOR UPDATE. */
const STATES_READ = /FROM resources r\s+JOIN jsonb_to_recordset(?![\s\S]*FOR UPDATE)/;

describeEachBackend('optimistic actions', (backend) => {
  let f: Fixture;
  let spy: SpyDb;
  /** Acts through the spy; `f.engine` is the other writer. */
  let engine: Engine;
  let agent: Principal;
  let alice: Principal;

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    spy = new SpyDb(f.db);
    engine = new Engine({ db: spy, config: DEFAULT_ENGINE_CONFIG, clock: () => f.clock.now });
    agent = f.p['Agent-D']!;
    alice = f.p['alice']!;
  });
  afterAll(() => f.db.close());

  async function pending() {
    const created = await f.engine.create(agent, configChange());
    return f.engine.submit(agent, created.id);
  }

  const entriesBy = async (id: string, actor: string, action: string) =>
    (await f.engine.audit(id)).filter((e) => e.actor === actor && e.action === action);
  const decisionEvents = async (id: string) =>
    readEvents(f.db, { afterId: 0, changeSet: id, types: ['changeset.approval_decision'], limit: 1000 });

  it('decides in two statements and no transaction when nobody else writes', async () => {
    const cs = await pending();
    const before = { sent: spy.sent.length, transactions: spy.transactions };
    const approved = await engine.decide(alice, cs.id, { decision: 'APPROVED' });
    expect(spy.sent.length - before.sent).toBe(2);
    expect(spy.transactions - before.transactions).toBe(0);
    expect(approved).toMatchObject({ status: 'APPROVED', version: cs.version + 1, received_approvals: 1 });
    expect(await f.engine.get(cs.id)).toEqual(approved);
  });

  it('submits and withdraws optimistically too', async () => {
    const created = await f.engine.create(agent, configChange());
    const transactions = spy.transactions;
    const submitted = await engine.submit(agent, created.id);
    const withdrawn = await engine.withdraw(agent, created.id);
    expect(spy.transactions).toBe(transactions);
    expect([submitted.status, withdrawn.status]).toEqual(['PENDING_APPROVAL', 'DRAFT']);
    expect(await f.engine.get(created.id)).toEqual(withdrawn);
  });

  it('submits in three statements: the change-set with its targets, the candidate approvers, the write', async () => {
    const created = await f.engine.create(agent, configChange());
    const before = { sent: spy.sent.length, transactions: spy.transactions };
    const submitted = await engine.submit(agent, created.id);
    expect(spy.sent.length - before.sent).toBe(3);
    expect(spy.transactions).toBe(before.transactions);
    expect(submitted).toMatchObject({ status: 'PENDING_APPROVAL', version: created.version + 1 });
    expect(await f.engine.get(created.id)).toEqual(submitted);
  });

  it('leaves nothing of a write whose version moved, and decides again on what is there now', async () => {
    const cs = await pending();
    // Between alice's read and her write, the creator withdraws: approving a DRAFT is refused.
    spy.afterNext(OPTIMISTIC_READ, async () => {
      await f.engine.withdraw(agent, cs.id);
    });
    const transactions = spy.transactions;
    const refusal = await engine.decide(alice, cs.id, { decision: 'APPROVED' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(LedgerError);
    expect((refusal as LedgerError).code).toBe('INVALID_TRANSITION');
    expect(spy.transactions).toBe(transactions + 1); // the second attempt, under the lock
    const now = await f.engine.get(cs.id);
    expect(now).toMatchObject({ status: 'DRAFT', version: cs.version + 1, approvals: [] });
    expect(await entriesBy(cs.id, 'alice', 'decision')).toEqual([]);
    expect(await decisionEvents(cs.id)).toEqual([]);
    expect((await f.engine.verifyAudit()).ok).toBe(true);
  });

  it('records the decision once when the second attempt succeeds', async () => {
    const cs = await pending();
    // Between alice's read and her write, the creator withdraws and submits again: a new round.
    spy.afterNext(OPTIMISTIC_READ, async () => {
      await f.engine.withdraw(agent, cs.id);
      await f.engine.submit(agent, cs.id);
    });
    const approved = await engine.decide(alice, cs.id, { decision: 'APPROVED', reason: 'looks right' });
    expect(approved).toMatchObject({ status: 'APPROVED', version: cs.version + 3, received_approvals: 1 });
    expect(approved.approvals).toEqual([expect.objectContaining({ approver_id: 'alice', reason: 'looks right' })]);
    expect(await f.engine.get(cs.id)).toEqual(approved);
    expect(await entriesBy(cs.id, 'alice', 'decision')).toHaveLength(1);
    expect(await decisionEvents(cs.id)).toHaveLength(1);
    expect((await f.engine.verifyAudit()).ok).toBe(true);
  });

  describe('apply', () => {
    const apply = (id: string, mode: string) => engine.apply(f.p['olga']!, id, { mode }) as Promise<ApplyResult>;

    it('applies in four statements and no transaction when nobody else writes', async () => {
      const existing = newTarget();
      await seedTarget(f, existing, { v: 1 });
      const fresh = newTarget();
      const cs = await approvedChangeSet(f, [update(existing, { v: 2 }), create(fresh, { v: 1 })]);
      const before = { sent: spy.sent.length, transactions: spy.transactions };
      const result = await apply(cs.id, 'ATOMIC');
      // Contents, target states, the agent's trust window (trust is on by default: docs/trust.md), the write.
      expect(spy.sent.length - before.sent).toBe(4);
      expect(spy.transactions).toBe(before.transactions);
      expect(result).toMatchObject({ success: true, status: 'APPLIED', applied_items: 2 });
      expect(await observe(f, existing)).toMatchObject({ resource: { state: { v: 2 }, version: 2 } });
      expect(await observe(f, fresh)).toMatchObject({ resource: { state: { v: 1 }, version: 1 } });
    });

    /** An approved change-set updating a seeded target and creating a new one; `moveOn` runs between apply's reads and its write. */
    async function racedApply(updateExtra: Record<string, unknown>) {
      const target = newTarget();
      await seedTarget(f, target, { v: 1 });
      const fresh = newTarget();
      const cs = await approvedChangeSet(f, [update(target, { v: 2 }, updateExtra), create(fresh, { v: 1 })]);
      // Between apply's read of the targets and its write, another change-set moves the target on.
      spy.afterNext(STATES_READ, async () => {
        await applyItems(f, [update(target, { v: 9 })]);
      });
      const transactions = spy.transactions;
      const outcome = await apply(cs.id, 'ATOMIC').catch((error: unknown) => error);
      expect(spy.transactions).toBe(transactions + 1); // decided again, under the lock
      return { cs, target, fresh, outcome };
    }

    it('writes nothing when a target moved after it was read, and decides again under the lock', async () => {
      const { cs, target, fresh, outcome } = await racedApply({ before_state: { v: 1 } });
      // On version 2 the item's before_state no longer holds: ATOMIC applies nothing.
      expect(outcome).toMatchObject({ code: 'APPLY_FAILED' });
      expect(await observe(f, target)).toMatchObject({ resource: { state: { v: 9 }, version: 2 } });
      expect((await observe(f, fresh)).resource).toBeNull();
      expect(await f.engine.get(cs.id)).toMatchObject({ status: 'APPROVED', applied_at: null });
      const entries = (await f.engine.audit(cs.id)).map((e) => e.action);
      expect(entries.filter((a) => a === 'apply' || a === 'apply_failed')).toEqual(['apply_failed']);
      expect((await f.engine.verifyAudit()).ok).toBe(true);
    });

    it('applies on the target as it is now when the second attempt succeeds', async () => {
      const { target, fresh, outcome } = await racedApply({});
      expect(outcome).toMatchObject({ success: true, status: 'APPLIED' });
      expect((outcome as ApplyResult).items[0]).toMatchObject({ from_version: 2, to_version: 3 });
      expect(await observe(f, target)).toMatchObject({ resource: { state: { v: 2 }, version: 3 } });
      expect(await observe(f, fresh)).toMatchObject({ resource: { state: { v: 1 }, version: 1 } });
      await expectContiguousHistory(f, target);
    });

    it('writes nothing when a target it creates was created meanwhile', async () => {
      const fresh = newTarget();
      const cs = await approvedChangeSet(f, [create(fresh, { mine: true })]);
      spy.afterNext(STATES_READ, async () => {
        await applyItems(f, [create(fresh, { theirs: true })]);
      });
      const error = await rejection(apply(cs.id, 'ATOMIC'));
      expect(error).toMatchObject({ code: 'APPLY_FAILED' });
      expect(await observe(f, fresh)).toMatchObject({ resource: { state: { theirs: true }, version: 1 } });
      expect((await f.engine.get(cs.id)).status).toBe('APPROVED');
    });

    it('takes the lock for a partial BEST_EFFORT apply', async () => {
      const target = newTarget();
      await seedTarget(f, target, { v: 1 });
      const cs = await approvedChangeSet(f, [
        create(newTarget(), { v: 1 }),
        update(target, { v: 3 }, { before_state: { v: 2 } }),
      ]);
      const transactions = spy.transactions;
      const result = await apply(cs.id, 'BEST_EFFORT');
      expect(result).toMatchObject({ status: 'PARTIALLY_APPLIED', applied_items: 1, failed_items: 1 });
      expect(spy.transactions).toBe(transactions + 1);
    });
  });

  it('refuses on what it read after the snapshot only under the lock: two racing rollbacks', async () => {
    const target = newTarget();
    const cs = await approvedChangeSet(f, [create(target, { v: 1 })]);
    await f.engine.apply(f.p['olga']!, cs.id, { mode: 'ATOMIC' });
    // The first rollback lands after the second read the change-set (APPLIED) but before it read
    // the target, which it then finds moved on: not a conflict with a later change-set, but a
    // change-set already rolled back.
    spy.afterNext(OPTIMISTIC_READ, async () => {
      await f.engine.rollback(f.p['olga']!, cs.id, { reason: 'first' });
    });
    const error = await rejection(engine.rollback(f.p['olga']!, cs.id, { reason: 'second' }));
    expect(error).toMatchObject({ code: 'INVALID_TRANSITION' });
    const entries = (await f.engine.audit(cs.id)).filter((e) => e.action === 'rollback');
    expect(entries.map((e) => e.data)).toEqual([expect.objectContaining({ reason: 'first' })]);
  });

  it('refuses a submit whose items cannot be applied, under the lock', async () => {
    const target = newTarget();
    const created = await f.engine.create(agent, configChange(target));
    await applyItems(f, [create(target, { taken: true }, { target_type: 'CONFIG' })]);
    const transactions = spy.transactions;
    const error = await rejection(engine.submit(agent, created.id));
    expect(error).toMatchObject({ code: 'ITEMS_NOT_APPLICABLE' });
    expect(spy.transactions).toBe(transactions + 1);
    expect((await f.engine.get(created.id)).status).toBe('DRAFT');
  });
});

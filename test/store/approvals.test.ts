// store/approvals.ts and approval-notices.ts on both backends: one current decision per principal
// (a new one replaces it, stale ones stay as history), the fixed reading order, and the claim of
// change-sets due for a notice with the flag that says it was handled.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { claimDueChangeSets, noticeHandled } from '../../src/store/approval-notices.js';
import { approvalsStaleUpdate, decisionUpsert, loadApprovals } from '../../src/store/approvals.js';
import { findChangeSet } from '../../src/store/change-sets.js';
import { runWrites } from '../../src/store/statement.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';

describeEachBackend('store: approvals', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  const draft = () => f.engine.create(f.p['Agent-D']!, configChange());
  const decision = (change_set: string, approver_id: string, decided_at: string, extra = {}) => ({
    id: randomUUID(),
    change_set,
    approver_id,
    decision: 'APPROVED' as const,
    reason: null,
    content_hash: 'sha256:x',
    decided_at,
    ...extra,
  });

  it('keeps one current decision per principal: a new one replaces it', async () => {
    const cs = await draft();
    await runWrites(f.db, [decisionUpsert(decision(cs.id, 'alice', '2026-11-25T10:00:00.000Z'))]);
    await runWrites(f.db, [
      decisionUpsert(decision(cs.id, 'alice', '2026-11-25T11:00:00.000Z', { decision: 'REJECTED', reason: 'no' })),
    ]);
    const approvals = await loadApprovals(f.db, cs.id);
    expect(approvals).toHaveLength(1);
    expect(approvals[0]).toMatchObject({
      approver_id: 'alice',
      decision: 'REJECTED',
      reason: 'no',
      stale: false,
      decided_at: '2026-11-25T11:00:00.000Z',
      approver: { id: 'alice', groups: [], active: true },
    });
  });

  it('makes current decisions stale, keeps them, and a later decision is current beside them', async () => {
    const cs = await draft();
    await runWrites(f.db, [decisionUpsert(decision(cs.id, 'bob', '2026-11-25T10:00:00.000Z'))]);
    await runWrites(f.db, [approvalsStaleUpdate(cs.id)]);
    await runWrites(f.db, [decisionUpsert(decision(cs.id, 'bob', '2026-11-25T10:05:00.000Z'))]);
    const approvals = await loadApprovals(f.db, cs.id);
    expect(approvals.map((a) => [a.decided_at, a.stale])).toEqual([
      ['2026-11-25T10:00:00.000Z', true],
      ['2026-11-25T10:05:00.000Z', false],
    ]);
  });

  it('reads in time order, then approver in code point order; unknown approvers have no groups', async () => {
    const cs = await draft();
    const at = '2026-11-25T10:00:00.000Z';
    for (const id of ['bob', 'Zed', 'alice']) await runWrites(f.db, [decisionUpsert(decision(cs.id, id, at))]);
    await runWrites(f.db, [decisionUpsert(decision(cs.id, 'root', '2026-11-25T09:00:00.000Z'))]);
    const approvals = await loadApprovals(f.db, cs.id);
    expect(approvals.map((a) => a.approver_id)).toEqual(['root', 'Zed', 'alice', 'bob']);
    expect(approvals[1]!.approver).toEqual({ id: 'Zed', groups: [], active: false });
  });

  it('claims pending change-sets due for a notice once, and not again after it was handled', async () => {
    const cs = await draft();
    const pending = await f.engine.submit(f.p['Agent-D']!, cs.id);
    expect(pending.approval_deadline).not.toBeNull();
    const deadline = pending.approval_deadline!;
    const query = { kind: 'reminder' as const, after: 0, requires: [], limit: 100 };
    expect(await claimDueChangeSets(f.db, { ...query, now: '2026-01-01T00:00:00.000Z' })).toEqual([]);
    const due = await claimDueChangeSets(f.db, { ...query, now: deadline });
    expect(due.map((r) => r.id)).toContain(cs.id);
    // An escalation needs the round's reminder first.
    const escalation = {
      kind: 'escalation' as const,
      after: 0,
      requires: ['reminder' as const],
      limit: 100,
      now: deadline,
    };
    expect((await claimDueChangeSets(f.db, escalation)).map((r) => r.id)).not.toContain(cs.id);

    const head = { audit_head: 'f'.repeat(64), audit_count: 99, audit_sig: null };
    await runWrites(f.db, [noticeHandled(cs.id, 'reminder', deadline, head)]);
    expect((await claimDueChangeSets(f.db, { ...query, now: deadline })).map((r) => r.id)).not.toContain(cs.id);
    expect((await claimDueChangeSets(f.db, escalation)).map((r) => r.id)).toContain(cs.id);
    // The notice moves the audit head, not the version.
    expect(await findChangeSet(f.db, cs.id)).toMatchObject({ ...head, version: pending.version });
  });

  it('skips change-sets another transaction holds', async () => {
    const cs = await draft();
    const pending = await f.engine.submit(f.p['Agent-D']!, cs.id);
    const query = { kind: 'reminder' as const, after: 0, requires: [], limit: 100, now: pending.approval_deadline! };
    if (backend.name === 'pglite') {
      // One connection: nothing else can hold the row; the claim sees it.
      expect((await claimDueChangeSets(f.db, query)).map((r) => r.id)).toContain(cs.id);
      return;
    }
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = f.db.transaction(async (tx) => {
      await tx.query('SELECT 1 FROM change_sets WHERE id = $1::uuid FOR UPDATE', [cs.id]);
      locked();
      await held;
    });
    await isLocked;
    expect((await claimDueChangeSets(f.db, query)).map((r) => r.id)).not.toContain(cs.id);
    release();
    await holder;
    expect((await claimDueChangeSets(f.db, query)).map((r) => r.id)).toContain(cs.id);
  });
});

// Concurrency is part of correctness: many requests and several engine instances (each with its
// own connection pool, as separate servers would have) racing on one PostgreSQL database.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Principal } from '../../src/core/types.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import type { Db } from '../../src/store/db.js';
import { describePostgres, openSecondInstanceDb } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uniqueId } from '../helpers/fixture.js';

describePostgres('concurrent transitions', (backend) => {
  let f: Fixture;
  let instances: Engine[];
  let otherDb: Db;

  beforeAll(async () => {
    const db = await backend.open({ max: 20 });
    f = await makeFixture(db);
    otherDb = await openSecondInstanceDb(db, { max: 20 });
    instances = [f.engine, new Engine({ db: otherDb, config: DEFAULT_ENGINE_CONFIG })];
  });
  afterAll(async () => {
    await otherDb.close();
    await f.db.close();
  });

  const on = (i: number): Engine => instances[i % instances.length]!;

  async function approvedChangeSet(items: number): Promise<string> {
    const targets = Array.from({ length: items }, (_, i) => ({
      operation_type: 'CREATE',
      target_type: 'CONFIG',
      target_id: `${uniqueId('race')}.${i}`,
      after_state: { i },
    }));
    const cs = await f.engine.create(f.p['Agent-D']!, configChange(undefined, { items: targets }));
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    const approved = await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' });
    expect(approved.status).toBe('APPROVED');
    return cs.id;
  }

  it('lets exactly one of 50 concurrent applies succeed, moving each target once', async () => {
    const id = await approvedChangeSet(5);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => on(i).apply(i % 2 ? f.p['olga']! : f.p['Agent-D']!, id, { mode: 'ATOMIC' })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((r) => r.reason.code)).toEqual(Array(49).fill('INVALID_TRANSITION'));
    const cs = await f.engine.get(id);
    expect(cs.status).toBe('APPLIED');
    for (const item of cs.items) {
      expect(await f.engine.resourceHistory(item.target_type, item.target_id)).toHaveLength(1);
      expect((await f.engine.resource(item.target_type, item.target_id)).version).toBe(1);
    }
    const { rows } = await f.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM outbox_events WHERE change_set = $1 AND type = 'changeset.applied'",
      [id],
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('turns 20 concurrent approvals of a change-set needing 3 into exactly one transition', async () => {
    const approvers: Principal[] = [];
    for (let i = 0; i < 20; i++) {
      const { principal } = await f.engine.createPrincipal(
        null,
        {
          id: uniqueId('approver'),
          kind: 'human',
          display_name: null,
          email: null,
          slack_id: null,
          groups: [],
          risk: null,
          active: true,
        },
        { withToken: false },
      );
      approvers.push(principal);
    }
    // 14 CREATEs of security policies by Agent-C: factors 70, 100, 35, 50, 25 → score 70, CRITICAL.
    const items = Array.from({ length: 14 }, (_, i) => ({
      operation_type: 'CREATE',
      target_type: 'SECURITY_POLICY',
      target_id: `security.${uniqueId('rule')}.${i}`,
      after_state: { allow: false },
    }));
    const cs = await f.engine.create(f.p['Agent-C']!, {
      change_set_id: uniqueId(),
      title: 'Harden the firewall',
      agent_type: 'BACKEND',
      category: 'SECURITY',
      approval_chain: approvers.map((a) => a.id),
      items,
    });
    expect(cs.required_approvals).toBe(3);
    await f.engine.submit(f.p['Agent-C']!, cs.id);
    const results = await Promise.allSettled(
      approvers.map((approver, i) => on(i).decide(approver, cs.id, { decision: 'APPROVED', reason: `ok ${i}` })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(3);
    expect(new Set(lost.map((r) => r.reason.code))).toEqual(new Set(['INVALID_TRANSITION']));
    const after = await f.engine.get(cs.id);
    expect(after).toMatchObject({ status: 'APPROVED', received_approvals: 3 });
    expect(after.approvals).toHaveLength(3);
    const { rows } = await f.db.query<{ type: string; n: number }>(
      `SELECT type, count(*)::int AS n FROM outbox_events WHERE change_set = $1
       AND type IN ('changeset.approved', 'changeset.approval_decision') GROUP BY type ORDER BY type`,
      [cs.id],
    );
    expect(rows).toEqual([
      { type: 'changeset.approval_decision', n: 3 },
      { type: 'changeset.approved', n: 1 },
    ]);
  });

  it('applies change-sets that touch the same targets in opposite orders without deadlock or lost updates', async () => {
    const a = `shared.${uniqueId('a')}`;
    const b = `shared.${uniqueId('b')}`;
    const setup = await approvedChangeSetWith([
      { operation_type: 'CREATE', target_type: 'CONFIG', target_id: a, after_state: { n: 0 } },
      { operation_type: 'CREATE', target_type: 'CONFIG', target_id: b, after_state: { n: 0 } },
    ]);
    await f.engine.apply(f.p['olga']!, setup, {});
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const [first, second] = i % 2 ? [a, b] : [b, a];
      ids.push(
        await approvedChangeSetWith([
          {
            operation_type: 'UPDATE',
            target_type: 'CONFIG',
            target_id: first,
            diff_data: [{ op: 'add', path: `/by${i}`, value: i }],
          },
          {
            operation_type: 'UPDATE',
            target_type: 'CONFIG',
            target_id: second,
            diff_data: [{ op: 'add', path: `/by${i}`, value: i }],
          },
        ]),
      );
    }
    const results = await Promise.allSettled(ids.map((id, i) => on(i).apply(f.p['olga']!, id, { mode: 'ATOMIC' })));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    for (const target of [a, b]) {
      const resource = await f.engine.resource('CONFIG', target);
      expect(resource.version).toBe(11);
      expect(Object.keys(resource.state as object).sort()).toEqual(
        ['n', ...Array.from({ length: 10 }, (_, i) => `by${i}`)].sort(),
      );
      expect((await f.engine.resourceHistory('CONFIG', target)).map((h) => h.version)).toEqual(
        Array.from({ length: 11 }, (_, i) => i + 1),
      );
    }
  });

  async function approvedChangeSetWith(items: unknown[]): Promise<string> {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange(undefined, { items }));
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' });
    return cs.id;
  }
});

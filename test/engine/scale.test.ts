// A 10,000-item change-set (the default limits.max_items) goes through its whole life on each backend.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PlanResult } from '../../src/engine/plan.js';
import { describeEachBackend } from '../helpers/backends.js';
import { type Fixture, makeFixture, uniqueId } from '../helpers/fixture.js';

const N = 10_000;

describeEachBackend('a 10,000-item change-set', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  it('is created, planned, applied atomically and rolled back', async () => {
    const prefix = uniqueId('bulk');
    const timings: Record<string, number> = {};
    const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await fn();
      } finally {
        timings[step] = Math.round(performance.now() - started);
      }
    };
    const items = Array.from({ length: N }, (_, i) => ({
      key: `k${i}`,
      operation_type: 'CREATE',
      target_type: 'FEATURE_FLAG',
      target_id: `${prefix}.${i}`,
      after_state: { enabled: i % 2 === 0, rollout: i % 100 },
      ...(i > 0 && i % 10 === 0 ? { depends_on: [`k${i - 1}`] } : {}),
    }));
    const body = {
      change_set_id: uniqueId(),
      title: 'Bulk flags',
      agent_type: 'BACKEND',
      category: 'CONFIG_UPDATE',
      approval_chain: ['alice'],
      items,
    };
    const cs = await timed('create', () => f.engine.create(f.p['Agent-D']!, body));
    expect(cs).toMatchObject({ status: 'DRAFT', item_count: N, required_approvals: 1 });
    await timed('submit', () => f.engine.submit(f.p['Agent-D']!, cs.id));
    await timed('approve', () => f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' }));
    const plan = (await timed('plan', () => f.engine.plan(cs.id))) as PlanResult;
    expect(plan.would_succeed).toBe(true);
    expect(plan.items).toHaveLength(N);
    expect(plan.items.every((item) => item.status === 'WOULD_APPLY')).toBe(true);

    const applied = await timed('apply', () => f.engine.apply(f.p['olga']!, cs.id, { mode: 'ATOMIC' }));
    expect(applied).toMatchObject({ success: true, status: 'APPLIED', applied_items: N, failed_items: 0 });
    const count = async (sql: string) => (await f.db.query<{ n: number }>(sql, [`${prefix}.%`])).rows[0]!.n;
    expect(await count('SELECT count(*)::int AS n FROM resources WHERE target_id LIKE $1 AND present')).toBe(N);
    expect((await f.engine.resource('FEATURE_FLAG', `${prefix}.4242`)).state).toEqual({ enabled: true, rollout: 42 });

    const rolled = await timed('rollback', () => f.engine.rollback(f.p['olga']!, cs.id, { reason: 'bulk undo' }));
    expect(rolled).toMatchObject({ success: true, rolled_back_items: N });
    expect(await count('SELECT count(*)::int AS n FROM resources WHERE target_id LIKE $1 AND present')).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM resource_history WHERE target_id LIKE $1')).toBe(2 * N);
    expect((await f.engine.get(cs.id)).items.every((item) => item.status === 'ROLLED_BACK')).toBe(true);
    expect((await f.engine.verifyAudit()).ok).toBe(true);
    console.log(`[${backend.name}] ${N} items, ms per step: ${JSON.stringify(timings)}`);
  });
});

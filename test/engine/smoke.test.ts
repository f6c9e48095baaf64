import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';

describeEachBackend('engine smoke', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  it('auto-approves the first worked example and applies it', async () => {
    const cs = await f.engine.create(f.p['Agent-A']!, uiButton());
    expect(cs.status).toBe('APPROVED');
    expect(cs.risk.score).toBe(6);
    const result = await f.engine.apply(f.p['Agent-A']!, cs.change_set_id, { mode: 'ATOMIC' });
    expect(result).toMatchObject({ success: true, status: 'APPLIED', applied_items: 1 });
  });

  it('runs a change-set needing one approval through submit, approve, apply and rollback', async () => {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    expect(cs.status).toBe('DRAFT');
    expect(cs.required_approvals).toBe(1);
    const submitted = await f.engine.submit(f.p['Agent-D']!, cs.id);
    expect(submitted.status).toBe('PENDING_APPROVAL');
    const approved = await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED', reason: 'fine' });
    expect(approved.status).toBe('APPROVED');
    const applied = await f.engine.apply(f.p['olga']!, cs.id, {});
    expect(applied).toMatchObject({ success: true, status: 'APPLIED' });
    const rolled = await f.engine.rollback(f.p['Agent-D']!, cs.id, { reason: 'oops' });
    expect(rolled).toMatchObject({ success: true, rolled_back_items: 1 });
    expect((await f.engine.get(cs.id)).status).toBe('ROLLED_BACK');
    expect(await f.engine.verifyAudit()).toMatchObject({ ok: true });
  });
});

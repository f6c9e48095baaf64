import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uniqueId } from '../helpers/fixture.js';
import { applyItems, create, newTarget, outboxTypes, rejection, TYPE, update } from '../helpers/ledger.js';

/** Two CREATEs of security policies: risk score ≥ 50 (HIGH), so the risk step needs 2 approvals. */
function securityChange(overrides: Record<string, unknown> = {}) {
  const policy = (n: number) => ({
    operation_type: 'CREATE',
    target_type: 'SECURITY_POLICY',
    target_id: `security.${newTarget('policy')}.${n}`,
    after_state: { allow: n },
  });
  return {
    change_set_id: uniqueId(),
    title: 'Open two ports',
    agent_type: 'BACKEND',
    category: 'SECURITY',
    items: [policy(1), policy(2)],
    ...overrides,
  };
}

describeEachBackend('engine submit', (backend) => {
  let f: Fixture;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());

  it('refuses an UPDATE of a missing target with 422 ITEMS_NOT_APPLICABLE and per-item details, staying DRAFT', async () => {
    const [made, missing] = [newTarget('made'), newTarget('missing')];
    const agent = f.p['Agent-D']!;
    const cs = await f.engine.create(agent, configChange(undefined, { items: [create(made, {}), update(missing, 1)] }));
    expect(cs.status).toBe('DRAFT');
    const error = await rejection(f.engine.submit(agent, cs.id));
    expect(error).toMatchObject({ code: 'ITEMS_NOT_APPLICABLE', statusCode: 422 });
    expect(error.message).toContain('1 of 2 items cannot be applied');
    expect(error.details).toEqual([
      {
        path: 'items[1]',
        item_id: cs.items[1]!.id,
        key: '1',
        code: 'NOT_FOUND',
        message: `target ${TYPE}/${missing} does not exist`,
      },
    ]);
    expect((await f.engine.get(cs.id)).status).toBe('DRAFT');
    expect(await outboxTypes(f, cs.id)).toEqual(['changeset.created']);

    await applyItems(f, [create(missing, 0)]);
    expect((await f.engine.submit(agent, cs.id)).status).toBe('PENDING_APPROVAL');
  });

  it('counts no approval given before withdraw, edit and resubmit: approvals are bound to content', async () => {
    const agent = f.p['Agent-D']!;
    const approve = (who: string) => {
      f.clock.advance(60_000); // approvals list in decision order
      return f.engine.decide(f.p[who]!, cs.id, { decision: 'APPROVED' });
    };
    const cs = await f.engine.create(agent, securityChange({ approval_chain: ['alice'] }));
    expect(cs.required_approvals).toBe(2);
    await f.engine.submit(agent, cs.id);
    expect(await approve('alice')).toMatchObject({ status: 'PENDING_APPROVAL', received_approvals: 1 });

    expect((await f.engine.withdraw(agent, cs.id)).status).toBe('DRAFT');
    const edited = await f.engine.edit(agent, cs.id, { title: 'Open two ports, carefully' });
    expect(edited.content_hash).not.toBe(cs.content_hash);
    const resubmitted = await f.engine.submit(agent, cs.id);
    expect(resubmitted).toMatchObject({ status: 'PENDING_APPROVAL', received_approvals: 0 });
    expect((await f.engine.get(cs.id)).approvals).toEqual([
      expect.objectContaining({
        approver_id: 'alice',
        decision: 'APPROVED',
        stale: true,
        content_hash: cs.content_hash,
      }),
    ]);

    // Had alice's old approval counted, root's would be the second and complete the change-set.
    expect(await approve('root')).toMatchObject({ status: 'PENDING_APPROVAL', received_approvals: 1 });
    expect(await approve('alice')).toMatchObject({ status: 'APPROVED', received_approvals: 2 });
    const history = (await f.engine.get(cs.id)).approvals.map((a) => [a.approver_id, a.stale, a.content_hash]);
    expect(history).toEqual([
      ['alice', true, cs.content_hash],
      ['root', false, edited.content_hash],
      ['alice', false, edited.content_hash],
    ]);
  });

  describe('with no approvers configured and a single active admin', () => {
    let g: Fixture;
    beforeAll(async () => {
      g = await makeFixture(await backend.open(), { ...DEFAULT_ENGINE_CONFIG, approvers: {} });
      await g.engine.updatePrincipal(g.p['root']!, 'root2', { active: false });
    });
    afterAll(() => g.db.close());

    it('refuses with 422 APPROVAL_UNSATISFIABLE naming the step, staying DRAFT', async () => {
      const agent = g.p['Agent-C']!;
      const cs = await g.engine.create(agent, securityChange());
      expect(cs.approval_steps).toEqual([{ name: 'risk', count: 2, approvers: ['group:admin'] }]);
      const error = await rejection(g.engine.submit(agent, cs.id));
      expect(error).toMatchObject({ code: 'APPROVAL_UNSATISFIABLE', statusCode: 422 });
      expect(error.message).toBe('step risk needs 2 approvals but only 1 eligible principal can give them');
      expect(error.details).toEqual([{ step: 'risk', required: 2, eligible: 1, message: error.message }]);
      expect((await g.engine.get(cs.id)).status).toBe('DRAFT');

      await g.engine.updatePrincipal(g.p['root']!, 'root2', { active: true });
      expect((await g.engine.submit(agent, cs.id)).status).toBe('PENDING_APPROVAL');
      await g.engine.updatePrincipal(g.p['root']!, 'root2', { active: false });
    });
  });
});

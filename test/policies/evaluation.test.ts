// How the engine evaluates policies (docs/design.md#policies): fail closed, precedence, and what it stores on the
// change-set and in the audit trail — including for refused actions.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { engineConfigOf } from '../../src/config.js';
import type { ChangeSet, Principal } from '../../src/core/types.js';
import { Engine } from '../../src/engine/engine.js';
import type { EngineConfig } from '../../src/engine/engine-config.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';
import { rejection } from '../helpers/ledger.js';
import { configOf, cookbookEngineConfig, cookbookPolicy } from './policy-docs.js';

const WEDNESDAY_10_UTC = '2026-11-25T10:00:00.000Z';
const FAILED = 'condition failed to evaluate (denied): No such key: owner';

const inline = (policies: object[]): EngineConfig => engineConfigOf(configOf(stringify({ policies })));

describeEachBackend('policy evaluation in the engine', (backend) => {
  let f: Fixture;
  let p: Record<string, Principal>;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    p = f.p;
  });
  afterAll(() => f.db.close());
  beforeEach(() => {
    f.clock.now = new Date(WEDNESDAY_10_UTC);
  });
  const at = (iso: string) => {
    f.clock.now = new Date(iso);
  };
  const engineWith = (config: EngineConfig) => new Engine({ db: f.db, config, clock: () => f.clock.now });
  const policyAudit = async (engine: Engine, id: string) =>
    (await engine.audit(id)).filter((entry) => entry.action === 'policy_evaluation');

  async function approved(engine: Engine, body = configChange()): Promise<ChangeSet> {
    const cs = await engine.create(p['Agent-D']!, body);
    await engine.submit(p['Agent-D']!, cs.id);
    const decided = await engine.decide(p.alice!, cs.id, { decision: 'APPROVED' });
    expect(decided.status).toBe('APPROVED');
    return decided;
  }

  describe('fail closed', () => {
    it('denies when a condition fails to evaluate, even a warn, saying that it failed', async () => {
      const engine = engineWith(cookbookEngineConfig(['owner-is-platform-fragile']));
      const error = await rejection(engine.create(p['Agent-D']!, configChange()));
      expect(error).toMatchObject({ code: 'POLICY_DENIED', statusCode: 422 });
      expect(error.message).toBe(`create denied by policy owner-is-platform-fragile: ${FAILED}`);
      expect(error.details).toEqual([{ policy: 'owner-is-platform-fragile', message: FAILED }]);
    });

    it('is avoided by the has() guard of the cookbook', async () => {
      const both = engineWith(cookbookEngineConfig(['owner-is-platform-fragile']));
      const owned = await both.create(p['Agent-D']!, configChange(undefined, { metadata: { owner: 'platform' } }));
      expect(owned.policy_evaluations.map((e) => [e.policy, e.effect, e.matched])).toEqual([
        ['owner-is-platform-fragile', 'warn', true],
        ['owner-is-platform', 'warn', true],
      ]);
      const safe = engineWith(inline([cookbookPolicy('owner-is-platform')]));
      const unowned = await safe.create(p['Agent-D']!, configChange());
      expect(unowned.policy_evaluations).toEqual([
        expect.objectContaining({ policy: 'owner-is-platform', effect: 'warn', matched: false, message: null }),
      ]);
    });

    it('denies an apply whose condition fails, recorded on the change-set and in its audit trail', async () => {
      const engine = engineWith(
        inline([
          { name: 'owner-is-x', actions: ['apply'], condition: 'change_set.metadata.owner == "x"', effect: 'deny' },
        ]),
      );
      const cs = await approved(engine);
      at('2026-11-25T11:00:00.000Z');
      const error = await rejection(engine.apply(p.olga!, cs.id, { mode: 'ATOMIC' }));
      expect(error.message).toBe(`apply denied by policy owner-is-x: ${FAILED}`);
      const after = await engine.get(cs.id);
      expect(after.status).toBe('APPROVED');
      const denial = {
        policy: 'owner-is-x',
        action: 'apply',
        effect: 'deny',
        matched: true,
        message: FAILED,
        evaluated_at: '2026-11-25T11:00:00.000Z',
      };
      expect(after.policy_evaluations).toEqual([denial]);
      const audited = await policyAudit(engine, cs.id);
      expect(audited.map((e) => [e.actor, e.at, e.data])).toEqual([
        ['olga', '2026-11-25T11:00:00.000Z', { action: 'apply', denied: true, evaluations: [denial] }],
      ]);
      expect((await engine.verifyAudit()).ok).toBe(true);
    });
  });

  describe('precedence: deny > require_approval > warn', () => {
    const everything = (actions: string[]) =>
      inline([
        { name: 'freeze-all', actions, condition: 'true', effect: 'deny', message: 'Frozen' },
        {
          name: 'review-all',
          actions,
          condition: 'true',
          effect: 'require_approval',
          approvers: ['group:security'],
          message: 'Review',
        },
        { name: 'note-all', actions, condition: 'size(items) > 0', effect: 'warn', message: 'Noted' },
        { name: 'no-agents', actions, condition: 'principal.kind == "agent"', effect: 'deny', message: 'No agents' },
        { name: 'never', actions, condition: 'false', effect: 'deny', message: 'Never' },
      ]);
    const denials = [
      { policy: 'freeze-all', message: 'Frozen' },
      { policy: 'no-agents', message: 'No agents' },
    ];

    it('refuses a create when deny, require_approval and warn all match, naming every matched deny', async () => {
      const engine = engineWith(everything(['create']));
      const body = configChange();
      const error = await rejection(engine.create(p['Agent-D']!, body));
      expect(error).toMatchObject({ code: 'POLICY_DENIED', statusCode: 422, details: denials });
      expect(error.message).toBe('create denied by policies freeze-all: Frozen; no-agents: No agents');
      expect((await rejection(engine.get(body.change_set_id))).code).toBe('NOT_FOUND');
    });

    it('refuses a submit the same way and records every evaluation, the matched steps and warns too', async () => {
      const engine = engineWith(everything(['submit']));
      const cs = await engine.create(p['Agent-D']!, configChange());
      expect(cs.policy_evaluations).toEqual([]);
      const error = await rejection(engine.submit(p['Agent-D']!, cs.id));
      expect(error).toMatchObject({ code: 'POLICY_DENIED', details: denials });
      const after = await engine.get(cs.id);
      expect(after).toMatchObject({ status: 'DRAFT', required_approvals: 1 });
      expect(after.approval_steps.map((s) => s.name)).toEqual(['risk']);
      const evaluations = after.policy_evaluations.map((e) => [e.policy, e.action, e.effect, e.matched, e.message]);
      expect(evaluations).toEqual([
        ['freeze-all', 'submit', 'deny', true, 'Frozen'],
        ['review-all', 'submit', 'require_approval', true, 'Review'],
        ['note-all', 'submit', 'warn', true, 'Noted'],
        ['no-agents', 'submit', 'deny', true, 'No agents'],
        ['never', 'submit', 'deny', false, null],
      ]);
      const [audited] = await policyAudit(engine, cs.id);
      expect(audited?.data).toEqual({ action: 'submit', denied: true, evaluations: after.policy_evaluations });
    });

    it('adds require_approval steps and keeps warns when no deny matches', async () => {
      const engine = engineWith(
        inline([
          { name: 'review-all', condition: 'true', effect: 'require_approval', approvers: ['sam'], count: 1 },
          { name: 'note-all', condition: 'true', effect: 'warn' },
        ]),
      );
      const cs = await engine.create(p['Agent-D']!, configChange());
      expect(cs).toMatchObject({ status: 'DRAFT', required_approvals: 2 });
      expect(cs.policy_evaluations.map((e) => [e.policy, e.matched])).toEqual([
        ['review-all', true],
        ['note-all', true],
      ]);
    });
  });

  describe('require_approval at apply and rollback', () => {
    const securityItem = () => ({
      operation_type: 'CREATE',
      target_type: 'SECURITY_POLICY',
      target_id: `security.unmet.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}`,
      after_state: { allow: [] },
    });

    it('refuses an apply whose step the approvals do not fill, and records why', async () => {
      const engine = engineWith(
        inline([
          {
            name: 'apply-review',
            actions: ['apply'],
            condition: 'true',
            effect: 'require_approval',
            approvers: ['group:security'],
          },
        ]),
      );
      const cs = await approved(engine);
      const error = await rejection(engine.apply(p.olga!, cs.id, { mode: 'ATOMIC' }));
      const why = 'needs 1 approval from group:security, has 0';
      expect(error).toMatchObject({ code: 'POLICY_DENIED', details: [{ policy: 'apply-review', message: why }] });
      expect(error.message).toBe(`apply denied by policy apply-review: ${why}`);
      const [audited] = await policyAudit(engine, cs.id);
      expect(audited?.data).toMatchObject({ action: 'apply', denied: true });
      // The trail should say which policy denied, and why (docs/design.md#policies: each evaluation is stored).
      expect(JSON.stringify(audited?.data)).toContain(why);
    });

    it("does not undo a reviewer's approval when the reviewer later leaves the group: rollback still works", async () => {
      const engine = engineWith(cookbookEngineConfig(['security-review']));
      const { principal: reviewer } = await engine.createPrincipal(
        null,
        {
          id: `reviewer-${Date.now()}`,
          kind: 'human',
          display_name: null,
          email: null,
          slack_id: null,
          groups: ['security'],
          risk: null,
          active: true,
        },
        { withToken: false },
      );
      const cs = await engine.create(p['Agent-D']!, configChange(undefined, { items: [securityItem()] }));
      await engine.submit(p['Agent-D']!, cs.id);
      await engine.decide(p.alice!, cs.id, { decision: 'APPROVED' });
      expect((await engine.decide(reviewer, cs.id, { decision: 'APPROVED' })).status).toBe('APPROVED');
      expect(await engine.apply(p.olga!, cs.id, { mode: 'ATOMIC' })).toMatchObject({ success: true });
      // Months later the reviewer moves to another team; the applied change must still be reversible.
      await engine.updatePrincipal(p.root!, reviewer.id, { groups: [] });
      expect(await engine.rollback(p.olga!, cs.id, { reason: 'incident' })).toMatchObject({ success: true });
    });
  });

  describe('what is stored', () => {
    it('keeps the latest evaluation of each action on the change-set and every one in the audit trail', async () => {
      const engine = engineWith(cookbookEngineConfig(['security-review', 'weekend-freeze']));
      const item = { operation_type: 'CREATE', target_type: 'SECURITY_POLICY', after_state: { allow: [] } };
      const body = configChange(undefined, { items: [{ ...item, target_id: `security.stored.${Date.now()}` }] });
      const cs = await engine.create(p['Agent-D']!, body);
      await engine.submit(p['Agent-D']!, cs.id);
      await engine.decide(p.alice!, cs.id, { decision: 'APPROVED' });
      await engine.decide(p.sam!, cs.id, { decision: 'APPROVED' });
      at('2026-11-28T12:00:00.000Z');
      expect((await rejection(engine.apply(p.olga!, cs.id, { mode: 'ATOMIC' }))).code).toBe('POLICY_DENIED');
      at('2026-11-30T07:00:00.000Z');
      expect(await engine.apply(p.olga!, cs.id, { mode: 'ATOMIC' })).toMatchObject({ success: true });
      at('2026-11-30T08:00:00.000Z');
      expect(await engine.rollback(p.olga!, cs.id, { reason: 'test' })).toMatchObject({ success: true });

      const stored = (await engine.get(cs.id)).policy_evaluations;
      expect(stored.map((e) => [e.action, e.policy, e.matched, e.evaluated_at])).toEqual([
        ['create', 'security-review', true, WEDNESDAY_10_UTC],
        ['submit', 'security-review', true, WEDNESDAY_10_UTC],
        ['apply', 'security-review', true, '2026-11-30T07:00:00.000Z'],
        ['apply', 'weekend-freeze', false, '2026-11-30T07:00:00.000Z'],
        ['apply', 'year-end-freeze', false, '2026-11-30T07:00:00.000Z'],
        ['rollback', 'security-review', true, '2026-11-30T08:00:00.000Z'],
      ]);
      const audited = await policyAudit(engine, cs.id);
      expect(
        audited.map((e) => [e.actor, (e.data as { action: string }).action, (e.data as { denied: boolean }).denied]),
      ).toEqual([
        ['Agent-D', 'create', false],
        ['Agent-D', 'submit', false],
        ['olga', 'apply', true],
        ['olga', 'apply', false],
        ['olga', 'rollback', false],
      ]);
      const denied = audited[2]!.data as { evaluations: { policy: string; matched: boolean }[] };
      expect(denied.evaluations.map((e) => [e.policy, e.matched])).toEqual([
        ['security-review', true],
        ['weekend-freeze', true],
        ['year-end-freeze', false],
      ]);
      expect((await engine.verifyAudit()).ok).toBe(true);
    });

    it('records a refused rollback as well', async () => {
      const engine = engineWith(
        inline([
          {
            name: 'no-rollback-by-agents',
            actions: ['rollback'],
            condition: 'principal.kind == "agent"',
            effect: 'deny',
          },
        ]),
      );
      const cs = await approved(engine);
      await engine.apply(p.olga!, cs.id, { mode: 'ATOMIC' });
      const error = await rejection(engine.rollback(p['Agent-D']!, cs.id, { reason: 'oops' }));
      expect(error.message).toBe('rollback denied by policy no-rollback-by-agents');
      expect((await engine.get(cs.id)).status).toBe('APPLIED');
      expect((await policyAudit(engine, cs.id)).map((e) => e.data)).toEqual([
        expect.objectContaining({ action: 'rollback', denied: true }),
      ]);
    });
  });
});

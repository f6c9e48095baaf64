// The cookbook of docs/policies.md, loaded from the page itself through the configuration loader
// and run through the real engine: what each recipe says it does, it does.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { engineConfigOf } from '../../src/config.js';
import type { ChangeSet, Principal } from '../../src/core/types.js';
import { Engine } from '../../src/engine/engine.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uniqueId } from '../helpers/fixture.js';
import { rejection } from '../helpers/ledger.js';
import { configOf, cookbookEngineConfig, YAML_BLOCKS } from './policy-docs.js';

const WEDNESDAY_10_UTC = '2026-11-25T10:00:00.000Z';

let counter = 0;
const target = (prefix: string) => `${prefix}.${process.pid}.${++counter}`;
const configItem = (operation_type: string, target_id = target('config'), extra: object = {}) => ({
  operation_type,
  target_type: 'CONFIG',
  target_id,
  ...(['CREATE', 'UPDATE'].includes(operation_type) ? { after_state: { value: counter } } : {}),
  ...extra,
});
const securityPolicy = (n = 0) => ({
  operation_type: 'CREATE',
  target_type: 'SECURITY_POLICY',
  target_id: target(`security.rule${n}`),
  after_state: { allow: ['443/tcp'] },
});
const items = (n: number) => Array.from({ length: n }, () => configItem('CREATE'));

describe('docs/policies.md', () => {
  it('has a yaml block for each recipe of the cookbook', () => {
    expect(YAML_BLOCKS.length).toBeGreaterThanOrEqual(8);
  });

  it.each(YAML_BLOCKS.map((block, index) => [index + 1, block] as const))(
    'yaml block %i is a valid policies section that compiles',
    (_index, block) => {
      expect(Object.keys(parse(block) as object)).toEqual(['policies']);
      const config = configOf(block);
      expect(config.policies.length).toBeGreaterThan(0);
      expect(engineConfigOf(config).policies.map((p) => p.name)).toEqual(config.policies.map((p) => p.name));
    },
  );
});

describeEachBackend('policy cookbook', (backend) => {
  let f: Fixture;
  let p: Record<string, Principal>;
  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    p = f.p;
    const { principal } = await f.engine.createPrincipal(
      null,
      {
        id: 'rita',
        kind: 'human',
        display_name: 'Rita (release manager)',
        email: null,
        slack_id: null,
        groups: ['release-managers'],
        risk: null,
        active: true,
      },
      { withToken: false },
    );
    p.rita = principal;
  });
  afterAll(() => f.db.close());
  beforeEach(() => {
    f.clock.now = new Date(WEDNESDAY_10_UTC);
  });

  const at = (iso: string) => {
    f.clock.now = new Date(iso);
  };
  /** An engine on the fixture's database and clock, with the policies of the cookbook blocks defining `names`. */
  const engineWith = (...names: string[]) =>
    new Engine({ db: f.db, config: cookbookEngineConfig(names), clock: () => f.clock.now });

  /** Created by `creator`, submitted, approved by `approvers` in turn: APPROVED at the end. */
  async function approved(engine: Engine, creator: string, body: object, approvers: string[]): Promise<ChangeSet> {
    let cs = await engine.create(p[creator]!, body);
    if (cs.status === 'DRAFT') cs = await engine.submit(p[creator]!, cs.id);
    for (const approver of approvers) cs = await engine.decide(p[approver]!, cs.id, { decision: 'APPROVED' });
    expect(cs.status).toBe('APPROVED');
    return cs;
  }

  describe('change freeze', () => {
    let engine: Engine;
    beforeAll(() => {
      engine = engineWith('weekend-freeze', 'year-end-freeze');
    });
    const apply = (cs: ChangeSet, who = 'olga') => engine.apply(p[who]!, cs.id, { mode: 'ATOMIC' });

    it('denies apply from Friday 16:00 UTC to Monday 06:00 UTC and allows it from Monday 06:00', async () => {
      const cs = await approved(engine, 'Agent-D', configChange(), ['alice']);
      for (const moment of ['2026-11-27T16:00:00Z', '2026-11-28T12:00:00Z', '2026-11-30T05:59:59Z']) {
        at(moment);
        const error = await rejection(apply(cs));
        expect(error).toMatchObject({ code: 'POLICY_DENIED', statusCode: 422 });
        expect(error.message).toBe(
          'apply denied by policy weekend-freeze: Change freeze from Friday 16:00 to Monday 06:00 UTC (CRITICAL hotfixes excepted)',
        );
        expect(error.details).toEqual([
          {
            policy: 'weekend-freeze',
            message: 'Change freeze from Friday 16:00 to Monday 06:00 UTC (CRITICAL hotfixes excepted)',
          },
        ]);
        expect((await engine.get(cs.id)).status).toBe('APPROVED');
      }
      at('2026-11-30T06:00:00Z');
      expect(await apply(cs)).toMatchObject({ success: true, status: 'APPLIED' });
    });

    it('allows apply until Friday 15:59 UTC', async () => {
      const cs = await approved(engine, 'Agent-D', configChange(), ['alice']);
      at('2026-11-27T15:59:59Z');
      expect(await apply(cs)).toMatchObject({ success: true, status: 'APPLIED' });
    });

    it('lets a CRITICAL-priority hotfix through on a Saturday', async () => {
      const cs = await approved(engine, 'Agent-D', configChange(undefined, { priority: 'CRITICAL' }), ['alice']);
      at('2026-11-28T03:00:00Z');
      expect(await apply(cs)).toMatchObject({ success: true, status: 'APPLIED' });
    });

    it('freezes only apply: create, submit and approvals go on during the freeze', async () => {
      at('2026-11-28T12:00:00Z');
      const cs = await approved(engine, 'Agent-D', configChange(), ['alice']);
      expect((await rejection(apply(cs))).code).toBe('POLICY_DENIED');
    });

    it('denies every apply in the year-end window, whatever the weekday, and none after it', async () => {
      const cs = await approved(engine, 'Agent-D', configChange(), ['alice']);
      at('2026-12-23T12:00:00Z');
      const error = await rejection(apply(cs));
      expect(error.details).toEqual([
        { policy: 'year-end-freeze', message: 'Year-end change freeze from 21 December to 3 January' },
      ]);
      at('2027-01-04T09:00:00Z');
      expect(await apply(cs)).toMatchObject({ success: true, status: 'APPLIED' });
    });
  });

  describe('security review for security targets', () => {
    let engine: Engine;
    beforeAll(() => {
      engine = engineWith('security-review');
    });
    const message = 'Changes to security targets need a reviewer from group security';

    it('adds a step only group security fills: pending after alice approves, approved once sam does', async () => {
      const agent = p['Agent-D']!;
      const cs = await engine.create(agent, configChange(undefined, { items: [securityPolicy()] }));
      expect(cs.status).toBe('DRAFT');
      expect(cs.approval_steps).toEqual([
        { name: 'risk', count: 1, approvers: ['alice', 'group:admin'] },
        { name: 'security-review', count: 1, approvers: ['group:security'], message },
      ]);
      expect(cs.required_approvals).toBe(2);
      const submitted = await engine.submit(agent, cs.id);
      expect(submitted).toMatchObject({ status: 'PENDING_APPROVAL', required_approvals: 2 });
      const afterAlice = await engine.decide(p.alice!, cs.id, { decision: 'APPROVED' });
      expect(afterAlice).toMatchObject({ status: 'PENDING_APPROVAL', received_approvals: 1 });
      const afterSam = await engine.decide(p.sam!, cs.id, { decision: 'APPROVED' });
      expect(afterSam).toMatchObject({ status: 'APPROVED', received_approvals: 2 });
      expect(await engine.apply(p.olga!, cs.id, { mode: 'ATOMIC' })).toMatchObject({ success: true });
    });

    it('is not satisfied by an administrator: root and alice leave the security step open', async () => {
      const cs = await engine.create(p['Agent-D']!, configChange(undefined, { items: [securityPolicy()] }));
      await engine.submit(p['Agent-D']!, cs.id);
      await engine.decide(p.root!, cs.id, { decision: 'APPROVED' });
      const both = await engine.decide(p.alice!, cs.id, { decision: 'APPROVED' });
      expect(both).toMatchObject({ status: 'PENDING_APPROVAL', received_approvals: 1, required_approvals: 2 });
      expect((await engine.decide(p.sam!, cs.id, { decision: 'APPROVED' })).status).toBe('APPROVED');
    });

    it('matches a target_id under security. whatever its target_type', async () => {
      const cs = await engine.create(
        p['Agent-D']!,
        configChange(undefined, { items: [configItem('CREATE', target('security.tls'))] }),
      );
      expect(cs.approval_steps.map((s) => s.name)).toEqual(['risk', 'security-review']);
    });

    it('leaves other targets to the risk step alone', async () => {
      const cs = await engine.create(p['Agent-D']!, configChange());
      expect(cs.approval_steps.map((s) => s.name)).toEqual(['risk']);
      expect(cs.required_approvals).toBe(1);
    });
  });

  describe('no deletes by agents outside business hours', () => {
    let engine: Engine;
    beforeAll(() => {
      engine = engineWith('no-agent-deletes-after-hours');
    });
    const deleting = (operation = 'DELETE') => configChange(undefined, { items: [configItem(operation)] });
    const message = 'Agents may delete, reset or clear only Monday to Friday 08:00–18:00 Berlin time';

    it("refuses an agent's delete at 18:30 in Berlin (17:30 UTC) and stores nothing", async () => {
      at('2026-11-25T17:30:00Z');
      const body = deleting();
      const error = await rejection(engine.create(p['Agent-D']!, body));
      expect(error).toMatchObject({ code: 'POLICY_DENIED', statusCode: 422 });
      expect(error.details).toEqual([{ policy: 'no-agent-deletes-after-hours', message }]);
      expect((await rejection(engine.get(body.change_set_id))).code).toBe('NOT_FOUND');
    });

    it('lets an agent delete at 17:30 in Berlin on a weekday, and a human at any hour', async () => {
      at('2026-11-25T16:30:00Z');
      expect((await engine.create(p['Agent-D']!, deleting())).status).toBe('DRAFT');
      at('2026-11-25T23:00:00Z');
      expect((await engine.create(p.alice!, deleting())).status).toBe('DRAFT');
    });

    it("refuses agents' resets and clears at the weekend but not their creates", async () => {
      at('2026-11-28T12:00:00Z');
      for (const operation of ['RESET', 'CLEAR']) {
        expect((await rejection(engine.create(p['Agent-D']!, deleting(operation)))).code).toBe('POLICY_DENIED');
      }
      expect((await engine.create(p['Agent-D']!, configChange())).status).toBe('DRAFT');
    });

    it('stops an agent applying its approved delete after hours (recorded); an operator may apply it', async () => {
      const existing = target('config');
      const seeded = await approved(engine, 'Agent-D', configChange(existing), ['alice']);
      await engine.apply(p.olga!, seeded.id, { mode: 'ATOMIC' });
      const cs = await approved(
        engine,
        'Agent-D',
        configChange(undefined, { items: [configItem('DELETE', existing)] }),
        ['alice'],
      );
      at('2026-11-25T19:00:00Z');
      expect((await rejection(engine.apply(p['Agent-D']!, cs.id, { mode: 'ATOMIC' }))).code).toBe('POLICY_DENIED');
      const after = await engine.get(cs.id);
      expect(after.status).toBe('APPROVED');
      expect(after.policy_evaluations.filter((e) => e.action === 'apply')).toEqual([
        expect.objectContaining({ policy: 'no-agent-deletes-after-hours', effect: 'deny', matched: true, message }),
      ]);
      expect(await engine.apply(p.olga!, cs.id, { mode: 'ATOMIC' })).toMatchObject({ success: true });
    });
  });

  describe('a cap on the size of agents’ change-sets', () => {
    let engine: Engine;
    beforeAll(() => {
      engine = engineWith('agent-item-cap');
    });

    it("refuses an agent's change-set of 26 items and accepts 25", async () => {
      const error = await rejection(engine.create(p['Agent-D']!, configChange(undefined, { items: items(26) })));
      expect(error.details).toEqual([
        { policy: 'agent-item-cap', message: 'Agents may propose at most 25 items per change-set; split the work' },
      ]);
      expect((await engine.create(p['Agent-D']!, configChange(undefined, { items: items(25) }))).item_count).toBe(25);
    });

    it('lets a human propose more than 25 items', async () => {
      expect((await engine.create(p.alice!, configChange(undefined, { items: items(30) }))).item_count).toBe(30);
    });

    it('holds on edit: an agent cannot grow its draft past 25 items', async () => {
      const cs = await engine.create(p['Agent-D']!, configChange(undefined, { items: items(25) }));
      expect((await rejection(engine.edit(p['Agent-D']!, cs.id, { items: items(26) }))).code).toBe('POLICY_DENIED');
      expect((await engine.get(cs.id)).items).toHaveLength(25);
    });
  });

  describe('two-person rule for CRITICAL changes', () => {
    let engine: Engine;
    beforeAll(() => {
      engine = engineWith('critical-two-person-rule');
    });
    /** 20 new security policies: CRITICAL for any agent. */
    const critical = () => ({
      change_set_id: uniqueId(),
      title: 'Firewall overhaul',
      agent_type: 'BACKEND',
      category: 'SECURITY',
      approval_chain: ['alice', 'bob', 'olga'],
      items: Array.from({ length: 20 }, (_, n) => securityPolicy(n)),
    });

    it('asks two administrators on top of the three risk approvals: five people in all', async () => {
      const cs = await engine.create(p['Agent-C']!, critical());
      expect(cs.risk.level).toBe('CRITICAL');
      expect(cs.approval_steps).toEqual([
        expect.objectContaining({ name: 'risk', count: 3 }),
        {
          name: 'critical-two-person-rule',
          count: 2,
          approvers: ['group:admin'],
          message: 'CRITICAL change-sets need two administrators',
        },
      ]);
      expect(cs.required_approvals).toBe(5);
      await engine.submit(p['Agent-C']!, cs.id);
      let after: ChangeSet | undefined;
      for (const approver of ['root', 'alice', 'bob', 'olga']) {
        after = await engine.decide(p[approver]!, cs.id, { decision: 'APPROVED' });
        expect(after.status).toBe('PENDING_APPROVAL');
      }
      expect(after!.received_approvals).toBe(4);
      expect((await engine.decide(p.root2!, cs.id, { decision: 'APPROVED' })).status).toBe('APPROVED');
    });

    it('refuses to submit when only one administrator other than the creator exists', async () => {
      const cs = await engine.create(p.root!, critical());
      expect(cs.risk.level).toBe('CRITICAL');
      const error = await rejection(engine.submit(p.root!, cs.id));
      expect(error).toMatchObject({ code: 'APPROVAL_UNSATISFIABLE', statusCode: 422 });
      expect(error.message).toBe(
        'step critical-two-person-rule needs 2 approvals but only 1 eligible principal can give them',
      );
    });

    it('leaves a HIGH change-set to its risk step', async () => {
      const body = { ...critical(), items: [securityPolicy(1), securityPolicy(2)] };
      const cs = await engine.create(p['Agent-C']!, body);
      expect(cs.risk.level).toBe('HIGH');
      expect(cs.approval_steps.map((s) => s.name)).toEqual(['risk']);
    });
  });

  describe('production changes', () => {
    let engine: Engine;
    beforeAll(() => {
      engine = engineWith('prod-needs-release-manager', 'prod-needs-ticket');
    });
    const prod = (metadata: object = { ticket: 'OPS-1234' }) => configChange(undefined, { tags: ['prod'], metadata });

    it('refuses a prod change-set without metadata.ticket', async () => {
      const error = await rejection(engine.create(p['Agent-D']!, prod({})));
      expect(error.details).toEqual([
        { policy: 'prod-needs-ticket', message: 'Production change-sets need metadata.ticket (e.g. OPS-1234)' },
      ]);
    });

    it("needs a release manager's approval besides the risk approval", async () => {
      const cs = await engine.create(p['Agent-D']!, prod());
      expect(cs.approval_steps.map((s) => [s.name, s.count, s.approvers])).toEqual([
        ['risk', 1, ['alice', 'group:admin']],
        ['prod-needs-release-manager', 1, ['group:release-managers']],
      ]);
      await engine.submit(p['Agent-D']!, cs.id);
      expect((await engine.decide(p.alice!, cs.id, { decision: 'APPROVED' })).status).toBe('PENDING_APPROVAL');
      expect((await engine.decide(p.rita!, cs.id, { decision: 'APPROVED' })).status).toBe('APPROVED');
      expect(await engine.apply(p.olga!, cs.id, { mode: 'ATOMIC' })).toMatchObject({ success: true });
    });

    it('leaves change-sets without the prod tag alone', async () => {
      const cs = await engine.create(p['Agent-D']!, configChange(undefined, { tags: ['staging'] }));
      expect(cs.approval_steps.map((s) => s.name)).toEqual(['risk']);
    });
  });

  describe('warnings', () => {
    let engine: Engine;
    beforeAll(() => {
      engine = engineWith('large-change-set', 'weekend-work');
    });

    it('block nothing but are recorded with matched true on the change-set and in its audit trail', async () => {
      const cs = await engine.create(p['Agent-D']!, configChange(undefined, { items: items(11) }));
      expect(cs.status).toBe('DRAFT');
      expect(cs.policy_evaluations).toEqual([
        {
          policy: 'large-change-set',
          action: 'create',
          effect: 'warn',
          matched: true,
          message: 'More than 10 items; smaller change-sets are easier to review and to roll back',
          evaluated_at: WEDNESDAY_10_UTC,
        },
      ]);
      at('2026-11-28T12:00:00Z');
      const submitted = await engine.submit(p['Agent-D']!, cs.id);
      expect(submitted.status).toBe('PENDING_APPROVAL');
      expect(submitted.policy_evaluations.filter((e) => e.action === 'submit')).toEqual([
        expect.objectContaining({ policy: 'large-change-set', matched: true }),
        expect.objectContaining({ policy: 'weekend-work', effect: 'warn', matched: true }),
      ]);
      const audited = (await engine.audit(cs.id)).filter((e) => e.action === 'policy_evaluation');
      expect(audited.map((e) => e.data)).toEqual([
        expect.objectContaining({ action: 'create', denied: false }),
        expect.objectContaining({ action: 'submit', denied: false }),
      ]);
    });

    it('are recorded with matched false and no message when they do not match', async () => {
      const cs = await engine.create(p['Agent-D']!, configChange());
      expect(cs.policy_evaluations).toEqual([expect.objectContaining({ matched: false, message: null })]);
    });
  });
});

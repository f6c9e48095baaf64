// Earned trust end to end (docs/trust.md): in enforce a clean record above the minimum lowers the
// agent factor, explained, and one rollback takes it back at once; in shadow nothing changes but
// every change-set shows what would have; off, nothing is shown. Plus the track record's counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessRisk } from '../../src/core/risk.js';
import { DEFAULT_TRUST_CONFIG, type TrustMode } from '../../src/core/trust.js';
import type { ChangeSet } from '../../src/core/types.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/engine-config.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';

const DAY = 86_400_000;

const configWith = (mode: TrustMode) => ({
  ...DEFAULT_ENGINE_CONFIG,
  trust: { ...DEFAULT_TRUST_CONFIG, mode, min_history: 3, credit_step: 5, max_credit: 10, penalty: 10 },
});

/** The score the risk model alone gives Agent-A's uiButton with this agent factor. */
const scoreWithAgent = (agent: number) =>
  assessRisk(
    {
      agent_id: 'Agent-A',
      agent_risk: agent,
      category: 'UI_LAYOUT',
      items: [{ operation_type: 'CREATE', target_type: 'UI_COMPONENT', target_id: 'ui.x' }],
    },
    DEFAULT_ENGINE_CONFIG.risk,
  ).score;

async function trustEvents(f: Fixture) {
  const { rows } = await f.db.query<{ envelope: { data: Record<string, unknown> } }>(
    "SELECT envelope FROM outbox_events WHERE type = 'agent.trust_changed' ORDER BY id",
  );
  return rows.map((row) => row.envelope.data);
}

/** Creates (auto-approved) and applies one uiButton of Agent-A; returns it as created. */
async function cleanApply(f: Fixture): Promise<ChangeSet> {
  const cs = await f.engine.create(f.p['Agent-A']!, uiButton());
  expect(cs.status).toBe('APPROVED');
  await f.engine.apply(f.p['Agent-A']!, cs.id);
  f.clock.advance(60_000);
  return cs;
}

describeEachBackend('earned trust', (backend) => {
  // Agent-A's factor is 15; its uiButton scores with 15, 5 (credit 10) and 25 (penalty 10).
  const base = scoreWithAgent(15);
  it('uses an example whose score moves with the agent factor', () => {
    expect(scoreWithAgent(5)).toBeLessThan(base);
    expect(scoreWithAgent(25)).toBeGreaterThan(base);
  });

  describe('enforce', () => {
    let f: Fixture;
    beforeAll(async () => {
      f = await makeFixture(await backend.open(), configWith('enforce'));
    });
    afterAll(() => f.db.close());

    it('gives no credit below the minimum, then a lower, explained agent factor; one rollback takes it back', async () => {
      const first = await cleanApply(f);
      expect(first.risk.score).toBe(base);
      expect(first.risk.trust).toMatchObject({ mode: 'enforce', adjustment: 0, agent_factor: 15 });
      expect(first.risk.trust?.reason).toBe(
        '0: 0 applied, 0 rolled back or failed in 30 days; credit from 3 clean applies',
      );
      await cleanApply(f);
      const third = await cleanApply(f);
      expect(third.risk.trust?.adjustment).toBe(0);
      expect(await trustEvents(f)).toEqual([
        {
          agent_id: 'Agent-A',
          change: 'promotion',
          mode: 'enforce',
          from: 0,
          to: 5,
          adjustment: -5,
          reason: '-5: 3 applied, 0 rolled back or failed in 30 days',
        },
      ]);
      for (let i = 0; i < 3; i++) await cleanApply(f);
      const credited = await f.engine.create(f.p['Agent-A']!, uiButton());
      expect(credited.risk.factors.agent).toBe(15);
      expect(credited.risk.trust).toEqual({
        mode: 'enforce',
        adjustment: -10,
        agent_factor: 5,
        reason: '-10: 6 applied, 0 rolled back or failed in 30 days',
        with_trust: {
          score: scoreWithAgent(5),
          level: 'LOW',
          auto_approve: true,
          required_approvals: 0,
        },
      });
      expect(credited.risk.score).toBe(scoreWithAgent(5));

      await f.engine.apply(f.p['Agent-A']!, credited.id);
      f.clock.advance(90_000);
      const rolled = await f.engine.rollback(f.p['Agent-A']!, credited.id, { reason: 'broke the page' });
      expect(rolled.success).toBe(true);
      const events = await trustEvents(f);
      expect(events.at(-1)).toEqual({
        agent_id: 'Agent-A',
        change: 'demotion',
        mode: 'enforce',
        from: 10,
        to: 0,
        adjustment: 10,
        reason: '+10: 1 rolled back or failed in 30 days, 0 applied since',
      });
      // In the audit trail of the change-set whose rollback caused it.
      const audit = await f.engine.audit(credited.id);
      expect(audit.map((e) => e.action)).toContain('trust_changed');
      const after = await f.engine.create(f.p['Agent-A']!, uiButton());
      expect(after.risk.trust).toMatchObject({ adjustment: 10, agent_factor: 25 });
      expect(after.risk.score).toBe(scoreWithAgent(25));

      // Once the window has passed, neither the rollback nor the applies count.
      f.clock.advance(31 * DAY);
      const later = await f.engine.create(f.p['Agent-A']!, uiButton());
      expect(later.risk.trust?.adjustment).toBe(0);
    });

    it('never applies to an exempt category', async () => {
      const cs = await f.engine.create(f.p['Agent-A']!, uiButton({ category: 'SECURITY' }));
      expect(cs.risk.trust).toMatchObject({ adjustment: 0, reason: '0: trust never applies to category SECURITY' });
      expect(cs.risk.score).toBe(cs.risk.trust?.with_trust.score);
    });

    it('counts the track record per window, category and target type, with the fail rate and time to rollback', async () => {
      const d = f.p['Agent-D']!;
      const vetoed = await f.engine.create(d, configChange());
      await f.engine.submit(d, vetoed.id);
      await f.engine.decide(f.p['alice']!, vetoed.id, { decision: 'REJECTED', reason: 'no' });
      const approved = await f.engine.create(d, configChange());
      await f.engine.submit(d, approved.id);
      await f.engine.decide(f.p['alice']!, approved.id, { decision: 'APPROVED' });

      const record = await f.engine.trackRecord(f.p['root']!, 'Agent-D');
      expect(record.windows.map((w) => w.name)).toEqual(['7d', '30d', '90d', 'all']);
      expect(record.overall['all']).toMatchObject({
        proposed: 2,
        approved: 1,
        auto_approved: 0,
        rejected: 1,
        rejected_by_veto: 1,
        applied: 0,
        change_fail_rate: null,
      });
      expect(Object.keys(record.by_category)).toEqual(['CONFIG_UPDATE']);
      expect(Object.keys(record.by_target_type)).toEqual(['CONFIG']);

      const a = await f.engine.trackRecord(f.p['Agent-A']!, 'Agent-A');
      // 7 applied, 1 rolled back 90 s after its apply; the 7-day window starts after all of it.
      expect(a.overall['all']).toMatchObject({ applied: 7, rolled_back: 1, apply_failed: 0 });
      expect(a.overall['all']?.change_fail_rate).toBe(Math.round((1 / 7) * 10_000) / 10_000);
      expect(a.overall['all']?.rollback_after_apply_ms).toEqual({ min: 90_000, median: 90_000, max: 90_000 });
      expect(a.overall['7d']).toMatchObject({ applied: 0, rolled_back: 0, proposed: 2 });
      expect(a.by_category['UI_LAYOUT']?.['all']).toMatchObject({ proposed: 9, applied: 7, auto_approved: 9 });
      expect(a.by_target_type['UI_COMPONENT']?.['all']?.rolled_back).toBe(1);
      expect(a.trust).toMatchObject({ mode: 'enforce', applied: 0, failures: 0, adjustment: 0 });
    });
  });

  describe('shadow', () => {
    let f: Fixture;
    beforeAll(async () => {
      f = await makeFixture(await backend.open(), configWith('shadow'));
    });
    afterAll(() => f.db.close());

    it('changes nothing, but every change-set shows what would have been', async () => {
      for (let i = 0; i < 6; i++) await cleanApply(f);
      const credited = await f.engine.create(f.p['Agent-A']!, uiButton());
      expect(credited.risk.score).toBe(base);
      expect(credited.risk.trust).toMatchObject({
        mode: 'shadow',
        adjustment: -10,
        agent_factor: 5,
        with_trust: { score: scoreWithAgent(5) },
      });
      await f.engine.apply(f.p['Agent-A']!, credited.id);
      await f.engine.rollback(f.p['Agent-A']!, credited.id, { reason: 'oops' });
      const after = await f.engine.create(f.p['Agent-A']!, uiButton());
      expect(after.risk.score).toBe(base);
      expect(after.risk.trust).toMatchObject({ adjustment: 10, with_trust: { score: scoreWithAgent(25) } });
      expect((await trustEvents(f)).map((e) => [e['change'], e['mode']])).toEqual([
        ['promotion', 'shadow'],
        ['promotion', 'shadow'],
        ['demotion', 'shadow'],
      ]);
    });
  });

  describe('off', () => {
    let f: Fixture;
    beforeAll(async () => {
      f = await makeFixture(await backend.open(), configWith('off'));
    });
    afterAll(() => f.db.close());

    it('shows no trust factor and announces nothing, but still keeps the record', async () => {
      for (let i = 0; i < 4; i++) await cleanApply(f);
      const cs = await f.engine.create(f.p['Agent-A']!, uiButton());
      expect(cs.risk).not.toHaveProperty('trust');
      expect(cs.risk.score).toBe(base);
      expect(await trustEvents(f)).toEqual([]);
      expect((await f.engine.trackRecord(f.p['Agent-A']!, 'Agent-A')).overall['all']?.applied).toBe(4);
    });
  });
});

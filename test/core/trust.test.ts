// Earned trust in core (docs/trust.md): the standing a history earns, the trust factor of an
// assessment, its worked example, and the property that trust off (or no history) leaves every
// assessment exactly as the risk model alone gives it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EventType } from '../../src/core/events.js';
import { assessRisk, DEFAULT_RISK_CONFIG, type RiskSubject } from '../../src/core/risk.js';
import {
  DEFAULT_TRUST_CONFIG,
  NO_HISTORY,
  outcomesOf,
  TRUST_MODES,
  type TrustConfig,
  type TrustHistory,
  trustChanged,
  trustStanding,
} from '../../src/core/trust.js';
import { type Json, OPERATION_TYPES } from '../../src/core/types.js';

const enforce: TrustConfig = { ...DEFAULT_TRUST_CONFIG, mode: 'enforce' };
const history = (applied: number, failures = 0, clean_streak = failures === 0 ? applied : 0): TrustHistory => ({
  applied,
  failures,
  clean_streak,
});

// docs/trust.md, "A worked example": Agent-A, API_CHANGE, one DELETE of a SYSTEM_FLAG.
const example: RiskSubject = {
  agent_id: 'Agent-A',
  agent_risk: null,
  category: 'API_CHANGE',
  items: [{ operation_type: 'DELETE', target_type: 'SYSTEM_FLAG', target_id: 'flags.beta' }],
};

describe('trustStanding', () => {
  it('gives no credit below min_history, then one step per min_history clean applies, up to max_credit', () => {
    expect(trustStanding(history(19), enforce)).toMatchObject({ credit: 0, adjustment: 0 });
    expect(trustStanding(history(20), enforce)).toMatchObject({ credit: 5, adjustment: -5 });
    expect(trustStanding(history(39), enforce)).toMatchObject({ credit: 5, adjustment: -5 });
    expect(trustStanding(history(40), enforce)).toMatchObject({ credit: 10, adjustment: -10 });
    expect(trustStanding(history(500), enforce)).toMatchObject({ credit: 10, adjustment: -10 });
  });

  it('adds the penalty of every failure at once, up to max_penalty, and credits only the streak since', () => {
    expect(trustStanding(history(42, 1), enforce)).toEqual({
      adjustment: 10,
      credit: 0,
      penalty: 10,
      reason: '+10: 1 rolled back or failed in 30 days, 0 applied since',
    });
    expect(trustStanding(history(62, 1, 20), enforce)).toMatchObject({ credit: 5, penalty: 10, adjustment: 5 });
    expect(trustStanding(history(0, 9), enforce)).toMatchObject({ penalty: 30, adjustment: 30 });
  });

  it('calls more credit a promotion and less a demotion; a penalty alone is no change', () => {
    const standing = (credit: number, penalty = 0) => ({ adjustment: penalty - credit, credit, penalty, reason: '' });
    expect(trustChanged(standing(0), standing(5))).toBe('promotion');
    expect(trustChanged(standing(10), standing(0, 10))).toBe('demotion');
    expect(trustChanged(standing(10), standing(10))).toBeNull();
    expect(trustChanged(standing(0), standing(0, 10))).toBeNull();
  });
});

describe('assessRisk with trust: the worked example of docs/trust.md', () => {
  it.each([
    [NO_HISTORY, 0, 15, 31, 'MEDIUM', '0: 0 applied, 0 rolled back or failed in 30 days; credit from 20 clean applies'],
    [
      history(19),
      0,
      15,
      31,
      'MEDIUM',
      '0: 19 applied, 0 rolled back or failed in 30 days; credit from 20 clean applies',
    ],
    [history(20), -5, 10, 30, 'MEDIUM', '-5: 20 applied, 0 rolled back or failed in 30 days'],
    [history(42), -10, 5, 29, 'LOW', '-10: 42 applied, 0 rolled back or failed in 30 days'],
    [history(42, 1), 10, 25, 32, 'MEDIUM', '+10: 1 rolled back or failed in 30 days, 0 applied since'],
    [history(62, 1, 20), 5, 20, 32, 'MEDIUM', '+5: 1 rolled back or failed in 30 days, 20 applied since'],
  ] as const)('%j: %i → agent %i, score %i %s', (h, adjustment, agent, score, level, reason) => {
    const enforced = assessRisk(example, DEFAULT_RISK_CONFIG, { config: enforce, history: h });
    expect(enforced.factors.agent).toBe(15);
    expect(enforced.trust).toEqual({
      mode: 'enforce',
      adjustment,
      agent_factor: agent,
      reason,
      with_trust: { score, level, auto_approve: false, required_approvals: 1 },
    });
    expect([enforced.score, enforced.level]).toEqual([score, level]);
    const shadow = assessRisk(example, DEFAULT_RISK_CONFIG, {
      config: { ...enforce, mode: 'shadow' },
      history: h,
    });
    expect([shadow.score, shadow.level]).toEqual([31, 'MEDIUM']);
    expect(shadow.trust?.with_trust).toEqual(enforced.trust?.with_trust);
  });

  it('gives an exempt category or target type no adjustment', () => {
    const security = assessRisk({ ...example, category: 'SECURITY' }, DEFAULT_RISK_CONFIG, {
      config: enforce,
      history: history(42),
    });
    expect(security.trust).toMatchObject({ adjustment: 0, reason: '0: trust never applies to category SECURITY' });
    const target = assessRisk(
      { ...example, items: [...example.items, { operation_type: 'CREATE', target_type: 'SECURITY', target_id: 'x' }] },
      DEFAULT_RISK_CONFIG,
      { config: enforce, history: history(42) },
    );
    expect(target.trust?.reason).toBe('0: trust never applies to target type SECURITY');
  });
});

describe('outcomesOf', () => {
  const applied = { status: 'APPLIED' as const, applied_at: '2026-01-01T00:00:00.000Z' };
  it('reads each event as the outcome docs/trust.md names', () => {
    const events: { type: EventType; data: Json }[] = [
      { type: 'changeset.created' as const, data: {} },
      { type: 'changeset.approved' as const, data: { auto_approved: true } },
      { type: 'changeset.approved' as const, data: { required_approvals: 0 } },
      { type: 'changeset.approved' as const, data: { by: 'alice', steps: [] } },
      { type: 'changeset.rejected' as const, data: { by: 'alice', revoked: false } },
      { type: 'changeset.rejected' as const, data: { by: 'alice', revoked: true } },
      { type: 'changeset.rejected' as const, data: { closed: true } },
      { type: 'changeset.applied' as const, data: {} },
      { type: 'changeset.apply_failed' as const, data: {} },
      { type: 'changeset.rolled_back' as const, data: {} },
      { type: 'changeset.submitted' as const, data: {} },
    ];
    expect(outcomesOf(events, applied, '2026-01-01T00:01:30.000Z')).toEqual([
      { outcome: 'proposed', veto: false, after_apply_ms: null },
      { outcome: 'auto_approved', veto: false, after_apply_ms: null },
      { outcome: 'auto_approved', veto: false, after_apply_ms: null },
      { outcome: 'approved', veto: false, after_apply_ms: null },
      { outcome: 'rejected', veto: true, after_apply_ms: null },
      { outcome: 'rejected', veto: false, after_apply_ms: null },
      { outcome: 'rejected', veto: false, after_apply_ms: null },
      { outcome: 'applied', veto: false, after_apply_ms: null },
      { outcome: 'apply_failed', veto: false, after_apply_ms: null },
      { outcome: 'rolled_back', veto: false, after_apply_ms: 90_000 },
    ]);
    expect(
      outcomesOf([{ type: 'changeset.applied', data: {} }], { status: 'PARTIALLY_APPLIED', applied_at: null }, ''),
    ).toEqual([{ outcome: 'partially_applied', veto: false, after_apply_ms: null }]);
  });
});

describe('property: trust off, or no history, leaves the assessment exactly as it was', () => {
  const itemArb = fc.record({
    operation_type: fc.constantFrom(...OPERATION_TYPES),
    target_type: fc.constantFrom('UI_COMPONENT', 'CONFIG', 'SYSTEM_CONFIG', 'SECURITY', 'SECURITY_POLICY'),
    target_id: fc.constantFrom('ui.a', 'system.b', 'security.c', 'admin.d', 'app.e'),
  });
  const subjectArb = fc.record({
    agent_id: fc.constantFrom('Agent-A', 'Agent-B', 'Agent-C', 'Agent-D', 'deploy-bot'),
    agent_risk: fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }),
    category: fc.constantFrom('UI_LAYOUT', 'API_CHANGE', 'CONFIG_UPDATE', 'SECURITY', 'INFRASTRUCTURE', 'OTHER'),
    items: fc.array(itemArb, { minLength: 1, maxLength: 60 }),
  });
  const historyArb = fc
    .record({ applied: fc.nat(200), failures: fc.nat(10) })
    .chain(({ applied, failures }) =>
      fc.nat(applied).map((streak) => ({ applied, failures, clean_streak: failures === 0 ? applied : streak })),
    );
  const configArb = fc.record({
    mode: fc.constantFrom(...TRUST_MODES),
    window_days: fc.integer({ min: 1, max: 365 }),
    min_history: fc.integer({ min: 1, max: 50 }),
    credit_step: fc.integer({ min: 0, max: 100 }),
    max_credit: fc.integer({ min: 0, max: 100 }),
    penalty: fc.integer({ min: 0, max: 100 }),
    max_penalty: fc.integer({ min: 0, max: 100 }),
  });

  it('off: identical, key for key', () => {
    fc.assert(
      fc.property(subjectArb, historyArb, configArb, (subject, h, c) => {
        const config = { ...DEFAULT_TRUST_CONFIG, ...c, mode: 'off' as const };
        expect(assessRisk(subject, DEFAULT_RISK_CONFIG, { config, history: h })).toEqual(
          assessRisk(subject, DEFAULT_RISK_CONFIG),
        );
      }),
    );
  });

  it('no history: the same score, level and approvals in every mode, adjustment 0', () => {
    fc.assert(
      fc.property(subjectArb, configArb, (subject, c) => {
        const config = { ...DEFAULT_TRUST_CONFIG, ...c };
        const { trust, ...withTrust } = assessRisk(subject, DEFAULT_RISK_CONFIG, { config, history: NO_HISTORY });
        expect(withTrust).toEqual(assessRisk(subject, DEFAULT_RISK_CONFIG));
        if (config.mode !== 'off') expect(trust?.adjustment).toBe(0);
      }),
    );
  });

  it('enforce: the score is an integer, and exactly the risk model with the adjusted agent factor', () => {
    fc.assert(
      fc.property(subjectArb, historyArb, configArb, (subject, h, c) => {
        const config = { ...DEFAULT_TRUST_CONFIG, ...c, mode: 'enforce' as const };
        const assessed = assessRisk(subject, DEFAULT_RISK_CONFIG, { config, history: h });
        const agent = assessed.trust?.agent_factor ?? -1;
        expect(agent).toBeGreaterThanOrEqual(0);
        expect(agent).toBeLessThanOrEqual(100);
        const plain = assessRisk({ ...subject, agent_risk: agent }, DEFAULT_RISK_CONFIG);
        expect(Number.isInteger(assessed.score)).toBe(true);
        expect([assessed.score, assessed.level, assessed.auto_approve, assessed.required_approvals]).toEqual([
          plain.score,
          plain.level,
          plain.auto_approve,
          plain.required_approvals,
        ]);
      }),
    );
  });
});

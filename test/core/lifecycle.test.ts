import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../src/core/errors.js';
import {
  ACTIONS,
  type Action,
  type ActorContext,
  assertMayAct,
  assertStatusAllows,
  assertTransition,
  LIFECYCLE,
  mayAct,
} from '../../src/core/lifecycle.js';
import { STATUSES } from '../../src/core/types.js';
import { type Role, SPEC_LIFECYCLE, specAllows, transitionMessage } from '../helpers/spec-lifecycle.js';

const CREATOR = 'Agent-D';

interface ActorCase {
  kind: string;
  ctx: ActorContext;
  /** The roles of docs/design.md#lifecycle this principal holds on the change-set. */
  roles: Role[];
}

const actor = (id: string, groups: string[], isEligibleApprover: boolean, active = true): ActorContext => ({
  principal: { id, groups, active },
  createdBy: CREATOR,
  isEligibleApprover,
});

// isEligibleApprover is what core/approvals computes for a change-set created by Agent-D with
// approval_chain ['alice']: group admin is always eligible (docs/design.md#approvals), an operator is not.
const ACTORS: ActorCase[] = [
  { kind: 'creator', ctx: actor(CREATOR, [], false), roles: ['creator'] },
  { kind: 'eligible approver', ctx: actor('alice', [], true), roles: ['approver'] },
  { kind: 'ineligible principal', ctx: actor('bob', [], false), roles: [] },
  { kind: 'operator', ctx: actor('olga', ['operator'], false), roles: ['operator'] },
  { kind: 'admin', ctx: actor('root', ['admin'], true), roles: ['admin', 'approver'] },
  // Inactive principals may do nothing, whatever they would otherwise be.
  { kind: 'inactive creator', ctx: actor(CREATOR, ['admin', 'operator'], false, false), roles: [] },
  { kind: 'inactive admin', ctx: actor('root', ['admin', 'operator'], true, false), roles: [] },
];

function refusal(fn: () => void): LedgerError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LedgerError);
    return error as LedgerError;
  }
  throw new Error('expected a refusal, but the guard passed');
}

describe('the lifecycle table', () => {
  it('has exactly the actions of docs/design.md#lifecycle', () => {
    expect([...ACTIONS].sort()).toEqual(Object.keys(SPEC_LIFECYCLE).sort());
    expect(Object.keys(LIFECYCLE).sort()).toEqual(Object.keys(SPEC_LIFECYCLE).sort());
  });

  it.each(ACTIONS)('%s: statuses, outcomes and actors are those of docs/design.md#lifecycle', (action) => {
    const rule = LIFECYCLE[action];
    const spec = SPEC_LIFECYCLE[action];
    expect([...rule.from].sort()).toEqual([...spec.from].sort());
    expect([...rule.to].sort()).toEqual([...spec.to].sort());
    const who = rule.who.map((w) => w.replace(/^group:/, '')).sort();
    expect(who).toEqual([...spec.who].sort());
  });

  it('is frozen', () => {
    expect(Object.isFrozen(LIFECYCLE)).toBe(true);
  });
});

describe('assertStatusAllows: every action × every status', () => {
  const cases = ACTIONS.flatMap((action) =>
    STATUSES.map((status) => ({ action, status, allowed: SPEC_LIFECYCLE[action].from.includes(status) })),
  );

  it.each(cases.filter((c) => c.allowed))('allows $action while $status', ({ action, status }) => {
    expect(() => assertStatusAllows(action, status)).not.toThrow();
  });

  it.each(cases.filter((c) => !c.allowed))(
    'refuses $action while $status with 409 INVALID_TRANSITION naming both',
    ({ action, status }) => {
      const error = refusal(() => assertStatusAllows(action, status));
      expect(error).toMatchObject({
        code: 'INVALID_TRANSITION',
        statusCode: 409,
        message: transitionMessage(action, status),
      });
      const possible = ACTIONS.filter((a) => (SPEC_LIFECYCLE[a].from as readonly string[]).includes(status));
      expect(error.details).toEqual([
        { message: `current status ${status}`, status, allowed: [...SPEC_LIFECYCLE[action].from], actions: possible },
      ]);
      // The fix names what can be done instead, each with its request, for the change-set named.
      const fix = refusal(() => assertStatusAllows(action, status, { reference: 'CS-7' })).fix;
      for (const a of possible) expect(fix).toContain(`${a} (`);
      if (possible.includes('apply')) expect(fix).toContain('POST /api/ledger/changesets/CS-7/apply');
      expect(possible.length).toBeGreaterThan(0);
    },
  );

  it('tells an agent that submits an auto-approved change-set to apply it instead', () => {
    const error = refusal(() => assertStatusAllows('submit', 'APPROVED', { reference: 'CS-7', autoApproved: true }));
    expect(error.fix).toBe(
      'submit is not needed: this change-set was auto-approved; apply it (POST /api/ledger/changesets/CS-7/apply)',
    );
    expect(refusal(() => assertStatusAllows('submit', 'APPROVED', { reference: 'CS-7' })).fix).toMatch(
      /^from APPROVED the lifecycle allows: close .*; reject .*; apply \(POST \/api\/ledger\/changesets\/CS-7\/apply; by its creator, group operator, group admin\)$/,
    );
  });

  it('says what was expected, e.g. "status is PENDING_APPROVAL, apply needs APPROVED or PARTIALLY_APPLIED"', () => {
    expect(() => assertStatusAllows('apply', 'PENDING_APPROVAL')).toThrow(
      'status is PENDING_APPROVAL, apply needs APPROVED or PARTIALLY_APPLIED',
    );
  });
});

describe('mayAct and assertMayAct: every action × every kind of actor', () => {
  const cases = ACTIONS.flatMap((action) =>
    ACTORS.map((a) => ({ action, kind: a.kind, ctx: a.ctx, allowed: specAllows(action, a.roles) })),
  );

  it.each(cases.filter((c) => c.allowed))('lets the $kind $action', ({ action, ctx }) => {
    expect(mayAct(action, ctx)).toBe(true);
    expect(() => assertMayAct(action, ctx)).not.toThrow();
  });

  it.each(cases.filter((c) => !c.allowed))('refuses $action to the $kind with 403 FORBIDDEN', ({ action, ctx }) => {
    expect(mayAct(action, ctx)).toBe(false);
    const error = refusal(() => assertMayAct(action, ctx));
    expect(error).toMatchObject({ code: 'FORBIDDEN', statusCode: 403 });
    // The fix says whom to turn to: the creator by id, a group, an approver, or an admin.
    expect(error.fix).toMatch(new RegExp(`${CREATOR}|group|approval_steps|admin`));
  });

  it('names who may act in the refusal', () => {
    expect(() => assertMayAct('apply', actor('bob', [], false))).toThrow(
      'bob may not apply this change-set: apply is for its creator, group operator, group admin',
    );
    expect(() => assertMayAct('approve', actor('olga', ['operator'], false))).toThrow(
      'olga may not approve this change-set: approve is for an eligible approver',
    );
  });

  it('says an inactive principal is inactive', () => {
    expect(() => assertMayAct('submit', actor(CREATOR, [], false, false))).toThrow('principal Agent-D is inactive');
  });

  it('does not make group admin an approver by itself: eligibility comes from core/approvals', () => {
    expect(mayAct('approve', actor('root', ['admin'], false))).toBe(false);
  });
});

describe('separation of duties', () => {
  const decisions: Action[] = ['approve', 'reject'];
  const own = [
    { kind: 'creator', ctx: actor(CREATOR, [], true) },
    { kind: 'admin creator', ctx: { ...actor('root', ['admin'], true), createdBy: 'root' } },
    { kind: 'admin and operator creator', ctx: { ...actor('root', ['admin', 'operator'], true), createdBy: 'root' } },
  ];
  const cases = decisions.flatMap((action) => own.map((o) => ({ action, ...o })));

  it.each(cases)('nobody, not even the $kind, may $action their own change-set', ({ action, ctx }) => {
    // Even if a caller wrongly reports the creator as eligible, the table refuses.
    expect(mayAct(action, ctx)).toBe(false);
    expect(refusal(() => assertMayAct(action, ctx))).toMatchObject({
      code: 'FORBIDDEN',
      statusCode: 403,
      message: 'nobody may decide on their own change-set (separation of duties)',
    });
  });

  it('still lets an admin creator close, apply and roll back their own change-set', () => {
    const ctx = { ...actor('root', ['admin'], false), createdBy: 'root' };
    for (const action of ['close', 'apply', 'rollback', 'submit', 'edit'] as const) {
      expect(mayAct(action, ctx)).toBe(true);
    }
  });
});

describe('assertTransition: every action × status × actor', () => {
  const cases = ACTIONS.flatMap((action) =>
    STATUSES.flatMap((status) =>
      ACTORS.map((a) => {
        const statusOk = SPEC_LIFECYCLE[action].from.includes(status);
        const expected = !statusOk ? 'INVALID_TRANSITION' : specAllows(action, a.roles) ? 'ok' : 'FORBIDDEN';
        return { action, status, kind: a.kind, ctx: a.ctx, expected };
      }),
    ),
  );

  it.each(cases)('$action while $status by the $kind → $expected', ({ action, status, ctx, expected }) => {
    if (expected === 'ok') {
      expect(() => assertTransition(action, status, ctx)).not.toThrow();
      return;
    }
    const error = refusal(() => assertTransition(action, status, ctx));
    expect(error).toMatchObject({ code: expected, statusCode: expected === 'FORBIDDEN' ? 403 : 409 });
    if (expected === 'INVALID_TRANSITION') expect(error.message).toBe(transitionMessage(action, status));
  });

  it('checks the status before the actor: a stranger approving a draft gets 409, not 403', () => {
    expect(refusal(() => assertTransition('approve', 'DRAFT', actor('bob', [], false)))).toMatchObject({
      code: 'INVALID_TRANSITION',
    });
  });
});

// What the decision header says: why the reader is asked, their own decision, who else can decide,
// what the change-set waits for; a live change in words; a refusal said once; policies in a line.
import { describe, expect, it } from 'vitest';
import type { StepTally } from '../../src/core/approvals.js';
import { availableActions } from '../../src/web/lib/permissions.js';
import { summarizePolicies } from '../../src/web/lib/policy-summary.js';
import { describeRefusal } from '../../src/web/lib/refusal.js';
import {
  describeDeciders,
  describeLiveChange,
  describeMyDecision,
  myDecision,
  orList,
  otherDeciders,
  someNames,
  waitingFor,
  whyAsked,
} from '../../src/web/lib/review.js';
import type { Approval, ChangeSet, PolicyEvaluation } from '../../src/web/lib/types.js';

const steps = [
  { name: 'risk', count: 2, approvers: ['Agent-C', 'sec-lead', 'ops-lead', 'group:admin'] },
  { name: 'prod-freeze', count: 1, approvers: ['group:release'] },
];
const who = (id: string, groups: string[] = []) => ({ id, groups, active: true });
const approval = (approver_id: string, extra: Partial<Approval> = {}): Approval => ({
  id: `a-${approver_id}`,
  approver_id,
  decision: 'APPROVED',
  reason: null,
  content_hash: 'sha256:now',
  stale: false,
  decided_at: '2026-12-01T10:00:00Z',
  ...extra,
});
const subject = (extra: Partial<ChangeSet> = {}) =>
  ({
    status: 'PENDING_APPROVAL',
    created_by: 'Agent-C',
    approval_steps: steps,
    approvals: [],
    content_hash: 'sha256:now',
    auto_apply: false,
    required_approvals: 3,
    ...extra,
  }) as ChangeSet;
/** One of a step's deciders, as the change-set's `deciders` lists them. */
const person = (id: string, display_name: string | null, decision: 'APPROVED' | null = null) => ({
  id,
  display_name,
  kind: 'human' as const,
  decision,
});
const tally = (risk: number, freeze = 0, approvers: string[] = []): StepTally[] => [
  { name: 'risk', count: 2, received: risk, approvers },
  { name: 'prod-freeze', count: 1, received: freeze, approvers: [] },
];

describe('why I am asked', () => {
  it('names each step the reader can fill with how far it has come', () => {
    expect(whyAsked(subject(), tally(1), who('sec-lead'))).toEqual(['Risk review, 1 of 2']);
    expect(whyAsked(subject(), tally(0), who('root', ['admin', 'release']))).toEqual([
      'Risk review, 0 of 2',
      'Policy: prod-freeze, 0 of 1',
    ]);
    expect(whyAsked(subject(), tally(0), who('Agent-C'))).toEqual([]); // the author never decides
    expect(whyAsked(subject(), tally(0), who('bob'))).toEqual([]);
  });

  it("lists who else can decide each open step by name, from the server's deciders: not me; who decided apart", () => {
    const cs = subject({
      deciders: [
        {
          step: 'risk',
          count: 2,
          received: 1,
          eligible: [person('ops-lead', 'Ops Lead', 'APPROVED'), person('sec-lead', 'Sec')],
        },
        {
          step: 'prod-freeze',
          count: 1,
          received: 0,
          eligible: [person('ana', 'Ana Ruiz'), person('bo', 'Bo Chen'), person('cy', null)],
        },
      ],
    });
    const lines = otherDeciders(cs, who('sec-lead'));
    expect(lines).toEqual([
      { step: 'Risk review, 1 of 2', mine: true, undecided: [], decided: ['Ops Lead'] },
      { step: 'Policy: prod-freeze, 0 of 1', mine: false, undecided: ['Ana Ruiz', 'Bo Chen', 'cy'], decided: [] },
    ]);
    expect(lines.map(describeDeciders)).toEqual([
      'Only you; approved already: Ops Lead',
      'Eligible: Ana Ruiz, Bo Chen, cy',
    ]);
    const asAna = otherDeciders(cs, who('ana'));
    expect(describeDeciders(asAna[1]!)).toBe('Also eligible: Bo Chen, cy');
    expect(otherDeciders(subject({ deciders: [] }), who('ana'))).toEqual([]);
    const many = Array.from({ length: 9 }, (_, i) => `P${i}`);
    expect(someNames(many)).toEqual(['P0', 'P1', 'P2', 'P3', 'P4', '4 more']);
    expect(orList(['a', 'b', 'c'])).toBe('a, b or c');
    expect(orList(['a'])).toBe('a');
  });
});

describe('my decision', () => {
  it('is my current decision on the current content only, and Approve is no longer offered', () => {
    const mine = approval('sec-lead');
    const cs = subject({ approvals: [mine] });
    expect(myDecision(cs, who('sec-lead'))).toEqual(mine);
    expect(myDecision(subject({ approvals: [{ ...mine, stale: true }] }), who('sec-lead'))).toBeNull();
    expect(myDecision(subject({ approvals: [{ ...mine, content_hash: 'sha256:old' }] }), who('sec-lead'))).toBeNull();
    expect(availableActions(cs, who('sec-lead'))).toEqual(['reject']);
    expect(
      availableActions(subject({ approvals: [{ ...mine, content_hash: 'sha256:old' }] }), who('sec-lead')),
    ).toEqual(['approve', 'reject']);
    expect(describeMyDecision(mine, 'PENDING_APPROVAL')).toMatch(
      /You approved this content\. You can change your decision/,
    );
    expect(describeMyDecision(mine, 'APPLIED')).toMatch(/final/);
    expect(describeMyDecision({ ...mine, decision: 'REJECTED' }, 'REJECTED')).toMatch(/rejected.*final/);
  });
});

describe('what it waits for', () => {
  it('says the next step of the lifecycle and who may take it', () => {
    expect(waitingFor(subject({ status: 'DRAFT' }), tally(0))).toBe(
      'A draft. Waits for its author Agent-C to submit it.',
    );
    expect(waitingFor(subject(), tally(1, 0, ['sec-lead']))).toBe(
      'Waits for approvals: Risk review needs 1 more approval (ops-lead or members of admin); ' +
        'Policy: prod-freeze needs 1 more approval (members of release).',
    );
    // With the server's deciders: the people, by name, who may still approve; none left said so.
    const named = subject({
      deciders: [
        {
          step: 'risk',
          count: 2,
          received: 1,
          eligible: [person('sec-lead', 'Sec', 'APPROVED'), person('root', 'Administrator'), person('ana', 'Ana Ruiz')],
        },
        { step: 'prod-freeze', count: 1, received: 0, eligible: [] },
      ],
    });
    expect(waitingFor(named, tally(1, 0, ['sec-lead']))).toBe(
      'Waits for approvals: Risk review needs 1 more approval (Administrator or Ana Ruiz); ' +
        'Policy: prod-freeze needs 1 more approval (nobody left who may approve it).',
    );
    expect(waitingFor(subject({ status: 'APPROVED' }), tally(2, 1))).toBe(
      'Approved. Waits for its author Agent-C, members of operator or members of admin to apply it.',
    );
    expect(waitingFor(subject({ status: 'APPROVED', auto_apply: true }), tally(2, 1))).toMatch(/auto-apply/);
    expect(waitingFor(subject({ status: 'REJECTED' }), tally(0))).toBe(
      'Rejected. Waits for its author Agent-C to reopen it as a draft.',
    );
    expect(waitingFor(subject({ status: 'APPLIED' }), tally(2, 1))).toBe(
      'Applied; nothing waits. It may be rolled back by its author Agent-C, members of operator or members of admin.',
    );
  });
});

describe('a live change while a dialog is open', () => {
  it('says who did what and the status now', () => {
    const change_set = { id: 'u1', change_set_id: 'CS-1', title: 't', status: 'DRAFT' };
    expect(describeLiveChange({ type: 'changeset.withdrawn', actor: 'Agent-C', change_set, data: {} })).toBe(
      'Agent-C withdrew it; it is now draft.',
    );
    expect(
      describeLiveChange({
        type: 'changeset.approval_decision',
        actor: 'ops-lead',
        change_set: { ...change_set, status: 'REJECTED' },
        data: { decision: 'REJECTED' },
      }),
    ).toBe('ops-lead rejected it; it is now rejected.');
  });
});

describe('a refusal in one sentence', () => {
  it('tells a status refusal in words, drops details that repeat it, keeps the code for small print and the fix', () => {
    const refusal = describeRefusal({
      status: 409,
      code: 'INVALID_TRANSITION',
      message: 'status is DRAFT, approve needs PENDING_APPROVAL',
      details: [{ message: 'current status DRAFT', status: 'DRAFT', allowed: ['PENDING_APPROVAL'] }],
      fix: 'Reload the change-set and review it again.',
    });
    expect(refusal).toEqual({
      sentence: 'the change-set is draft now, and this needs it to be pending approval.',
      details: [{ message: 'current status DRAFT' }],
      fix: 'Reload the change-set and review it again.',
      code: 'HTTP 409 · INVALID_TRANSITION',
    });
    const repeated = describeRefusal({
      status: 400,
      code: 'VALIDATION_FAILED',
      message: 'title: must not be empty',
      details: [
        { path: '/title', message: 'must not be empty' },
        { path: '/items', message: 'at most 500' },
      ],
    });
    expect(repeated.details).toEqual([{ path: '/items', message: 'at most 500' }]);
    expect(repeated.fix).toBeNull();
  });
});

describe('policies in one line', () => {
  const evaluation = (policy: string, effect: PolicyEvaluation['effect'], matched: boolean, action = 'submit') => ({
    policy,
    action,
    effect,
    matched,
    message: null,
    evaluated_at: '2026-12-01T10:00:00Z',
  });
  it('counts policies evaluated and applied by effect; the others are set apart', () => {
    const summary = summarizePolicies([
      evaluation('freeze', 'require_approval', true),
      evaluation('big-change', 'warn', true),
      evaluation('no-delete', 'deny', false),
      evaluation('night', 'warn', false),
      evaluation('freeze', 'require_approval', true, 'apply'),
    ]);
    expect(summary.sentence).toBe('4 policies evaluated, 2 applied: 1 require approval, 1 warn');
    expect(summary.applied.map((e) => e.policy)).toEqual(['freeze', 'big-change', 'freeze']);
    expect(summary.rest.map((e) => e.policy)).toEqual(['no-delete', 'night']);
    expect(summarizePolicies([evaluation('only', 'deny', false)]).sentence).toBe('1 policy evaluated, 0 applied');
  });
});

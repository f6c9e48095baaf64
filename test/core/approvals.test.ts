import { describe, expect, it } from 'vitest';
import {
  ADMIN_GROUP,
  assignToSteps,
  DEFAULT_APPROVERS,
  isEligibleApprover,
  isEligibleForStep,
  requiredApprovals,
  riskStep,
  stepAudience,
  type TalliedDecision,
  tallyApprovals,
  unsatisfiableSteps,
} from '../../src/core/approvals.js';
import type { ApprovalStep, Decision } from '../../src/core/types.js';

const CREATOR = 'Agent-D';
const HASH = 'sha256:current';

const person = (id: string, groups: string[] = [], active = true) => ({ id, groups, active });
const step = (name: string, count: number, approvers: string[]): ApprovalStep => ({ name, count, approvers });
const decision = (
  approver: ReturnType<typeof person>,
  over: Partial<Omit<TalliedDecision, 'approver'>> = {},
): TalliedDecision => ({
  approver,
  decision: 'APPROVED' as Decision,
  content_hash: HASH,
  stale: false,
  ...over,
});

const alice = person('alice');
const bob = person('bob');
const carol = person('carol');
const root = person('root', [ADMIN_GROUP]);
const sam = person('sam', ['security']);

describe('riskStep', () => {
  it.each([
    ['UI_LAYOUT', [], ['Agent-A', 'Agent-B', 'group:admin']],
    ['API_CHANGE', ['alice'], ['Agent-C', 'alice', 'group:admin']],
    ['DESIGN_SYSTEM', [], ['Agent-B', 'group:admin']],
    ['INFRASTRUCTURE', ['bob'], ['Agent-C', 'Agent-D', 'bob', 'group:admin']],
    ['SECURITY', ['group:security'], ['Agent-C', 'group:security', 'group:admin']],
    ['INTEGRATION', [], ['Agent-D', 'group:admin']],
    ['CONFIG_UPDATE', ['alice'], ['alice', 'group:admin']],
    ['GENERAL', [], ['group:admin']],
  ])('%s with chain %j → %j', (category, chain, approvers) => {
    expect(riskStep(category, chain, 1, DEFAULT_APPROVERS)).toEqual({ name: 'risk', count: 1, approvers });
  });

  it('lists each approver once when the chain repeats the category map or names group admin', () => {
    const s = riskStep('API_CHANGE', ['Agent-C', 'alice', 'alice', 'group:admin'], 2, DEFAULT_APPROVERS);
    expect(s.approvers).toEqual(['Agent-C', 'alice', 'group:admin']);
    expect(s.count).toBe(2);
  });

  it('uses the configured map, not the defaults', () => {
    expect(riskStep('UI_LAYOUT', [], 0, { UI_LAYOUT: ['group:design'] }).approvers).toEqual([
      'group:design',
      'group:admin',
    ]);
  });
});

describe('eligibility', () => {
  const s = riskStep('SECURITY', ['alice', 'group:security'], 1, DEFAULT_APPROVERS);

  it.each([
    ['a category approver', person('Agent-C'), true],
    ['a principal on the approval chain', alice, true],
    ['a member of a group on the chain', sam, true],
    ['a member of group admin', root, true],
    ['a principal named nowhere', bob, false],
    ['a member of another group', person('olga', ['operator']), false],
    ['an id differing only in case', person('Alice'), false],
    ['a principal whose id looks like a group entry', person('security'), false],
    ['the creator, even on the chain', person(CREATOR), false],
    ['the creator, even as an admin', person(CREATOR, [ADMIN_GROUP, 'security']), false],
    ['an inactive chain member', person('alice', [], false), false],
    ['an inactive admin', person('root', [ADMIN_GROUP], false), false],
  ])('%s → %s', (_label, who, eligible) => {
    const withCreatorOnChain = { ...s, approvers: [...s.approvers, CREATOR] };
    expect(isEligibleForStep(withCreatorOnChain, who, CREATOR)).toBe(eligible);
    expect(isEligibleApprover([withCreatorOnChain], who, CREATOR)).toBe(eligible);
  });

  it('is eligible for the change-set when eligible for any step', () => {
    const steps = [step('risk', 1, ['alice']), step('security-review', 1, ['group:security'])];
    expect(isEligibleApprover(steps, sam, CREATOR)).toBe(true);
    expect(isEligibleApprover(steps, bob, CREATOR)).toBe(false);
  });
});

describe('requiredApprovals and stepAudience', () => {
  const steps = [step('risk', 2, ['Agent-C', 'group:admin']), step('security-review', 1, ['group:security', 'alice'])];

  it('requires the sum of the step counts', () => {
    expect(requiredApprovals(steps)).toBe(3);
    expect(requiredApprovals([])).toBe(0);
  });

  it('splits the entries into ids and groups', () => {
    expect(stepAudience(steps)).toEqual({ ids: ['Agent-C', 'alice'], groups: ['admin', 'security'] });
  });
});

describe('tallyApprovals', () => {
  const one = [step('risk', 1, ['alice', 'bob', 'group:admin'])];
  const two = [step('risk', 2, ['alice', 'bob', 'group:admin'])];

  it('counts a current APPROVED decision on the current content', () => {
    expect(tallyApprovals(one, [decision(alice)], HASH, CREATOR)).toEqual({
      steps: [{ name: 'risk', count: 1, received: 1, approvers: ['alice'] }],
      received: 1,
      required: 1,
      satisfied: true,
    });
  });

  it.each([
    ['a stale decision', decision(alice, { stale: true })],
    ['a decision on another content_hash', decision(alice, { content_hash: 'sha256:older' })],
    ['a REJECTED decision', decision(alice, { decision: 'REJECTED' })],
    ['a decision by a principal now inactive', decision(person('alice', [], false))],
    ['a decision by a principal not eligible', decision(carol)],
    ["the creator's own decision", decision(person(CREATOR, [ADMIN_GROUP]))],
  ])('does not count %s', (_label, record) => {
    const tally = tallyApprovals(one, [record], HASH, CREATOR);
    expect(tally).toMatchObject({ received: 0, required: 1, satisfied: false });
    expect(tally.steps[0]!.approvers).toEqual([]);
  });

  it('needs distinct principals for a count of 2', () => {
    expect(tallyApprovals(two, [decision(alice)], HASH, CREATOR)).toMatchObject({ received: 1, satisfied: false });
    expect(tallyApprovals(two, [decision(alice), decision(root)], HASH, CREATOR)).toMatchObject({
      received: 2,
      satisfied: true,
    });
  });

  it('ignores stale and foreign decisions beside counting ones', () => {
    const records = [
      decision(alice, { stale: true }),
      decision(bob, { content_hash: 'sha256:older' }),
      decision(root),
      decision(carol),
    ];
    expect(tallyApprovals(two, records, HASH, CREATOR)).toMatchObject({ received: 1, satisfied: false });
  });

  it('lets one principal fill only one step', () => {
    const steps = [step('risk', 1, ['alice']), step('second-look', 1, ['alice'])];
    const tally = tallyApprovals(steps, [decision(alice)], HASH, CREATOR);
    expect(tally).toMatchObject({ received: 1, required: 2, satisfied: false });
    expect(tally.steps.map((s) => s.received).sort()).toEqual([0, 1]);
  });

  it('reassigns a principal to another step when that fills both (matching, not first come first served)', () => {
    // alice could fill either step; bob only the risk step. Greedy assignment of alice to the risk
    // step (her first) would leave the security step empty.
    const steps = [step('risk', 1, ['alice', 'bob']), step('security-review', 1, ['alice'])];
    const tally = tallyApprovals(steps, [decision(alice), decision(bob)], HASH, CREATOR);
    expect(tally).toEqual({
      steps: [
        { name: 'risk', count: 1, received: 1, approvers: ['bob'] },
        { name: 'security-review', count: 1, received: 1, approvers: ['alice'] },
      ],
      received: 2,
      required: 2,
      satisfied: true,
    });
  });

  it('reassigns along a longer chain', () => {
    const steps = [step('a', 1, ['p1', 'p2']), step('b', 1, ['p1', 'p3']), step('c', 1, ['p1'])];
    const people = ['p1', 'p2', 'p3'].map((id) => decision(person(id)));
    const tally = tallyApprovals(steps, people, HASH, CREATOR);
    expect(tally.satisfied).toBe(true);
    expect(tally.steps.map((s) => s.approvers)).toEqual([['p2'], ['p3'], ['p1']]);
  });

  it('is satisfied with nothing when nothing is required', () => {
    expect(tallyApprovals([step('risk', 0, ['group:admin'])], [], HASH, CREATOR)).toMatchObject({
      received: 0,
      required: 0,
      satisfied: true,
    });
  });

  it('counts no more than each step asks for', () => {
    const tally = tallyApprovals(one, [decision(alice), decision(bob), decision(root)], HASH, CREATOR);
    expect(tally).toMatchObject({ received: 1, required: 1, satisfied: true });
  });
});

describe('assignToSteps', () => {
  it('gives each step its own approvers, steps in order', () => {
    const steps = [step('risk', 2, ['group:admin', 'alice']), step('security-review', 1, ['group:security'])];
    const tally = assignToSteps(steps, [sam, root, alice], CREATOR);
    expect(tally.map((s) => [s.name, s.count, s.received, [...s.approvers].sort()])).toEqual([
      ['risk', 2, 2, ['alice', 'root']],
      ['security-review', 1, 1, ['sam']],
    ]);
  });
});

describe('unsatisfiableSteps', () => {
  it('is empty when every step can be filled', () => {
    const steps = [step('risk', 2, ['alice', 'group:admin']), step('security-review', 1, ['group:security'])];
    expect(unsatisfiableSteps(steps, [alice, root, sam], CREATOR)).toEqual([]);
  });

  it('names a step with fewer eligible candidates than its count, with how many there are', () => {
    const steps = [step('risk', 1, ['alice']), step('security-review', 2, ['group:security'])];
    expect(unsatisfiableSteps(steps, [alice, sam], CREATOR)).toEqual([
      { name: 'security-review', count: 2, received: 1, approvers: ['sam'] },
    ]);
  });

  it('does not count the creator, even an admin, nor inactive principals', () => {
    const steps = [step('risk', 1, ['group:admin', 'alice'])];
    const candidates = [
      person(CREATOR, [ADMIN_GROUP]),
      person('alice', [], false),
      person('root', [ADMIN_GROUP], false),
    ];
    expect(unsatisfiableSteps(steps, candidates, CREATOR)).toMatchObject([{ name: 'risk', received: 0 }]);
  });

  it('does not let one candidate fill two steps', () => {
    const steps = [step('risk', 1, ['alice']), step('second-look', 1, ['alice'])];
    const short = unsatisfiableSteps(steps, [alice], CREATOR);
    expect(short).toHaveLength(1);
    expect(short[0]).toMatchObject({ count: 1, received: 0 });
  });

  it('finds the assignment that fills every step when one exists', () => {
    const steps = [step('risk', 1, ['alice', 'bob']), step('security-review', 1, ['alice'])];
    expect(unsatisfiableSteps(steps, [alice, bob], CREATOR)).toEqual([]);
  });

  it('has nothing to fill when nothing is required', () => {
    expect(unsatisfiableSteps([step('risk', 0, ['nobody'])], [], CREATOR)).toEqual([]);
  });
});

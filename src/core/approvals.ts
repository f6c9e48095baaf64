// Who may approve, and when a change-set has the approvals it needs.
// Steps are filled by distinct principals: one approval counts for one step only, so
// `required_approvals` (the sum of the step counts) is also the number of people needed.
import { defined } from './defined.js';
import type { ApprovalStep, Decision, Principal } from './types.js';

export type ApproverMap = Readonly<Record<string, readonly string[]>>;

/** The seed's category → approvers map. */
export const DEFAULT_APPROVERS: ApproverMap = Object.freeze({
  UI_LAYOUT: ['Agent-A', 'Agent-B'],
  API_CHANGE: ['Agent-C'],
  DESIGN_SYSTEM: ['Agent-B'],
  INFRASTRUCTURE: ['Agent-C', 'Agent-D'],
  SECURITY: ['Agent-C'],
  INTEGRATION: ['Agent-D'],
});

export const ADMIN_GROUP = 'admin';
/** An approver or recipient entry `group:NAME` names every member of group NAME. */
export const GROUP_PREFIX = 'group:';

/** The risk-based step: the category's approvers, the change-set's approval chain and group admin. */
export function riskStep(
  category: string,
  approvalChain: readonly string[],
  count: number,
  map: ApproverMap,
): ApprovalStep {
  const approvers = [
    ...((Object.hasOwn(map, category) ? map[category] : undefined) ?? []),
    ...approvalChain,
    `${GROUP_PREFIX}${ADMIN_GROUP}`,
  ];
  return { name: 'risk', count, approvers: [...new Set(approvers)] };
}

type Candidate = Pick<Principal, 'id' | 'groups' | 'active'>;

/** The group an approver or recipient entry names (`group:NAME` → NAME), or null for a principal id. */
export const groupOf = (entry: string): string | null =>
  entry.startsWith(GROUP_PREFIX) ? entry.slice(GROUP_PREFIX.length) : null;

export function matchesEntry(entry: string, principal: Pick<Principal, 'id' | 'groups'>): boolean {
  const group = groupOf(entry);
  return group === null ? entry === principal.id : principal.groups.includes(group);
}

/** Never the creator (admins included), never an inactive principal. */
export function isEligibleForStep(step: ApprovalStep, principal: Candidate, createdBy: string): boolean {
  if (!principal.active || principal.id === createdBy) return false;
  return step.approvers.some((entry) => matchesEntry(entry, principal));
}

export function isEligibleApprover(steps: readonly ApprovalStep[], principal: Candidate, createdBy: string): boolean {
  return steps.some((step) => isEligibleForStep(step, principal, createdBy));
}

export const requiredApprovals = (steps: readonly ApprovalStep[]): number =>
  steps.reduce((sum, step) => sum + step.count, 0);

/** The principal ids and groups named by the steps, to look up candidate approvers. */
export function stepAudience(steps: readonly ApprovalStep[]): { ids: string[]; groups: string[] } {
  const ids = new Set<string>();
  const groups = new Set<string>();
  for (const entry of steps.flatMap((s) => s.approvers)) {
    const group = groupOf(entry);
    if (group === null) ids.add(entry);
    else groups.add(group);
  }
  return { ids: [...ids], groups: [...groups] };
}

export interface StepTally {
  name: string;
  count: number;
  received: number;
  approvers: string[];
}

/**
 * Assigns principals to step slots (maximum bipartite matching, Kuhn's algorithm): a principal
 * fills at most one slot, and only of a step it is eligible for.
 */
export function assignToSteps(
  steps: readonly ApprovalStep[],
  people: readonly Candidate[],
  createdBy: string,
): StepTally[] {
  const slots: number[] = steps.flatMap((step, index) => Array.from({ length: step.count }, () => index));
  const slotOwner: (number | undefined)[] = slots.map(() => undefined);
  const slotSteps = steps.flatMap((step) => Array.from({ length: step.count }, () => step));
  const eligible = people.map((p) => slotSteps.map((step) => isEligibleForStep(step, p, createdBy)));
  const tryAssign = (person: number, seen: boolean[]): boolean => {
    for (let slot = 0; slot < slots.length; slot++) {
      if (!eligible[person]?.[slot] || seen[slot]) continue;
      seen[slot] = true;
      const owner = slotOwner[slot];
      if (owner === undefined || tryAssign(owner, seen)) {
        slotOwner[slot] = person;
        return true;
      }
    }
    return false;
  };
  for (let person = 0; person < people.length; person++)
    tryAssign(
      person,
      slots.map(() => false),
    );
  return steps.map((step, index) => {
    const owners = slotOwner.filter((owner, slot) => owner !== undefined && slots[slot] === index) as number[];
    return {
      name: step.name,
      count: step.count,
      received: owners.length,
      approvers: owners.map((o) => defined(people[o], 'assigned principal').id),
    };
  });
}

/** A decision as the tally counts it (the stored row is store/approvals.ts DecisionRecord). */
export interface TalliedDecision {
  approver: Candidate;
  decision: Decision;
  content_hash: string;
  stale: boolean;
}

export interface ApprovalTally {
  steps: StepTally[];
  received: number;
  required: number;
  satisfied: boolean;
}

/** Counts only current APPROVED decisions on the current content from principals still eligible. */
export function tallyApprovals(
  steps: readonly ApprovalStep[],
  decisions: readonly TalliedDecision[],
  contentHash: string,
  createdBy: string,
): ApprovalTally {
  const approving = decisions
    .filter((d) => !d.stale && d.decision === 'APPROVED' && d.content_hash === contentHash)
    .map((d) => d.approver);
  const tally = assignToSteps(steps, approving, createdBy);
  const received = tally.reduce((sum, step) => sum + step.received, 0);
  return {
    steps: tally,
    received,
    required: requiredApprovals(steps),
    satisfied: tally.every((s) => s.received >= s.count),
  };
}

/** The steps that cannot be filled even if every eligible candidate approved. */
export function unsatisfiableSteps(
  steps: readonly ApprovalStep[],
  candidates: readonly Candidate[],
  createdBy: string,
): StepTally[] {
  return assignToSteps(steps, candidates, createdBy).filter((step) => step.received < step.count);
}

// Who may approve, and when a change-set has the approvals it needs.
// Steps are filled by distinct principals: one approval counts for one step only, so
// `required_approvals` (the sum of the step counts) is also the number of people needed.
import type { StepDeciders } from './change-set-shape.js';
import { defined } from './defined.js';
import type { ApprovalStep, Decision, Principal, Status } from './types.js';

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

/** A principal as a step's deciders name it (store/principals.ts reads them): no contacts. */
export type DeciderCandidate = Pick<Principal, 'id' | 'kind' | 'display_name' | 'groups' | 'active'>;

/** What `stepDeciders` reads of the change-set. */
export interface DecidersSubject {
  status: Status;
  approval_steps: readonly ApprovalStep[];
  created_by: string;
  content_hash: string;
  approvals: readonly { approver_id: string; decision: Decision; content_hash: string; stale: boolean }[];
}

/** The only status in which decisions count toward the steps: the steps are open. */
export const DECIDING_STATUS: Status = 'PENDING_APPROVAL';

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Who may decide each step still short of approvals while the change-set awaits decisions (else
 * none): the candidates isEligibleForStep admits — the rule a decision is checked by, so never the
 * author nor an inactive principal — each with its decision on the current content, if any.
 * `candidates` holds at least every active principal the steps name (store/principals.ts
 * STEP_CANDIDATES); an approver not among them is inactive or named by no step, so eligible for none.
 */
export function stepDeciders(subject: DecidersSubject, candidates: readonly DeciderCandidate[]): StepDeciders[] {
  if (subject.status !== DECIDING_STATUS) return [];
  const byId = new Map(candidates.map((c) => [c.id, c]));
  const decisions = subject.approvals.map((a) => ({
    approver: byId.get(a.approver_id) ?? { id: a.approver_id, groups: [], active: false },
    decision: a.decision,
    content_hash: a.content_hash,
    stale: a.stale,
  }));
  const current = new Map(
    subject.approvals
      .filter((a) => !a.stale && a.content_hash === subject.content_hash)
      .map((a) => [a.approver_id, a.decision]),
  );
  const tally = tallyApprovals(subject.approval_steps, decisions, subject.content_hash, subject.created_by);
  const sorted = [...candidates].sort((a, b) => byCodePoint(a.id, b.id));
  return subject.approval_steps.flatMap((step, index) => {
    const received = tally.steps[index]?.received ?? 0;
    if (received >= step.count) return [];
    const eligible = sorted
      .filter((c) => isEligibleForStep(step, c, subject.created_by))
      .map((c) => ({ id: c.id, display_name: c.display_name, kind: c.kind, decision: current.get(c.id) ?? null }));
    return [{ step: step.name, count: step.count, received, eligible }];
  });
}

// What the decision header says, computed from the change-set the API returns and the same rules
// the server applies (src/core): why the signed-in principal is asked, what their decision counts
// toward, who else can decide, their own decision, and — when they can do nothing — what the
// change-set waits for. Pure: the page passes the step tally it counted (core/approvals.ts).
import { groupOf, isEligibleForStep, type StepTally } from '../../core/approvals.js';
import { type Action, type Actor, LIFECYCLE } from '../../core/lifecycle.js';
import type { Approval, ApprovalStep, ChangeSet, LedgerEvent, Principal } from './types.js';

type Viewer = Pick<Principal, 'id' | 'groups' | 'active'>;
type Subject = Pick<
  ChangeSet,
  'status' | 'created_by' | 'approval_steps' | 'approvals' | 'content_hash' | 'auto_apply' | 'required_approvals'
> &
  Partial<Pick<ChangeSet, 'deciders'>>;

export const stepTitle = (name: string): string => (name === 'risk' ? 'Risk review' : `Policy: ${name}`);

/** "sec-lead", "members of admin": an approver entry as a reader says it. */
export const describeEntry = (entry: string): string => {
  const group = groupOf(entry);
  return group === null ? entry : `members of ${group}`;
};

/** "a", "a or b", "a, b or c". */
export function orList(parts: readonly string[]): string {
  if (parts.length <= 1) return parts[0] ?? '';
  return `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`;
}

/** The viewer's own decision on the current content, if they have one (a stale one does not count). */
export function myDecision(changeSet: Pick<Subject, 'approvals' | 'content_hash'>, viewer: Viewer): Approval | null {
  return (
    changeSet.approvals.find(
      (a) => a.approver_id === viewer.id && !a.stale && a.content_hash === changeSet.content_hash,
    ) ?? null
  );
}

/** "Risk review, 1 of 2": the steps the viewer can fill, each with how many it has of how many it needs. */
export function whyAsked(
  changeSet: Pick<Subject, 'approval_steps' | 'created_by'>,
  tally: readonly StepTally[],
  viewer: Viewer,
): string[] {
  return changeSet.approval_steps.flatMap((step, index) => {
    if (step.count === 0 || !isEligibleForStep(step, viewer, changeSet.created_by)) return [];
    const received = Math.min(tally[index]?.received ?? 0, step.count);
    return [`${stepTitle(step.name)}, ${received} of ${step.count}`];
  });
}

/** One open step as the header says who may decide it. */
export interface StepDecidersLine {
  /** "Policy: security-review, 1 of 2". */
  step: string;
  /** Whether the viewer is among those who may decide it. */
  mine: boolean;
  /** Those who may still decide it, without the viewer, by name. */
  undecided: string[];
  /** Those who decided already, by name (their approval may count toward another step). */
  decided: string[];
}

const nameOf = (d: { id: string; display_name: string | null }): string => d.display_name ?? d.id;

/**
 * Who may decide each open step, as the server worked it out (the change-set's `deciders`: the
 * rule a decision is checked by, never the author or a deactivated principal), in names.
 */
export function otherDeciders(
  changeSet: Pick<ChangeSet, 'deciders'>,
  viewer: Pick<Principal, 'id'> | null,
): StepDecidersLine[] {
  return changeSet.deciders.map((step) => ({
    step: `${stepTitle(step.step)}, ${Math.min(step.received, step.count)} of ${step.count}`,
    mine: step.eligible.some((d) => d.id === viewer?.id),
    undecided: step.eligible.filter((d) => d.decision === null && d.id !== viewer?.id).map(nameOf),
    decided: step.eligible.filter((d) => d.decision !== null && d.id !== viewer?.id).map(nameOf),
  }));
}

/** At most `max` names, then "and N more". */
export function someNames(names: readonly string[], max = 6): string[] {
  return names.length <= max ? [...names] : [...names.slice(0, max - 1), `${names.length - max + 1} more`];
}

/** One open step's deciders as words: "Also eligible" and names, or "Only you"; then who approved already. */
export function decidersSentence(line: StepDecidersLine): { lead: string; names: string[]; decided: string[] } {
  const names = someNames(line.undecided);
  const decided = someNames(line.decided);
  if (names.length > 0) return { lead: line.mine ? 'Also eligible' : 'Eligible', names, decided };
  return { lead: line.mine ? 'Only you' : 'Nobody left to decide', names, decided };
}

/** "Also eligible: Ana Ruiz, Bo Chen", "Only you; approved already: Ana Ruiz". */
export function describeDeciders(line: StepDecidersLine): string {
  const { lead, names, decided } = decidersSentence(line);
  return `${lead}${names.length > 0 ? `: ${names.join(', ')}` : ''}${
    decided.length > 0 ? `; approved already: ${decided.join(', ')}` : ''
  }`;
}

const ACTOR_WORDS = (changeSet: Pick<Subject, 'created_by'>): Record<Exclude<Actor, 'approver'>, string> => ({
  creator: `its author ${changeSet.created_by}`,
  'group:admin': 'members of admin',
  'group:operator': 'members of operator',
});

/**
 * The steps still short of approvals: "Risk review needs 1 more approval (Ana Ruiz or Bo Chen)",
 * by name from the server's `deciders` (the people who may still decide it, none deactivated);
 * from the step's rule ("sec-lead or members of admin") when the change-set came without them.
 */
function missingSteps(
  changeSet: Pick<Subject, 'approval_steps' | 'created_by' | 'deciders'>,
  tally: readonly StepTally[],
): string[] {
  return changeSet.approval_steps.flatMap((step: ApprovalStep, index) => {
    const missing = step.count - (tally[index]?.received ?? 0);
    if (missing <= 0) return [];
    const deciders = changeSet.deciders?.find((d) => d.step === step.name);
    const who = deciders
      ? orList(someNames(deciders.eligible.filter((d) => d.decision === null).map(nameOf))) ||
        'nobody left who may approve it'
      : orList(
          step.approvers
            .filter((e) => e !== changeSet.created_by && !tally[index]?.approvers.includes(e))
            .map(describeEntry),
        );
    return [
      `${stepTitle(step.name)} needs ${missing} more approval${missing === 1 ? '' : 's'}${who ? ` (${who})` : ''}`,
    ];
  });
}

const ACTION_WORDS: Partial<Record<Action, string>> = {
  submit: 'submit it',
  apply: 'apply it',
  rollback: 'roll it back',
  reopen: 'reopen it as a draft',
};

/**
 * What the change-set waits for, for a viewer who can do nothing on it now: the next step of its
 * lifecycle and who may take it.
 */
export function waitingFor(changeSet: Subject, tally: readonly StepTally[]): string {
  const who = ACTOR_WORDS(changeSet);
  const whoMay = (action: Action) => orList(LIFECYCLE[action].who.flatMap((w) => (w === 'approver' ? [] : [who[w]])));
  const next = (action: Action) => `Waits for ${whoMay(action)} to ${ACTION_WORDS[action] ?? action}.`;
  switch (changeSet.status) {
    case 'DRAFT':
      return `A draft. ${next('submit')}`;
    case 'PENDING_APPROVAL': {
      const missing = missingSteps(changeSet, tally);
      return missing.length > 0
        ? `Waits for approvals: ${missing.join('; ')}.`
        : 'Has every approval it needs; the server is recording the result.';
    }
    case 'APPROVED':
      return changeSet.auto_apply ? 'Approved; it applies itself (auto-apply).' : `Approved. ${next('apply')}`;
    case 'PARTIALLY_APPLIED':
      return `Partly applied. Waits for ${whoMay('apply')} to apply the rest or roll it back.`;
    case 'APPLIED':
      return `Applied; nothing waits. It may be rolled back by ${whoMay('rollback')}.`;
    case 'REJECTED':
      return `Rejected. ${next('reopen')}`;
    case 'ROLLED_BACK':
      return `Rolled back. ${next('reopen')}`;
    default:
      return '';
  }
}

/** The sentence about the viewer's own decision: whether it can still change. */
export function describeMyDecision(decision: Approval, status: Subject['status']): string {
  const verb = decision.decision === 'APPROVED' ? 'approved' : 'rejected';
  if (decision.decision === 'REJECTED') return `You rejected this change-set. Your decision is final.`;
  if (status === 'PENDING_APPROVAL' || status === 'APPROVED')
    return `You ${verb} this content. You can change your decision to a rejection while it is not applied.`;
  return `You ${verb} this content. Your decision is final.`;
}

const EVENT_VERBS: Record<string, string> = {
  'changeset.submitted': 'submitted it',
  'changeset.approved': 'gave the last approval it needed',
  'changeset.rejected': 'rejected it',
  'changeset.withdrawn': 'withdrew it',
  'changeset.reopened': 'reopened it',
  'changeset.applied': 'applied it',
  'changeset.apply_failed': 'tried to apply it',
  'changeset.rolled_back': 'rolled it back',
};

/** Events that say something changed on the change-set (reminders and requests change nothing). */
export const changesChangeSet = (event: Pick<LedgerEvent, 'type'>): boolean =>
  event.type in EVENT_VERBS || event.type === 'changeset.approval_decision';

/** "Agent-C withdrew it; it is now draft.": what another principal did while a dialog was open. */
export function describeLiveChange(event: Pick<LedgerEvent, 'type' | 'actor' | 'change_set' | 'data'>): string {
  const data = (event.data && typeof event.data === 'object' && !Array.isArray(event.data) ? event.data : {}) as Record<
    string,
    unknown
  >;
  const verb =
    event.type === 'changeset.approval_decision'
      ? data['decision'] === 'REJECTED'
        ? 'rejected it'
        : 'approved it'
      : (EVENT_VERBS[event.type] ?? 'changed it');
  const status = event.change_set ? `; it is now ${event.change_set.status.toLowerCase().replaceAll('_', ' ')}` : '';
  return `${event.actor} ${verb}${status}.`;
}

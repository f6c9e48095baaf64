// The answer to a wait (GET /changesets/{id}/wait): how it ended, the outcome in one word, who
// decided and why, and the one thing to do next, as an agent can act on it (docs/agents.md).

import { EVENT_TYPES } from '../core/events.js';
import type { ChangeSet, Json, Status } from '../core/types.js';
import type { FeedEvent } from './event-feed.js';
import { WAITING, type WaitEnd, type WaitEndedBy, type WaitFor } from './waiters.js';

export const WAIT_OUTCOMES = [
  'approved',
  'rejected',
  'closed',
  'withdrawn',
  'not_submitted',
  'applied',
  'partially_applied',
  'apply_failed',
  'rolled_back',
] as const;
export type WaitOutcome = (typeof WAIT_OUTCOMES)[number];

export interface WaitReason {
  by: string;
  what: string;
  reason: string | null;
  at: string;
}

/** What to do next: submit, apply, reopen, wait (again) or none. */
export const WAIT_NEXT_ACTIONS = ['submit', 'apply', 'reopen', 'wait', 'none'] as const;

export interface WaitNext {
  action: (typeof WAIT_NEXT_ACTIONS)[number];
  method: 'GET' | 'POST' | null;
  path: string | null;
  hint: string;
}

export interface WaitAnswer {
  for: WaitFor;
  ended_by: WaitEndedBy;
  outcome: WaitOutcome | null;
  waited_ms: number;
  change_set: ChangeSet;
  /** The event that ended the wait, or the change-set's latest lifecycle event when its status did. */
  event: { [key: string]: Json } | null;
  reasons: WaitReason[];
  next: WaitNext;
}

const NOT_LIFECYCLE = new Set([
  'changeset.approval_requested',
  'changeset.approval_decision',
  'changeset.approval_reminder',
  'changeset.approval_escalated',
]);
/** The lifecycle events, the latest of which explains a status that ended a wait at once. */
export const LIFECYCLE_EVENTS: readonly string[] = EVENT_TYPES.filter(
  (type) => type.startsWith('changeset.') && !NOT_LIFECYCLE.has(type),
);

const dataOf = (event: FeedEvent | null): { [key: string]: Json } => {
  const data = event?.envelope['data'];
  return data && typeof data === 'object' && !Array.isArray(data) ? data : {};
};

const fromEvent = (event: FeedEvent): WaitOutcome | null => {
  const data = dataOf(event);
  switch (event.type) {
    case 'changeset.approved':
      return 'approved';
    case 'changeset.rejected':
      return data['closed'] === true ? 'closed' : 'rejected';
    case 'changeset.withdrawn':
      return 'withdrawn';
    case 'changeset.applied': {
      const change = event.envelope['change_set'] as { status?: Status } | null;
      return change?.status === 'PARTIALLY_APPLIED' ? 'partially_applied' : 'applied';
    }
    case 'changeset.apply_failed':
      return 'apply_failed';
    case 'changeset.rolled_back':
      return 'rolled_back';
    default:
      return null;
  }
};

function outcomeOf(waitFor: WaitFor, changeSet: ChangeSet, event: FeedEvent | null): WaitOutcome {
  // An event ends a wait although the status is again a waiting one (withdrawn then resubmitted,
  // a failed apply): it tells.
  if (WAITING[waitFor].includes(changeSet.status) && event) return fromEvent(event) ?? 'withdrawn';
  switch (changeSet.status) {
    case 'DRAFT':
      return event?.type === 'changeset.withdrawn' ? 'withdrawn' : 'not_submitted';
    case 'REJECTED':
      return event?.type === 'changeset.rejected' && dataOf(event)['closed'] === true ? 'closed' : 'rejected';
    case 'APPLIED':
      return waitFor === 'decision' ? 'approved' : 'applied';
    case 'PARTIALLY_APPLIED':
      return waitFor === 'decision' ? 'approved' : 'partially_applied';
    case 'ROLLED_BACK':
      return waitFor === 'decision' ? 'approved' : 'rolled_back';
    default:
      return 'approved';
  }
}

const text = (value: Json | undefined): string | null => (typeof value === 'string' ? value : null);

function reasonsOf(changeSet: ChangeSet, event: FeedEvent | null): WaitReason[] {
  const reasons: WaitReason[] = changeSet.approvals
    .filter((a) => !a.stale)
    .map((a) => ({ by: a.approver_id, what: a.decision.toLowerCase(), reason: a.reason, at: a.decided_at }));
  if (!event) return reasons;
  const outcome = fromEvent(event);
  if (!outcome) return reasons;
  const data = dataOf(event);
  const by = text(data['by']) ?? text(event.envelope['actor']) ?? '';
  // A decision by an approver is already there as their approval.
  if ((outcome === 'approved' || outcome === 'rejected') && reasons.some((r) => r.by === by && r.what === outcome))
    return reasons;
  const errors = Array.isArray(data['errors']) ? data['errors'] : [];
  const why =
    text(data['reason']) ??
    (errors.length > 0
      ? errors.map((e) => (e && typeof e === 'object' && !Array.isArray(e) ? text(e['message']) : null)).join('; ')
      : data['auto_approved'] === true || data['required_approvals'] === 0
        ? 'no approval was required'
        : null);
  reasons.push({ by, what: outcome, reason: why, at: text(event.envelope['occurred_at']) ?? '' });
  return reasons;
}

const NOT_YET: Record<WaitFor, string> = { decision: 'decided', apply: 'applied', rollback: 'rolled back' };

function nextOf(waitFor: WaitFor, end: WaitEnd, outcome: WaitOutcome | null): WaitNext {
  const { id, status } = end.changeSet;
  const at = `/api/ledger/changesets/${id}`;
  const post = (action: WaitNext['action'], hint: string): WaitNext => ({
    action,
    method: 'POST',
    path: `${at}/${action}`,
    hint,
  });
  const wait = (forWhat: WaitFor, hint: string): WaitNext => ({
    action: 'wait',
    method: 'GET',
    path: `${at}/wait?for=${forWhat}`,
    hint: `${hint}: GET ${at}/wait?for=${forWhat}`,
  });
  if (end.endedBy !== 'outcome') return wait(waitFor, `not ${NOT_YET[waitFor]} yet (status ${status}); wait again`);
  switch (status) {
    case 'DRAFT':
      return post('submit', `it is a draft: edit it if needed (PATCH ${at}), then submit it: POST ${at}/submit`);
    case 'PENDING_APPROVAL':
      return wait('decision', 'it was submitted again and awaits approval; wait for the decision');
    case 'APPROVED':
      return outcome === 'apply_failed'
        ? post(
            'apply',
            `the apply failed and nothing was applied (see reasons): fix the cause, then apply again: POST ${at}/apply (or close it: POST ${at}/close)`,
          )
        : post('apply', `apply it: POST ${at}/apply`);
    case 'REJECTED':
      return post(
        'reopen',
        `it was ${outcome === 'closed' ? 'closed' : 'rejected'} (see reasons): reopen it (POST ${at}/reopen), edit it to answer the reasons and submit it again`,
      );
    case 'PARTIALLY_APPLIED':
      return post(
        'apply',
        `some items were not applied (see items): apply again to finish: POST ${at}/apply (or roll back: POST ${at}/rollback)`,
      );
    case 'APPLIED':
      return {
        action: 'none',
        method: null,
        path: null,
        hint: `it is applied; nothing to do (to undo it: POST ${at}/rollback)`,
      };
    default:
      return {
        action: 'none',
        method: null,
        path: null,
        hint: `it was rolled back; to try again reopen it: POST ${at}/reopen`,
      };
  }
}

/**
 * The answer to a wait that ended as `end`. `latestEvent` is the change-set's latest lifecycle
 * event, looked up when the status alone ended the wait (to say who decided and why).
 */
export function waitAnswer(
  waitFor: WaitFor,
  end: WaitEnd,
  latestEvent: FeedEvent | null,
  waitedMs: number,
): WaitAnswer {
  const event = end.event ?? (end.endedBy === 'outcome' ? latestEvent : null);
  const outcome = end.endedBy === 'outcome' ? outcomeOf(waitFor, end.changeSet, end.event ?? latestEvent) : null;
  const explaining = event && fromEvent(event) ? event : null;
  return {
    for: waitFor,
    ended_by: end.endedBy,
    outcome,
    waited_ms: Math.round(waitedMs),
    change_set: end.changeSet,
    event: explaining ? explaining.envelope : null,
    reasons: end.endedBy === 'outcome' ? reasonsOf(end.changeSet, explaining) : [],
    next: nextOf(waitFor, end, outcome),
  };
}

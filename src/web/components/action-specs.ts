// What each action asks for and sends: the request the API expects (docs/design.md#http-api) and its wording.
import { type Api, seg } from '../lib/api.js';
import { words } from '../lib/format.js';
import type { DashboardAction } from '../lib/permissions.js';
import type { ApplyResult, ChangeSet, RollbackResult } from '../lib/types.js';

export type ApplyMode = 'AUTO' | 'ATOMIC' | 'BEST_EFFORT';

export interface ActionInput {
  reason: string;
  mode: ApplyMode;
  force: boolean;
}

export interface ActionSpec {
  label: string;
  /** "to …" in a sentence: "The server refused to roll back". */
  verb: string;
  title: string;
  explain: string;
  reason: 'none' | 'optional' | 'required';
  tone: 'primary' | 'danger' | 'plain';
  /** Sends the request; resolves with a sentence for the page, or rejects with the API's refusal. */
  run(api: Api, changeSet: ChangeSet, input: ActionInput): Promise<string>;
}

const path = (changeSet: ChangeSet, action: string) => `/changesets/${seg(changeSet.id)}/${action}`;
const reasonOf = (input: ActionInput) => (input.reason.trim() ? input.reason.trim() : null);
const statusSentence = (verb: string) => (result: ChangeSet) =>
  `${result.change_set_id} ${verb}; status is now ${words(result.status)}.`;

function transition(action: 'withdraw' | 'reopen' | 'close', verb: string) {
  return (api: Api, changeSet: ChangeSet, input: ActionInput) =>
    api.post<ChangeSet>(path(changeSet, action), { reason: reasonOf(input) }).then(statusSentence(verb));
}

/** Bound to the content the page showed: the server refuses (STALE_CONTENT) if it changed since. */
function decide(decision: 'APPROVED' | 'REJECTED', verb: string) {
  return (api: Api, changeSet: ChangeSet, input: ActionInput) =>
    api
      .post<ChangeSet>(path(changeSet, 'approve'), {
        decision,
        reason: reasonOf(input),
        content_hash: changeSet.content_hash,
      })
      .then(statusSentence(verb));
}

export const ACTION_SPECS: Record<DashboardAction, ActionSpec> = {
  approve: {
    verb: 'approve',
    label: 'Approve',
    title: 'Approve this change-set',
    explain: 'Your approval counts for the current content only; any edit needs a new review.',
    reason: 'optional',
    tone: 'primary',
    run: decide('APPROVED', 'approved by you'),
  },
  reject: {
    verb: 'reject',
    label: 'Reject',
    title: 'Reject this change-set',
    explain: 'A rejection from an eligible approver rejects the change-set at once (or revokes its approval).',
    reason: 'required',
    tone: 'danger',
    run: decide('REJECTED', 'rejected by you'),
  },
  submit: {
    verb: 'submit',
    label: 'Submit for review',
    title: 'Submit for review',
    explain: 'The approvers are notified; change-sets that need no approval become approved at once.',
    reason: 'none',
    tone: 'primary',
    run: (api, changeSet) => api.post<ChangeSet>(path(changeSet, 'submit')).then(statusSentence('submitted')),
  },
  apply: {
    verb: 'apply',
    label: 'Apply…',
    title: 'Apply this change-set',
    explain: 'Check the plan: it is what applying would do to the resources now.',
    reason: 'none',
    tone: 'primary',
    run: (api, changeSet, input) =>
      api
        .post<ApplyResult>(path(changeSet, 'apply'), { mode: input.mode })
        .then(
          (r) =>
            `${changeSet.change_set_id} ${r.success ? 'applied' : 'partly applied'} (${r.mode}): ${r.applied_items ?? 0} applied, ` +
            `${r.failed_items ?? 0} failed, ${r.skipped_items ?? 0} skipped; status is now ${words(r.status)}.`,
        ),
  },
  rollback: {
    verb: 'roll back',
    label: 'Roll back…',
    title: 'Roll back this change-set',
    explain: 'Every applied item is restored to its state before, in reverse order, all or nothing.',
    reason: 'required',
    tone: 'danger',
    run: (api, changeSet, input) =>
      api
        .post<RollbackResult>(path(changeSet, 'rollback'), {
          reason: reasonOf(input),
          ...(input.force ? { force: true } : {}),
        })
        .then((r) => `${changeSet.change_set_id} rolled back: ${r.rolled_back_items} item(s) restored.`),
  },
  withdraw: {
    verb: 'withdraw',
    label: 'Withdraw',
    title: 'Withdraw to draft',
    explain: 'The change-set goes back to draft; the approvals it has become stale.',
    reason: 'optional',
    tone: 'plain',
    run: transition('withdraw', 'withdrawn'),
  },
  reopen: {
    verb: 'reopen',
    label: 'Reopen',
    title: 'Reopen as a draft',
    explain: 'The change-set becomes a draft again, to edit and submit anew; earlier approvals become stale.',
    reason: 'optional',
    tone: 'plain',
    run: transition('reopen', 'reopened'),
  },
  close: {
    verb: 'close',
    label: 'Close',
    title: 'Close this change-set',
    explain: 'Closing rejects the change-set; its creator can reopen it later.',
    reason: 'optional',
    tone: 'danger',
    run: transition('close', 'closed'),
  },
};

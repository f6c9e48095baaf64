// The lifecycle is data: which action moves a change-set from which statuses, and who may act.
// Guards and refusal messages are derived from this table, so every adapter says the same thing.
import { groupOf } from './approvals.js';
import { LedgerError } from './errors.js';
import type { Principal, Status } from './types.js';

/** Who may take an action: the creator, members of a group, or an eligible approver of this change-set. */
export type Actor = 'creator' | 'approver' | 'group:admin' | 'group:operator';

export const ACTIONS = [
  'edit',
  'submit',
  'withdraw',
  'reopen',
  'close',
  'approve',
  'reject',
  'apply',
  'rollback',
] as const;
export type Action = (typeof ACTIONS)[number];

export interface Rule {
  readonly from: readonly Status[];
  /** The statuses the action can lead to; which one depends on the outcome (see the comments). */
  readonly to: readonly Status[];
  readonly who: readonly Actor[];
}

export const LIFECYCLE: Readonly<Record<Action, Rule>> = Object.freeze({
  edit: { from: ['DRAFT', 'REJECTED'], to: ['DRAFT', 'REJECTED'], who: ['creator'] },
  // → APPROVED when no approvals are required.
  submit: { from: ['DRAFT'], to: ['PENDING_APPROVAL', 'APPROVED'], who: ['creator'] },
  withdraw: { from: ['PENDING_APPROVAL'], to: ['DRAFT'], who: ['creator'] },
  reopen: { from: ['REJECTED', 'ROLLED_BACK'], to: ['DRAFT'], who: ['creator'] },
  close: { from: ['DRAFT', 'PENDING_APPROVAL', 'APPROVED'], to: ['REJECTED'], who: ['creator', 'group:admin'] },
  // An APPROVED decision; → APPROVED when the last required approval arrives.
  approve: { from: ['PENDING_APPROVAL'], to: ['PENDING_APPROVAL', 'APPROVED'], who: ['approver'] },
  // A REJECTED decision: a veto while pending, a revocation once approved.
  reject: { from: ['PENDING_APPROVAL', 'APPROVED'], to: ['REJECTED'], who: ['approver'] },
  apply: {
    from: ['APPROVED', 'PARTIALLY_APPLIED'],
    to: ['APPLIED', 'PARTIALLY_APPLIED', 'APPROVED'],
    who: ['creator', 'group:operator', 'group:admin'],
  },
  rollback: {
    from: ['APPLIED', 'PARTIALLY_APPLIED'],
    to: ['ROLLED_BACK'],
    who: ['creator', 'group:operator', 'group:admin'],
  },
} satisfies Record<Action, Rule>);

export interface ActorContext {
  principal: Pick<Principal, 'id' | 'groups' | 'active'>;
  createdBy: string;
  /** Whether the principal is an eligible approver of this change-set (core/approvals decides). */
  isEligibleApprover: boolean;
}

const describeActor: Record<Actor, string> = {
  creator: 'its creator',
  approver: 'an eligible approver',
  'group:admin': 'group admin',
  'group:operator': 'group operator',
};

export function mayAct(action: Action, ctx: ActorContext): boolean {
  const { principal } = ctx;
  if (!principal.active) return false;
  return LIFECYCLE[action].who.some((who) => {
    if (who === 'creator') return principal.id === ctx.createdBy;
    if (who === 'approver') return ctx.isEligibleApprover && principal.id !== ctx.createdBy;
    const group = groupOf(who);
    return group !== null && principal.groups.includes(group);
  });
}

/** The change-set an action is refused on, for the fix: how to name it, and how it got to its status. */
export interface Subject {
  /** Its change_set_id (or id), as the routes take it. */
  reference: string;
  /** APPROVED at create by the risk model, never submitted. */
  autoApproved?: boolean;
}

/** The request that takes each action (the approve route takes both decisions). */
export const ACTION_REQUESTS: Readonly<Record<Action, string>> = Object.freeze({
  edit: 'PATCH /api/ledger/changesets/{id}',
  submit: 'POST /api/ledger/changesets/{id}/submit',
  withdraw: 'POST /api/ledger/changesets/{id}/withdraw',
  reopen: 'POST /api/ledger/changesets/{id}/reopen',
  close: 'POST /api/ledger/changesets/{id}/close',
  approve: 'POST /api/ledger/changesets/{id}/approve with decision APPROVED',
  reject: 'POST /api/ledger/changesets/{id}/approve with decision REJECTED',
  apply: 'POST /api/ledger/changesets/{id}/apply',
  rollback: 'POST /api/ledger/changesets/{id}/rollback',
});

/** The actions the lifecycle allows from `status`, in the order of ACTIONS. */
export const actionsFrom = (status: Status): Action[] => ACTIONS.filter((a) => LIFECYCLE[a].from.includes(status));

const requestFor = (action: Action, subject?: Subject) =>
  ACTION_REQUESTS[action].replace('{id}', subject ? encodeURIComponent(subject.reference) : '{id}');

const whoMay = (action: Action) => LIFECYCLE[action].who.map((w) => describeActor[w]).join(', ');

/** What to do instead of `action` on a change-set in `status`: the actions its status allows, and who takes them. */
export function transitionFix(action: Action, status: Status, subject?: Subject): string {
  if (action === 'submit' && status === 'APPROVED' && subject?.autoApproved) {
    return `submit is not needed: this change-set was auto-approved; apply it (${requestFor('apply', subject)})`;
  }
  const allowed = actionsFrom(status);
  if (allowed.length === 0) return `no action is possible from ${status}: propose a new change-set instead`;
  const steps = allowed.map((a) => `${a} (${requestFor(a, subject)}; by ${whoMay(a)})`);
  return `from ${status} the lifecycle allows: ${steps.join('; ')}`;
}

/** Refuses with 409 when the status does not allow the action; the fix names the actions it does allow. */
export function assertStatusAllows(action: Action, status: Status, subject?: Subject): void {
  const rule = LIFECYCLE[action];
  if (rule.from.includes(status)) return;
  throw new LedgerError(
    'INVALID_TRANSITION',
    `status is ${status}, ${action} needs ${rule.from.join(' or ')}`,
    [{ message: `current status ${status}`, status, allowed: [...rule.from], actions: actionsFrom(status) }],
    { fix: transitionFix(action, status, subject) },
  );
}

/** Refuses with 403, saying who may take the action (the message) and who to turn to (the fix). */
export function assertMayAct(action: Action, ctx: ActorContext): void {
  if (mayAct(action, ctx)) return;
  const { id } = ctx.principal;
  if (!ctx.principal.active) {
    throw new LedgerError('FORBIDDEN', `principal ${id} is inactive`, undefined, {
      fix: `ask an admin to reactivate ${id} (PATCH /api/ledger/principals/${encodeURIComponent(id)} with active: true)`,
    });
  }
  if (action === 'approve' || action === 'reject') {
    if (id === ctx.createdBy) {
      throw new LedgerError(
        'FORBIDDEN',
        'nobody may decide on their own change-set (separation of duties)',
        undefined,
        {
          fix: 'another eligible approver must decide: the approvers of each step are in approval_steps',
        },
      );
    }
    throw new LedgerError(
      'FORBIDDEN',
      `${id} may not ${action} this change-set: ${action} is for ${whoMay(action)}`,
      undefined,
      {
        fix: `ask a principal named in the change-set's approval_steps (other than its creator ${ctx.createdBy}) to decide`,
      },
    );
  }
  const who = LIFECYCLE[action].who.map((w) =>
    w === 'creator' ? `its creator ${ctx.createdBy}` : `a member of ${describeActor[w]}`,
  );
  const groups = LIFECYCLE[action].who.flatMap((w) => groupOf(w) ?? []);
  const join = groups.length > 0 ? `, or ask an admin to add ${id} to group ${groups.join(' or ')}` : '';
  throw new LedgerError(
    'FORBIDDEN',
    `${id} may not ${action} this change-set: ${action} is for ${whoMay(action)}`,
    undefined,
    {
      fix: `ask ${who.join(' or ')} to ${action} it${join}`,
    },
  );
}

/**
 * The `to` column: an action may only leave the change-set in one of the statuses its rule names
 * (its status unchanged counts too: a failed apply stays APPROVED). Anything else is a bug in the
 * action, not a refusal: it throws before anything is written.
 */
export function assertLeadsTo(action: Action, status: Status): void {
  if (LIFECYCLE[action].to.includes(status)) return;
  throw new Error(`lifecycle: ${action} may lead to ${LIFECYCLE[action].to.join(' or ')}, not ${status}`);
}

/** The full guard: status first (409), then the actor (403). */
export function assertTransition(action: Action, status: Status, ctx: ActorContext, subject?: Subject): void {
  assertStatusAllows(action, status, subject);
  assertMayAct(action, ctx);
}

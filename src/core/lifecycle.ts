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

/** Refuses with 409 when the status does not allow the action. */
export function assertStatusAllows(action: Action, status: Status): void {
  const rule = LIFECYCLE[action];
  if (rule.from.includes(status)) return;
  throw new LedgerError('INVALID_TRANSITION', `status is ${status}, ${action} needs ${rule.from.join(' or ')}`, [
    { message: `current status ${status}`, status, allowed: [...rule.from] },
  ]);
}

/** Refuses with 403, saying who may take the action. */
export function assertMayAct(action: Action, ctx: ActorContext): void {
  if (mayAct(action, ctx)) return;
  if (!ctx.principal.active) throw new LedgerError('FORBIDDEN', `principal ${ctx.principal.id} is inactive`);
  if (action === 'approve' || action === 'reject') {
    if (ctx.principal.id === ctx.createdBy) {
      throw new LedgerError('FORBIDDEN', 'nobody may decide on their own change-set (separation of duties)');
    }
  }
  const who = LIFECYCLE[action].who.map((w) => describeActor[w]).join(', ');
  throw new LedgerError('FORBIDDEN', `${ctx.principal.id} may not ${action} this change-set: ${action} is for ${who}`);
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
export function assertTransition(action: Action, status: Status, ctx: ActorContext): void {
  assertStatusAllows(action, status);
  assertMayAct(action, ctx);
}

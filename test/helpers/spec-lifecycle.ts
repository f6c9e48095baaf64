// The lifecycle table of docs/design.md#lifecycle written out by hand, independently of src/core/lifecycle.ts, so the
// lifecycle tests compare the code with the specification rather than with itself.
import type { Action } from '../../src/core/lifecycle.js';
import type { Status } from '../../src/core/types.js';

/** The roles the table names. An admin is also an eligible approver (docs/design.md#approvals: members of group admin). */
export type Role = 'creator' | 'approver' | 'operator' | 'admin';

export interface SpecRule {
  /** The statuses the action needs. */
  from: readonly Status[];
  /** Every status the action can lead to. */
  to: readonly Status[];
  /** Who may take it. */
  who: readonly Role[];
}

export const SPEC_LIFECYCLE: Readonly<Record<Action, SpecRule>> = {
  // PATCH keeps the status: only DRAFT and REJECTED change-sets can be edited, by the creator.
  edit: { from: ['DRAFT', 'REJECTED'], to: ['DRAFT', 'REJECTED'], who: ['creator'] },
  submit: { from: ['DRAFT'], to: ['PENDING_APPROVAL', 'APPROVED'], who: ['creator'] },
  withdraw: { from: ['PENDING_APPROVAL'], to: ['DRAFT'], who: ['creator'] },
  reopen: { from: ['REJECTED', 'ROLLED_BACK'], to: ['DRAFT'], who: ['creator'] },
  close: { from: ['DRAFT', 'PENDING_APPROVAL', 'APPROVED'], to: ['REJECTED'], who: ['creator', 'admin'] },
  approve: { from: ['PENDING_APPROVAL'], to: ['PENDING_APPROVAL', 'APPROVED'], who: ['approver'] },
  reject: { from: ['PENDING_APPROVAL', 'APPROVED'], to: ['REJECTED'], who: ['approver'] },
  // A BEST_EFFORT apply that applies nothing leaves the status unchanged (docs/design.md#apply-and-rollback).
  apply: {
    from: ['APPROVED', 'PARTIALLY_APPLIED'],
    to: ['APPLIED', 'PARTIALLY_APPLIED', 'APPROVED'],
    who: ['creator', 'operator', 'admin'],
  },
  rollback: { from: ['APPLIED', 'PARTIALLY_APPLIED'], to: ['ROLLED_BACK'], who: ['creator', 'operator', 'admin'] },
};

/** Whether a principal holding `roles` may take `action`, per the table. */
export const specAllows = (action: Action, roles: readonly Role[]): boolean =>
  SPEC_LIFECYCLE[action].who.some((role) => roles.includes(role));

/** The refusal message docs/design.md#lifecycle asks for: the current status and the statuses the action needs. */
export const transitionMessage = (action: Action, status: Status): string =>
  `status is ${status}, ${action} needs ${SPEC_LIFECYCLE[action].from.join(' or ')}`;

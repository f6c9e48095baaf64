// Who may hand credentials to whom. Pure: engine/principals.ts and engine/enrolments.ts ask here.
// An admin holds the API's keys, but a person's token is theirs alone: an admin who could mint one
// for a reviewer could approve in the reviewer's name. So admins issue tokens for agents and
// services; a human redeems a one-time enrolment (docs/identity.md).
import { ADMIN_GROUP } from './approvals.js';
import { LedgerError } from './errors.js';
import type { Principal, PrincipalKind } from './types.js';

/** Managing principals and tokens is for active admins (FORBIDDEN otherwise). */
export function assertAdmin(actor: Principal): void {
  if (!actor.active || !actor.groups.includes(ADMIN_GROUP)) {
    throw new LedgerError('FORBIDDEN', `managing principals and tokens is for group ${ADMIN_GROUP}`);
  }
}

/** Why an admin may not issue a token for `principal`, or null when they may. */
export function adminTokenRefusal(
  principal: { id: string; kind: PrincipalKind },
  adminMayIssueHumanTokens: boolean,
): string | null {
  if (principal.kind !== 'human' || adminMayIssueHumanTokens) return null;
  return (
    `principal ${principal.id} is a human: admins issue tokens for agents and services only. ` +
    `Create an enrolment (POST /api/ledger/principals/${principal.id}/enrolments) and hand its code to ` +
    `${principal.id}, who redeems it (POST /api/ledger/enrolments/redeem) for their own token`
  );
}

/**
 * Why an admin may not change `principal`'s kind to `kind`, or null. A kind change to or from human
 * would launder credentials: a person turned agent for a moment gets an admin-issued token that
 * still works once they are a person again, and an agent's admin-held tokens would become a person's.
 */
export function kindChangeRefusal(
  principal: { id: string; kind: PrincipalKind },
  kind: PrincipalKind,
  adminMayIssueHumanTokens: boolean,
): string | null {
  if (kind === principal.kind || adminMayIssueHumanTokens) return null;
  if (principal.kind !== 'human' && kind !== 'human') return null;
  return (
    `principal ${principal.id} cannot change from ${principal.kind} to ${kind}: a person's credentials are ` +
    'their own, so nobody turns into or out of a human. Add a new principal of the kind needed'
  );
}

/** What a change of groups does to membership of group admin. */
export function adminMembershipChange(
  before: readonly string[],
  after: readonly string[],
): 'granted' | 'revoked' | null {
  const was = before.includes(ADMIN_GROUP);
  const is = after.includes(ADMIN_GROUP);
  return was === is ? null : is ? 'granted' : 'revoked';
}

/**
 * A principal's groups after a single sign-on: the groups `groupMap` manages (its values) follow
 * the provider's `claimed` groups; every other group stays as the admins set it. Order kept, no
 * duplicates. An empty map manages nothing.
 */
export function ssoGroups(
  current: readonly string[],
  claimed: readonly string[],
  groupMap: Readonly<Record<string, string>>,
): string[] {
  const managed = new Set(Object.values(groupMap));
  const granted = claimed.flatMap((value) => {
    const group = Object.hasOwn(groupMap, value) ? groupMap[value] : undefined;
    return group === undefined ? [] : [group];
  });
  return [...new Set([...current.filter((group) => !managed.has(group)), ...granted])];
}

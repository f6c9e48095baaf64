// Contact details (email, Slack id) are private: shown to admins and to the principal itself only.
// Everyone else sees a principal without them (the fields are left out, not nulled, so that
// "hidden" never reads as "none").
import { ADMIN_GROUP } from './approvals.js';
import type { Principal } from './types.js';

export type PrincipalSeen = Omit<Principal, 'email' | 'slack_id'> & Partial<Pick<Principal, 'email' | 'slack_id'>>;

/** Whether `viewer` may see the contact details of principal `subjectId`. */
export const maySeeContacts = (viewer: Principal, subjectId: string): boolean =>
  viewer.id === subjectId || (viewer.active && viewer.groups.includes(ADMIN_GROUP));

/** `principal` as `viewer` may see it. */
export function principalAsSeenBy(viewer: Principal, principal: Principal): PrincipalSeen {
  if (maySeeContacts(viewer, principal.id)) return principal;
  const { email: _email, slack_id: _slack, ...rest } = principal;
  return rest;
}

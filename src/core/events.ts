// The event types the outbox carries: what notification routes, event streams and webhooks may name.
export const EVENT_TYPES = [
  'changeset.created',
  'changeset.submitted',
  'changeset.approval_requested',
  'changeset.approval_decision',
  'changeset.approved',
  'changeset.rejected',
  'changeset.withdrawn',
  'changeset.reopened',
  'changeset.applied',
  'changeset.apply_failed',
  'changeset.rolled_back',
  'changeset.approval_reminder',
  'changeset.approval_escalated',
  // Credentials: routed by default to the principal concerned and to the other admins.
  'principal.admin_granted',
  'principal.admin_revoked',
  'token.issued',
  // Earned trust (docs/trust.md): an agent's adjustment moved, with the reason; routed by default to admins.
  'agent.trust_changed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

// Notification routing: which events go to whom over which channels. Pure: recipients are
// tokens here (approvers, creator, stakeholders, principal, principal ids, group:NAME), resolved by
// notify/.
import { Environment } from '@marcbachmann/cel-js';

export interface RouteDefinition {
  /** Event types, or '*' for all. */
  events: readonly string[];
  /** Optional CEL condition over `event` (the envelope) and `change_set` (its summary). */
  when?: string | undefined;
  /** approvers | creator | stakeholders | principal | principal ids | group:NAME */
  recipients: readonly string[];
  /** Channel names; default every channel. */
  channels?: readonly string[] | undefined;
}

export interface CompiledRoute {
  events: ReadonlySet<string> | '*';
  when: ((variables: { event: unknown; change_set: unknown }) => unknown) | null;
  recipients: readonly string[];
  channels: readonly string[] | '*';
}

/** The seed's notification matrix. */
export const DEFAULT_ROUTES: readonly RouteDefinition[] = Object.freeze([
  {
    // Critical or high-impact change-sets alert on creation.
    events: ['changeset.created'],
    when: 'change_set.priority == "CRITICAL" || change_set.category in ["SECURITY", "INFRASTRUCTURE"]',
    recipients: ['approvers'],
  },
  // Approval requests, reminders and escalations go to the principal each one names.
  {
    events: ['changeset.approval_requested', 'changeset.approval_reminder', 'changeset.approval_escalated'],
    recipients: ['approvers'],
  },
  // Decisions go to the creator; a rejection also to the other approvers.
  { events: ['changeset.approval_decision'], recipients: ['creator'] },
  { events: ['changeset.approval_decision'], when: 'event.data.decision == "REJECTED"', recipients: ['approvers'] },
  {
    events: ['changeset.approved', 'changeset.rejected', 'changeset.apply_failed', 'changeset.withdrawn'],
    recipients: ['creator'],
  },
  // Applies go to all stakeholders; rollbacks alert at high priority (admins too).
  { events: ['changeset.applied'], recipients: ['stakeholders'] },
  { events: ['changeset.rolled_back'], recipients: ['stakeholders', 'group:admin'] },
  // Credentials: a token issued (by an admin, an enrolment redeemed) and admin rights granted or
  // removed reach the principal concerned and the other admins, so nobody takes them unseen.
  {
    events: ['token.issued', 'principal.admin_granted', 'principal.admin_revoked'],
    recipients: ['principal', 'group:admin'],
  },
  // An agent promoted or demoted by its track record (docs/trust.md).
  { events: ['agent.trust_changed'], recipients: ['group:admin'] },
]);

const environment = new Environment().registerVariable('event', 'map').registerVariable('change_set', 'dyn');

export class RouteCompileError extends Error {
  override name = 'RouteCompileError';
}

export function compileRoutes(definitions: readonly RouteDefinition[]): CompiledRoute[] {
  return definitions.map((route, index) => {
    let when: CompiledRoute['when'] = null;
    if (route.when) {
      const checked = environment.check(route.when);
      if (!checked.valid) {
        const detail = (checked.error instanceof Error ? checked.error.message : String(checked.error)).split('\n')[0];
        throw new RouteCompileError(`notifications.routes[${index}].when does not compile: ${detail}`);
      }
      when = environment.parse(route.when) as unknown as CompiledRoute['when'];
    }
    return {
      events: route.events.includes('*') ? '*' : new Set(route.events),
      when,
      recipients: route.recipients,
      channels: route.channels ?? '*',
    };
  });
}

export interface RouteMatch {
  channels: readonly string[] | '*';
  recipients: readonly string[];
}

/** The routes an event takes. A `when` that fails to evaluate does not match (and is reported). */
export function matchRoutes(
  routes: readonly CompiledRoute[],
  envelope: { type: string; change_set: unknown },
  onError?: (route: number, error: unknown) => void,
): RouteMatch[] {
  const matches: RouteMatch[] = [];
  routes.forEach((route, index) => {
    if (route.events !== '*' && !route.events.has(envelope.type)) return;
    if (route.when) {
      try {
        if (route.when({ event: envelope, change_set: envelope.change_set ?? null }) !== true) return;
      } catch (error) {
        onError?.(index, error);
        return;
      }
    }
    matches.push({ channels: route.channels, recipients: route.recipients });
  });
  return matches;
}

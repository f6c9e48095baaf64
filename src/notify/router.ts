// Routing: each outbox event, once, into deliveries — one per webhook subscribed to it, and per
// matched route one per channel-wide channel or one per recipient with an address on the channel.
import { randomUUID } from 'node:crypto';
import { matchesEntry } from '../core/approvals.js';
import { type CompiledRoute, matchRoutes } from '../core/routing.js';
import type { ApprovalStep, Principal } from '../core/types.js';
import type { Db, Queryable } from '../store/db.js';
import {
  claimUnroutedEvents,
  insertDeliveries,
  markRouted,
  type NewDelivery,
  type UnroutedEvent,
} from '../store/deliveries.js';
import type { ChannelConfig } from './notify-config.js';

interface ChangeSetFacts {
  id: string;
  created_by: string;
  approval_chain: string[];
  approval_steps: ApprovalStep[];
  deciders: string[];
}

interface Directory {
  changeSets: Map<string, ChangeSetFacts>;
  principals: Principal[];
}

async function loadDirectory(tx: Queryable, events: readonly UnroutedEvent[]): Promise<Directory> {
  const ids = [...new Set(events.map((e) => e.change_set).filter((id): id is string => id !== null))];
  const { rows } = await tx.query<Omit<ChangeSetFacts, 'deciders'> & { deciders: string[] | null }>(
    `SELECT c.id, c.created_by, c.approval_chain, c.approval_steps,
       (SELECT array_agg(a.approver_id) FROM approvals a WHERE a.change_set = c.id AND NOT a.stale) AS deciders
     FROM change_sets c WHERE c.id = ANY($1::uuid[])`,
    [ids],
  );
  const changeSets = new Map(rows.map((row) => [row.id, { ...row, deciders: row.deciders ?? [] }]));
  // Few principals change often; one read per batch keeps recipient resolution in memory.
  const principals = (
    await tx.query<Principal>(
      'SELECT id, kind, display_name, email, slack_id, groups, risk, active FROM principals WHERE active',
    )
  ).rows;
  return { changeSets, principals };
}

function byEntry(entry: string, directory: Directory): Principal[] {
  return directory.principals.filter((p) => matchesEntry(entry, p));
}

/** Events addressed to one person: an approval request or reminder, or an escalation. */
const NAMES_ITS_RECIPIENT: ReadonlySet<string> = new Set([
  'changeset.approval_requested',
  'changeset.approval_reminder',
  'changeset.approval_escalated',
]);

/**
 * approvers | creator | stakeholders | principal | principal ids | group:NAME → active principals,
 * never the event's actor, except that `principal` (the one a credentials event is about) is told
 * even of its own act: a redeemed enrolment must reach its owner, whoever redeemed it.
 */
function resolveRecipients(tokens: readonly string[], event: UnroutedEvent, directory: Directory): Principal[] {
  const facts = event.change_set ? directory.changeSets.get(event.change_set) : undefined;
  const data = (event.envelope['data'] ?? {}) as Record<string, unknown>;
  // Only these events name the person they are for; a decision's approver_id is its actor.
  const named = NAMES_ITS_RECIPIENT.has(event.type)
    ? [data['approver_id'], data['recipient_id']].filter((v): v is string => typeof v === 'string')
    : [];
  const found = new Map<string, Principal>();
  let concerned: Principal[] = [];
  const add = (entries: readonly string[], except?: string) => {
    for (const entry of entries) for (const p of byEntry(entry, directory)) if (p.id !== except) found.set(p.id, p);
  };
  for (const token of tokens) {
    if (token === 'approvers') {
      // An event that names its approver (request, reminder, escalation) goes to that one only;
      // otherwise every eligible approver, never the creator.
      if (named.length > 0) add(named);
      else if (facts)
        add([...facts.approval_steps.flatMap((s) => s.approvers), ...facts.approval_chain], facts.created_by);
    } else if (token === 'creator') {
      if (facts) add([facts.created_by]);
    } else if (token === 'stakeholders') {
      if (facts) add([facts.created_by, ...facts.approval_chain, ...facts.deciders]);
    } else if (token === 'principal') {
      if (typeof data['principal_id'] === 'string') concerned = byEntry(data['principal_id'], directory);
    } else add([token]);
  }
  // Nobody is notified of their own action.
  found.delete(event.actor);
  for (const p of concerned) found.set(p.id, p);
  return [...found.values()];
}

function addressOf(channel: ChannelConfig, principal: Principal): string | null {
  if (channel.type === 'email') return principal.email;
  if (channel.type === 'slack') return principal.slack_id;
  return null;
}

/** Webhooks and event bus channels subscribe to event types; they are not routed to people. */
export const isSubscriber = (
  channel: ChannelConfig,
): channel is Extract<ChannelConfig, { type: 'webhook' | 'nats' | 'amqp' }> =>
  channel.type === 'webhook' || channel.type === 'nats' || channel.type === 'amqp';

/** Subscribers and channel-wide Slack posts get one delivery per event, whoever the recipients. */
export const isChannelWide = (channel: ChannelConfig): boolean =>
  isSubscriber(channel) || (channel.type === 'slack' && (channel.webhook_url !== null || channel.channel !== null));

function deliveriesFor(
  event: UnroutedEvent,
  routes: readonly CompiledRoute[],
  channels: Readonly<Record<string, ChannelConfig>>,
  directory: Directory,
): NewDelivery[] {
  const out = new Map<string, NewDelivery>();
  const add = (channel: string, recipient: string, address: string | null) => {
    const key = `${channel}\u0000${recipient}`;
    if (!out.has(key))
      out.set(key, { id: randomUUID(), event_id: event.id, event_type: event.type, channel, recipient, address });
  };
  for (const [name, channel] of Object.entries(channels)) {
    if (isSubscriber(channel) && (channel.events.includes('*') || channel.events.includes(event.type)))
      add(name, '', null);
  }
  for (const match of matchRoutes(routes, event.envelope as { type: string; change_set: unknown })) {
    const names =
      match.channels === '*'
        ? Object.entries(channels)
            .filter(([, channel]) => !isSubscriber(channel))
            .map(([name]) => name)
        : match.channels;
    const people = resolveRecipients(match.recipients, event, directory);
    for (const name of names) {
      const channel = channels[name];
      if (!channel) continue;
      if (isChannelWide(channel)) {
        if (!isSubscriber(channel)) add(name, '', null);
        continue;
      }
      for (const person of people) {
        const address = addressOf(channel, person);
        if (address) add(name, person.id, address);
      }
    }
  }
  return [...out.values()];
}

/** Routes one batch of unrouted events; returns how many events it routed. */
export async function routeEvents(
  db: Db,
  routing: { routes: readonly CompiledRoute[]; channels: Readonly<Record<string, ChannelConfig>> },
  now: () => Date,
  batch = 500,
): Promise<number> {
  return db.transaction(async (tx) => {
    const events = await claimUnroutedEvents(tx, batch);
    if (events.length === 0) return 0;
    const at = now().toISOString();
    if (Object.keys(routing.channels).length > 0) {
      const directory = await loadDirectory(tx, events);
      await insertDeliveries(
        tx,
        events.flatMap((event) => deliveriesFor(event, routing.routes, routing.channels, directory)),
        at,
      );
    }
    await markRouted(
      tx,
      events.map((e) => e.id),
      at,
    );
    return events.length;
  });
}

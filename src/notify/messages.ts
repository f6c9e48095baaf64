// What people read: per event type a subject, a plain-text and an HTML body with a link to the
// dashboard, and the Slack Block Kit message with its *Review* button. Pure: no I/O, no clock.
// Titles, reasons and error messages come from agents, so every interpolated value is escaped.
import type { Json } from '../core/types.js';

/** The change-set as an event's envelope carries it (not the API's list summary). */
export interface EventChangeSet {
  id: string;
  change_set_id: string;
  title: string;
  status: string;
  category: string;
  priority: string;
  agent_id: string;
}

/** The outbox envelope as a channel receives it. */
export interface EventEnvelope {
  id: number;
  type: string;
  occurred_at?: Json;
  actor?: Json;
  change_set?: Json;
  data?: Json;
  [key: string]: Json | undefined;
}

export interface HumanMessage {
  /** One line, e.g. "Approval Required". */
  headline: string;
  subject: string;
  /** `<dashboard_url>/changesets/<change-set uuid>`, or the dashboard when there is no change-set. */
  link: string;
  /** Label and value, in display order: Change-Set, Title, Agent, Category, Priority. */
  facts: [string, string][];
  /** Event-specific lines: who, why, deadlines, counts. */
  details: string[];
  text: string;
  html: string;
}

type Data = Record<string, Json>;

const text = (value: Json | undefined): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;

/** `2026-11-25T10:00:00.000Z` → `2026-11-25 10:00 UTC`; anything else as it is. */
export const formatTime = (iso: string): string =>
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(iso) && iso.endsWith('Z') ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : iso;

/** `Label: value`, or no line when there is no value. */
const line = (label: string, value: Json | undefined, format: (v: string) => string = (v) => v): string[] => {
  const shown = text(value);
  return shown === undefined || shown === '' ? [] : [`${label}: ${format(shown)}`];
};

const when = (condition: boolean, sentence: string): string[] => (condition ? [sentence] : []);

const deadline = (data: Data) => line('Approval deadline', data['approval_deadline'], formatTime);

const counts = (data: Data): string[] =>
  typeof data['received_approvals'] === 'number' && typeof data['required_approvals'] === 'number'
    ? [`Approvals: ${data['received_approvals']} of ${data['required_approvals']}`]
    : [];

const items = (data: Data): string[] =>
  typeof data['applied_items'] === 'number'
    ? [
        `Items: ${data['applied_items']} applied, ${data['failed_items'] ?? 0} failed, ${data['skipped_items'] ?? 0} skipped`,
      ]
    : [];

function applyErrors(data: Data): string[] {
  const errors = Array.isArray(data['errors']) ? data['errors'] : [];
  const shown = errors.slice(0, 5).map((e) => {
    const error = (e ?? {}) as Data;
    return `- ${text(error['key']) ?? text(error['item_id']) ?? 'item'}: ${text(error['message']) ?? text(error['code']) ?? 'failed'}`;
  });
  return errors.length > 5 ? [...shown, `- and ${errors.length - 5} more`] : shown;
}

interface Wording {
  headline: string;
  subject: (id: string, data: Data, cs: EventChangeSet) => string;
  /** The lines that say what happened beyond the headline. */
  details: (data: Data, actor: string | undefined) => string[];
}

/** Per event type: what a person reads. */
const WORDING: Record<string, Wording> = {
  'changeset.created': {
    headline: 'New change-set',
    subject: (id) => `New change-set: ${id}`,
    details: (data, actor) => {
      const risk = (data['risk'] ?? {}) as Data;
      return [
        ...line('Created by', actor),
        ...line('Risk', text(risk['level']) && `${risk['level']} (${risk['score']})`),
      ];
    },
  },
  'changeset.submitted': {
    headline: 'Submitted for approval',
    subject: (id) => `Submitted for approval: ${id}`,
    details: (data) => [...line('Approvals required', data['required_approvals']), ...deadline(data)],
  },
  'changeset.approval_requested': {
    headline: 'Approval Required',
    subject: (id) => `Approval Required: ${id}`,
    details: (data, actor) => [
      ...line('Submitted by', actor),
      ...line('Requested from', data['approver_id']),
      ...deadline(data),
    ],
  },
  'changeset.approval_decision': {
    headline: 'Approval decision',
    subject: (id, data) =>
      `${data['decision'] === 'REJECTED' ? 'Rejected' : 'Approved'} by ${text(data['approver_id']) ?? 'an approver'}: ${id}`,
    details: (data) => [
      ...line('Decision', text(data['decision']) && `${data['decision']} by ${data['approver_id']}`),
      ...line('Reason', data['reason']),
      ...counts(data),
    ],
  },
  'changeset.approved': {
    headline: 'Approved',
    subject: (id) => `Approved: ${id}`,
    details: (data) =>
      data['auto_approved'] === true
        ? ['Auto-approved: the risk assessment needs no approval']
        : data['required_approvals'] === 0
          ? ['No approval required']
          : line('Approved by', data['by']),
  },
  'changeset.rejected': {
    headline: 'Rejected',
    subject: (id) => `Rejected: ${id}`,
    details: (data, actor) => [
      ...(data['expired'] === true
        ? ['Expired: the approval deadline passed']
        : line(data['closed'] === true ? 'Closed by' : 'Rejected by', data['by'] ?? actor)),
      ...when(data['revoked'] === true, 'An earlier approval was revoked'),
      ...line('Was', data['closed'] === true ? data['from'] : undefined),
      ...line('Reason', data['reason']),
    ],
  },
  'changeset.withdrawn': {
    headline: 'Withdrawn',
    subject: (id) => `Withdrawn: ${id}`,
    details: (data, actor) => [...line('By', actor), ...line('Reason', data['reason'])],
  },
  'changeset.reopened': {
    headline: 'Reopened',
    subject: (id) => `Reopened: ${id}`,
    details: (data, actor) => [...line('By', actor), ...line('Was', data['from']), ...line('Reason', data['reason'])],
  },
  'changeset.applied': {
    headline: 'Applied',
    subject: (id, _data, cs) => `${cs.status === 'PARTIALLY_APPLIED' ? 'Partially applied' : 'Applied'}: ${id}`,
    details: (data, actor) => [...line('Applied by', actor), ...line('Mode', data['mode']), ...items(data)],
  },
  'changeset.apply_failed': {
    headline: 'Apply failed',
    subject: (id) => `Apply failed: ${id}`,
    details: (data, actor) => [
      ...line('Applied by', actor),
      ...line('Mode', data['mode']),
      ...items(data),
      ...applyErrors(data),
    ],
  },
  'changeset.rolled_back': {
    headline: 'Rolled back',
    subject: (id) => `Rolled back: ${id}`,
    details: (data, actor) => [
      ...line('Rolled back by', actor),
      ...line('Reason', data['reason']),
      ...line('Items rolled back', data['rolled_back_items']),
      ...when(data['force'] === true, 'Forced over later changes'),
    ],
  },
  'changeset.approval_reminder': {
    headline: 'Approval reminder',
    subject: (id) => `Reminder: approval of ${id} is due`,
    details: (data) => [...line('Approver', data['approver_id']), ...deadline(data)],
  },
  'changeset.approval_escalated': {
    headline: 'Approval escalated',
    subject: (id) => `Escalated: approval of ${id} is overdue`,
    details: (data) => [...line('Escalated to', data['recipient_id']), ...deadline(data), ...counts(data)],
  },
  'token.issued': {
    headline: 'Token issued',
    subject: (id) => id,
    details: (data, actor) => [
      ...line('Principal', data['principal_id']),
      ...line('Token', data['token_id']),
      ...line('Issued by', data['via'] === 'enrolment' ? `enrolment redeemed as ${actor}` : actor),
      'If you did not expect this token, revoke it (DELETE /api/ledger/tokens/<token>) and tell an admin.',
    ],
  },
  'principal.admin_granted': {
    headline: 'Admin rights granted',
    subject: (id) => id,
    details: (data, actor) => [...line('Principal', data['principal_id']), ...line('Granted by', actor)],
  },
  'principal.admin_revoked': {
    headline: 'Admin rights removed',
    subject: (id) => id,
    details: (data, actor) => [...line('Principal', data['principal_id']), ...line('Removed by', actor)],
  },
  // docs/trust.md: the change-set is the one whose outcome moved the agent's trust.
  'agent.trust_changed': {
    headline: 'Agent trust changed',
    subject: (id, data) =>
      `${data['change'] === 'promotion' ? 'Trust raised' : 'Trust lowered'} for ${text(data['agent_id']) ?? ''}: ${id}`,
    details: (data) => [
      ...line('Agent', data['agent_id']),
      ...line('Credit', `${text(data['from']) ?? ''} → ${text(data['to']) ?? ''} (${text(data['mode']) ?? ''})`),
      ...line('Reason', data['reason']),
    ],
  },
};

/** The subject of an event without a change-set (credentials): said of the principal concerned. */
const PRINCIPAL_SUBJECTS: Record<string, (principal: string) => string> = {
  'token.issued': (p) => `Token issued for ${p}`,
  'principal.admin_granted': (p) => `Admin rights granted to ${p}`,
  'principal.admin_revoked': (p) => `Admin rights removed from ${p}`,
};

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);

/** Slack's rule: only &, < and > are control characters in message text. */
export const escapeSlack = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function changeSetLink(dashboardUrl: string, changeSet: EventChangeSet | null): string {
  const base = dashboardUrl.replace(/\/+$/, '');
  return changeSet ? `${base}/changesets/${encodeURIComponent(changeSet.id)}` : base;
}

const isObject = (value: Json | undefined): value is { [key: string]: Json } =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function eventChangeSet(value: Json | undefined): EventChangeSet | null {
  if (!isObject(value)) return null;
  const field = (key: string) => text(value[key]) ?? '';
  return {
    id: field('id'),
    change_set_id: field('change_set_id'),
    title: field('title'),
    status: field('status'),
    category: field('category'),
    priority: field('priority'),
    agent_id: field('agent_id'),
  };
}

function plainText(headline: string, facts: [string, string][], details: string[], link: string): string {
  const blocks = [
    headline,
    facts.map(([label, value]) => `${label}: ${value}`).join('\n'),
    details.join('\n'),
    `Review: ${link}`,
  ];
  return `${blocks.filter((b) => b !== '').join('\n\n')}\n`;
}

function htmlBody(message: Omit<HumanMessage, 'text' | 'html'>, changeSetId: string | null): string {
  const rows = message.facts
    .map(
      ([label, value]) =>
        `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`,
    )
    .join('');
  const details = message.details.map((d) => escapeHtml(d)).join('<br>');
  return [
    '<!doctype html><html><body style="font-family:sans-serif;font-size:14px">',
    `<h2>${escapeHtml(message.headline)}</h2>`,
    rows ? `<table>${rows}</table>` : '',
    details ? `<p>${details}</p>` : '',
    `<p><a href="${escapeHtml(message.link)}">Review${changeSetId ? ` ${escapeHtml(changeSetId)}` : ''}</a></p>`,
    '</body></html>',
  ].join('\n');
}

/** The human message for one event envelope; an unknown type gets its type as the headline. */
export function renderMessage(envelope: EventEnvelope, options: { dashboardUrl: string }): HumanMessage {
  const cs = eventChangeSet(envelope.change_set);
  const data = (isObject(envelope.data) ? envelope.data : {}) as Data;
  const wording = WORDING[envelope.type];
  const headline = wording?.headline ?? envelope.type;
  const concerned = text(data['principal_id']);
  const principalSubject = PRINCIPAL_SUBJECTS[envelope.type];
  const subject = cs
    ? (wording?.subject(cs.change_set_id, data, cs) ?? `${envelope.type}: ${cs.change_set_id}`)
    : concerned !== undefined && principalSubject
      ? principalSubject(concerned)
      : headline;
  const facts: [string, string][] = cs
    ? [
        ['Change-Set', cs.change_set_id],
        ['Title', cs.title],
        ['Agent', cs.agent_id],
        ['Category', cs.category],
        ['Priority', cs.priority],
      ]
    : [];
  const actor = text(envelope.actor);
  const details = wording ? wording.details(data, actor) : line('By', actor);
  const link = changeSetLink(options.dashboardUrl, cs);
  const base = { headline, subject, link, facts, details };
  return { ...base, text: plainText(headline, facts, details, link), html: htmlBody(base, cs?.change_set_id ?? null) };
}

export interface SlackPayload {
  text: string;
  blocks: Record<string, unknown>[];
}

// Slack refuses a section whose text passes 3000 characters or a field past 2000; a cut never
// leaves half an entity behind.
function clipSlack(escaped: string, max: number): string {
  if (escaped.length <= max) return escaped;
  return `${escaped.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '')}…`;
}

/** What an Approve / Reject button binds a decision to: the change-set and the content the message describes. */
export interface DecisionBinding {
  /** The change-set's internal id. */
  id: string;
  content_hash: string;
}

/** The `action_id`s of the decision buttons, and the `block_id` of the actions block holding them. */
export const SLACK_ACTIONS = {
  block: 'changeledger_decision',
  approve: 'changeledger_approve',
  reject: 'changeledger_reject',
} as const;

/** Events that ask a person to decide, whose Slack message may carry Approve / Reject buttons. */
const DECISION_REQUESTS = new Set(['changeset.approval_requested', 'changeset.approval_reminder']);

/** The binding an approval request's buttons carry; null for other events or without a content hash. */
export function decisionBindingOf(envelope: EventEnvelope): DecisionBinding | null {
  if (!DECISION_REQUESTS.has(envelope.type)) return null;
  const id = isObject(envelope.change_set) ? text(envelope.change_set['id']) : undefined;
  const hash = isObject(envelope.data) ? text(envelope.data['content_hash']) : undefined;
  return id && hash ? { id, content_hash: hash } : null;
}

function decisionButtons(binding: DecisionBinding): Record<string, unknown>[] {
  const value = JSON.stringify(binding);
  return [
    {
      type: 'button',
      action_id: SLACK_ACTIONS.approve,
      style: 'primary',
      text: { type: 'plain_text', text: 'Approve' },
      value,
      confirm: {
        title: { type: 'plain_text', text: 'Approve this change-set?' },
        text: { type: 'mrkdwn', text: 'You approve the content this message describes.' },
        confirm: { type: 'plain_text', text: 'Approve' },
        deny: { type: 'plain_text', text: 'Cancel' },
      },
    },
    {
      type: 'button',
      action_id: SLACK_ACTIONS.reject,
      style: 'danger',
      text: { type: 'plain_text', text: 'Reject' },
      value,
    },
  ];
}

/**
 * The Block Kit message: headline and details, the facts as fields, and a *Review* button; with a
 * decision binding also Approve and Reject buttons whose value is that binding.
 */
export function slackPayload(message: HumanMessage, binding?: DecisionBinding | null): SlackPayload {
  const section = clipSlack(
    [`*${escapeSlack(message.headline)}*`, ...message.details.map(escapeSlack)].join('\n'),
    3000,
  );
  const fields = message.facts.map(([label, value]) => ({
    type: 'mrkdwn',
    text: clipSlack(`*${label}:*\n${escapeSlack(value)}`, 2000),
  }));
  return {
    text: escapeSlack(message.subject),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: section }, ...(fields.length > 0 ? { fields } : {}) },
      {
        type: 'actions',
        ...(binding ? { block_id: SLACK_ACTIONS.block } : {}),
        elements: [
          { type: 'button', text: { type: 'plain_text', text: 'Review' }, url: message.link },
          ...(binding ? decisionButtons(binding) : []),
        ],
      },
    ],
  };
}

// The human side of events: subjects per type, bodies with the dashboard link, escaping of what
// agents wrote, and the Slack Block Kit message.
import { describe, expect, it } from 'vitest';
import {
  decisionBindingOf,
  type EventEnvelope,
  escapeHtml,
  escapeSlack,
  formatTime,
  renderMessage,
  slackPayload,
} from '../../src/notify/messages.js';

const DASHBOARD = 'https://ledger.example.com';
const UUID = '0b5f1c3e-8a1e-4f8e-9b3a-2d4c6e8f0a1b';

function envelope(
  type: string,
  data: Record<string, unknown> = {},
  changeSet: Record<string, unknown> = {},
): EventEnvelope {
  return {
    id: 7,
    type,
    occurred_at: '2026-11-25T10:00:00.000Z',
    actor: 'Agent-D',
    change_set: {
      id: UUID,
      change_set_id: 'CS-42',
      title: 'Tune a setting',
      status: 'PENDING_APPROVAL',
      category: 'CONFIG_UPDATE',
      priority: 'HIGH',
      agent_id: 'Agent-D',
      ...changeSet,
    },
    data: data as EventEnvelope['data'],
  } as EventEnvelope;
}

const render = (e: EventEnvelope) => renderMessage(e, { dashboardUrl: DASHBOARD });

describe('messages', () => {
  it.each([
    ['changeset.created', {}, {}, 'New change-set: CS-42'],
    ['changeset.submitted', {}, {}, 'Submitted for approval: CS-42'],
    ['changeset.approval_requested', { approver_id: 'alice' }, {}, 'Approval Required: CS-42'],
    ['changeset.approval_decision', { approver_id: 'alice', decision: 'APPROVED' }, {}, 'Approved by alice: CS-42'],
    ['changeset.approval_decision', { approver_id: 'bob', decision: 'REJECTED' }, {}, 'Rejected by bob: CS-42'],
    ['changeset.approved', { by: 'alice' }, {}, 'Approved: CS-42'],
    ['changeset.rejected', { by: 'bob', reason: 'no' }, {}, 'Rejected: CS-42'],
    ['changeset.rejected', { expired: true }, {}, 'Rejected: CS-42'],
    ['changeset.withdrawn', {}, {}, 'Withdrawn: CS-42'],
    ['changeset.reopened', {}, {}, 'Reopened: CS-42'],
    ['changeset.applied', {}, { status: 'APPLIED' }, 'Applied: CS-42'],
    ['changeset.applied', {}, { status: 'PARTIALLY_APPLIED' }, 'Partially applied: CS-42'],
    ['changeset.apply_failed', {}, {}, 'Apply failed: CS-42'],
    ['changeset.rolled_back', { reason: 'broke checkout' }, {}, 'Rolled back: CS-42'],
    ['changeset.approval_reminder', { approver_id: 'alice' }, {}, 'Reminder: approval of CS-42 is due'],
    ['changeset.approval_escalated', { recipient_id: 'root' }, {}, 'Escalated: approval of CS-42 is overdue'],
    ['changeset.something_new', {}, {}, 'changeset.something_new: CS-42'],
  ])('%s %j has the subject "%s"', (type, data, changeSet, subject) => {
    expect(render(envelope(type, data, changeSet)).subject).toBe(subject);
  });

  it('links to the change-set on the dashboard in the text and the HTML body', () => {
    const message = render(envelope('changeset.approval_requested', { approver_id: 'alice' }));
    const link = `${DASHBOARD}/changesets/${UUID}`;
    expect(message.link).toBe(link);
    expect(message.text).toContain(`Review: ${link}`);
    expect(message.html).toContain(`<a href="${link}">Review CS-42</a>`);
    expect(renderMessage(envelope('changeset.created'), { dashboardUrl: `${DASHBOARD}/` }).link).toBe(link);
  });

  it('says what happened beyond the headline', () => {
    const requested = render(
      envelope('changeset.approval_requested', { approver_id: 'alice', approval_deadline: '2026-11-25T18:00:00.000Z' }),
    );
    expect(requested.text).toBe(
      [
        'Approval Required',
        '',
        'Change-Set: CS-42',
        'Title: Tune a setting',
        'Agent: Agent-D',
        'Category: CONFIG_UPDATE',
        'Priority: HIGH',
        '',
        'Submitted by: Agent-D',
        'Requested from: alice',
        'Approval deadline: 2026-11-25 18:00 UTC',
        '',
        `Review: ${DASHBOARD}/changesets/${UUID}`,
        '',
      ].join('\n'),
    );
    const decision = render(
      envelope('changeset.approval_decision', {
        approver_id: 'bob',
        decision: 'REJECTED',
        reason: 'too risky',
        received_approvals: 0,
        required_approvals: 2,
      }),
    );
    expect(decision.details).toEqual(['Decision: REJECTED by bob', 'Reason: too risky', 'Approvals: 0 of 2']);
    const failed = render(
      envelope('changeset.apply_failed', {
        mode: 'ATOMIC',
        applied_items: 0,
        failed_items: 1,
        skipped_items: 2,
        errors: [{ item_id: 'x', key: 'CONFIG/a', code: 'CONFLICT', message: 'version moved' }],
      }),
    );
    expect(failed.details).toEqual([
      'Applied by: Agent-D',
      'Mode: ATOMIC',
      'Items: 0 applied, 1 failed, 2 skipped',
      '- CONFIG/a: version moved',
    ]);
    expect(render(envelope('changeset.approved', { auto_approved: true })).details).toEqual([
      'Auto-approved: the risk assessment needs no approval',
    ]);
    expect(
      render(envelope('changeset.rejected', { from: 'APPROVED', reason: 'obsolete', closed: true })).details,
    ).toEqual(['Closed by: Agent-D', 'Was: APPROVED', 'Reason: obsolete']);
    expect(render(envelope('changeset.rejected', { expired: true, reason: 'deadline' })).details).toEqual([
      'Expired: the approval deadline passed',
      'Reason: deadline',
    ]);
  });

  it('escapes a hostile title and reason in the HTML body, and keeps them as written in the text', () => {
    const title = `<script>alert("x")</script> & 'co'`;
    const message = render(
      envelope('changeset.rejected', { by: 'bob', reason: '<img src=x onerror=alert(1)>' }, { title }),
    );
    expect(message.html).not.toContain('<script>');
    expect(message.html).not.toContain('<img');
    expect(message.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;');
    expect(message.html).toContain('Reason: &lt;img src=x onerror=alert(1)&gt;');
    expect(message.text).toContain(`Title: ${title}`);
    expect(escapeHtml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });

  it('builds the Block Kit message: headline, the facts as fields, a Review button and a fallback text', () => {
    const payload = slackPayload(render(envelope('changeset.approval_requested', { approver_id: 'alice' })));
    expect(payload).toEqual({
      text: 'Approval Required: CS-42',
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: '*Approval Required*\nSubmitted by: Agent-D\nRequested from: alice' },
          fields: [
            { type: 'mrkdwn', text: '*Change-Set:*\nCS-42' },
            { type: 'mrkdwn', text: '*Title:*\nTune a setting' },
            { type: 'mrkdwn', text: '*Agent:*\nAgent-D' },
            { type: 'mrkdwn', text: '*Category:*\nCONFIG_UPDATE' },
            { type: 'mrkdwn', text: '*Priority:*\nHIGH' },
          ],
        },
        {
          type: 'actions',
          elements: [
            { type: 'button', text: { type: 'plain_text', text: 'Review' }, url: `${DASHBOARD}/changesets/${UUID}` },
          ],
        },
      ],
    });
  });

  it('binds Approve / Reject buttons to the change-set and the content hash of the request (issue 16)', () => {
    const hash = 'a'.repeat(64);
    for (const type of ['changeset.approval_requested', 'changeset.approval_reminder']) {
      expect(decisionBindingOf(envelope(type, { approver_id: 'alice', content_hash: hash }))).toEqual({
        id: UUID,
        content_hash: hash,
      });
    }
    // Other events ask nobody to decide; a request without a hash cannot bind a decision.
    expect(decisionBindingOf(envelope('changeset.approval_decision', { content_hash: hash }))).toBeNull();
    expect(decisionBindingOf(envelope('changeset.approval_requested', { approver_id: 'alice' }))).toBeNull();
    const binding = { id: UUID, content_hash: hash };
    const payload = slackPayload(render(envelope('changeset.approval_requested', { approver_id: 'alice' })), binding);
    const actions = payload.blocks[1] as { block_id: string; elements: Record<string, unknown>[] };
    expect(actions.block_id).toBe('changeledger_decision');
    expect(actions.elements.map((e) => [e['action_id'], e['style'], e['value']])).toEqual([
      [undefined, undefined, undefined],
      ['changeledger_approve', 'primary', JSON.stringify(binding)],
      ['changeledger_reject', 'danger', JSON.stringify(binding)],
    ]);
  });

  it('escapes &, < and > the Slack way, so a title cannot mention @channel or forge a link', () => {
    expect(escapeSlack('<!channel> & <https://evil.example|click>')).toBe(
      '&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;',
    );
    const payload = slackPayload(
      render(envelope('changeset.rejected', { reason: '<!here> a&b' }, { title: '<!channel>' })),
    );
    const json = JSON.stringify(payload);
    expect(json).not.toContain('<!');
    expect(json).toContain('*Title:*\\n&lt;!channel&gt;');
    expect(json).toContain('Reason: &lt;!here&gt; a&amp;b');
  });

  it('keeps Slack texts within their limits without cutting an entity in half', () => {
    const reason = '&'.repeat(2000);
    const section = slackPayload(render(envelope('changeset.rejected', { reason }))).blocks[0] as {
      text: { text: string };
    };
    expect(section.text.text.length).toBeLessThanOrEqual(3000);
    expect(section.text.text).toMatch(/(&amp;)+…$/);
  });

  it('formats ISO instants for people, and leaves anything else alone', () => {
    expect(formatTime('2026-11-25T18:05:09.123Z')).toBe('2026-11-25 18:05 UTC');
    expect(formatTime('tomorrow')).toBe('tomorrow');
  });
});

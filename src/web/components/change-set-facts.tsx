// The change-set's particulars as a definition list (the description is in the decision header).
import type { ReactNode } from 'react';
import { describeDeadline, formatDateTime } from '../lib/format.js';
import type { ChangeSet } from '../lib/types.js';

export function ChangeSetFacts({ changeSet: cs }: { changeSet: ChangeSet }) {
  const deadline = cs.status === 'PENDING_APPROVAL' ? describeDeadline(cs.approval_deadline) : null;
  const facts: [string, ReactNode][] = [
    ['Created', `${formatDateTime(cs.created_at)} by ${cs.created_by}`],
    ['Submitted', formatDateTime(cs.submitted_at)],
    [
      'Approval deadline',
      cs.approval_deadline ? `${formatDateTime(cs.approval_deadline)}${deadline ? ` (${deadline.text})` : ''}` : '—',
    ],
    ['Applied', cs.applied_at ? `${formatDateTime(cs.applied_at)} by ${cs.applied_by}` : '—'],
    ['Rolled back', cs.rolled_back_at ? `${formatDateTime(cs.rolled_back_at)} by ${cs.rolled_back_by}` : '—'],
    ['Approval chain', cs.approval_chain.length > 0 ? cs.approval_chain.join(', ') : '—'],
    ['Tags', cs.tags.length > 0 ? cs.tags.join(', ') : '—'],
    ['Auto-apply', cs.auto_apply ? 'yes, once approved' : 'no'],
    ['Version', String(cs.version)],
    [
      'Content hash',
      <code key="hash" className="hash">
        {cs.content_hash}
      </code>,
    ],
  ];
  return (
    <dl className="facts">
      {facts.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

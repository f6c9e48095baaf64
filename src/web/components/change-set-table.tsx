// Change-sets as a table: what, how risky, how urgent, how far along. On a phone each row is a
// card (styles.css, `.cards`): every cell carries its column's name. j and k move through the rows,
// o or Enter opens one (components/shortcuts.tsx).
import { describeDeadline, formatDateTime } from '../lib/format.js';
import { changeSetPath, Link } from '../lib/router.js';
import type { ChangeSetSummary } from '../lib/types.js';
import { PriorityBadge, RiskBadge, StatusBadge } from './badges.js';

/** How long is left to decide (only while pending), the exact time on hover. */
export function Deadline({ changeSet }: { changeSet: Pick<ChangeSetSummary, 'approval_deadline' | 'status'> }) {
  const deadline = describeDeadline(changeSet.approval_deadline);
  if (!deadline || changeSet.status !== 'PENDING_APPROVAL') return <span className="muted">—</span>;
  return (
    <time
      dateTime={changeSet.approval_deadline ?? undefined}
      title={formatDateTime(changeSet.approval_deadline)}
      className={deadline.overdue ? 'overdue' : ''}
    >
      {deadline.text}
    </time>
  );
}

export function ChangeSetTable({ rows, label }: { rows: ChangeSetSummary[]; label: string }) {
  return (
    <div className="table-scroll">
      <table className="grid change-sets cards">
        <caption className="visually-hidden">{label}</caption>
        <thead>
          <tr>
            <th scope="col">Change-set</th>
            <th scope="col">Status</th>
            <th scope="col">Risk</th>
            <th scope="col">Priority</th>
            <th scope="col">Category</th>
            <th scope="col">Agent</th>
            <th scope="col">Approvals</th>
            <th scope="col">Deadline</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((cs) => (
            <tr key={cs.id} data-nav-item="" tabIndex={-1}>
              <td>
                <Link to={changeSetPath(cs.change_set_id)} className="cs-link" data-nav-open="">
                  <span className="cs-id">{cs.change_set_id}</span> <span className="cs-title">{cs.title}</span>
                </Link>
              </td>
              <td data-label="Status">
                <StatusBadge status={cs.status} />
              </td>
              <td data-label="Risk">
                <RiskBadge risk={cs.risk} />
              </td>
              <td data-label="Priority">
                <PriorityBadge priority={cs.priority} />
              </td>
              <td data-label="Category">{cs.category}</td>
              <td data-label="Agent">
                <span className="name">{cs.agent_id}</span>
              </td>
              <td data-label="Approvals">
                {cs.received_approvals} / {cs.required_approvals}
              </td>
              <td data-label="Deadline">
                <Deadline changeSet={cs} />
              </td>
              <td data-label="Updated">
                <time dateTime={cs.updated_at}>{formatDateTime(cs.updated_at)}</time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

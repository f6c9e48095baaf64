// Change-sets as a table: what, how risky, how urgent, how far along.
import { describeDeadline, formatDateTime } from '../lib/format.js';
import { changeSetPath, Link } from '../lib/router.js';
import type { ChangeSetSummary } from '../lib/types.js';
import { PriorityBadge, RiskBadge, StatusBadge } from './badges.js';

function Deadline({ changeSet }: { changeSet: ChangeSetSummary }) {
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
      <table className="grid change-sets">
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
            <tr key={cs.id}>
              <td>
                <Link to={changeSetPath(cs.change_set_id)} className="cs-link">
                  <span className="cs-id">{cs.change_set_id}</span> <span className="cs-title">{cs.title}</span>
                </Link>
              </td>
              <td>
                <StatusBadge status={cs.status} />
              </td>
              <td>
                <RiskBadge risk={cs.risk} />
              </td>
              <td>
                <PriorityBadge priority={cs.priority} />
              </td>
              <td>{cs.category}</td>
              <td>{cs.agent_id}</td>
              <td>
                {cs.received_approvals} / {cs.required_approvals}
              </td>
              <td>
                <Deadline changeSet={cs} />
              </td>
              <td>
                <time dateTime={cs.updated_at}>{formatDateTime(cs.updated_at)}</time>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

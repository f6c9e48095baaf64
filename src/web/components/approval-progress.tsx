// The approval steps and how far each has come, counted by the server's own rules (src/core):
// only current APPROVED decisions on the current content, one step per approver.
import { type ApprovalTally, tallyApprovals } from '../../core/approvals.js';
import { seg } from '../lib/api.js';
import { formatDateTime } from '../lib/format.js';
import { describeEntry, stepTitle } from '../lib/review.js';
import type { ChangeSet, Principal } from '../lib/types.js';
import { useLoad } from '../lib/use-load.js';
import { useSession } from '../session-context.js';

/** The steps as the server counts them; group membership decides which step an approval fills, so the deciders are looked up. */
export function useTally(changeSet: ChangeSet): ApprovalTally {
  const { api } = useSession();
  const approverIds = [...new Set(changeSet.approvals.map((a) => a.approver_id))].sort();
  const people = useLoad(
    () => Promise.all(approverIds.map((id) => api.get<Principal>(`/principals/${seg(id)}`).catch(() => null))),
    approverIds.join(','),
  );
  const byId = new Map((people.data ?? []).filter((p): p is Principal => p !== null).map((p) => [p.id, p]));
  const decisions = changeSet.approvals.flatMap((a) => {
    const approver = byId.get(a.approver_id);
    return approver ? [{ approver, decision: a.decision, content_hash: a.content_hash, stale: a.stale }] : [];
  });
  return tallyApprovals(changeSet.approval_steps, decisions, changeSet.content_hash, changeSet.created_by);
}

export function ApprovalProgress({ changeSet, tally }: { changeSet: ChangeSet; tally: ApprovalTally }) {
  return (
    <div className="approvals">
      {changeSet.required_approvals > 0 && (
        <p>
          <strong>
            {changeSet.received_approvals} of {changeSet.required_approvals}
          </strong>{' '}
          approval(s) received
        </p>
      )}
      {changeSet.required_approvals === 0 && <p className="muted">No approval needed.</p>}
      <ol className="steps">
        {changeSet.approval_steps.map((step, index) => {
          if (step.count === 0) return null;
          const received = tally.steps[index]?.received ?? 0;
          // The creator may be named by the rules but never approves its own change-set.
          const approvers = step.approvers.filter((entry) => entry !== changeSet.created_by);
          const labelId = `step-${index}`;
          return (
            <li key={step.name} className="step">
              <span id={labelId} className="step-name">
                {stepTitle(step.name)}: {Math.min(received, step.count)} of {step.count}
              </span>
              <progress
                aria-labelledby={labelId}
                max={Math.max(step.count, 1)}
                value={Math.min(received, step.count)}
              />
              <span className="step-approvers">
                from {approvers.map(describeEntry).join(', ')}
                {step.message ? ` — ${step.message}` : ''}
              </span>
            </li>
          );
        })}
      </ol>
      {changeSet.approvals.length > 0 && (
        <>
          <h3 className="subheading">Decisions</h3>
          <ul className="decisions">
            {changeSet.approvals.map((approval) => (
              <li key={approval.id} className={approval.stale ? 'stale' : ''}>
                <strong>{approval.approver_id}</strong>{' '}
                <span className={`decision decision-${approval.decision.toLowerCase()}`}>
                  {approval.decision === 'APPROVED' ? 'approved' : 'rejected'}
                </span>{' '}
                <time dateTime={approval.decided_at}>{formatDateTime(approval.decided_at)}</time>
                {approval.stale && <span className="muted"> (stale: before the last return to draft)</span>}
                {approval.reason && <q className="reason">{approval.reason}</q>}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

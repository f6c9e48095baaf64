// Every policy evaluation stored on the change-set: which rule, for which action, what it decided.
import { formatDateTime } from '../lib/format.js';
import type { PolicyEvaluation } from '../lib/types.js';

export function PolicyResults({ evaluations }: { evaluations: PolicyEvaluation[] }) {
  if (evaluations.length === 0) return <p className="muted">No policy has been evaluated on this change-set.</p>;
  return (
    <div className="table-scroll">
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">Policy</th>
            <th scope="col">Action</th>
            <th scope="col">Effect</th>
            <th scope="col">Result</th>
            <th scope="col">Message</th>
            <th scope="col">When</th>
          </tr>
        </thead>
        <tbody>
          {evaluations.map((evaluation, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: evaluations repeat per action, in order
            <tr key={index} className={evaluation.matched ? `matched effect-${evaluation.effect}` : ''}>
              <td>{evaluation.policy}</td>
              <td>{evaluation.action}</td>
              <td>{evaluation.effect.replace('_', ' ')}</td>
              <td>{evaluation.matched ? <strong>matched</strong> : 'not matched'}</td>
              <td>{evaluation.message ?? ''}</td>
              <td>{formatDateTime(evaluation.evaluated_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// The policy evaluations stored on the change-set, summed up in one line; the ones that applied
// (their rule matched) are shown, the rest folded away (lib/policy-summary.ts).
import { formatDateTime } from '../lib/format.js';
import { summarizePolicies } from '../lib/policy-summary.js';
import type { PolicyEvaluation } from '../lib/types.js';

function EvaluationList({ evaluations }: { evaluations: PolicyEvaluation[] }) {
  return (
    <ul className="policy-list">
      {evaluations.map((evaluation, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: evaluations repeat per action, in order
        <li key={index} className={evaluation.matched ? `matched effect-${evaluation.effect}` : ''}>
          <strong className="name">{evaluation.policy}</strong> on {evaluation.action}:{' '}
          {evaluation.matched ? <strong>{evaluation.effect.replace('_', ' ')}</strong> : 'not matched'}
          {evaluation.message ? ` — ${evaluation.message}` : ''}{' '}
          <time className="muted" dateTime={evaluation.evaluated_at}>
            ({formatDateTime(evaluation.evaluated_at)})
          </time>
        </li>
      ))}
    </ul>
  );
}

export function PolicyResults({ evaluations }: { evaluations: PolicyEvaluation[] }) {
  if (evaluations.length === 0) return <p className="muted">No policy has been evaluated on this change-set.</p>;
  const summary = summarizePolicies(evaluations);
  return (
    <div className="policies">
      <p className="policy-summary">{summary.sentence}.</p>
      {summary.applied.length > 0 && <EvaluationList evaluations={summary.applied} />}
      {summary.rest.length > 0 && (
        <details className="policy-rest">
          <summary>
            {summary.rest.length} evaluation{summary.rest.length === 1 ? '' : 's'} that did not match
          </summary>
          <EvaluationList evaluations={summary.rest} />
        </details>
      )}
    </div>
  );
}

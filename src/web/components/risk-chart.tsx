// The risk assessment: score and level, a bar per factor (0–100), and the model's recommendations.
import { useId } from 'react';
import type { RiskAssessment, RiskFactors } from '../lib/types.js';
import { RiskBadge } from './badges.js';

const FACTORS: { key: keyof RiskFactors; label: string; hint: string }[] = [
  { key: 'operation', label: 'Operation', hint: 'what the items do (deletes weigh most)' },
  { key: 'target', label: 'Target', hint: 'how sensitive the targets are' },
  { key: 'agent', label: 'Agent', hint: 'the proposing agent' },
  { key: 'scope', label: 'Scope', hint: 'the category' },
  { key: 'quantity', label: 'Quantity', hint: 'how many items' },
];

const band = (value: number) => (value >= 70 ? 'critical' : value >= 50 ? 'high' : value >= 30 ? 'medium' : 'low');

const ROW = 30;
const LABEL_WIDTH = 92;
const BAR_WIDTH = 250;

export function RiskChart({ risk }: { risk: RiskAssessment }) {
  const titleId = useId();
  const descId = useId();
  const height = FACTORS.length * ROW + 8;
  const summary = FACTORS.map((f) => `${f.label} ${risk.factors[f.key]} of 100`).join(', ');
  return (
    <div className="risk">
      <p className="risk-score">
        <RiskBadge risk={risk} /> score {risk.score} of 100 ·{' '}
        {risk.auto_approve ? 'auto-approvable' : `needs ${risk.required_approvals} approval(s) by risk`}
      </p>
      <svg
        className="risk-chart"
        viewBox={`0 0 ${LABEL_WIDTH + BAR_WIDTH + 44} ${height}`}
        role="img"
        aria-labelledby={`${titleId} ${descId}`}
      >
        <title id={titleId}>Risk factors</title>
        <desc id={descId}>{summary}</desc>
        {FACTORS.map((factor, index) => {
          const value = risk.factors[factor.key];
          const y = index * ROW + 4;
          return (
            <g key={factor.key} className={`risk-bar risk-bar-${band(value)}`}>
              <text x={0} y={y + 17} className="risk-label">
                {factor.label}
              </text>
              <rect x={LABEL_WIDTH} y={y + 4} width={BAR_WIDTH} height={18} rx={3} className="risk-track" />
              <rect
                x={LABEL_WIDTH}
                y={y + 4}
                width={(BAR_WIDTH * Math.max(0, Math.min(100, value))) / 100}
                height={18}
                rx={3}
                className="risk-fill"
              />
              <text x={LABEL_WIDTH + BAR_WIDTH + 8} y={y + 17} className="risk-value">
                {value}
              </text>
            </g>
          );
        })}
      </svg>
      <dl className="risk-legend">
        {FACTORS.map((factor) => (
          <div key={factor.key}>
            <dt>{factor.label}</dt>
            <dd>{factor.hint}</dd>
          </div>
        ))}
      </dl>
      {risk.trust && (
        <p className="risk-trust">
          Earned trust ({risk.trust.mode}): agent factor {risk.factors.agent} → {risk.trust.agent_factor} ·{' '}
          {risk.trust.reason}
          {risk.trust.mode === 'shadow' &&
            ` · if enforced: score ${risk.trust.with_trust.score}, ${risk.trust.with_trust.level.toLowerCase()}, ${
              risk.trust.with_trust.auto_approve
                ? 'auto-approvable'
                : `${risk.trust.with_trust.required_approvals} approval(s)`
            }`}
        </p>
      )}
      {risk.recommendations.length > 0 && (
        <>
          <h3 className="subheading">Recommendations</h3>
          <ul className="recommendations">
            {risk.recommendations.map((text) => (
              <li key={text}>{text}</li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

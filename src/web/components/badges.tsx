// Status, risk and priority as labelled badges: the word is always there, colour only helps.
import { words } from '../lib/format.js';
import type { RiskAssessment } from '../lib/types.js';

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status.toLowerCase()}`}>{words(status)}</span>;
}

export function RiskBadge({ risk }: { risk: Pick<RiskAssessment, 'level' | 'score'> }) {
  return (
    <span className={`badge risk-${risk.level.toLowerCase()}`}>
      {risk.level} <span className="badge-detail">{risk.score}</span>
    </span>
  );
}

export function PriorityBadge({ priority }: { priority: string }) {
  return <span className={`badge priority-${priority.toLowerCase()}`}>{priority}</span>;
}

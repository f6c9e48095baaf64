// The top of a change-set page, kept in view while the items scroll: what it is, how risky and
// urgent, who proposed it and why, why the signed-in principal is asked and what their decision
// counts toward, who else can decide, their own decision once made, and the actions they may take
// — or, when they can take none, what the change-set waits for (lib/review.ts says it).
import type { ReactNode } from 'react';
import type { ApprovalTally } from '../../core/approvals.js';
import { availableActions } from '../lib/permissions.js';
import {
  decidersSentence,
  describeMyDecision,
  myDecision,
  otherDeciders,
  waitingFor,
  whyAsked,
} from '../lib/review.js';
import { agentPath, Link } from '../lib/router.js';
import type { ChangeSet } from '../lib/types.js';
import { useSession } from '../session-context.js';
import { PriorityBadge, RiskBadge, StatusBadge } from './badges.js';
import { Deadline } from './change-set-table.js';

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/** Names kept whole ("Ana Ruiz" never breaks inside), separated by commas. */
function Names({ names }: { names: readonly string[] }) {
  return names.map((name, index) => (
    // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list without state; two people may share a name
    <span key={`${index}:${name}`}>
      {index > 0 && ', '}
      <span className="name">{name}</span>
    </span>
  ));
}

/** "Also eligible: Ana Ruiz, Bo Chen; approved already: Cy Lee" (lib/review.ts decidersSentence). */
function Deciders({ lead, names, decided }: ReturnType<typeof decidersSentence>) {
  return (
    <>
      {lead}
      {names.length > 0 && ': '}
      <Names names={names} />
      {decided.length > 0 && '; approved already: '}
      <Names names={decided} />
    </>
  );
}

/** The bar that stays in view: identity, status, risk, priority, deadline, and the actions. */
export function DecisionBar({ changeSet: cs, actions }: { changeSet: ChangeSet; actions: ReactNode }) {
  return (
    <div className="cs-bar">
      <h1 id="cs-title" tabIndex={-1}>
        <span className="cs-id">{cs.change_set_id}</span> <span className="cs-title">{cs.title}</span>
      </h1>
      <dl className="cs-summary">
        <Fact term="Status">
          <StatusBadge status={cs.status} />
        </Fact>
        <Fact term="Risk">
          <RiskBadge risk={cs.risk} />
        </Fact>
        <Fact term="Priority">
          <PriorityBadge priority={cs.priority} />
        </Fact>
        {cs.status === 'PENDING_APPROVAL' && (
          <Fact term="Deadline">
            <Deadline changeSet={cs} />
          </Fact>
        )}
      </dl>
      {actions}
    </div>
  );
}

/** Why I am asked, my decision, who else decides, or what it waits for; then who proposed it and why. */
export function DecisionContext({ changeSet: cs, tally }: { changeSet: ChangeSet; tally: ApprovalTally }) {
  const { me } = useSession();
  const mine = myDecision(cs, me);
  const asked = cs.status === 'PENDING_APPROVAL' ? whyAsked(cs, tally.steps, me) : [];
  const others = otherDeciders(cs, me);
  const canAct = availableActions(cs, me).length > 0;
  return (
    <div className="cs-context">
      <p className="cs-why" data-testid="why">
        {mine && (
          <strong className={`decision decision-${mine.decision.toLowerCase()}`}>
            {describeMyDecision(mine, cs.status)}{' '}
          </strong>
        )}
        {!mine && asked.length > 0 && (
          <>
            You are asked as an approver: your approval counts toward <strong>{asked.join('; ')}</strong>.{' '}
          </>
        )}
        {(!canAct || mine) && <span className="cs-waiting">{waitingFor(cs, tally.steps)}</span>}
      </p>
      {others.length > 0 && (
        <ul className="cs-deciders" aria-label="Who can decide" data-testid="deciders">
          {others.map((line) => (
            <li key={line.step}>
              <span className="cs-deciders-step">{line.step}:</span> <Deciders {...decidersSentence(line)} />.
            </li>
          ))}
        </ul>
      )}
      <p className="cs-author">
        Proposed by{' '}
        <strong className="name">
          <Link to={agentPath(cs.agent_id)}>{cs.agent_id}</Link>
        </strong>{' '}
        ({cs.agent_type} agent) · {cs.category}
        {cs.created_by !== cs.agent_id && (
          <>
            {' '}
            · created by <span className="name">{cs.created_by}</span>
          </>
        )}
      </p>
      {cs.description ? (
        <p className="description">{cs.description}</p>
      ) : (
        <p className="description muted">No description given.</p>
      )}
    </div>
  );
}

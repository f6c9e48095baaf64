// One change-set: what it changes (the diff), how risky it is and why, who has approved, which
// policies spoke, what happened so far, and the actions the signed-in principal may take.
import { type ReactNode, useState } from 'react';
import { ActionBar } from '../components/action-bar.js';
import { ApprovalProgress } from '../components/approval-progress.js';
import { PriorityBadge, StatusBadge } from '../components/badges.js';
import { ChangeSetFacts } from '../components/change-set-facts.js';
import { ErrorNotice } from '../components/error-notice.js';
import { ItemChange } from '../components/item-change.js';
import { PolicyResults } from '../components/policy-results.js';
import { RiskChart } from '../components/risk-chart.js';
import { Timeline } from '../components/timeline.js';
import { seg } from '../lib/api.js';
import { words } from '../lib/format.js';
import { usePageTitle } from '../lib/page-title.js';
import { agentPath, Link } from '../lib/router.js';
import type { AuditEntry, ChangeSet, LedgerEvent, Plan } from '../lib/types.js';
import { useLoad } from '../lib/use-load.js';
import { useLiveRefresh } from '../live-context.js';
import { useSession } from '../session-context.js';

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <section aria-labelledby={id} className="panel">
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

const describeEvent = (event: LedgerEvent) =>
  `${event.actor} — ${words(event.type.replace('changeset.', ''))}${event.change_set ? `; status ${words(event.change_set.status)}` : ''}`;

export function ChangeSetPage({ id }: { id: string }) {
  const { api, me } = useSession();
  const changeSet = useLoad(() => api.get<ChangeSet>(`/changesets/${seg(id)}`), id);
  const plan = useLoad(() => api.get<Plan>(`/changesets/${seg(id)}/plan`), id);
  const audit = useLoad(() => api.get<{ data: AuditEntry[] }>(`/changesets/${seg(id)}/audit`), id);
  const [notice, setNotice] = useState<string | null>(null);
  usePageTitle(changeSet.data ? `${changeSet.data.change_set_id}: ${changeSet.data.title}` : id);

  const reloadAll = () => {
    changeSet.reload();
    plan.reload();
    audit.reload();
  };
  useLiveRefresh(
    (event) => {
      // The page already said what my own actions did; others' actions are announced.
      if (event && event.actor !== me.id) setNotice(`Updated live: ${describeEvent(event)}.`);
      reloadAll();
    },
    (event) => event.change_set !== null && (event.change_set.id === id || event.change_set.change_set_id === id),
  );

  if (changeSet.error && !changeSet.data) {
    return (
      <>
        <h1>Change-set {id}</h1>
        <ErrorNotice error={changeSet.error} />
      </>
    );
  }
  const cs = changeSet.data;
  if (!cs) return <p aria-busy="true">Loading {id}…</p>;
  const planItems = new Map((plan.data?.items ?? []).map((p) => [p.item_id, p]));

  return (
    <>
      <header className="cs-header">
        <h1>
          <span className="cs-id">{cs.change_set_id}</span> {cs.title}
        </h1>
        <p className="cs-summary">
          <StatusBadge status={cs.status} /> <PriorityBadge priority={cs.priority} /> <span>{cs.category}</span> ·{' '}
          <span>
            by{' '}
            <strong>
              <Link to={agentPath(cs.agent_id)}>{cs.agent_id}</Link>
            </strong>{' '}
            ({cs.agent_type})
          </span>
        </p>
        <ActionBar
          changeSet={cs}
          onChanged={(message) => {
            if (message) setNotice(message);
            reloadAll();
          }}
        />
        <p className="notice-live" role="status">
          {notice}
        </p>
      </header>
      <div className="cs-grid">
        <div className="cs-main">
          <Section id="changes" title={`Changes (${cs.items.length} item${cs.items.length === 1 ? '' : 's'})`}>
            {plan.error && <ErrorNotice error={plan.error} title="The plan could not be loaded" />}
            {!plan.data && !plan.error && <p aria-busy="true">Loading the plan…</p>}
            {plan.data &&
              cs.items.map((item) => {
                const planItem = planItems.get(item.id);
                return planItem ? <ItemChange key={item.id} item={item} planItem={planItem} /> : null;
              })}
          </Section>
          <Section id="timeline" title="Timeline">
            {audit.error && <ErrorNotice error={audit.error} />}
            {audit.data && <Timeline entries={audit.data.data} />}
          </Section>
        </div>
        <div className="cs-side">
          <Section id="risk" title="Risk">
            <RiskChart risk={cs.risk} />
          </Section>
          <Section id="approvals" title="Approvals">
            <ApprovalProgress changeSet={cs} />
          </Section>
          <Section id="details" title="Details">
            <ChangeSetFacts changeSet={cs} />
          </Section>
          <Section id="policies" title="Policy results">
            <PolicyResults evaluations={cs.policy_evaluations} />
          </Section>
        </div>
      </div>
    </>
  );
}

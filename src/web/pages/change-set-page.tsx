// One change-set: a decision header that stays in view (what it is, how risky, why I am asked, what
// I may do or what it waits for), then what it changes — an index of the items, each foldable and
// markable as viewed — how risky it is and why, who has approved, which policies applied, and
// what happened so far.
import { type ReactNode, useEffect, useState } from 'react';
import { ActionBar } from '../components/action-bar.js';
import { ApprovalProgress, useTally } from '../components/approval-progress.js';
import { ChangeSetFacts } from '../components/change-set-facts.js';
import { DecisionBar, DecisionContext } from '../components/decision-header.js';
import { ErrorNotice } from '../components/error-notice.js';
import { forecastApplies, ItemChange, PLAN_WORDS } from '../components/item-change.js';
import { PolicyResults } from '../components/policy-results.js';
import { RiskChart } from '../components/risk-chart.js';
import { Timeline } from '../components/timeline.js';
import { seg } from '../lib/api.js';
import { words } from '../lib/format.js';
import { usePageTitle } from '../lib/page-title.js';
import type { AuditEntry, ChangeSet, LedgerEvent, Plan } from '../lib/types.js';
import { type Loaded, useLoad } from '../lib/use-load.js';
import { loadViewed, saveViewed } from '../lib/viewed-store.js';
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
  return (
    <ChangeSetView
      cs={cs}
      plan={plan}
      audit={audit}
      notice={notice}
      onChanged={(message) => {
        if (message) setNotice(message);
        reloadAll();
      }}
    />
  );
}

function ChangeSetView(props: {
  cs: ChangeSet;
  plan: Loaded<Plan>;
  audit: Loaded<{ data: AuditEntry[] }>;
  notice: string | null;
  onChanged(message: string | null): void;
}) {
  const { cs, plan, audit } = props;
  const { me } = useSession();
  const tally = useTally(cs);
  return (
    <>
      <div className="cs-head">
        <DecisionBar changeSet={cs} actions={<ActionBar changeSet={cs} onChanged={props.onChanged} />} />
        <p className="notice-live" role="status">
          {props.notice}
        </p>
        <DecisionContext changeSet={cs} tally={tally} />
      </div>
      <div className="cs-grid">
        <div className="cs-main">
          <Section id="changes" title={`Changes (${cs.items.length} item${cs.items.length === 1 ? '' : 's'})`}>
            {plan.error && <ErrorNotice error={plan.error} title="The plan could not be loaded" />}
            <Items key={`${me.id}/${cs.id}/${cs.content_hash}`} cs={cs} plan={plan.data} />
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
            <ApprovalProgress changeSet={cs} tally={tally} />
          </Section>
          <Section id="policies" title="Policy results">
            <PolicyResults evaluations={cs.policy_evaluations} />
          </Section>
          <Section id="details" title="Details">
            <ChangeSetFacts changeSet={cs} />
          </Section>
        </div>
      </div>
    </>
  );
}

/** Beyond this many items the page starts with every item folded: the index comes first. */
const FOLD_ABOVE = 10;

/** The index of the items, the items themselves, folding, and the reviewer's "viewed" marks. */
function Items({ cs, plan }: { cs: ChangeSet; plan: Plan | undefined }) {
  const { me } = useSession();
  const planItems = new Map((plan?.items ?? []).map((p) => [p.item_id, p]));
  const [viewed, setViewed] = useState(() => loadViewed(me.id, cs.id, cs.content_hash));
  const [collapsed, setCollapsed] = useState<Set<string>>(() =>
    cs.items.length > FOLD_ABOVE ? new Set(cs.items.map((i) => i.id)) : new Set(viewed),
  );
  useEffect(() => saveViewed(me.id, cs.id, cs.content_hash, viewed), [me.id, cs.id, cs.content_hash, viewed]);
  const toggle = (set: Set<string>, itemId: string, on: boolean) => {
    const next = new Set(set);
    if (on) next.add(itemId);
    else next.delete(itemId);
    return next;
  };
  const open = (itemId: string) => setCollapsed((set) => toggle(set, itemId, false));
  return (
    <>
      <nav className="item-index" aria-label="Items">
        <p className="item-index-head">
          <span>
            {viewed.size} of {cs.items.length} viewed
          </span>
          <button type="button" className="button button-plain" onClick={() => setCollapsed(new Set())}>
            Expand all
          </button>
          <button
            type="button"
            className="button button-plain"
            onClick={() => setCollapsed(new Set(cs.items.map((i) => i.id)))}
          >
            Collapse all
          </button>
        </p>
        <ol>
          {cs.items.map((item) => {
            const planItem = planItems.get(item.id);
            const forecast = planItem && forecastApplies(cs, item) ? PLAN_WORDS[planItem.status] : null;
            return (
              <li key={item.id} className={viewed.has(item.id) ? 'viewed' : ''}>
                <a href={`#item-${item.id}`} onClick={() => open(item.id)}>
                  <span className={`op op-${item.operation_type.toLowerCase()}`}>{item.operation_type}</span>{' '}
                  <span className="item-index-target">
                    {item.target_type} / {item.target_id}
                  </span>
                </a>{' '}
                <span className="muted">
                  {forecast ?? words(item.status)}
                  {viewed.has(item.id) ? ' · viewed' : ''}
                </span>
              </li>
            );
          })}
        </ol>
      </nav>
      {!plan && <p aria-busy="true">Loading the plan…</p>}
      {cs.items.map((item) => (
        <ItemChange
          key={item.id}
          item={item}
          planItem={planItems.get(item.id)}
          changeSet={cs}
          expanded={!collapsed.has(item.id)}
          onExpanded={(expanded) => setCollapsed((set) => toggle(set, item.id, !expanded))}
          viewed={viewed.has(item.id)}
          onViewed={(on) => {
            setViewed((set) => toggle(set, item.id, on));
            // Marking an item viewed folds it, as a reviewer moves on; unmarking opens it again.
            setCollapsed((set) => toggle(set, item.id, on));
          }}
        />
      ))}
    </>
  );
}

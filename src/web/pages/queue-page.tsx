// The reviewer's start page: what I can decide now (soonest deadline first), and my own
// change-sets still on their way.
import { ChangeSetTable } from '../components/change-set-table.js';
import { ErrorNotice } from '../components/error-notice.js';
import { seg } from '../lib/api.js';
import { usePageTitle } from '../lib/page-title.js';
import type { ChangeSetSummary, Page } from '../lib/types.js';
import { type Loaded, useLoad } from '../lib/use-load.js';
import { useLiveRefresh } from '../live-context.js';
import { useSession } from '../session-context.js';

const byUrgency = (a: ChangeSetSummary, b: ChangeSetSummary) => {
  const due = (cs: ChangeSetSummary) =>
    cs.approval_deadline ? Date.parse(cs.approval_deadline) : Number.POSITIVE_INFINITY;
  return due(a) - due(b) || b.risk.score - a.risk.score;
};

function Section(props: {
  id: string;
  title: string;
  empty: string;
  list: Loaded<Page<ChangeSetSummary>>;
  sort?: boolean;
}) {
  const rows = props.list.data?.data ?? [];
  return (
    <section aria-labelledby={props.id} className="panel">
      <h2 id={props.id}>
        {props.title} {props.list.data && <span className="count">{rows.length}</span>}
      </h2>
      {props.list.error && <ErrorNotice error={props.list.error} />}
      {!props.list.data && !props.list.error && <p aria-busy="true">Loading…</p>}
      {props.list.data && rows.length === 0 && <p className="muted">{props.empty}</p>}
      {rows.length > 0 && <ChangeSetTable rows={props.sort ? [...rows].sort(byUrgency) : rows} label={props.title} />}
    </section>
  );
}

export function QueuePage() {
  usePageTitle('Review queue');
  const { api, me } = useSession();
  const decide = useLoad(() => api.get<Page<ChangeSetSummary>>('/changesets?approver=me&limit=200'), 'approver=me');
  const mine = useLoad(
    () =>
      api.get<Page<ChangeSetSummary>>(
        `/changesets?agent_id=${seg(me.id)}&status=DRAFT,PENDING_APPROVAL,APPROVED,PARTIALLY_APPLIED&limit=50`,
      ),
    me.id,
  );
  const operates = me.groups.includes('operator') || me.groups.includes('admin');
  const ready = useLoad(
    () =>
      operates
        ? api.get<Page<ChangeSetSummary>>('/changesets?status=APPROVED,PARTIALLY_APPLIED&limit=50')
        : Promise.resolve({ data: [], next_cursor: null }),
    String(operates),
  );
  useLiveRefresh(() => {
    decide.reload();
    mine.reload();
    ready.reload();
  });
  return (
    <>
      <h1>Review queue</h1>
      <Section
        id="to-decide"
        title="Waiting for my decision"
        empty="Nothing waits for your decision."
        list={decide}
        sort
      />
      <Section id="mine" title="My change-sets in progress" empty="You have no change-set in progress." list={mine} />
      {operates && (
        <Section id="ready" title="Approved, ready to apply" empty="Nothing is waiting to be applied." list={ready} />
      )}
    </>
  );
}

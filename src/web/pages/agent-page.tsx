// One agent: its track record per window, per category and per target type, and its earned trust
// (docs/trust.md). Readable by admins, people and the agent itself; anyone else sees the refusal.
import { ErrorNotice } from '../components/error-notice.js';
import { seg } from '../lib/api.js';
import { formatDateTime } from '../lib/format.js';
import { usePageTitle } from '../lib/page-title.js';
import type { TrackRecord, WindowCounts } from '../lib/types.js';
import { useLoad } from '../lib/use-load.js';
import { useLiveRefresh } from '../live-context.js';
import { useSession } from '../session-context.js';

const percent = (rate: number | null) => (rate === null ? '—' : `${(rate * 100).toFixed(1)} %`);
const seconds = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

const COLUMNS: { label: string; cell: (c: WindowCounts) => string | number }[] = [
  { label: 'Proposed', cell: (c) => c.proposed },
  { label: 'Auto-approved', cell: (c) => c.auto_approved },
  { label: 'Approved', cell: (c) => c.approved },
  { label: 'Rejected (veto)', cell: (c) => `${c.rejected} (${c.rejected_by_veto})` },
  { label: 'Applied', cell: (c) => c.applied },
  { label: 'Partially applied', cell: (c) => c.partially_applied },
  { label: 'Apply failed', cell: (c) => c.apply_failed },
  { label: 'Rolled back', cell: (c) => c.rolled_back },
  { label: 'Change fail rate', cell: (c) => percent(c.change_fail_rate) },
  {
    label: 'Rolled back after (median)',
    cell: (c) => (c.rollback_after_apply_ms ? seconds(c.rollback_after_apply_ms.median) : '—'),
  },
];

function CountsTable({ caption, head, rows }: { caption: string; head: string; rows: [string, WindowCounts][] }) {
  return (
    <div className="table-scroll">
      <table className="grid cards">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{head}</th>
            {COLUMNS.map((column) => (
              <th key={column.label} scope="col">
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, counts]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              {COLUMNS.map((column) => (
                <td key={column.label} data-label={column.label}>
                  {column.cell(counts)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One row per category or target type, over all time. */
function Breakdown({
  id,
  title,
  head,
  by,
}: {
  id: string;
  title: string;
  head: string;
  by: TrackRecord['by_category'];
}) {
  const rows = Object.entries(by).flatMap(([key, windows]): [string, WindowCounts][] =>
    windows['all'] ? [[key, windows['all']]] : [],
  );
  return (
    <section aria-labelledby={id} className="panel">
      <h2 id={id}>{title}</h2>
      {rows.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <CountsTable caption={`${title}, over all time`} head={head} rows={rows} />
      )}
    </section>
  );
}

export function AgentPage({ id }: { id: string }) {
  usePageTitle(`Agent ${id}`);
  const { api } = useSession();
  const record = useLoad(() => api.get<TrackRecord>(`/agents/${seg(id)}/track-record`), id);
  useLiveRefresh(() => record.reload());
  const data = record.data;
  return (
    <>
      <h1>
        <span className="muted">Agent</span> {id}
      </h1>
      {record.error && <ErrorNotice error={record.error} />}
      {!data && !record.error && <p aria-busy="true">Loading {id}…</p>}
      {data && (
        <>
          <section aria-labelledby="trust" className="panel">
            <h2 id="trust">Earned trust</h2>
            <p>
              <strong>{data.trust.reason}</strong>
            </p>
            <p className="muted">
              Mode {data.trust.mode}
              {data.trust.mode === 'shadow' && ' (shown on each change-set, without effect)'}
              {data.trust.mode === 'off' && ' (not used)'}; over the last {data.trust.window_days} days: credit{' '}
              {data.trust.credit}, penalty {data.trust.penalty}. As of {formatDateTime(data.as_of)}.
            </p>
          </section>
          <section aria-labelledby="record" className="panel">
            <h2 id="record">Track record</h2>
            <CountsTable
              caption="Outcomes per window"
              head="Window"
              rows={data.windows.flatMap((w): [string, WindowCounts][] => {
                const counts = data.overall[w.name];
                return counts ? [[w.days === null ? 'All time' : `Last ${w.days} days`, counts]] : [];
              })}
            />
          </section>
          <Breakdown id="by-category" title="By category" head="Category" by={data.by_category} />
          <Breakdown id="by-target-type" title="By target type" head="Target type" by={data.by_target_type} />
        </>
      )}
    </>
  );
}

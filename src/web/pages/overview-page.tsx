// Activity at a glance: what happened per day, how long decisions take, what waits now and how
// each agent fares, over a window of days (GET /stats/activity). It follows the event stream and
// has a refresh button; the window is in the address (?days=7), so a view can be shared.
import { useMemo } from 'react';
import type { ActivityStats } from '../../core/activity.js';
import { ChartFigure } from '../components/chart-figure.js';
import { ErrorNotice } from '../components/error-notice.js';
import { agentsChart, decisionChart, outcomesChart, queueChart } from '../lib/activity-charts.js';
import { spoken } from '../lib/charts.js';
import { formatDateTime } from '../lib/format.js';
import { usePageTitle } from '../lib/page-title.js';
import { navigate, useLocation } from '../lib/router.js';
import { useLoad } from '../lib/use-load.js';
import { useLiveRefresh } from '../live-context.js';
import { useSession } from '../session-context.js';
import '../overview.css';

const WINDOWS = [7, 30, 90] as const;
const DEFAULT_WINDOW = 30;

const windowOf = (param: string | null): number => WINDOWS.find((days) => String(days) === param) ?? DEFAULT_WINDOW;

function Tiles({ stats }: { stats: ActivityStats }) {
  const tiles: [string, string | number][] = [
    ['Proposed', stats.totals.proposed],
    ['Applied', stats.totals.applied],
    ['Rejected', stats.totals.rejected],
    ['Rolled back', stats.totals.rolled_back],
    ['Median time to decision', stats.time_to_decision.decisions ? spoken(stats.time_to_decision.median_seconds) : '—'],
    ['Waiting now', stats.queue.pending],
  ];
  return (
    <dl className="tiles" aria-label={`Totals over the last ${stats.window.days} days`}>
      {tiles.map(([label, value]) => (
        <div key={label} className="tile">
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function Charts({ stats }: { stats: ActivityStats }) {
  const specs = useMemo(
    () => ({
      outcomes: outcomesChart(stats),
      decisions: decisionChart(stats),
      queue: queueChart(stats),
      agents: agentsChart(stats),
    }),
    [stats],
  );
  return (
    <div className="chart-grid">
      <ChartFigure name="outcomes" title="Change-sets per day by outcome" {...specs.outcomes} />
      <ChartFigure name="decisions" title="Time to decision" {...specs.decisions}>
        <p className="chart-note">From submit to the approval or veto that ended the round, in minutes.</p>
      </ChartFigure>
      <ChartFigure name="queue" title="Waiting for approval, by age" {...specs.queue}>
        <p className="chart-note">
          {stats.queue.pending} pending
          {stats.queue.oldest_age_seconds !== null && <>, the oldest for {spoken(stats.queue.oldest_age_seconds)}</>}
        </p>
      </ChartFigure>
      <ChartFigure name="agents" title="Agents" size="tall" tableShown {...specs.agents}>
        {stats.agents_omitted > 0 && (
          <p className="chart-note">{stats.agents_omitted} more agents were active; the busiest are listed.</p>
        )}
      </ChartFigure>
    </div>
  );
}

export function OverviewPage() {
  usePageTitle('Overview');
  const { api } = useSession();
  const { search } = useLocation();
  const days = windowOf(search.get('days'));
  const stats = useLoad(() => api.get<ActivityStats>(`/stats/activity?days=${days}`), String(days));
  useLiveRefresh(stats.reload, (event) => event.change_set !== null);
  return (
    <>
      <div className="overview-head">
        <h1>Overview</h1>
        <div className="overview-controls">
          <label htmlFor="overview-days">Window</label>
          <select
            id="overview-days"
            value={days}
            onChange={(event) => navigate(`/overview?days=${event.target.value}`, { replace: true })}
          >
            {WINDOWS.map((option) => (
              <option key={option} value={option}>
                Last {option} days
              </option>
            ))}
          </select>
          <button
            type="button"
            className="button"
            onClick={stats.reload}
            disabled={stats.loading}
            aria-busy={stats.loading}
          >
            Refresh
          </button>
        </div>
      </div>
      <p className="muted overview-when">
        {stats.data ? `Updated ${formatDateTime(stats.data.generated_at)}. ` : ''}
        Days are UTC days; today counts so far. The page follows changes live.
      </p>
      {stats.error && <ErrorNotice error={stats.error} title="The overview could not be loaded" />}
      {!stats.data && !stats.error && <p aria-busy="true">Loading…</p>}
      {stats.data && (
        <>
          <Tiles stats={stats.data} />
          <Charts stats={stats.data} />
        </>
      )}
    </>
  );
}

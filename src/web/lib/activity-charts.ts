// The overview's four charts from one answer of GET /stats/activity: for each, the Chart.js
// configuration, a one-sentence summary and the table of the same numbers (what the browser test
// compares with the API).
import type { ChartConfiguration } from 'chart.js';
import type { ActivityStats } from '../../core/activity.js';
import type { DataTable } from '../components/chart-figure.js';
import { COLOURS, minutes, patterned, spoken } from './charts.js';

export interface ChartSpec {
  config: ChartConfiguration;
  summary: string;
  table: DataTable;
}

/** "Nov 22" from "2026-11-22", read as a UTC day (the API's days are UTC days). */
const dayLabel = (date: string) =>
  new Date(`${date}T00:00:00Z`).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const percent = (rate: number | null) => (rate === null ? '—' : `${Math.round(rate * 1000) / 10}%`);
const orDash = (value: number | null) => (value === null ? '—' : value);

const wholeNumbers = { beginAtZero: true, ticks: { precision: 0 } };

export function outcomesChart(stats: ActivityStats): ChartSpec {
  const { days, totals } = stats;
  const labels = days.map((d) => dayLabel(d.date));
  const busiest = days.reduce(
    (best, d) => {
      const n = d.applied + d.rejected + d.rolled_back;
      return n > best.n ? { date: d.date, n } : best;
    },
    { date: '', n: 0 },
  );
  const bar = (label: string, key: 'applied' | 'rejected' | 'rolled_back', fill: 'stripes' | 'dots' | 'cross') => ({
    type: 'bar' as const,
    label,
    data: days.map((d) => d[key]),
    backgroundColor: patterned(COLOURS[key], fill),
    borderColor: COLOURS[key],
    borderWidth: 1,
    stack: 'outcomes',
  });
  return {
    config: {
      type: 'bar',
      data: {
        labels,
        datasets: [
          bar('Applied', 'applied', 'stripes'),
          bar('Rejected', 'rejected', 'dots'),
          bar('Rolled back', 'rolled_back', 'cross'),
          {
            type: 'line' as const,
            label: 'Proposed',
            data: days.map((d) => d.proposed),
            borderColor: COLOURS.proposed,
            backgroundColor: COLOURS.proposed,
            borderWidth: 2,
            borderDash: [6, 4],
            pointStyle: 'rectRot',
            pointRadius: 4,
          },
        ],
      },
      options: { scales: { x: { stacked: true }, y: { ...wholeNumbers, stacked: true } } },
    } as ChartConfiguration,
    summary:
      `Over ${count(stats.window.days, 'day')}: ${totals.proposed} proposed, ${totals.applied} applied, ` +
      `${totals.rejected} rejected, ${totals.rolled_back} rolled back.` +
      (busiest.n > 0 ? ` The busiest day was ${dayLabel(busiest.date)} with ${count(busiest.n, 'outcome')}.` : ''),
    table: {
      columns: ['Day', 'Proposed', 'Applied', 'Rejected', 'Rolled back'],
      rows: days.map((d) => [d.date, d.proposed, d.applied, d.rejected, d.rolled_back]),
    },
  };
}

export function decisionChart(stats: ActivityStats): ChartSpec {
  const { days, time_to_decision: overall } = stats;
  const line = (label: string, key: 'median_seconds' | 'p90_seconds', colour: string, dashed: boolean) => ({
    label,
    data: days.map((d) => minutes(d.time_to_decision[key])),
    borderColor: colour,
    backgroundColor: colour,
    borderWidth: 2,
    borderDash: dashed ? [6, 4] : [],
    pointStyle: dashed ? 'triangle' : 'circle',
    pointRadius: 4,
    spanGaps: true,
  });
  return {
    config: {
      type: 'line',
      data: {
        labels: days.map((d) => dayLabel(d.date)),
        datasets: [
          line('Median', 'median_seconds', COLOURS.median, false),
          line('90th percentile', 'p90_seconds', COLOURS.p90, true),
        ],
      },
      options: {
        scales: { y: { beginAtZero: true, title: { display: true, text: 'minutes' } } },
        // The legend shows each line's point shape, not only its colour.
        plugins: { legend: { labels: { usePointStyle: true } } },
      },
    } as ChartConfiguration,
    summary:
      overall.decisions === 0
        ? `No decision was made in the last ${count(stats.window.days, 'day')}.`
        : `${count(overall.decisions, 'decision')} in the last ${count(stats.window.days, 'day')}: ` +
          `half within ${spoken(overall.median_seconds)}, nine in ten within ${spoken(overall.p90_seconds)}.`,
    table: {
      columns: ['Day', 'Decisions', 'Median (minutes)', '90th percentile (minutes)'],
      rows: days.map((d) => [
        d.date,
        d.time_to_decision.decisions,
        orDash(minutes(d.time_to_decision.median_seconds)),
        orDash(minutes(d.time_to_decision.p90_seconds)),
      ]),
    },
  };
}

export function queueChart(stats: ActivityStats): ChartSpec {
  const { queue } = stats;
  return {
    config: {
      type: 'bar',
      data: {
        labels: queue.ages.map((age) => age.label),
        datasets: [
          {
            label: 'Waiting for approval',
            data: queue.ages.map((age) => age.count),
            backgroundColor: patterned(COLOURS.queue, 'stripes'),
            borderColor: COLOURS.queue,
            borderWidth: 1,
          },
        ],
      },
      options: { indexAxis: 'y', scales: { x: wholeNumbers }, plugins: { legend: { display: false } } },
    } as ChartConfiguration,
    summary:
      queue.pending === 0
        ? 'Nothing is waiting for approval.'
        : `${count(queue.pending, 'change-set')} waiting for approval, the oldest for ${spoken(queue.oldest_age_seconds)}: ` +
          queue.ages
            .filter((age) => age.count > 0)
            .map((age) => `${age.count} ${age.label}`)
            .join(', ') +
          '.',
    table: {
      columns: ['Waiting', 'Change-sets'],
      rows: queue.ages.map((age) => [age.label, age.count]),
    },
  };
}

/** The agents drawn (the table lists every agent the answer has). */
const AGENTS_DRAWN = 10;

export function agentsChart(stats: ActivityStats): ChartSpec {
  const drawn = stats.agents.slice(0, AGENTS_DRAWN);
  const bar = (
    label: string,
    key: 'proposals' | 'applied' | 'rolled_back',
    colour: string,
    fill: 'dots' | 'stripes' | 'cross',
  ) => ({
    label,
    data: drawn.map((a) => a[key]),
    backgroundColor: patterned(colour, fill),
    borderColor: colour,
    borderWidth: 1,
  });
  const worst = stats.agents
    .filter((a) => a.rollback_rate !== null && a.rolled_back > 0)
    .sort((a, b) => (b.rollback_rate ?? 0) - (a.rollback_rate ?? 0))[0];
  return {
    config: {
      type: 'bar',
      data: {
        labels: drawn.map((a) => [
          a.agent_id,
          a.rollback_rate === null ? 'nothing applied' : `${percent(a.rollback_rate)} rolled back`,
        ]),
        datasets: [
          bar('Proposals', 'proposals', COLOURS.proposed, 'dots'),
          bar('Applied', 'applied', COLOURS.applied, 'stripes'),
          bar('Rolled back', 'rolled_back', COLOURS.rolled_back, 'cross'),
        ],
      },
      options: { indexAxis: 'y', scales: { x: wholeNumbers } },
    } as ChartConfiguration,
    summary:
      stats.agents.length === 0
        ? 'No agent proposed, applied or rolled back anything in this window.'
        : `${count(stats.agents.length + stats.agents_omitted, 'agent')} active; most proposals: ` +
          `${stats.agents[0]?.agent_id} (${stats.agents[0]?.proposals}).` +
          (worst
            ? ` Highest rollback rate: ${worst.agent_id}, ${percent(worst.rollback_rate)}.`
            : ' Nothing was rolled back.'),
    table: {
      columns: ['Agent (type)', 'Proposals', 'Applied', 'Rolled back', 'Rollback rate'],
      rows: stats.agents.map((a) => [
        `${a.agent_id} (${a.agent_type})`,
        a.proposals,
        a.applied,
        a.rolled_back,
        percent(a.rollback_rate),
      ]),
    },
  };
}

// Activity at a glance (GET /api/ledger/stats/activity, the dashboard's overview page): what
// happened per day over a window of whole UTC days, how long decisions took, the queue now, and
// each agent's record. The shape is declared once here, as the API's response schema; the
// dashboard reads the same type. The window, the queue's age buckets and the assembly of the
// store's counts into that shape are pure: `now` is passed in.
import { type Static, Type } from 'typebox';

export const ACTIVITY_DAYS = { min: 1, max: 90, default: 30 } as const;
/** The agents listed, most proposals first; the rest are counted in `agents_omitted`. */
export const MAX_AGENTS = 100;

/** What a change-set's history counts, per day and per agent (docs/design.md#activity). */
export const OUTCOMES = ['proposed', 'applied', 'rejected', 'rolled_back'] as const;
export type Outcome = (typeof OUTCOMES)[number];

const HOUR = 3600;
/** The queue's age buckets: lower bounds in seconds, each up to the next (the last has no end). */
export const QUEUE_AGE_BUCKETS: readonly { label: string; min_seconds: number }[] = Object.freeze([
  { label: 'under 1 hour', min_seconds: 0 },
  { label: '1 to 4 hours', min_seconds: HOUR },
  { label: '4 to 24 hours', min_seconds: 4 * HOUR },
  { label: '1 to 3 days', min_seconds: 24 * HOUR },
  { label: 'over 3 days', min_seconds: 72 * HOUR },
]);

const Seconds = Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
  description: 'seconds; null when there is nothing to measure',
});
const Count = Type.Integer({ minimum: 0 });

const TimeToDecision = Type.Object({
  decisions: Type.Integer({ minimum: 0, description: 'rounds of approval decided (approved or vetoed)' }),
  median_seconds: Seconds,
  p90_seconds: Seconds,
});

export const ActivityDaySchema = Type.Object({
  date: Type.String({ format: 'date', description: 'a UTC day, YYYY-MM-DD' }),
  proposed: Count,
  applied: Count,
  rejected: Count,
  rolled_back: Count,
  time_to_decision: TimeToDecision,
});

export const AgentActivitySchema = Type.Object({
  agent_id: Type.String(),
  agent_type: Type.String(),
  proposals: Count,
  applied: Count,
  rolled_back: Count,
  rollback_rate: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
    description: 'rolled_back / applied over the window; null when nothing was applied',
  }),
});

export const ActivityStatsSchema = Type.Object({
  window: Type.Object({
    days: Type.Integer({ minimum: ACTIVITY_DAYS.min, maximum: ACTIVITY_DAYS.max }),
    from: Type.String({ format: 'date-time', description: 'the start of the first day (UTC), inclusive' }),
    to: Type.String({ format: 'date-time', description: 'the end of today (UTC), exclusive' }),
  }),
  generated_at: Type.String({ format: 'date-time' }),
  totals: Type.Object({
    proposed: Count,
    applied: Count,
    rejected: Count,
    rolled_back: Count,
  }),
  days: Type.Array(ActivityDaySchema, { description: 'every day of the window, oldest first' }),
  time_to_decision: TimeToDecision,
  queue: Type.Object({
    pending: Count,
    oldest_submitted_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    oldest_age_seconds: Seconds,
    ages: Type.Array(
      Type.Object({
        label: Type.String(),
        min_seconds: Count,
        max_seconds: Type.Union([Count, Type.Null()], { description: 'exclusive; null: no upper bound' }),
        count: Count,
      }),
    ),
  }),
  agents: Type.Array(AgentActivitySchema, {
    description: `agents active in the window, most proposals first (at most ${MAX_AGENTS})`,
  }),
  agents_omitted: Type.Integer({ minimum: 0, description: 'agents active in the window beyond those listed' }),
});

export type ActivityStats = Static<typeof ActivityStatsSchema>;
export type ActivityDay = Static<typeof ActivityDaySchema>;
export type AgentActivity = Static<typeof AgentActivitySchema>;

const DAY_MS = 86_400_000;

export interface ActivityWindow {
  days: number;
  from: Date;
  to: Date;
  /** Each day's date, YYYY-MM-DD, oldest first. */
  dates: string[];
}

/** `days` whole UTC days ending with today's (the one `now` is in). */
export function activityWindow(now: Date, days: number): ActivityWindow {
  const endOfToday = Math.floor(now.getTime() / DAY_MS) * DAY_MS + DAY_MS;
  const from = endOfToday - days * DAY_MS;
  const dates = Array.from({ length: days }, (_, i) => new Date(from + i * DAY_MS).toISOString().slice(0, 10));
  return { days, from: new Date(from), to: new Date(endOfToday), dates };
}

/** What the store counted, before it is shaped (store/activity.ts). */
export interface ActivityCounts {
  /** Outcomes per day (`date` YYYY-MM-DD). */
  byDay: { date: string; outcome: Outcome; count: number }[];
  /** Outcomes per agent. */
  byAgent: { agent_id: string; agent_type: string; outcome: Outcome; count: number }[];
  /** Time to decision per day (`date`) and over the whole window (`date` null). */
  decisions: { date: string | null; decisions: number; median_seconds: number | null; p90_seconds: number | null }[];
  /** Pending change-sets per age bucket (index into QUEUE_AGE_BUCKETS) and the oldest submission. */
  queue: { buckets: { bucket: number; count: number }[]; oldest_submitted_at: string | null };
}

const zeroOutcomes = (): Record<Outcome, number> => ({ proposed: 0, applied: 0, rejected: 0, rolled_back: 0 });
const NO_DECISION = { decisions: 0, median_seconds: null, p90_seconds: null };

/** Seconds to one decimal: enough for a chart, and stable across backends. */
const roundSeconds = (value: number | null): number | null => (value === null ? null : Math.round(value * 10) / 10);

const timeToDecision = (row: ActivityCounts['decisions'][number] | undefined) =>
  row
    ? {
        decisions: row.decisions,
        median_seconds: roundSeconds(row.median_seconds),
        p90_seconds: roundSeconds(row.p90_seconds),
      }
    : NO_DECISION;

function agentRecords(rows: ActivityCounts['byAgent']): AgentActivity[] {
  const agents = new Map<string, { agent_id: string; agent_type: string; counts: Record<Outcome, number> }>();
  for (const row of rows) {
    const key = JSON.stringify([row.agent_id, row.agent_type]);
    const agent = agents.get(key) ?? { agent_id: row.agent_id, agent_type: row.agent_type, counts: zeroOutcomes() };
    agent.counts[row.outcome] += row.count;
    agents.set(key, agent);
  }
  return [...agents.values()]
    .map(({ agent_id, agent_type, counts }) => ({
      agent_id,
      agent_type,
      proposals: counts.proposed,
      applied: counts.applied,
      rolled_back: counts.rolled_back,
      rollback_rate: counts.applied === 0 ? null : Math.round((counts.rolled_back / counts.applied) * 1000) / 1000,
    }))
    .sort(
      (a, b) =>
        b.proposals - a.proposals ||
        b.applied - a.applied ||
        a.agent_id.localeCompare(b.agent_id) ||
        a.agent_type.localeCompare(b.agent_type),
    );
}

function queueNow(queue: ActivityCounts['queue'], now: Date): ActivityStats['queue'] {
  const ages = QUEUE_AGE_BUCKETS.map((bucket, index) => ({
    label: bucket.label,
    min_seconds: bucket.min_seconds,
    max_seconds: QUEUE_AGE_BUCKETS[index + 1]?.min_seconds ?? null,
    count: queue.buckets.filter((b) => b.bucket === index).reduce((sum, b) => sum + b.count, 0),
  }));
  const oldest = queue.oldest_submitted_at;
  return {
    pending: ages.reduce((sum, age) => sum + age.count, 0),
    oldest_submitted_at: oldest,
    oldest_age_seconds: oldest === null ? null : Math.max(0, Math.round((now.getTime() - Date.parse(oldest)) / 1000)),
    ages,
  };
}

/** The response: every day of the window (zeros where nothing happened), totals, queue, agents. */
export function assembleActivity(window: ActivityWindow, counts: ActivityCounts, now: Date): ActivityStats {
  const perDay = new Map(window.dates.map((date) => [date, zeroOutcomes()]));
  const totals = zeroOutcomes();
  for (const row of counts.byDay) {
    const day = perDay.get(row.date);
    if (!day) continue;
    day[row.outcome] += row.count;
    totals[row.outcome] += row.count;
  }
  const decisionsOn = new Map(counts.decisions.map((row) => [row.date, row]));
  const agents = agentRecords(counts.byAgent);
  return {
    window: { days: window.days, from: window.from.toISOString(), to: window.to.toISOString() },
    generated_at: now.toISOString(),
    totals,
    days: window.dates.map((date) => ({
      date,
      ...(perDay.get(date) ?? zeroOutcomes()),
      time_to_decision: timeToDecision(decisionsOn.get(date)),
    })),
    time_to_decision: timeToDecision(decisionsOn.get(null)),
    queue: queueNow(counts.queue, now),
    agents: agents.slice(0, MAX_AGENTS),
    agents_omitted: Math.max(0, agents.length - MAX_AGENTS),
  };
}

// The overview's pure parts: the window of whole UTC days, and how the store's counts become the
// answer (every day present, totals, rounding, the queue's buckets, agents' order and rates).
import { describe, expect, it } from 'vitest';
import { type ActivityCounts, activityWindow, assembleActivity, MAX_AGENTS } from '../../src/core/activity.js';

const NOW = new Date('2026-11-25T12:00:00.000Z');
const NONE: ActivityCounts = {
  byDay: [],
  byAgent: [],
  decisions: [],
  queue: { buckets: [], oldest_submitted_at: null },
};

describe('activityWindow', () => {
  it.each([
    ['midday', '2026-11-25T12:00:00.000Z', 1, '2026-11-25T00:00:00.000Z', '2026-11-26T00:00:00.000Z'],
    [
      'the first instant of a day',
      '2026-11-25T00:00:00.000Z',
      1,
      '2026-11-25T00:00:00.000Z',
      '2026-11-26T00:00:00.000Z',
    ],
    [
      'the last instant of a day',
      '2026-11-25T23:59:59.999Z',
      2,
      '2026-11-24T00:00:00.000Z',
      '2026-11-26T00:00:00.000Z',
    ],
    [
      'across a month and a year',
      '2027-01-01T08:00:00.000Z',
      3,
      '2026-12-30T00:00:00.000Z',
      '2027-01-02T00:00:00.000Z',
    ],
  ])('at %s: %i day(s) from %s to %s', (_, now, days, from, to) => {
    const window = activityWindow(new Date(now), days);
    expect([window.from.toISOString(), window.to.toISOString()]).toEqual([from, to]);
    expect(window.dates).toHaveLength(days);
    expect(window.dates.at(-1)).toBe(now.slice(0, 10));
  });
});

describe('assembleActivity', () => {
  const window = activityWindow(NOW, 3);

  it('answers every day of the window, with zeros and no decision where nothing happened', () => {
    const answer = assembleActivity(window, NONE, NOW);
    expect(answer.days.map((d) => d.date)).toEqual(['2026-11-23', '2026-11-24', '2026-11-25']);
    expect(answer.days[0]).toEqual({
      date: '2026-11-23',
      proposed: 0,
      applied: 0,
      rejected: 0,
      rolled_back: 0,
      time_to_decision: { decisions: 0, median_seconds: null, p90_seconds: null },
    });
    expect(answer.totals).toEqual({ proposed: 0, applied: 0, rejected: 0, rolled_back: 0 });
    expect(answer.queue).toMatchObject({ pending: 0, oldest_submitted_at: null, oldest_age_seconds: null });
    expect(answer.agents).toEqual([]);
  });

  it('adds the days up, ignores a date outside the window and rounds seconds to a tenth', () => {
    const answer = assembleActivity(
      window,
      {
        ...NONE,
        byDay: [
          { date: '2026-11-24', outcome: 'proposed', count: 3 },
          { date: '2026-11-25', outcome: 'proposed', count: 2 },
          { date: '2026-11-25', outcome: 'rolled_back', count: 1 },
          { date: '2026-11-01', outcome: 'applied', count: 9 },
        ],
        decisions: [
          { date: '2026-11-24', decisions: 2, median_seconds: 61.26, p90_seconds: 99.94 },
          { date: null, decisions: 2, median_seconds: 61.26, p90_seconds: 99.96 },
        ],
      },
      NOW,
    );
    expect(answer.totals).toEqual({ proposed: 5, applied: 0, rejected: 0, rolled_back: 1 });
    expect(answer.days[1]?.time_to_decision).toEqual({ decisions: 2, median_seconds: 61.3, p90_seconds: 99.9 });
    expect(answer.time_to_decision).toEqual({ decisions: 2, median_seconds: 61.3, p90_seconds: 100 });
  });

  it('puts the queue in its buckets and ages the oldest from now', () => {
    const { queue } = assembleActivity(
      window,
      {
        ...NONE,
        queue: {
          buckets: [
            { bucket: 0, count: 2 },
            { bucket: 4, count: 1 },
          ],
          oldest_submitted_at: '2026-11-20T12:00:00.000Z',
        },
      },
      NOW,
    );
    expect(queue.pending).toBe(3);
    expect(queue.oldest_age_seconds).toBe(5 * 86_400);
    expect(queue.ages.map((age) => [age.min_seconds, age.max_seconds, age.count])).toEqual([
      [0, 3_600, 2],
      [3_600, 14_400, 0],
      [14_400, 86_400, 0],
      [86_400, 259_200, 0],
      [259_200, null, 1],
    ]);
  });

  it('orders agents by proposals, then applies, then id, and rates rollbacks against applies', () => {
    const counts: ActivityCounts['byAgent'] = [
      { agent_id: 'b', agent_type: 'UI', outcome: 'proposed', count: 2 },
      { agent_id: 'b', agent_type: 'UI', outcome: 'applied', count: 3 },
      { agent_id: 'b', agent_type: 'UI', outcome: 'rolled_back', count: 1 },
      { agent_id: 'a', agent_type: 'UI', outcome: 'proposed', count: 2 },
      { agent_id: 'a', agent_type: 'UI', outcome: 'rolled_back', count: 1 },
      { agent_id: 'c', agent_type: 'OPS', outcome: 'proposed', count: 5 },
      { agent_id: 'c', agent_type: 'OPS', outcome: 'rejected', count: 5 },
    ];
    const { agents, agents_omitted } = assembleActivity(window, { ...NONE, byAgent: counts }, NOW);
    expect(agents.map((a) => [a.agent_id, a.proposals, a.applied, a.rolled_back, a.rollback_rate])).toEqual([
      ['c', 5, 0, 0, null],
      ['b', 2, 3, 1, 0.333],
      ['a', 2, 0, 1, null],
    ]);
    expect(agents_omitted).toBe(0);
  });

  it(`lists at most ${MAX_AGENTS} agents and counts the rest`, () => {
    const byAgent = Array.from({ length: MAX_AGENTS + 7 }, (_, i) => ({
      agent_id: `agent-${String(i).padStart(3, '0')}`,
      agent_type: 'BOT',
      outcome: 'proposed' as const,
      count: 1 + (i % 3),
    }));
    const { agents, agents_omitted } = assembleActivity(window, { ...NONE, byAgent }, NOW);
    expect(agents).toHaveLength(MAX_AGENTS);
    expect(agents_omitted).toBe(7);
    expect(agents[0]?.proposals).toBe(3);
  });
});

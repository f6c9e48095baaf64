// GET /api/ledger/stats/activity: a history seeded at set times through the engine, and the exact
// numbers the overview must show for it: outcomes per UTC day, time to decision (median, p90), the
// queue by age, each agent's record, and the window's edges.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ActivityStats } from '../../src/core/activity.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';

const at = (iso: string) => new Date(iso);

describeEachBackend('activity stats', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let token: string;

  const get = (query: string, headers: Record<string, string> = { authorization: `Bearer ${token}` }) =>
    app.inject({ method: 'GET', url: `/api/ledger/stats/activity${query}`, headers });
  const stats = async (query: string): Promise<ActivityStats> => {
    const response = await get(query);
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    token = (await f.engine.issueToken(null, 'bob')).token;
    const { engine, p, clock } = f;
    const D = p['Agent-D']!;
    const A = p['Agent-A']!;
    const alice = p['alice']!;
    const submitted = async (time: string) => {
      clock.now = at(time);
      const cs = await engine.create(D, configChange());
      return engine.submit(D, cs.id);
    };
    // 2026-11-22: one approved after 2 hours and applied, one vetoed after 30 minutes.
    const cs1 = await submitted('2026-11-22T09:00:00Z');
    clock.now = at('2026-11-22T11:00:00Z');
    await engine.decide(alice, cs1.id, { decision: 'APPROVED' });
    clock.now = at('2026-11-22T11:30:00Z');
    await engine.apply(D, cs1.id, { mode: 'ATOMIC' });
    const cs2 = await submitted('2026-11-22T10:00:00Z');
    clock.now = at('2026-11-22T10:30:00Z');
    await engine.decide(alice, cs2.id, { decision: 'REJECTED', reason: 'no' });
    // 2026-11-23: the first rolled back; an auto-approved one applied (no decision to time);
    // one approved after 4 hours.
    clock.now = at('2026-11-23T08:00:00Z');
    await engine.rollback(D, cs1.id, { reason: 'undo' });
    clock.now = at('2026-11-23T12:00:00Z');
    const cs3 = await engine.create(A, uiButton());
    clock.now = at('2026-11-23T12:05:00Z');
    await engine.apply(A, cs3.id, { mode: 'ATOMIC' });
    const cs4 = await submitted('2026-11-23T13:00:00Z');
    clock.now = at('2026-11-23T17:00:00Z');
    await engine.decide(alice, cs4.id, { decision: 'APPROVED' });
    // Pending: one since 2026-11-24 06:00, one since 2026-11-25 11:30. A draft, and one closed.
    await submitted('2026-11-24T06:00:00Z');
    await submitted('2026-11-25T11:30:00Z');
    clock.now = at('2026-11-25T11:40:00Z');
    await engine.create(D, configChange());
    const cs8 = await submitted('2026-11-25T09:00:00Z');
    clock.now = at('2026-11-25T09:10:00Z');
    await engine.close(D, cs8.id, { reason: 'not now' });
    clock.now = at('2026-11-25T12:00:00Z');
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  it('counts each UTC day by outcome, every day of the window included', async () => {
    const body = await stats('?days=7');
    expect(body.window).toEqual({ days: 7, from: '2026-11-19T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' });
    expect(body.generated_at).toBe('2026-11-25T12:00:00.000Z');
    const outcomes = body.days.map(({ date, proposed, applied, rejected, rolled_back }) => [
      date,
      proposed,
      applied,
      rejected,
      rolled_back,
    ]);
    expect(outcomes).toEqual([
      ['2026-11-19', 0, 0, 0, 0],
      ['2026-11-20', 0, 0, 0, 0],
      ['2026-11-21', 0, 0, 0, 0],
      ['2026-11-22', 2, 1, 1, 0],
      ['2026-11-23', 2, 1, 0, 1],
      ['2026-11-24', 1, 0, 0, 0],
      ['2026-11-25', 3, 0, 1, 0],
    ]);
    expect(body.totals).toEqual({ proposed: 8, applied: 2, rejected: 2, rolled_back: 1 });
  });

  it('times each round of approval from its submit to the approval or veto that ended it', async () => {
    const body = await stats('?days=7');
    // 30 min, 2 h and 4 h: the close and the auto-approval decided nothing.
    expect(body.time_to_decision).toEqual({ decisions: 3, median_seconds: 7200, p90_seconds: 12960 });
    const byDay = Object.fromEntries(body.days.map((day) => [day.date, day.time_to_decision]));
    expect(byDay['2026-11-22']).toEqual({ decisions: 2, median_seconds: 4500, p90_seconds: 6660 });
    expect(byDay['2026-11-23']).toEqual({ decisions: 1, median_seconds: 14400, p90_seconds: 14400 });
    expect(byDay['2026-11-25']).toEqual({ decisions: 0, median_seconds: null, p90_seconds: null });
  });

  it('shows the queue now by age', async () => {
    const { queue } = await stats('');
    expect(queue.pending).toBe(2);
    expect(queue.oldest_submitted_at).toBe('2026-11-24T06:00:00.000Z');
    expect(queue.oldest_age_seconds).toBe(30 * 3600);
    expect(queue.ages).toEqual([
      { label: 'under 1 hour', min_seconds: 0, max_seconds: 3600, count: 1 },
      { label: '1 to 4 hours', min_seconds: 3600, max_seconds: 14400, count: 0 },
      { label: '4 to 24 hours', min_seconds: 14400, max_seconds: 86400, count: 0 },
      { label: '1 to 3 days', min_seconds: 86400, max_seconds: 259200, count: 1 },
      { label: 'over 3 days', min_seconds: 259200, max_seconds: null, count: 0 },
    ]);
  });

  it("gives each agent's proposals, applies, rollbacks and rollback rate", async () => {
    const body = await stats('?days=7');
    expect(body.agents).toEqual([
      { agent_id: 'Agent-D', agent_type: 'BACKEND', proposals: 7, applied: 1, rolled_back: 1, rollback_rate: 1 },
      { agent_id: 'Agent-A', agent_type: 'UI', proposals: 1, applied: 1, rolled_back: 0, rollback_rate: 0 },
    ]);
    expect(body.agents_omitted).toBe(0);
  });

  it('counts only what happened inside the window', async () => {
    const body = await stats('?days=3');
    expect(body.window.from).toBe('2026-11-23T00:00:00.000Z');
    expect(body.days.map((day) => day.date)).toEqual(['2026-11-23', '2026-11-24', '2026-11-25']);
    expect(body.totals).toEqual({ proposed: 6, applied: 1, rejected: 1, rolled_back: 1 });
    expect(body.time_to_decision).toEqual({ decisions: 1, median_seconds: 14400, p90_seconds: 14400 });
    // Agent-D's rollback is inside, the apply it undid is not: no rate without an apply.
    expect(body.agents).toEqual([
      { agent_id: 'Agent-D', agent_type: 'BACKEND', proposals: 5, applied: 0, rolled_back: 1, rollback_rate: null },
      { agent_id: 'Agent-A', agent_type: 'UI', proposals: 1, applied: 1, rolled_back: 0, rollback_rate: 0 },
    ]);
    // The queue is the queue now, whatever the window.
    expect(body.queue.pending).toBe(2);
  });

  it('defaults to 30 days and answers an empty day with zeros', async () => {
    const body = await stats('');
    expect(body.window.days).toBe(30);
    expect(body.days).toHaveLength(30);
    expect(body.days[0]).toEqual({
      date: '2026-10-27',
      proposed: 0,
      applied: 0,
      rejected: 0,
      rolled_back: 0,
      time_to_decision: { decisions: 0, median_seconds: null, p90_seconds: null },
    });
  });

  it.each([
    ['?days=0', 'days'],
    ['?days=91', 'days'],
    ['?days=week', 'days'],
    ['?since=2026-01-01', 'since'],
  ])('refuses %s with a 400 naming the parameter', async (query, name) => {
    const response = await get(query);
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    expect(JSON.stringify(body.details ?? body.message)).toContain(name);
  });

  it('answers only an authenticated principal', async () => {
    expect((await get('', {})).statusCode).toBe(401);
  });

  it('refuses a window out of bounds in the engine too (library callers)', async () => {
    await expect(f.engine.activity({ days: 0 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(f.engine.activity({ days: 91 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

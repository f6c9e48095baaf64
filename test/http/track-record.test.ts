// GET /api/ledger/agents/{id}/track-record: who may read it (admins, people, the agent itself;
// another agent is refused before the agent is looked up), its full shape, and a change-set's
// trust factor as the API shows it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';

describeEachBackend('track record API', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  const tokens: Record<string, string> = {};
  const read = (who: string | null, agent: string) =>
    app.inject({
      method: 'GET',
      url: `/api/ledger/agents/${agent}/track-record`,
      headers: who ? { authorization: `Bearer ${tokens[who]}` } : {},
    });

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    for (const who of ['Agent-A', 'Agent-B', 'alice', 'root'])
      tokens[who] = (await f.engine.issueToken(null, who)).token;
    const cs = await f.engine.create(f.p['Agent-A']!, uiButton());
    await f.engine.apply(f.p['Agent-A']!, cs.id);
    f.clock.advance(5_000);
    await f.engine.rollback(f.p['Agent-A']!, cs.id, { reason: 'test' });
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  describe('who may read it', () => {
    it.each(['Agent-A', 'alice', 'root'])('%s may read the record of Agent-A', async (who) => {
      expect((await read(who, 'Agent-A')).statusCode).toBe(200);
    });

    it('another agent may not, and learns nothing of whether the agent exists', async () => {
      const other = await read('Agent-B', 'Agent-A');
      expect(other.statusCode).toBe(403);
      expect(other.json()).toMatchObject({ code: 'FORBIDDEN', statusCode: 403 });
      const missing = await read('Agent-B', 'no-such-agent');
      expect(missing.statusCode).toBe(403);
      expect(missing.json().message).toBe(other.json().message.replace('Agent-A', 'no-such-agent'));
    });

    it('a person asking for an unknown agent gets 404; without a token, 401', async () => {
      expect((await read('alice', 'no-such-agent')).json()).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
      expect((await read(null, 'Agent-A')).statusCode).toBe(401);
    });
  });

  it('answers every window with every outcome, the fail rate, the time to rollback and the trust', async () => {
    const body = (await read('root', 'Agent-A')).json();
    expect(body.windows.map((w: { name: string }) => w.name)).toEqual(['7d', '30d', '90d', 'all']);
    expect(body.overall.all).toEqual({
      proposed: 1,
      auto_approved: 1,
      approved: 0,
      rejected: 0,
      applied: 1,
      partially_applied: 0,
      apply_failed: 0,
      rolled_back: 1,
      rejected_by_veto: 0,
      change_fail_rate: 1,
      rollback_after_apply_ms: { min: 5000, median: 5000, max: 5000 },
    });
    expect(Object.keys(body.by_category)).toEqual(['UI_LAYOUT']);
    expect(Object.keys(body.by_target_type)).toEqual(['UI_COMPONENT']);
    expect(body.trust).toEqual({
      mode: 'shadow',
      window_days: 30,
      applied: 1,
      failures: 1,
      clean_streak: 0,
      credit: 0,
      penalty: 10,
      adjustment: 10,
      reason: '+10: 1 rolled back or failed in 30 days, 0 applied since',
    });
  });

  it("shows a change-set's trust factor (shadow by default) in its risk", async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: { authorization: `Bearer ${tokens['Agent-A']}` },
      payload: uiButton(),
    });
    expect(created.statusCode).toBe(201);
    const risk = created.json().risk;
    expect(risk.trust).toMatchObject({ mode: 'shadow', adjustment: 10, agent_factor: 25 });
    expect(risk.trust.with_trust.score).toBeGreaterThan(risk.score);
  });
});

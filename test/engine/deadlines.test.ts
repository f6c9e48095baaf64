// Approval deadlines (docs/design.md#deadlines-reminders-and-escalation): a reminder at the deadline to the approvers who have not decided,
// an escalation to the escalation contacts after escalate_after, an optional expiry — each once per
// round of approval, also when several instances run the same pass at the same moment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_CONFIG, parseConfig } from '../../src/config.js';
import { compilePolicies } from '../../src/core/policy.js';
import type { ChangeSet, Principal } from '../../src/core/types.js';
import { Engine } from '../../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG, type EngineConfig } from '../../src/engine/engine-config.js';
import { DeadlineScheduler } from '../../src/engine/scheduler.js';
import { startServer } from '../../src/server.js';
import type { Db } from '../../src/store/db.js';
import { describeEachBackend, describePostgres, openSecondInstanceDb } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture } from '../helpers/fixture.js';

const HOUR = 3_600_000;
/** NORMAL priority: the deadline is 24 hours after submit. */
const PERIOD = 24 * HOUR;

const withApproval = (approval: Partial<EngineConfig['approval']>, extra: Partial<EngineConfig> = {}): EngineConfig =>
  Object.freeze({
    ...DEFAULT_ENGINE_CONFIG,
    ...extra,
    approval: Object.freeze({ ...DEFAULT_ENGINE_CONFIG.approval, ...approval }),
  });

const REJECT_ON_EXPIRY = withApproval({ on_expiry: 'reject' });

/** The data of a change-set's events of one type, in order. */
async function eventData(db: Db, changeSet: string, type: string): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query<{ data: Record<string, unknown> }>(
    "SELECT envelope->'data' AS data FROM outbox_events WHERE change_set = $1 AND type = $2 ORDER BY id",
    [changeSet, type],
  );
  return rows.map((row) => row.data);
}

const recipients = (data: Record<string, unknown>[], key: 'approver_id' | 'recipient_id'): string[] =>
  data.map((d) => d[key] as string).sort();

const reminded = async (db: Db, id: string) =>
  recipients(await eventData(db, id, 'changeset.approval_reminder'), 'approver_id');
const escalatedTo = async (db: Db, id: string) =>
  recipients(await eventData(db, id, 'changeset.approval_escalated'), 'recipient_id');

describeEachBackend('approval deadlines', (backend) => {
  let f: Fixture;
  /** The engine under test: the fixture's database and clock with this test's settings. */
  let engine: Engine;
  const engineWith = (config: EngineConfig) => new Engine({ db: f.db, config, clock: () => f.clock.now });
  const use = (config: EngineConfig) => {
    engine = engineWith(config);
  };

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
  });
  afterAll(() => f.db.close());
  // Each test starts with nothing pending: whatever earlier tests left is reminded, escalated, expired.
  beforeEach(async () => {
    f.clock.advance(10 * PERIOD);
    await engineWith(REJECT_ON_EXPIRY).runDeadlines();
    engine = f.engine;
  });
  afterEach(async () => {
    for (const id of ['bob', 'sam']) await f.engine.updatePrincipal(f.p['root']!, id, { active: true });
  });

  /** configChange by `creator` (default Agent-D), submitted: approvers alice (chain) and group admin. */
  async function pending(creator = 'Agent-D', overrides: Record<string, unknown> = {}): Promise<ChangeSet> {
    const cs = await engine.create(f.p[creator]!, configChange(undefined, overrides));
    const submitted = await engine.submit(f.p[creator]!, cs.id);
    expect(submitted.status).toBe('PENDING_APPROVAL');
    return submitted;
  }

  describe('with the default settings', () => {
    it('reminds at the deadline and not a moment before', async () => {
      const cs = await pending();
      expect(cs.approval_deadline).toBe(new Date(f.clock.now.getTime() + PERIOD).toISOString());
      f.clock.advance(PERIOD - 1);
      expect(await engine.runDeadlines()).toEqual({ reminded: 0, escalated: 0, expired: 0 });
      expect(await reminded(f.db, cs.id)).toEqual([]);
      f.clock.advance(1);
      expect(await engine.runDeadlines()).toEqual({ reminded: 1, escalated: 0, expired: 0 });
      const data = await eventData(f.db, cs.id, 'changeset.approval_reminder');
      expect(recipients(data, 'approver_id')).toEqual(['alice', 'root', 'root2']);
      expect(data.every((d) => d['approval_deadline'] === cs.approval_deadline)).toBe(true);
    });

    it('records the reminder in the audit trail as the system, leaving the version and status as they were', async () => {
      const cs = await pending();
      f.clock.advance(PERIOD);
      await engine.runDeadlines();
      const after = await f.engine.get(cs.id);
      expect(after).toMatchObject({ status: 'PENDING_APPROVAL', version: cs.version });
      const entries = await f.engine.audit(cs.id);
      expect(entries.at(-1)).toMatchObject({
        actor: 'system',
        action: 'approval_reminder',
        data: { approvers: ['alice', 'root', 'root2'], approval_deadline: cs.approval_deadline },
      });
      expect(await f.engine.verifyAudit()).toMatchObject({ ok: true });
    });

    it('escalates to group admin only after escalate_after, never to the creator', async () => {
      const byAgent = await pending();
      const byRoot = await pending('root');
      f.clock.advance(PERIOD);
      expect(await engine.runDeadlines()).toEqual({ reminded: 2, escalated: 0, expired: 0 });
      expect(await reminded(f.db, byRoot.id)).toEqual(['alice', 'root2']);
      f.clock.advance(PERIOD / 2 - 1);
      expect(await engine.runDeadlines()).toEqual({ reminded: 0, escalated: 0, expired: 0 });
      expect(await escalatedTo(f.db, byAgent.id)).toEqual([]);
      f.clock.advance(1);
      expect(await engine.runDeadlines()).toEqual({ reminded: 0, escalated: 2, expired: 0 });
      expect(await escalatedTo(f.db, byAgent.id)).toEqual(['root', 'root2']);
      expect(await escalatedTo(f.db, byRoot.id)).toEqual(['root2']);
      const [first] = await eventData(f.db, byAgent.id, 'changeset.approval_escalated');
      expect(first).toEqual({
        recipient_id: 'root',
        approval_deadline: byAgent.approval_deadline,
        received_approvals: 0,
        required_approvals: 1,
      });
    });

    it('leaves a change-set pending past any expiry when on_expiry is none', async () => {
      const cs = await pending();
      f.clock.advance(10 * PERIOD);
      expect(await engine.runDeadlines()).toEqual({ reminded: 1, escalated: 1, expired: 0 });
      expect((await f.engine.get(cs.id)).status).toBe('PENDING_APPROVAL');
      expect(await eventData(f.db, cs.id, 'changeset.rejected')).toEqual([]);
    });

    it('sends each reminder and escalation once however often the pass runs', async () => {
      const cs = await pending();
      for (const step of [PERIOD, 0, PERIOD / 4, PERIOD / 4, 0, PERIOD]) {
        f.clock.advance(step);
        await engine.runDeadlines();
        await engine.runDeadlines();
      }
      expect(await reminded(f.db, cs.id)).toEqual(['alice', 'root', 'root2']);
      expect(await escalatedTo(f.db, cs.id)).toEqual(['root', 'root2']);
    });

    it('considers only pending change-sets: not withdrawn, approved or rejected ones', async () => {
      const withdrawn = await pending();
      await f.engine.withdraw(f.p['Agent-D']!, withdrawn.id);
      const approved = await pending();
      await f.engine.decide(f.p['alice']!, approved.id, { decision: 'APPROVED' });
      const vetoed = await pending();
      await f.engine.decide(f.p['root']!, vetoed.id, { decision: 'REJECTED' });
      const closed = await pending();
      await f.engine.close(f.p['Agent-D']!, closed.id);
      f.clock.advance(10 * PERIOD);
      expect(await engine.runDeadlines()).toEqual({ reminded: 0, escalated: 0, expired: 0 });
      for (const cs of [withdrawn, approved, vetoed, closed]) {
        expect(await reminded(f.db, cs.id)).toEqual([]);
        expect(await escalatedTo(f.db, cs.id)).toEqual([]);
      }
    });

    it('reminds a withdrawn and resubmitted change-set again in its new round', async () => {
      const cs = await pending();
      f.clock.advance(PERIOD);
      expect((await engine.runDeadlines()).reminded).toBe(1);
      await f.engine.withdraw(f.p['Agent-D']!, cs.id);
      const again = await f.engine.submit(f.p['Agent-D']!, cs.id);
      expect(again.approval_deadline).toBe(new Date(f.clock.now.getTime() + PERIOD).toISOString());
      expect((await engine.runDeadlines()).reminded).toBe(0);
      f.clock.advance(PERIOD);
      expect(await engine.runDeadlines()).toEqual({ reminded: 1, escalated: 0, expired: 0 });
      const data = await eventData(f.db, cs.id, 'changeset.approval_reminder');
      expect(data.map((d) => d['approval_deadline'])).toEqual([
        ...Array(3).fill(cs.approval_deadline),
        ...Array(3).fill(again.approval_deadline),
      ]);
    });
  });

  it('reminds exactly the eligible approvers who have not decided: not the creator, the inactive or the decided', async () => {
    // A second step from group security or bob: the change-set stays pending after alice approves.
    const policies = compilePolicies([
      {
        name: 'second-reviewer',
        condition: 'true',
        effect: 'require_approval',
        approvers: ['group:security', 'bob'],
        count: 1,
      },
    ]);
    use(withApproval({}, { policies }));
    const cs = await pending('root');
    expect(cs.required_approvals).toBe(2);
    expect((await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' })).status).toBe('PENDING_APPROVAL');
    await f.engine.updatePrincipal(f.p['root2']!, 'bob', { active: false });
    f.clock.advance(PERIOD);
    expect((await engine.runDeadlines()).reminded).toBe(1);
    // Eligible: alice (chain), root2 (admin), sam and bob (the policy); root created it.
    expect(await reminded(f.db, cs.id)).toEqual(['root2', 'sam']);
  });

  it('escalates to the configured contacts, groups resolved to active principals', async () => {
    use(withApproval({ escalation_contacts: ['sam', 'group:operator', 'group:nobody', 'Agent-D'] }));
    await f.engine.updatePrincipal(f.p['root']!, 'sam', { active: false });
    const cs = await pending();
    f.clock.advance(PERIOD * 1.5);
    expect(await engine.runDeadlines()).toEqual({ reminded: 1, escalated: 1, expired: 0 });
    expect(await escalatedTo(f.db, cs.id)).toEqual(['olga']);
  });

  it('rejects at expire_after when on_expiry is reject, once, as the system', async () => {
    use(REJECT_ON_EXPIRY);
    const cs = await pending();
    f.clock.advance(2 * PERIOD - 1);
    expect(await engine.runDeadlines()).toEqual({ reminded: 1, escalated: 1, expired: 0 });
    const before = await f.engine.get(cs.id);
    expect(before.status).toBe('PENDING_APPROVAL');
    f.clock.advance(1);
    expect(await engine.runDeadlines()).toEqual({ reminded: 0, escalated: 0, expired: 1 });
    expect(await engine.runDeadlines()).toEqual({ reminded: 0, escalated: 0, expired: 0 });
    const after = await f.engine.get(cs.id);
    expect(after).toMatchObject({ status: 'REJECTED', version: before.version + 1, updated_by: 'system' });
    expect(await eventData(f.db, cs.id, 'changeset.rejected')).toEqual([
      {
        by: 'system',
        reason: 'approval deadline expired',
        expired: true,
        received_approvals: 0,
        required_approvals: 1,
      },
    ]);
    expect((await f.engine.audit(cs.id)).at(-1)).toMatchObject({
      actor: 'system',
      action: 'transition',
      data: { from: 'PENDING_APPROVAL', to: 'REJECTED', reason: 'approval deadline expired' },
    });
    expect(await f.engine.verifyAudit()).toMatchObject({ ok: true });
  });

  it('sends all three in order when a pass finds them due at once', async () => {
    use(REJECT_ON_EXPIRY);
    const cs = await pending();
    f.clock.advance(5 * PERIOD);
    expect(await engine.runDeadlines({ batch: 1 })).toEqual({ reminded: 1, escalated: 1, expired: 1 });
    const { rows } = await f.db.query<{ type: string }>(
      "SELECT type FROM outbox_events WHERE change_set = $1 AND actor = 'system' ORDER BY id",
      [cs.id],
    );
    expect(rows.map((r) => r.type)).toEqual([
      ...Array(3).fill('changeset.approval_reminder'),
      ...Array(2).fill('changeset.approval_escalated'),
      'changeset.rejected',
    ]);
  });

  it('works through more due change-sets than one batch', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await pending()).id);
    f.clock.advance(PERIOD);
    expect(await engine.runDeadlines({ batch: 2 })).toEqual({ reminded: 5, escalated: 0, expired: 0 });
    for (const id of ids) expect(await reminded(f.db, id)).toEqual(['alice', 'root', 'root2']);
  });
});

describe('DeadlineScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A stand-in engine whose passes take 1.5 s, recording overlaps; the `failing` call throws. */
  function slowEngine(failing = 0) {
    const seen = { calls: 0, active: 0, overlapped: false };
    const engine = {
      async runDeadlines() {
        seen.calls += 1;
        const call = seen.calls;
        seen.active += 1;
        seen.overlapped ||= seen.active > 1;
        await new Promise((resolve) => setTimeout(resolve, 1500));
        seen.active -= 1;
        if (call === failing) throw new Error('database went away');
        return { reminded: 0, escalated: 0, expired: 0 };
      },
    };
    return { engine, seen };
  }

  it('runs a pass every interval after the previous one ends, never two at once', async () => {
    const { engine, seen } = slowEngine();
    const scheduler = new DeadlineScheduler(engine, 1000);
    scheduler.start();
    scheduler.start();
    // Passes start at 1 s, 3.5 s, 6 s and 8.5 s.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen).toEqual({ calls: 4, active: 0, overlapped: false });
    await scheduler.stop();
  });

  it('reports a failed pass to onError and carries on', async () => {
    const { engine, seen } = slowEngine(2);
    const errors: unknown[] = [];
    const scheduler = new DeadlineScheduler(engine, 1000, (error) => errors.push(error));
    scheduler.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen.calls).toBe(4);
    expect(errors.map((error) => (error as Error).message)).toEqual(['database went away']);
    await scheduler.stop();
  });

  it('stops: waits for the pass in progress, then runs no more', async () => {
    const { engine, seen } = slowEngine();
    const scheduler = new DeadlineScheduler(engine, 1000);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(1500);
    expect(seen.active).toBe(1);
    let stopped = false;
    const stopping = scheduler.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(500);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    await stopping;
    expect(seen.active).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen.calls).toBe(1);
  });
});

describe('approval.deadline_check_interval_ms', () => {
  it('is 30 seconds by default', () => {
    expect(DEFAULT_CONFIG.approval.deadline_check_interval_ms).toBe(30_000);
  });

  it("sets a running server's tick: a deadline already past is reminded within a few ticks", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'changeledger-tick-'));
    const config = parseConfig(
      `database: { data_dir: ${JSON.stringify(dir)} }\napproval: { deadline_check_interval_ms: 200 }\nlog_level: silent\n`,
      { env: {} },
    );
    const server = await startServer({ ...config, server: { ...config.server, port: 0 } });
    try {
      // Submitted with the fixture's clock (2026-11-25): the deadline is long past in real time,
      // so the server's first pass finds it due; with the 30 s default none would run in 5 s.
      const f = await makeFixture(server.db);
      const cs = await f.engine.submit(f.p['Agent-D']!, (await f.engine.create(f.p['Agent-D']!, configChange())).id);
      const started = Date.now();
      while ((await reminded(server.db, cs.id)).length === 0 && Date.now() - started < 5_000) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // The bootstrap admin (group admin) may approve anything too.
      expect(await reminded(server.db, cs.id)).toEqual(['admin', 'alice', 'root', 'root2']);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describePostgres('approval deadlines on several instances', (backend) => {
  let f: Fixture;
  let otherDb: Db;
  let instances: Engine[];

  beforeAll(async () => {
    const db = await backend.open({ max: 20 });
    f = await makeFixture(db, REJECT_ON_EXPIRY);
    otherDb = await openSecondInstanceDb(db, { max: 20 });
    instances = [f.engine, new Engine({ db: otherDb, config: REJECT_ON_EXPIRY, clock: () => f.clock.now })];
  });
  afterAll(async () => {
    await otherDb.close();
    await f.db.close();
  });

  /** Rows of (change-set, type, recipient) with how many events each got. */
  async function noticeCounts(ids: readonly string[]) {
    const { rows } = await f.db.query<{ change_set: string; type: string; recipient: string | null; n: number }>(
      `SELECT change_set::text, type,
              coalesce(envelope->'data'->>'approver_id', envelope->'data'->>'recipient_id') AS recipient,
              count(*)::int AS n
       FROM outbox_events
       WHERE change_set = ANY($1::uuid[]) AND actor = 'system'
       GROUP BY 1, 2, 3`,
      [ids],
    );
    return rows;
  }

  it('sends each reminder, escalation and expiry exactly once when two instances race 20 passes', async () => {
    const creator: Principal = f.p['Agent-D']!;
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const cs = await f.engine.create(creator, configChange());
      ids.push((await f.engine.submit(creator, cs.id)).id);
    }
    f.clock.advance(3 * PERIOD);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => instances[i % 2]!.runDeadlines({ batch: 3 })),
    );
    const total = (key: 'reminded' | 'escalated' | 'expired') => results.reduce((sum, r) => sum + r[key], 0);
    expect({ reminded: total('reminded'), escalated: total('escalated'), expired: total('expired') }).toEqual({
      reminded: 30,
      escalated: 30,
      expired: 30,
    });
    const counts = await noticeCounts(ids);
    expect(counts.filter((row) => row.n !== 1)).toEqual([]);
    const byType = (type: string) => counts.filter((row) => row.type === type).length;
    expect(byType('changeset.approval_reminder')).toBe(30 * 3);
    expect(byType('changeset.approval_escalated')).toBe(30 * 2);
    expect(byType('changeset.rejected')).toBe(30);
    const { rows } = await f.db.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM change_sets WHERE id = ANY($1::uuid[]) GROUP BY status',
      [ids],
    );
    expect(rows).toEqual([{ status: 'REJECTED', n: 30 }]);
    expect(await f.engine.verifyAudit()).toMatchObject({ ok: true });
  });

  it('races passes round by round: at the deadline, at escalation and at expiry', async () => {
    const creator: Principal = f.p['Agent-D']!;
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const cs = await f.engine.create(creator, configChange());
      ids.push((await f.engine.submit(creator, cs.id)).id);
    }
    for (const step of [PERIOD, PERIOD / 2, PERIOD / 2]) {
      f.clock.advance(step);
      await Promise.all(Array.from({ length: 20 }, (_, i) => instances[i % 2]!.runDeadlines({ batch: 4 })));
    }
    const counts = await noticeCounts(ids);
    expect(counts.filter((row) => row.n !== 1)).toEqual([]);
    expect(counts).toHaveLength(30 * (3 + 2 + 1));
  });
});

// SIGKILL of the real server while it applies a 10,000-item change-set ATOMICally on PostgreSQL, at
// three points of the apply transaction (just begun, writing its results, committing), then a
// restart on the same schema: the change-set is APPROVED with nothing applied, or APPLIED with all
// 10,000 items; every audit chain verifies; the outbox holds exactly the events of the committed
// actions.
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { cleanUp, freshPostgresUrl, type ServerProcess, type StartOptions, startServer } from '../e2e/helpers.js';
import { describePostgres } from '../helpers/backends.js';
import {
  call,
  checkLifecycles,
  checkOutboxAgainstAudit,
  checkResources,
  type JsonObject,
  report,
  type SchemaDb,
  schemaDb,
  waitUntil,
} from './helpers.js';

const N = 10_000;
const CS = 'CS-REL-CRASH';

type KillPoint = 'begun' | 'writing' | 'committing';

describePostgres('SIGKILL during a 10,000-item ATOMIC apply', () => {
  let server: ServerProcess;
  let options: StartOptions;
  let db: SchemaDb;
  let schema: string;
  /** The test's own connection for watching the server's transaction. */
  let watcher: pg.Client;
  const tokens: Record<string, string> = {};

  afterAll(async () => {
    await watcher?.end().catch(() => {});
    await db?.close();
    await cleanUp();
  });

  const api = (method: string, path: string, who: string, body?: unknown) =>
    call(server.url, method, path, tokens[who]!, body, { timeoutMs: 60_000 });

  /** The backend running the apply: the one holding a row-exclusive lock on this schema's resources. */
  async function applyBackend(): Promise<number | undefined> {
    const { rows } = await watcher.query<{ pid: number }>(
      `SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname = 'resources' AND l.mode = 'RowExclusiveLock' AND l.granted LIMIT 1`,
      [schema],
    );
    return rows[0]?.pid;
  }

  async function backendQuery(pid: number): Promise<{ state: string; query: string } | null> {
    const { rows } = await watcher.query<{ state: string; query: string }>(
      'SELECT state, query FROM pg_stat_activity WHERE pid = $1',
      [pid],
    );
    return rows[0] ?? null;
  }

  /**
   * The apply's first writes of its outcome, each followed by more heavy statements (the items'
   * update) before COMMIT: a kill while one of them runs lands well before the commit.
   */
  const WRITING = /^\s*(UPDATE resources|INSERT INTO resource_history)/;

  /**
   * Starts an apply, SIGKILLs the server at `point`, and waits until PostgreSQL has ended the dead
   * server's backend (its transaction rolled back or committed): returns what the watcher saw.
   */
  async function applyAndKill(point: KillPoint): Promise<JsonObject> {
    const started = performance.now();
    const response = api('POST', `/changesets/${CS}/apply`, 'olga', { mode: 'ATOMIC' });
    const pid = await waitUntil('the apply transaction to take its locks', applyBackend, {
      timeoutMs: 30_000,
      intervalMs: 2,
    });
    let seen = 'lock';
    if (point !== 'begun') {
      const deadline = performance.now() + 30_000;
      for (;;) {
        const activity = await backendQuery(pid);
        const stillLocked = (await applyBackend()) === pid;
        if (point === 'writing' && activity && WRITING.test(activity.query) && activity.state === 'active') {
          seen = activity.query.trim().split(/\s+/).slice(0, 3).join(' ');
          break;
        }
        if (point === 'committing' && activity && /^\s*COMMIT/i.test(activity.query)) {
          seen = `COMMIT (${activity.state})`;
          break;
        }
        // The transaction ended between two looks: kill now, the outcome is whatever it committed.
        if (!stillLocked) {
          seen = 'transaction ended';
          break;
        }
        if (performance.now() > deadline) throw new Error(`never saw the apply reach "${point}"`);
      }
    }
    server.proc.kill('SIGKILL');
    const killedAfterMs = Math.round(performance.now() - started);
    const answered = await response;
    await server.exited;
    // The dead server's backend ends when PostgreSQL notices; only then is the outcome final.
    await waitUntil('the dead server backend to end', async () => ((await backendQuery(pid)) ? undefined : true), {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
    return {
      point,
      seen,
      killedAfterMs,
      client: answered.ok ? answered.status : answered.error,
    };
  }

  /** Exactly one of the two legal outcomes, read from the database; the audit trail and outbox agree. */
  async function checkOutcome(): Promise<'APPROVED' | 'APPLIED'> {
    const [cs] = await db.query<{ id: string; status: string }>(
      'SELECT id, status FROM change_sets WHERE change_set_id = $1',
      [CS],
    );
    const items = await db.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM change_set_items WHERE change_set = $1 GROUP BY status',
      [cs!.id],
    );
    const [written] = await db.query<{ resources: number; present: number; history: number }>(
      `SELECT (SELECT count(*)::int FROM resources WHERE target_id LIKE 'flags.crash.%') AS resources,
              (SELECT count(*)::int FROM resources WHERE target_id LIKE 'flags.crash.%' AND present AND version = 1) AS present,
              (SELECT count(*)::int FROM resource_history WHERE change_set = $1) AS history`,
      [cs!.id],
    );
    const counts = Object.fromEntries(items.map((row) => [row.status, row.n]));
    if (cs!.status === 'APPROVED') {
      expect(counts).toEqual({ PENDING: N });
      expect(written).toEqual({ resources: 0, present: 0, history: 0 });
    } else {
      expect(cs!.status).toBe('APPLIED');
      expect(counts).toEqual({ APPLIED: N });
      expect(written).toEqual({ resources: N, present: N, history: N });
    }
    const lifecycles = await checkLifecycles(db);
    expect(lifecycles.problems).toEqual([]);
    const replay = lifecycles.replays.get(CS)!;
    expect(replay.counts['apply'] ?? 0).toBe(cs!.status === 'APPLIED' ? 1 : 0);
    expect((await checkResources(db)).problems).toEqual([]);
    expect((await checkOutboxAgainstAudit(db)).problems).toEqual([]);
    const verify = await api('GET', '/audit/verify', 'admin');
    expect(verify.ok && verify.body).toMatchObject({ ok: true, first_break: null });
    return cs!.status as 'APPROVED' | 'APPLIED';
  }

  it('leaves the change-set APPROVED with nothing applied or APPLIED with everything, at every kill point', async () => {
    const fresh = await freshPostgresUrl();
    schema = fresh.schema;
    options = { databaseUrl: fresh.url };
    server = await startServer(options);
    options = { ...options, cwd: server.cwd, dataDir: server.dataDir };
    tokens['admin'] = server.adminToken;
    db = schemaDb(fresh.url);
    watcher = new pg.Client({ connectionString: fresh.url.split('?')[0] });
    await watcher.connect();

    for (const body of [
      { id: 'Agent-D', kind: 'agent' },
      { id: 'alice', kind: 'human' },
      { id: 'olga', kind: 'human', groups: ['operator'] },
    ]) {
      const added = await api('POST', '/principals', 'admin', body);
      if (!added.ok || added.status !== 201) throw new Error(`adding ${body.id}: ${JSON.stringify(added)}`);
      tokens[body.id] = (added.body['token'] as { token: string }).token;
    }
    const items = Array.from({ length: N }, (_, i) => ({
      key: `k${i}`,
      operation_type: 'CREATE',
      target_type: 'FEATURE_FLAG',
      target_id: `flags.crash.${i}`,
      after_state: { enabled: i % 2 === 0, rollout: i % 100 },
    }));
    const created = await api('POST', '/changesets', 'Agent-D', {
      change_set_id: CS,
      title: 'Ten thousand flags',
      agent_type: 'BACKEND',
      category: 'CONFIG_UPDATE',
      approval_chain: ['alice'],
      items,
    });
    expect(created.ok && created.status, JSON.stringify(created)).toBe(201);
    expect((await api('POST', `/changesets/${CS}/submit`, 'Agent-D')).ok).toBe(true);
    const approved = await api('POST', `/changesets/${CS}/approve`, 'alice', { decision: 'APPROVED' });
    expect(approved.ok && approved.body['status']).toBe('APPROVED');

    const rounds: JsonObject[] = [];
    for (const point of ['begun', 'writing', 'committing'] as const) {
      const round = await applyAndKill(point);
      const restartedAt = performance.now();
      server = await startServer(options);
      const outcome = await checkOutcome();
      rounds.push({ ...round, restartMs: Math.round(performance.now() - restartedAt), outcome });
      if (outcome === 'APPLIED') break;
    }
    // Each kill before the commit left it APPROVED; whatever the kills did, a plain apply finishes it.
    if (rounds.at(-1)!['outcome'] === 'APPROVED') {
      const applied = await api('POST', `/changesets/${CS}/apply`, 'olga', { mode: 'ATOMIC' });
      expect(applied.ok && applied.body).toMatchObject({ success: true, status: 'APPLIED', applied_items: N });
      expect(await checkOutcome()).toBe('APPLIED');
    }
    // A kill before the COMMIT leaves nothing applied; the client never got an answer to it.
    for (const round of rounds) {
      const beforeCommit = round['seen'] === 'lock' || WRITING.test(String(round['seen']));
      if (beforeCommit) expect(round['outcome'], JSON.stringify(round)).toBe('APPROVED');
      if (round['outcome'] === 'APPROVED') expect(typeof round['client'], JSON.stringify(round)).toBe('string');
    }
    expect(rounds.filter((round) => round['outcome'] === 'APPROVED').length).toBeGreaterThanOrEqual(1);

    const [{ entries, events }] = (await db.query(
      `SELECT (SELECT count(*)::int FROM audit_entries) AS entries, (SELECT count(*)::int FROM outbox_events) AS events`,
    )) as [{ entries: number; events: number }];
    report('crash-during-apply', {
      items: N,
      kills: rounds.length,
      rounds,
      auditEntries: entries,
      outboxEvents: events,
      lost: 0,
    });
    await server.stop('SIGTERM');
  });
});

// SIGKILL of the real server while it applies a 10,000-item change-set ATOMICally on PostgreSQL, at
// three points of the apply (reading the change-set, its one write statement running, that
// statement done), then a restart on the same schema: the change-set is APPROVED with nothing
// applied, or APPLIED with all 10,000 items; every audit chain verifies; the outbox holds exactly
// the events of the committed actions. (An uncontended apply reads, then writes everything in one
// statement that commits by itself: engine/scope.ts.)
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import {
  addPrincipal,
  cleanUp,
  freshPostgresUrl,
  type ServerProcess,
  type StartOptions,
  startServer,
} from '../e2e/helpers.js';
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

type KillPoint = 'reading' | 'writing' | 'written';

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

  /**
   * The backend running a statement of the apply: the one holding `mode` on this schema's `table`
   * whose statement matches `query` (the watcher's own queries never hold these locks).
   */
  async function backendAt(table: string, mode: string, query: RegExp): Promise<number | undefined> {
    const { rows } = await watcher.query<{ pid: number; query: string; state: string }>(
      `SELECT l.pid, a.query, a.state FROM pg_locks l
         JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE n.nspname = $1 AND c.relname = $2 AND l.mode = $3 AND l.granted`,
      [schema, table, mode],
    );
    return rows.find((row) => row.state === 'active' && query.test(row.query))?.pid;
  }

  /** The apply's read of the change-set with its 10,000 items. */
  const reading = () => backendAt('change_set_items', 'AccessShareLock', /contents_items/);
  /**
   * The apply's one write statement: the targets, history, items, audit, outbox and change-set,
   * the targets' writes first (pg_stat_activity keeps only the first 1 kB of a statement).
   */
  const writing = () => backendAt('resources', 'RowExclusiveLock', /^\s*WITH w0 AS \((UPDATE|INSERT INTO) resources/);

  /**
   * Starts an apply, SIGKILLs the server at `point`, and waits until PostgreSQL has ended the dead
   * server's backend (whatever it was running finished or rolled back): returns what the watcher saw.
   */
  async function applyAndKill(point: KillPoint): Promise<JsonObject> {
    const started = performance.now();
    const response = api('POST', `/changesets/${CS}/apply`, 'olga', { mode: 'ATOMIC' });
    const wait = { timeoutMs: 30_000, intervalMs: 2 };
    let pid: number;
    let seen: string;
    if (point === 'reading') {
      pid = await waitUntil('the apply to read the change-set', reading, wait);
      seen = 'reading';
    } else {
      pid = await waitUntil('the apply to write', writing, wait);
      seen = 'writing';
      if (point === 'written') {
        await waitUntil('the write to end', async () => ((await writing()) === undefined ? true : undefined), wait);
        seen = 'written';
      }
    }
    server.proc.kill('SIGKILL');
    const killedAfterMs = Math.round(performance.now() - started);
    const answered = await response;
    await server.exited;
    // The dead server's backend ends when PostgreSQL notices; only then is the outcome final.
    await waitUntil(
      'the dead server backend to end',
      async () => {
        const { rows } = await watcher.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
        return rows.length === 0 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20 },
    );
    return { point, seen, killedAfterMs, client: answered.ok ? answered.status : answered.error };
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
      tokens[body.id] = await addPrincipal(server.url, tokens['admin']!, body);
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
    for (const point of ['reading', 'writing', 'written'] as const) {
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
    // A kill before the write leaves nothing applied; one after it, everything (the statement
    // committed by itself); one during it, either. A client whose apply was not applied never got
    // an answer to it.
    for (const round of rounds) {
      if (round['seen'] === 'reading') expect(round['outcome'], JSON.stringify(round)).toBe('APPROVED');
      if (round['seen'] === 'written') expect(round['outcome'], JSON.stringify(round)).toBe('APPLIED');
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

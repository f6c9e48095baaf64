// Waiting without polling: BENCH_WAITERS (5,000) clients wait at once on one instance
// (GET /changesets/{id}/wait, over real HTTP connections) for the decision on BENCH_CHANGE_SETS (100)
// change-sets; then every change-set is approved. Prints the waiters, the PostgreSQL connections of
// the database (pg_stat_activity) while they wait, the process's RSS, and the time from the
// decisions to the last of the answers. PostgreSQL at BENCH_DATABASE_URL (default
// postgres://root@127.0.0.1:5432/wt_wait), in a schema of its own, dropped afterwards.
// Run: npm run bench:wait
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Engine } from '../src/engine/engine.js';
import { buildApp } from '../src/http/app.js';
import { EventFeed } from '../src/notify/event-feed.js';
import { ChangeSetWaiters } from '../src/notify/waiters.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { benchEngineConfig, changeSetBody, createClientPrincipals } from './lib/fixture.js';

const URL_ = process.env['BENCH_DATABASE_URL'] || 'postgres://root@127.0.0.1:5432/wt_wait';
const WAITERS = Number(process.env['BENCH_WAITERS'] ?? 5_000);
const CHANGE_SETS = Number(process.env['BENCH_CHANGE_SETS'] ?? 100);
const POOL = 10;
const STEP = 250;

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

async function connections(admin: pg.Client, database: string) {
  const { rows } = await admin.query<{ state: string | null; n: number }>(
    `SELECT state, count(*)::int AS n FROM pg_stat_activity
     WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend' GROUP BY state`,
    [database],
  );
  const by = Object.fromEntries(rows.map((r) => [r.state ?? 'unknown', r.n]));
  return { total: rows.reduce((sum, r) => sum + r.n, 0), active: by['active'] ?? 0, by_state: by };
}

async function main(): Promise<void> {
  const schema = `bench_wait_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: URL_ });
  await admin.connect();
  const database = (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
  const db = await openPgDb({ connectionString: URL_, schema, max: POOL });
  try {
    await migrate(db);
    const engine = new Engine({ db, config: benchEngineConfig() });
    const [who] = await createClientPrincipals(engine, 1, 'wait');
    const agent = (await engine.principal(who!.agent))!;
    const approver = (await engine.principal(who!.approver))!;
    const ids: string[] = [];
    for (let n = 0; n < CHANGE_SETS; n++) {
      const cs = await engine.create(agent, changeSetBody(`CS-WAIT-${n}`, approver.id, 1));
      await engine.submit(agent, cs.id);
      ids.push(cs.id);
    }
    const feed = new EventFeed({ db });
    await feed.start();
    const waiters = new ChangeSetWaiters({ feed, read: (id) => engine.get(id) });
    const app = await buildApp({ engine, events: feed, waiters });
    const base = new URL(await app.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }));
    const agentPool = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });

    const rssBefore = process.memoryUsage().rss;
    let answered = 0;
    let lastAnswerAt = 0;
    const outcomes = new Map<string, number>();
    const open = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const req = request(
          {
            host: base.hostname,
            port: base.port,
            path: `/api/ledger/changesets/${ids[n % ids.length]}/wait?for=decision&timeout_s=300`,
            headers: { authorization: `Bearer ${who!.agentToken}` },
            agent: agentPool,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              const body = JSON.parse(Buffer.concat(chunks).toString()) as { outcome?: string; code?: string };
              const key = `${res.statusCode} ${body.outcome ?? body.code}`;
              outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
              answered++;
              lastAnswerAt = performance.now();
              resolve();
            });
          },
        );
        req.on('error', reject);
        req.end();
      });
    // Connections are opened in steps, so that the listen backlog does not overflow.
    const answers: Promise<void>[] = [];
    const startedWaiting = performance.now();
    for (let n = 0; n < WAITERS; n++) {
      answers.push(open(n));
      if ((n + 1) % STEP === 0 || n + 1 === WAITERS)
        while (waiters.count < n + 1) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const allWaitingMs = performance.now() - startedWaiting;
    // Let the starts' reads finish, then look at what the waiting holds.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const waiting = await connections(admin, database);
    const rssWaiting = process.memoryUsage().rss;
    const subscribers = feed.subscriberCount;

    const firstDecision = performance.now();
    for (const id of ids) await engine.decide(approver, id, { decision: 'APPROVED' });
    const lastDecision = performance.now();
    await Promise.all(answers);
    const after = await connections(admin, database);

    const result = {
      backend: `postgresql (${database}, schema ${schema}, pool max ${POOL})`,
      waiters: WAITERS,
      change_sets: CHANGE_SETS,
      seconds_to_register_all: Math.round(allWaitingMs) / 1000,
      pg_connections_while_waiting: waiting,
      feed_subscribers_while_waiting: subscribers,
      rss_mb: {
        before_waits: mb(rssBefore),
        while_waiting: mb(rssWaiting),
        per_waiter_kb: Math.round((rssWaiting - rssBefore) / 1024 / WAITERS),
      },
      ms_from_first_decision_to_all_answered: Math.round(lastAnswerAt - firstDecision),
      ms_from_last_decision_to_all_answered: Math.round(lastAnswerAt - lastDecision),
      ms_spent_deciding: Math.round(lastDecision - firstDecision),
      answered,
      answers: Object.fromEntries(outcomes),
      waiters_left: waiters.count,
      pg_connections_after: after,
    };
    console.log(JSON.stringify(result, null, 2));
    await app.close();
    agentPool.destroy();
    await feed.stop();
    if (answered !== WAITERS || outcomes.get('200 approved') !== WAITERS) process.exitCode = 1;
  } finally {
    await db.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await admin.end();
  }
}

await main();

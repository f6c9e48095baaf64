// The activity overview (GET /api/ledger/stats/activity) over a long history: 20,000 change-sets
// spread over a year (80,000 audit entries of theirs, plus other entries the queries must skip),
// 1,000 of them pending. Prints the time of engine.activity for 7, 30 and 90 days (median of 7
// runs after a warm-up) and the plan of each of its queries, to show they use the indexes (the
// audit trail's by action and time, migration 0012). Run:
// node --import tsx bench/activity.bench.ts   (BENCH_DATABASE_URL or TEST_DATABASE_URL; a schema of its own)
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Engine } from '../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../src/engine/engine-config.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { BASE_URL } from './lib/database.js';
import { QUICK } from './lib/results.js';

const CHANGE_SETS = QUICK ? 2_000 : 20_000;
const RUNS = 7;
const NOW = new Date('2026-11-25T12:00:00.000Z');

/** A year of history written directly: each change-set created, submitted, decided, and most applied. */
async function seed(db: Db): Promise<void> {
  await db.query(
    `INSERT INTO change_sets (id, change_set_id, title, agent_id, agent_type, category, priority, status, risk,
       required_approvals, content_hash, item_count, audit_head, audit_count, created_at, created_by,
       updated_at, updated_by, submitted_at)
     SELECT gen_random_uuid(), 'CS-BENCH-' || i, 'bench', 'agent-' || (i % 40), 'BOT', 'CONFIG_UPDATE', 'NORMAL',
            CASE WHEN i % 20 = 0 THEN 'PENDING_APPROVAL' WHEN i % 10 = 1 THEN 'REJECTED' ELSE 'APPLIED' END,
            '{}'::jsonb, 1, 'sha256:bench', 1, 'bench', 4, at, 'bench', at, 'bench', at
       FROM (SELECT i, $1::timestamptz - (i % 365) * interval '1 day' - (i % 1440) * interval '1 minute' AS at
               FROM generate_series(1, $2::int) i) s`,
    [NOW.toISOString(), CHANGE_SETS],
  );
  const entry = (seq: number, action: string, data: string, minutes: string, where = 'true') =>
    db.query(
      `INSERT INTO audit_entries (chain, chain_seq, at, actor, action, change_set, data, prev_hash, hash)
       SELECT c.id::text, ${seq}, c.created_at + (${minutes}) * interval '1 minute', 'bench', '${action}', c.id,
              ${data}::jsonb, 'bench', 'bench' FROM change_sets c WHERE ${where}`,
    );
  await entry(1, 'create', `'{"status":"DRAFT"}'`, '0');
  await entry(2, 'submit', `'{"status":"PENDING_APPROVAL"}'`, '1');
  await entry(3, 'decision', `'{"decision":"APPROVED"}'`, '30', "c.status <> 'PENDING_APPROVAL'");
  await entry(
    4,
    'transition',
    `json_build_object('from', 'PENDING_APPROVAL', 'to', CASE WHEN c.status = 'REJECTED' THEN 'REJECTED' ELSE 'APPROVED' END,
       'cause', CASE WHEN c.status = 'REJECTED' THEN 'veto' ELSE 'approvals met' END)::text`,
    '30 + (length(c.change_set_id) * 7) % 600',
    "c.status <> 'PENDING_APPROVAL'",
  );
  await entry(5, 'apply', `'{"status":"APPLIED"}'`, '700', "c.status = 'APPLIED'");
  await entry(6, 'rollback', `'{}'`, '900', "c.status = 'APPLIED' AND c.change_set_id LIKE '%7'");
  await db.query('ANALYZE change_sets');
  await db.query('ANALYZE audit_entries');
}

/** Every query `run` sends, with its parameters. */
async function capture(db: Db, run: (db: Db) => Promise<unknown>) {
  const sent: { sql: string; params: unknown[] }[] = [];
  const spy = new Proxy(db, {
    get(target, key, receiver) {
      if (key === 'query')
        return (sql: string, params: unknown[] = []) => {
          sent.push({ sql, params });
          return target.query(sql, params);
        };
      return Reflect.get(target, key, receiver);
    },
  });
  await run(spy);
  return sent;
}

async function main() {
  const schema = `bench_activity_${randomBytes(3).toString('hex')}`;
  const db = await openPgDb({ connectionString: BASE_URL, schema, max: 2 });
  try {
    await migrate(db);
    const started = performance.now();
    await seed(db);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries');
    console.log(
      `seeded ${CHANGE_SETS} change-sets, ${rows[0]?.n} audit entries in ${Math.round(performance.now() - started)} ms`,
    );
    for (const days of [7, 30, 90]) {
      const engine = new Engine({ db, config: DEFAULT_ENGINE_CONFIG, clock: () => NOW });
      await engine.activity({ days });
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        await engine.activity({ days });
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      const answer = await engine.activity({ days });
      console.log(
        `activity ${String(days).padStart(2)} days: median ${times[Math.floor(RUNS / 2)]?.toFixed(1)} ms, ` +
          `max ${times.at(-1)?.toFixed(1)} ms (proposed ${answer.totals.proposed}, ` +
          `${answer.time_to_decision.decisions} decisions, ${answer.queue.pending} pending, ${answer.agents.length} agents)`,
      );
    }
    const queries = await capture(db, (spied) =>
      new Engine({ db: spied, config: DEFAULT_ENGINE_CONFIG, clock: () => NOW }).activity({ days: 30 }),
    );
    for (const [index, query] of queries.entries()) {
      const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${query.sql}`, query.params);
      console.log(`\nquery ${index + 1} of ${queries.length} (30 days):`);
      for (const line of plan.rows) console.log(`  ${line['QUERY PLAN']}`);
    }
  } finally {
    await db.query(`DROP SCHEMA ${pg.escapeIdentifier(schema)} CASCADE`);
    await db.close();
  }
}

await main();

// Replay over a long history: 100,000 recorded change-sets in PostgreSQL, judged under a candidate
// configuration (risk weights, level thresholds, agents and four policies) by engine/replay.ts, the code behind
// `changeledger policy replay` and POST /api/ledger/policies/replay.
//
// The history is seeded fast and in the real tables' shape: a few change-sets are recorded through
// the engine (an auto-approved button, a pending config change, a security change, an applied and
// rolled back one), then each is cloned thousands of times with INSERT … SELECT … generate_series,
// row and items alike, every column copied but the ids, the change_set_id and the creation time.
//
// Run: npm run bench:replay   (BENCH_DATABASE_URL or TEST_DATABASE_URL names the server;
// BENCH_REPLAY_ROWS changes the number of change-sets, default 100000).
import { performance } from 'node:perf_hooks';
import { Engine } from '../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../src/engine/engine-config.js';
import type { Queryable } from '../src/store/db.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { createDatabase } from './lib/database.js';
import { benchEngineConfig, principal } from './lib/fixture.js';
import { machine, writeResult } from './lib/results.js';

const ROWS = Number(process.env['BENCH_REPLAY_ROWS'] ?? 100_000);
/** The whole replay must take less than this (the task's bound). */
const LIMIT_MS = 60_000;

/** New weights and level thresholds, trust in Agent-D, and four policies. */
const CANDIDATE = `
agents: { Agent-A: 15, Agent-D: 5 }
risk:
  weights: { operation: 0.25, target: 0.35, agent: 0.2, scope: 0.15, quantity: 0.05 }
  levels: { critical: 60, high: 40, medium: 20 }
policies:
  - name: deny-security-targets
    actions: [create]
    condition: items.exists(i, i.target_type == "CONFIG" && i.target_id.startsWith("security."))
    effect: deny
  - name: config-review
    condition: items.exists(i, i.target_id.startsWith("config."))
    effect: require_approval
    approvers: [group:security]
  - name: weekend-freeze
    actions: [apply]
    condition: now.getDayOfWeek() in [6, 0]
    effect: deny
  - name: big
    condition: size(items) > 3
    effect: warn
`;

async function recordTemplates(engine: Engine): Promise<string[]> {
  for (const p of [
    principal('Agent-A', 'agent'),
    principal('Agent-D', 'agent'),
    principal('alice', 'human'),
    principal('sam', 'human', ['security']),
  ]) {
    await engine.createPrincipal(null, p, { withToken: false });
  }
  const as = async (id: string) => {
    const found = await engine.principal(id);
    if (!found) throw new Error(`no principal ${id}`);
    return found;
  };
  const [agentA, agentD, alice] = [await as('Agent-A'), await as('Agent-D'), await as('alice')];
  const config = (id: string, target: string, items = 1) => ({
    change_set_id: id,
    title: 'Tune settings',
    agent_type: 'BACKEND',
    category: 'CONFIG_UPDATE',
    approval_chain: ['alice'],
    items: Array.from({ length: items }, (_, n) => ({
      operation_type: 'CREATE',
      target_type: 'CONFIG',
      target_id: `${target}.${n}`,
      after_state: { value: n },
    })),
  });
  const button = await engine.create(agentA, {
    change_set_id: 'T-BUTTON',
    title: 'Add a button',
    agent_type: 'UI',
    category: 'UI_LAYOUT',
    items: [
      { operation_type: 'CREATE', target_type: 'UI_COMPONENT', target_id: 'ui.ok', after_state: { label: 'OK' } },
    ],
  });
  const pending = await engine.create(agentD, config('T-PENDING', 'config.pending', 5));
  await engine.submit(agentD, pending.change_set_id);
  const security = await engine.create(agentD, config('T-SECURITY', 'security.mfa'));
  const undone = await engine.create(agentD, config('T-UNDONE', 'config.undone', 2));
  await engine.submit(agentD, undone.change_set_id);
  const submitted = await engine.get(undone.change_set_id);
  await engine.decide(alice, undone.change_set_id, { decision: 'APPROVED', content_hash: submitted.content_hash });
  await engine.apply(agentD, undone.change_set_id, {});
  await engine.rollback(agentD, undone.change_set_id, { reason: 'bench' });
  return [button.id, pending.id, security.id, undone.id];
}

async function columnsOf(db: Queryable, table: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT column_name AS name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows.map((r) => r.name);
}

/** Clones each template `copies` times, rows then items, in two statements per template. */
async function seed(db: Queryable, templates: readonly string[], copies: number): Promise<void> {
  const setColumns = await columnsOf(db, 'change_sets');
  const itemColumns = await columnsOf(db, 'change_set_items');
  const cloneId = (column: string) => `md5(${column}::text || ':' || g)::uuid`;
  const setValue = (column: string) =>
    column === 'id'
      ? cloneId('c.id')
      : column === 'change_set_id'
        ? `c.change_set_id || '-' || g`
        : // Spread over the last 20 days, one change-set every few seconds.
          column === 'created_at'
          ? `now() - interval '20 days' + (g * ${templates.length}) * interval '4 seconds'`
          : `c.${column}`;
  const itemValue = (column: string) =>
    column === 'id' ? cloneId('i.id') : column === 'change_set' ? cloneId('i.change_set') : `i.${column}`;
  for (const template of templates) {
    await db.query(
      `INSERT INTO change_sets (${setColumns.join(', ')})
       SELECT ${setColumns.map(setValue).join(', ')} FROM change_sets c, generate_series(1, $2) g WHERE c.id = $1`,
      [template, copies],
    );
    await db.query(
      `INSERT INTO change_set_items (${itemColumns.join(', ')})
       SELECT ${itemColumns.map(itemValue).join(', ')} FROM change_set_items i, generate_series(1, $2) g
       WHERE i.change_set = $1`,
      [template, copies],
    );
  }
}

const database = await createDatabase('replay');
const db = await openPgDb({ connectionString: database.url, max: 4 });
try {
  await migrate(db);
  const engine = new Engine({ db, config: DEFAULT_ENGINE_CONFIG });
  const templates = await recordTemplates(engine);
  const copies = Math.ceil(ROWS / templates.length);
  const seedStart = performance.now();
  await seed(db, templates, copies);
  await db.query('ANALYZE change_sets');
  await db.query('ANALYZE change_set_items');
  const seedMs = performance.now() - seedStart;
  const { rows } = await db.query<{ sets: number; items: number }>(
    `SELECT (SELECT count(*)::int FROM change_sets) AS sets, (SELECT count(*)::int FROM change_set_items) AS items`,
  );
  const counts = rows[0] ?? { sets: 0, items: 0 };
  console.log(
    `seeded ${counts.sets.toLocaleString('en-US')} change-sets, ${counts.items.toLocaleString('en-US')} items ` +
      `in ${(seedMs / 1000).toFixed(1)} s`,
  );

  const candidate = benchEngineConfig(CANDIDATE);
  // The same database, its reads timed: how long a read of the history was in flight.
  let readMs = 0;
  const timed = new Proxy(db, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property !== 'query' || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const began = performance.now();
        try {
          return await value.apply(target, args);
        } finally {
          readMs += performance.now() - began;
        }
      };
    },
  });
  const replaying = new Engine({ db: timed, config: DEFAULT_ENGINE_CONFIG });
  let peakHeap = 0;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 50);
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  const result = await replaying.replayPolicies(null, candidate, { since: '30d' });
  const elapsedMs = performance.now() - start;
  clearInterval(sampler);
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  const perSecond = Math.round((result.totals.replayed / elapsedMs) * 1000);

  const summary = {
    benchmark: 'policy replay',
    unit: 'change-sets/s',
    change_sets: result.totals.replayed,
    items: counts.items,
    seed_seconds: Number((seedMs / 1000).toFixed(2)),
    replay_seconds: Number((elapsedMs / 1000).toFixed(2)),
    change_sets_per_second: perSecond,
    reads_in_flight_seconds: Number((readMs / 1000).toFixed(2)),
    limit_seconds: LIMIT_MS / 1000,
    meets_limit: elapsedMs < LIMIT_MS,
    heap_mb: { before: Math.round(heapBefore / 2 ** 20), peak: Math.round(peakHeap / 2 ** 20) },
    totals: result.totals,
    summary: result.summary,
    machine: machine(),
    date: new Date().toISOString(),
  };
  console.log(
    `replay: ${result.totals.replayed.toLocaleString('en-US')} change-sets in ${summary.replay_seconds} s = ` +
      `${perSecond.toLocaleString('en-US')} change-sets/s (limit ${LIMIT_MS / 1000} s: ` +
      `${summary.meets_limit ? 'met' : 'NOT met'}), a read in flight for ${summary.reads_in_flight_seconds} s (the next page is read while one is judged); heap ${summary.heap_mb.before} → peak ${summary.heap_mb.peak} MB`,
  );
  console.log(result.summary);
  writeResult('replay', summary);
  console.log('written to bench/results/replay.json');
  if (result.totals.replayed < ROWS) throw new Error(`replayed ${result.totals.replayed}, seeded ${ROWS}`);
} finally {
  await db.close();
  await database.drop();
}

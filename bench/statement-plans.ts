// The plan and buffers of every statement of a lifecycle step, and the indexes no query used:
// one client drives 5-item change-sets through the API (app.inject) on PostgreSQL with auto_explain
// loaded into the session (ANALYZE, BUFFERS, nested statements: trigger bodies too, as notices), then
// lists pg_stat_user_indexes of the fresh database. Figures are means over the second half of the
// iterations: executor time with auto_explain's timing on (so above the statement's plain cost). Not part of `npm run bench` (a diagnostic:
// pg_stat_statements needs shared_preload_libraries, which a shared server may not have).
// Run: node --import tsx bench/statement-plans.ts [ITERATIONS]   (needs a superuser role)
import pg from 'pg';
import { Engine } from '../src/engine/engine.js';
import { buildApp } from '../src/http/app.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { createDatabase } from './lib/database.js';
import { benchEngineConfig, changeSetBody, createClientPrincipals } from './lib/fixture.js';
import { sqlLabel } from './lib/query-observer.js';

const ITERATIONS = Number(process.argv[2] ?? 40);
let step: string | null = null;
let measuring = false;
const plans = new Map<string, Map<string, { n: number; ms: number; hit: number; read: number; plan: string }>>();
const hooked = new WeakSet<pg.Client>();

const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
(pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (
  this: pg.Client,
  ...args: unknown[]
) {
  if (!hooked.has(this)) {
    hooked.add(this);
    this.on('notice', (notice) => {
      if (!step || !measuring || !notice.message?.startsWith('duration:')) return;
      const message = notice.message;
      const ms = Number(/duration: ([\d.]+) ms/.exec(message)?.[1] ?? 0);
      const query = /Query Text: ([\s\S]*?)\n/.exec(message)?.[1] ?? '?';
      const buffers = [...message.matchAll(/Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?/g)][0];
      const label = sqlLabel(query, 110);
      const byStep = plans.get(step) ?? new Map();
      plans.set(step, byStep);
      const entry = byStep.get(label) ?? { n: 0, ms: 0, hit: 0, read: 0, plan: message };
      entry.n++;
      entry.ms += ms;
      entry.hit += Number(buffers?.[1] ?? 0);
      entry.read += Number(buffers?.[2] ?? 0);
      entry.plan = message;
      byStep.set(label, entry);
    });
  }
  return original.apply(this, args);
};

const fresh = await createDatabase('plans');
const url = new URL(fresh.url);
url.searchParams.set(
  'options',
  [
    '-c session_preload_libraries=auto_explain',
    '-c auto_explain.log_min_duration=0',
    '-c auto_explain.log_analyze=on',
    '-c auto_explain.log_buffers=on',
    '-c auto_explain.log_nested_statements=on',
    '-c auto_explain.log_level=notice',
  ].join(' '),
);
const db = await openPgDb({ connectionString: url.toString(), max: 1 });
try {
  await migrate(db);
  const engine = new Engine({ db, config: benchEngineConfig() });
  const [who] = await createClientPrincipals(engine, 1, 'sp');
  const app = await buildApp({ engine, logger: false });
  await app.ready();
  const call = async (name: string, method: 'GET' | 'POST', path: string, token: string, payload?: object) => {
    step = name;
    const response = await app.inject({
      method,
      url: path,
      headers: { authorization: `Bearer ${token}` },
      ...(payload ? { payload } : {}),
    });
    step = null;
    if (response.statusCode >= 300) throw new Error(`${name}: ${response.statusCode} ${response.body}`);
    return response.json() as { id: string };
  };
  const base = '/api/ledger/changesets';
  for (let n = 0; n < ITERATIONS; n++) {
    // The first half warms the caches and the prepared statements; the second half is reported.
    measuring = n >= ITERATIONS / 2;
    const created = await call('create', 'POST', base, who!.agentToken, changeSetBody(`SP-${n}`, who!.approver, 5));
    const path = `${base}/${created.id}`;
    await call('submit', 'POST', `${path}/submit`, who!.agentToken, {});
    await call('approve', 'POST', `${path}/approve`, who!.approverToken, { decision: 'APPROVED' });
    await call('apply', 'POST', `${path}/apply`, who!.agentToken, { mode: 'ATOMIC' });
    await call('get', 'GET', path, who!.agentToken);
  }
  await app.close();
  for (const [name, byStep] of plans) {
    console.log(`\n## ${name}`);
    for (const [label, e] of byStep)
      console.log(
        `  ${(e.ms / e.n).toFixed(3)} ms  hit ${(e.hit / e.n).toFixed(0)} read ${(e.read / e.n).toFixed(1)}  ×${(e.n / (ITERATIONS / 2)).toFixed(1)}  ${label}`,
      );
  }
  if (process.env['PLANS_FULL'])
    for (const [name, byStep] of plans)
      for (const [label, e] of byStep) console.log(`\n#### ${name}: ${label}\n${e.plan}`);
  const { rows } = await db.query<{ table: string; index: string; scans: number; size: string }>(
    `SELECT relname AS table, indexrelname AS index, idx_scan AS scans,
            pg_size_pretty(pg_relation_size(indexrelid)) AS size
     FROM pg_stat_user_indexes ORDER BY idx_scan, relname, indexrelname`,
  );
  console.log('\n## index scans');
  for (const row of rows) console.log(`  ${String(row.scans).padStart(6)}  ${row.table}.${row.index} (${row.size})`);
  const tables = await db.query<{ table: string; ins: number; upd: number; hot: number }>(
    `SELECT relname AS table, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot
     FROM pg_stat_user_tables WHERE n_tup_upd > 0 ORDER BY n_tup_upd DESC`,
  );
  console.log('\n## updates (HOT: no index entry written)');
  for (const row of tables.rows) console.log(`  ${row.table}: ${row.upd} updated, ${row.hot} HOT, ${row.ins} inserted`);
} finally {
  await db.close();
  await fresh.drop();
}

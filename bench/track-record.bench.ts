// Track record on a large history (docs/trust.md): an agent with 100 000 outcomes over a year,
// among 400 000 of other agents. Times the two reads the engine makes: the trust history (at every
// create, edit, apply and rollback while trust is on) and the whole record (the API's answer).
// Run: node --import tsx bench/track-record.bench.ts   (PGlite; BENCH_DATABASE_URL for PostgreSQL)
import { performance } from 'node:perf_hooks';
import { Engine } from '../src/engine/engine.js';
import { DEFAULT_ENGINE_CONFIG } from '../src/engine/engine-config.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { openPgliteDb } from '../src/store/pglite-db.js';
import { readRecordCounts, readTrustHistory } from '../src/store/track-record.js';

const OWN = 100_000;
const OTHERS = Number(process.env['BENCH_OTHERS'] ?? 400_000);
const DAY = 86_400_000;

async function open(): Promise<Db> {
  const url = process.env['BENCH_DATABASE_URL'];
  const db = url ? await openPgDb({ connectionString: url }) : await openPgliteDb();
  await migrate(db);
  return db;
}

async function median(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

const db = await open();
const now = new Date('2026-11-25T10:00:00.000Z');
const engine = new Engine({ db, config: DEFAULT_ENGINE_CONFIG, clock: () => now });
const { principal } = await engine.createPrincipal(
  null,
  { id: 'busy', kind: 'agent', display_name: null, email: null, slack_id: null, groups: [], risk: null, active: true },
  { withToken: false },
);
const cs = await engine.create(principal, {
  change_set_id: 'CS-BENCH',
  title: 'bench',
  agent_type: 'UI',
  category: 'UI_LAYOUT',
  items: [{ operation_type: 'CREATE', target_type: 'UI_COMPONENT', target_id: 'ui.bench', after_state: 1 }],
});
const seed = (agent: string, count: number) =>
  db.query(
    `INSERT INTO agent_outcomes (agent_id, change_set, category, outcome, veto, after_apply_ms, at)
     SELECT $1 || CASE WHEN $1 = 'busy' THEN '' ELSE (g % 50)::text END, $2, 'UI_LAYOUT',
       (ARRAY['proposed','auto_approved','applied','applied','rolled_back','rejected'])[1 + g % 6],
       false, CASE WHEN g % 6 = 4 THEN g % 100000 END, $3::timestamptz - (g % 365) * interval '1 day'
     FROM generate_series(1, $4) AS g`,
    [agent, cs.id, now.toISOString(), count],
  );
const seeded = performance.now();
await seed('busy', OWN);
await seed('other-', OTHERS);
await db.query('ANALYZE agent_outcomes');
console.log(`seeded ${OWN + OTHERS} outcomes in ${Math.round(performance.now() - seeded)} ms`);

const since = new Date(now.getTime() - 30 * DAY).toISOString();
const history = await median(30, () => readTrustHistory(db, 'busy', since));
const windows = [7, 30, 90].map((d) => new Date(now.getTime() - d * DAY).toISOString());
const record = await median(10, () => readRecordCounts(db, 'busy', [...windows, null]));
console.log(
  `trust history (30-day window, ${Math.round(OWN * (30 / 365))} of the agent's rows): median ${history.toFixed(1)} ms`,
);
console.log(`whole record (4 windows, by category and target type, ${OWN} rows): median ${record.toFixed(1)} ms`);
await db.close();

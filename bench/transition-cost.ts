// PostgreSQL backend CPU of a change-set's own writes: per lifecycle, the INSERT of a change-set and
// its three transitions (submit → PENDING_APPROVAL with a deadline, approve → APPROVED, apply →
// APPLIED), each its own statement as the engine sends them, on a table of 10,000 change-sets. One
// scratch database per variant, one connection each, measured in alternating rounds
// (/proc/<pid>/schedstat of the backend). Variants (bench/lib/status-indexes.ts):
//   indexed   the schema as migrated (status indexed: no transition is a HOT update)
//   dropped   the indexes on status dropped, fillfactor 70 (every transition HOT; the status-keyed
//             reads lose their index)
//   copy      dropped, the status-keyed reads served from change_set_status kept by triggers
//   copy-cte  the same, the copy updated by the transition's own statement (a CTE) instead
// Run: node --import tsx bench/transition-cost.ts (not part of `npm run bench`); BENCH_ROUNDS (5),
// BENCH_LIFECYCLES (800 per round and variant).
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { onCpuNs } from './lib/cpu.js';
import { createDatabase } from './lib/database.js';
import { DROP_STATUS_INDEXES, FILLFACTOR_70, STATUS_COPY } from './lib/status-indexes.js';

const ROWS = 10_000;
const LIFECYCLES = Number(process.env['BENCH_LIFECYCLES'] ?? 800);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const VARIANTS = ['indexed', 'dropped', 'copy', 'copy-cte'] as const;
type Variant = (typeof VARIANTS)[number];

const INSERT = `INSERT INTO change_sets (id, change_set_id, title, agent_id, agent_type, category, priority,
    tags, status, risk, required_approvals, content_hash, item_count, audit_head, audit_count,
    created_at, created_by, updated_at, updated_by)
  SELECT $1::uuid, 'tc-' || $1, 'a title', 'agent-' || ($2::int % 50), 'bot', 'config', 'NORMAL',
    ARRAY['t' || ($2::int % 7)], 'DRAFT', '{"score": 1}'::jsonb, 1, 'sha256:x', 5, 'h', 1, now(), 'agent',
    now(), 'agent'`;
const TRANSITIONS = [
  `status = 'PENDING_APPROVAL', approval_deadline = now() + interval '1 day', submitted_at = now()`,
  `status = 'APPROVED', received_approvals = 1`,
  `status = 'APPLIED', applied_at = now(), applied_by = 'agent'`,
].map((set) => `UPDATE change_sets SET ${set}, updated_at = now(), version = version + 1 WHERE id = $1`);

const transition = (variant: Variant, update: string): string =>
  variant === 'copy-cte'
    ? `WITH u AS (${update} RETURNING id, status, approval_deadline, version)
       UPDATE change_set_status s SET status = u.status, approval_deadline = u.approval_deadline
       FROM u WHERE s.id = u.id RETURNING u.version`
    : `${update} RETURNING version`;

async function open(variant: Variant) {
  const fresh = await createDatabase(`tc_${variant.replace('-', '_')}`);
  const db = await openPgDb({ connectionString: fresh.url, max: 1 });
  await migrate(db);
  if (variant !== 'indexed') await db.exec(`${DROP_STATUS_INDEXES}; ${FILLFACTOR_70}`);
  if (variant === 'copy' || variant === 'copy-cte') await db.exec(STATUS_COPY);
  if (variant === 'copy-cte') await db.exec('ALTER TABLE change_sets DISABLE TRIGGER change_set_status_update');
  for (let i = 0; i < ROWS; i++) await db.query(INSERT, [randomUUID(), i]);
  await db.query('VACUUM ANALYZE change_sets');
  return { db, fresh, variant };
}

/** Backend CPU per lifecycle, µs. */
async function round(target: Awaited<ReturnType<typeof open>>): Promise<number> {
  // The pool may have closed the idle connection while the others ran: the backend of now.
  const pid = (await target.db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const cpu0 = onCpuNs(pid)!;
  for (let i = 0; i < LIFECYCLES; i++) {
    const id = randomUUID();
    await target.db.query(INSERT, [id, i]);
    for (const update of TRANSITIONS) await target.db.query(transition(target.variant, update), [id]);
  }
  return (onCpuNs(pid)! - cpu0) / LIFECYCLES / 1e3;
}

const targets = [];
for (const variant of VARIANTS) targets.push(await open(variant));
try {
  for (const target of targets) await round(target);
  const sums = new Map<Variant, number>();
  for (let r = 1; r <= ROUNDS; r++) {
    const load = loadavg()[0]!.toFixed(1);
    const line: string[] = [];
    for (const target of targets) {
      const us = await round(target);
      sums.set(target.variant, (sums.get(target.variant) ?? 0) + us);
      line.push(`${target.variant} ${us.toFixed(0)}`);
    }
    console.log(`round ${r} (load ${load}), µs of backend CPU per lifecycle: ${line.join(', ')}`);
  }
  console.log(`means: ${[...sums].map(([variant, sum]) => `${variant} ${(sum / ROUNDS).toFixed(0)}`).join(', ')}`);
  for (const target of targets) {
    const { rows } = await target.db.query<{ n_tup_upd: string; n_tup_hot_upd: string }>(
      "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'change_sets'",
    );
    console.log(`${target.variant}: change_sets updates ${rows[0]?.n_tup_upd}, HOT ${rows[0]?.n_tup_hot_upd}`);
  }
} finally {
  for (const target of targets) {
    await target.db.close();
    await target.fresh.drop();
  }
}

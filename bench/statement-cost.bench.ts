// What one SQL statement costs, and what preparing it once would save: the engine's hottest reads
// (authentication, the change-set row, its items, its approvals, the target states) run on one
// connection as the store runs them (node-postgres's unnamed statements: parsed and planned on every
// call) and as named prepared statements (parsed once per connection, plans cached). Per call: the
// backend's CPU (/proc schedstat) and this process's CPU. Run: node --import tsx bench/statement-cost.bench.ts
import pg from 'pg';
import { Engine } from '../src/engine/engine.js';
import { hashToken } from '../src/engine/principals.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { onCpuNs } from './lib/cpu.js';
import { createDatabase } from './lib/database.js';
import { benchEngineConfig, changeSetBody, createClientPrincipals } from './lib/fixture.js';
import { machine, QUICK, round, writeResult } from './lib/results.js';

const CHANGE_SETS = 200;
const CALLS = QUICK ? 300 : 2_000;

// The texts as src/store/*.ts sends them.
const STATEMENTS = {
  authenticate: `SELECT p.id, p.kind, p.display_name, p.email, p.slack_id, p.groups, p.risk, p.active
     FROM tokens t JOIN principals p ON p.id = t.principal_id
     WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND p.active`,
  find_change_set: 'SELECT * FROM change_sets WHERE (id = $1::uuid OR change_set_id = $2)',
  load_items: 'SELECT * FROM change_set_items WHERE change_set = $1 ORDER BY sequence',
  load_approvals: `SELECT a.id, a.approver_id, a.decision, a.reason, a.content_hash, a.stale, a.decided_at,
            coalesce(p.groups, '{}') AS groups, coalesce(p.active, false) AS active
     FROM approvals a LEFT JOIN principals p ON p.id = a.approver_id
     WHERE a.change_set = $1 ORDER BY a.decided_at, a.approver_id, a.stale DESC`,
  load_target_states: `SELECT r.target_type, r.target_id, r.present, r.state, r.version FROM resources r
     JOIN jsonb_to_recordset($1::jsonb) AS t(target_type text, target_id text) ON r.target_type = t.target_type AND r.target_id = t.target_id
     ORDER BY r.target_type, r.target_id`,
} as const;

async function main(): Promise<void> {
  const fresh = await createDatabase('stmtcost');
  const db = await openPgDb({ connectionString: fresh.url, max: 2 });
  const client = new pg.Client({ connectionString: fresh.url });
  const results: Record<string, unknown> = {};
  try {
    await migrate(db);
    const engine = new Engine({ db, config: benchEngineConfig() });
    const [who] = await createClientPrincipals(engine, 1, 'sc');
    const agent = (await engine.principal(who!.agent))!;
    const ids: string[] = [];
    const targets: string[] = [];
    for (let i = 0; i < CHANGE_SETS; i++) {
      const body = changeSetBody(`SC-${i}`, who!.approver, 5);
      ids.push((await engine.create(agent, body)).id);
      targets.push(
        JSON.stringify(body.items.map((item) => ({ target_type: item.target_type, target_id: item.target_id }))),
      );
    }
    await db.query('ANALYZE');
    await client.connect();
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const params: Record<keyof typeof STATEMENTS, (i: number) => unknown[]> = {
      authenticate: () => [hashToken(who!.agentToken)],
      find_change_set: (i) => [ids[i % CHANGE_SETS], ids[i % CHANGE_SETS]],
      load_items: (i) => [ids[i % CHANGE_SETS]],
      load_approvals: (i) => [ids[i % CHANGE_SETS]],
      load_target_states: (i) => [targets[i % CHANGE_SETS]],
    };
    const measure = async (call: (i: number) => Promise<unknown>) => {
      for (let i = 0; i < CALLS / 5; i++) await call(i);
      const backend0 = onCpuNs(pid)!;
      const node0 = process.cpuUsage();
      for (let i = 0; i < CALLS; i++) await call(i);
      const node = process.cpuUsage(node0);
      return {
        backend_us: round((onCpuNs(pid)! - backend0) / CALLS / 1000, 1),
        node_us: round((node.user + node.system) / CALLS, 1),
      };
    };
    for (const [name, text] of Object.entries(STATEMENTS) as [keyof typeof STATEMENTS, string][]) {
      const unnamed = await measure((i) => client.query(text, params[name](i)));
      const prepared = await measure((i) => client.query({ name, text, values: params[name](i) }));
      results[name] = { unnamed, prepared, backend_saving: round(1 - prepared.backend_us / unnamed.backend_us, 2) };
      console.log(
        `${name.padEnd(20)} backend ${unnamed.backend_us} → ${prepared.backend_us} µs, node ${unnamed.node_us} → ${prepared.node_us} µs (unnamed → prepared)`,
      );
    }
  } finally {
    await client.end().catch(() => {});
    await db.close();
    await fresh.drop();
  }
  writeResult('statement-cost', {
    benchmark: 'statement cost: unnamed (as the store sends them) vs named prepared statements',
    measured: `${CALLS} calls each on one connection, ${CHANGE_SETS} change-sets of 5 items in the database; CPU per call in µs`,
    statements: results,
    machine: machine(),
    date: new Date().toISOString(),
  });
}

await main();

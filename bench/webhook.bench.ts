// Webhook delivery throughput: N outbox events routed into N webhook deliveries and sent to a local
// receiver (node:http, keep-alive) by the real Dispatcher, on PostgreSQL when TEST_DATABASE_URL or
// DATABASE_URL is set (in a schema of its own, dropped afterwards), else on in-memory PGlite.
// Run: node --import tsx bench/webhook.bench.ts [N]  (or npm run bench:webhook)
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { compileRoutes } from '../src/core/routing.js';
import { createChannels } from '../src/notify/channels/index.js';
import { Dispatcher } from '../src/notify/dispatcher.js';
import { buildNotifications } from '../src/notify/notify-config.js';
import { routeEvents } from '../src/notify/router.js';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrator.js';
import { openPgDb } from '../src/store/pg-db.js';
import { openPgliteDb } from '../src/store/pglite-db.js';

const TARGET_PER_SECOND = 2_000;
const N = Number(process.argv[2] ?? process.env['BENCH_DELIVERIES'] ?? 20_000);
const DATABASE_URL = process.env['TEST_DATABASE_URL'] || process.env['DATABASE_URL'] || null;

async function openDb(): Promise<{ db: Db; backend: string; drop(): Promise<void> }> {
  if (!DATABASE_URL) return { db: await openPgliteDb(), backend: 'pglite (in memory)', drop: async () => {} };
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const db = await openPgDb({ connectionString: DATABASE_URL, schema, max: 10 });
  return {
    db,
    backend: 'postgresql',
    async drop() {
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      await admin.end();
    },
  };
}

/** A receiver that counts what it gets, answering 200 on a keep-alive connection. */
async function receiver() {
  const seen = new Set<string>();
  let requests = 0;
  const server = createServer({ keepAlive: true }, (req, res) => {
    requests += 1;
    seen.add(String(req.headers['x-changeledger-delivery']));
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    counts: () => ({ requests, unique: seen.size }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function insertEvents(db: Db, n: number): Promise<void> {
  for (let from = 1; from <= n; from += 5_000) {
    await db.query(
      `INSERT INTO outbox_events (type, occurred_at, actor, change_set, envelope)
       SELECT 'changeset.created', now(), 'bench', NULL,
         jsonb_build_object('type', 'changeset.created', 'occurred_at', now(), 'actor', 'bench',
           'change_set', NULL, 'data', jsonb_build_object('n', i))
       FROM generate_series($1::int, $2::int) AS i`,
      [from, Math.min(n, from + 4_999)],
    );
  }
}

async function main(): Promise<void> {
  const { db, backend, drop } = await openDb();
  const hook = await receiver();
  try {
    await migrate(db);
    const notifications = buildNotifications({
      channels: { bench: { type: 'webhook', url: hook.url, secret: 'bench-secret' } },
      routes: [],
      // Overrides for exploring the settings; the defaults are what the figure is about.
      dispatcher: {
        ...(process.env['BENCH_BATCH_SIZE'] ? { batch_size: Number(process.env['BENCH_BATCH_SIZE']) } : {}),
        ...(process.env['BENCH_CONCURRENCY'] ? { concurrency: Number(process.env['BENCH_CONCURRENCY']) } : {}),
      },
    });
    const config = notifications.dispatcher;
    const channels = createChannels(notifications, { dashboardUrl: 'http://localhost:8080' });
    const dispatcher = new Dispatcher({ db, notifications, channels });

    // Warm-up: connections, JIT, query plans.
    await insertEvents(db, 500);
    await dispatcher.runOnce();
    const warm = hook.counts().requests;
    await insertEvents(db, N);

    const started = performance.now();
    const routing = { routes: compileRoutes(notifications.routes), channels: notifications.channels };
    while ((await routeEvents(db, routing, () => new Date())) > 0);
    const routed = performance.now();
    let delivered = 0;
    for (;;) {
      const pass = await dispatcher.runOnce();
      delivered += pass.delivered;
      if (pass.delivered + pass.retried + pass.dead === 0) break;
    }
    const finished = performance.now();
    await dispatcher.stop();

    const counts = hook.counts();
    const totalSeconds = (finished - started) / 1000;
    const sendSeconds = (finished - routed) / 1000;
    const perSecond = Math.round(delivered / totalSeconds);
    const { rows } = await db.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM deliveries GROUP BY status ORDER BY status',
    );
    const result = {
      benchmark: 'webhook delivery',
      unit: 'deliveries/s',
      measured: 'routing N outbox events into deliveries, then claiming, POSTing (signed) and recording them',
      backend,
      deliveries: delivered,
      deliveries_per_second: perSecond,
      target_per_second: TARGET_PER_SECOND,
      meets_target: perSecond >= TARGET_PER_SECOND,
      seconds: { total: round(totalSeconds), routing: round((routed - started) / 1000), sending: round(sendSeconds) },
      sending_only_per_second: Math.round(delivered / sendSeconds),
      receiver: { requests: counts.requests - warm, unique_delivery_ids: counts.unique - warm },
      warm_up_deliveries: warm,
      deliveries_by_status: Object.fromEntries(rows.map((row) => [row.status, row.n])),
      dispatcher: { batch_size: config.batch_size, concurrency: config.concurrency },
      node: process.version,
      cpus: cpus().length,
      at: new Date().toISOString(),
    };
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('./results/webhook.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
    console.log(
      `webhook delivery (${backend}): ${delivered} deliveries in ${round(totalSeconds)} s → ${perSecond}/s ` +
        `(target ≥ ${TARGET_PER_SECOND}/s: ${result.meets_target ? 'met' : 'NOT met'}); ` +
        `sending alone ${result.sending_only_per_second}/s; batch_size ${config.batch_size}, concurrency ${config.concurrency}`,
    );
    if (delivered !== N || counts.unique - warm !== N) throw new Error(`expected ${N} deliveries, got ${delivered}`);
  } finally {
    await hook.close();
    await db.close();
    await drop();
  }
}

const round = (value: number) => Math.round(value * 100) / 100;

await main();

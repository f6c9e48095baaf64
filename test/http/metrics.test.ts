// Operations metrics on GET /metrics: a real lifecycle over HTTP and real webhook deliveries (one
// receiver that fails once, one that is gone) move the action, refusal, delivery and queue-age
// series; and every metric the Grafana dashboard in docs/ queries exists in the scrape.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { growth, parseSamples, total } from '../../scripts/prometheus-text.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { createChannels } from '../../src/notify/channels/index.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { buildNotifications } from '../../src/notify/notify-config.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, skipSetUpEvents } from '../helpers/fixture.js';

/** A receiver answering 500 to the first `failures` requests, then 200; or always 503 (`gone`). */
function receiver(failures: number | 'gone'): Promise<{ server: Server; url: string }> {
  let seen = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen += 1;
      res.statusCode = failures === 'gone' ? 503 : seen <= failures ? 500 : 200;
      res.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` }),
    ),
  );
}

describeEachBackend('operations metrics', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let dispatcher: Dispatcher;
  const receivers: Server[] = [];
  const tokens: Record<string, string> = {};
  const as = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });
  const scrape = async () => parseSamples((await app.inject({ method: 'GET', url: '/metrics' })).body);

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    await skipSetUpEvents(f.db);
    app = await buildApp({ engine: f.engine });
    for (const id of ['Agent-D', 'alice', 'olga']) tokens[id] = (await f.engine.issueToken(null, id)).token;
    const flaky = await receiver(1);
    const gone = await receiver('gone');
    receivers.push(flaky.server, gone.server);
    const notifications = buildNotifications({
      channels: {
        ops: { type: 'webhook', url: flaky.url, events: ['changeset.created'] },
        gone: { type: 'webhook', url: gone.url, events: ['changeset.created'] },
      },
      dispatcher: { max_attempts: 2, backoff_base_ms: 1_000 },
    });
    dispatcher = new Dispatcher({
      db: f.db,
      notifications,
      channels: createChannels(notifications, { dashboardUrl: 'https://ledger.example.com' }),
      clock: () => f.clock.now,
      onOutcome: (channel, outcome, seconds) => app.metrics.observeDelivery(channel, outcome, seconds),
    });
  });
  afterAll(async () => {
    await dispatcher.stop();
    for (const server of receivers) server.close();
    await app.close();
    await f.db.close();
  });

  it('counts actions, refusals by code and their latency; ages the oldest pending approval', async () => {
    const before = await scrape();
    expect(total(before, 'changeledger_pending_approval_oldest_age_seconds')).toBe(0);
    const body = configChange();
    const created = await app.inject({
      method: 'POST',
      url: '/api/ledger/changesets',
      headers: as('Agent-D'),
      payload: body,
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    const post = (who: string, action: string, payload?: Record<string, unknown>) =>
      app.inject({ method: 'POST', url: `/api/ledger/changesets/${id}/${action}`, headers: as(who), payload });
    expect((await post('Agent-D', 'submit')).statusCode).toBe(200);
    // The creator may not approve their own change-set; applying before approval is refused too.
    const selfApproval = await post('Agent-D', 'approve', { decision: 'APPROVED' });
    const early = await post('olga', 'apply', { mode: 'ATOMIC' });
    expect([selfApproval.statusCode, early.statusCode].every((s) => s >= 400 && s < 500)).toBe(true);
    const waiting = await scrape();
    // Submitted with the fixture's clock (2026-11-25), so it has waited since then in real time.
    expect(total(waiting, 'changeledger_pending_approval_oldest_age_seconds')).toBeGreaterThan(3600);
    expect((await post('alice', 'approve', { decision: 'APPROVED' })).statusCode).toBe(200);
    expect((await post('olga', 'apply', { mode: 'ATOMIC' })).statusCode).toBe(200);

    const after = await scrape();
    const moved = growth(before, after);
    expect(moved('changeledger_actions_total', { action: 'create', outcome: 'done' })).toBe(1);
    expect(moved('changeledger_actions_total', { action: 'submit', outcome: 'done' })).toBe(1);
    expect(moved('changeledger_actions_total', { action: 'approve', outcome: 'done' })).toBe(1);
    expect(moved('changeledger_actions_total', { action: 'approve', outcome: 'refused' })).toBe(1);
    expect(moved('changeledger_actions_total', { action: 'apply', outcome: 'done' })).toBe(1);
    expect(moved('changeledger_actions_total', { action: 'apply', outcome: 'refused' })).toBe(1);
    const approveCode = selfApproval.json().code as string;
    const applyCode = early.json().code as string;
    expect(moved('changeledger_action_refusals_total', { action: 'approve', code: approveCode })).toBe(1);
    expect(moved('changeledger_action_refusals_total', { action: 'apply', code: applyCode })).toBe(1);
    expect(moved('changeledger_action_duration_seconds_count', { action: 'approve' })).toBe(2);
    expect(moved('changeledger_action_duration_seconds_bucket', { action: 'create', le: '+Inf' })).toBe(1);
    // Reads are not actions.
    expect(total(after, 'changeledger_actions_total', { action: 'plan' })).toBe(0);
    expect(total(after, 'changeledger_pending_approval_oldest_age_seconds')).toBe(0);
  });

  it('counts deliveries per channel: delivered, retried and dead-lettered, with their latency', async () => {
    // Only this test's event: the lifecycle's are marked routed, delivering nothing.
    await skipSetUpEvents(f.db);
    const before = await scrape();
    await f.engine.create(f.p['Agent-D']!, configChange());
    // ops fails once then delivers; gone fails twice and is dead after max_attempts 2.
    expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, retried: 2, dead: 0 });
    f.clock.advance(5_000);
    expect(await dispatcher.runOnce()).toMatchObject({ delivered: 1, retried: 0, dead: 1 });
    const after = await scrape();
    const moved = growth(before, after);
    expect(moved('changeledger_deliveries_total', { channel: 'ops', outcome: 'retried' })).toBe(1);
    expect(moved('changeledger_deliveries_total', { channel: 'ops', outcome: 'delivered' })).toBe(1);
    expect(moved('changeledger_deliveries_total', { channel: 'gone', outcome: 'retried' })).toBe(1);
    expect(moved('changeledger_deliveries_total', { channel: 'gone', outcome: 'dead' })).toBe(1);
    expect(moved('changeledger_delivery_duration_seconds_count', { channel: 'ops' })).toBe(2);
    expect(moved('changeledger_delivery_duration_seconds_count', { channel: 'gone' })).toBe(2);
    expect(moved('changeledger_delivery_duration_seconds_sum', { channel: 'ops' })).toBeGreaterThan(0);
  });

  it('serves every metric the Grafana dashboard in docs/grafana queries', async () => {
    const dashboard = JSON.parse(
      readFileSync(new URL('../../docs/grafana/changeledger.json', import.meta.url), 'utf8'),
    );
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
      p.targets.map((t) => t.expr),
    );
    expect(exprs.length).toBeGreaterThanOrEqual(8);
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const declared = new Set([...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].map((m) => m[1]!));
    const names = new Set(exprs.flatMap((expr) => [...expr.matchAll(/\bchangeledger_\w+/g)].map((m) => m[0])));
    expect(names.size).toBeGreaterThanOrEqual(6);
    for (const name of names) {
      // A histogram's series are <name>_bucket, _sum and _count.
      const base = name.replace(/_(bucket|sum|count)$/, '');
      expect(declared.has(name) || declared.has(base), `${name} in the scrape`).toBe(true);
      // And it has samples, not only a declaration.
      expect(text).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    }
  });
});

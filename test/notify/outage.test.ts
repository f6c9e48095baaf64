// A webhook receiver's outage, end to end with the real dispatcher: first unreachable (connection
// refused), then answering 500, then well again. Every event arrives, none is lost, a repeat always
// carries the same delivery id; past max_attempts a delivery is dead-lettered and a manual retry
// delivers it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { signature, webhookChannel } from '../../src/notify/channels/webhook.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { buildNotifications, type WebhookChannel } from '../../src/notify/notify-config.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, skipSetUpEvents, uiButton } from '../helpers/fixture.js';

const SECRET = 'outage-secret';
const MAX_ATTEMPTS = 6;

interface Request {
  delivery: string;
  event: number;
  status: number;
  signed: boolean;
}

/** A webhook receiver that can go down (its port kept), fail with 500, or answer 200. */
async function receiver() {
  const state = { answer: 200, requests: [] as Request[] };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      state.requests.push({
        delivery: String(req.headers['x-changeledger-delivery']),
        event: JSON.parse(body).id,
        status: state.answer,
        signed: req.headers['x-changeledger-signature'] === signature(SECRET, body),
      });
      res.statusCode = state.answer;
      res.end(state.answer === 200 ? 'ok' : 'internal error');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    state,
    url: `http://127.0.0.1:${port}/hook`,
    async down() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
    async up(answer: number) {
      state.answer = answer;
      if (!server.listening) await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
  };
}

describeEachBackend('webhook outage', (backend) => {
  let f: Fixture;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let dispatcher: Dispatcher;
  let app: LedgerApp;
  let adminToken: string;
  const changeSets: string[] = [];

  const deliveriesOf = async (ids: readonly string[]) =>
    (
      await f.db.query<{ id: string; event_id: number; status: string; attempts: number }>(
        `SELECT d.id, d.event_id, d.status, d.attempts FROM deliveries d JOIN outbox_events e ON e.id = d.event_id
         WHERE e.change_set = ANY($1::uuid[]) ORDER BY d.event_id`,
        [ids],
      )
    ).rows;
  const eventIdsOf = async (ids: readonly string[]) =>
    (
      await f.db.query<{ id: number }>('SELECT id FROM outbox_events WHERE change_set = ANY($1::uuid[]) ORDER BY id', [
        ids,
      ])
    ).rows.map((row) => row.id);
  /** One dispatcher pass after every back-off has run out (back-off never exceeds 1 s here). */
  const pass = async () => {
    f.clock.advance(1_000);
    return dispatcher.runOnce();
  };
  async function lifecycle(): Promise<void> {
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED' });
    await f.engine.apply(f.p['Agent-D']!, cs.id, { mode: 'ATOMIC' });
    changeSets.push(cs.id, (await f.engine.create(f.p['Agent-A']!, uiButton())).id);
  }

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    hook = await receiver();
    const notifications = buildNotifications({
      channels: { ops: { type: 'webhook', url: hook.url, secret: SECRET } },
      dispatcher: {
        max_attempts: MAX_ATTEMPTS,
        backoff_base_ms: 100,
        backoff_max_ms: 1_000,
        batch_size: 7,
        concurrency: 4,
        timeout_ms: 2_000,
      },
    });
    dispatcher = new Dispatcher({
      db: f.db,
      notifications,
      channels: { ops: webhookChannel(notifications.channels['ops'] as WebhookChannel) },
      clock: () => f.clock.now,
    });
    app = await buildApp({ engine: f.engine });
    adminToken = (await f.engine.issueToken(null, 'root')).token;
    await skipSetUpEvents(f.db);
  });
  afterAll(async () => {
    await app.close();
    await dispatcher.stop();
    await hook.down();
    await f.db.close();
  });

  it('delivers every event once the receiver recovers, none lost, repeats only under the same delivery id', async () => {
    await hook.down();
    await lifecycle();
    await lifecycle();
    const first = await pass();
    expect(first).toMatchObject({ delivered: 0, dead: 0 });
    expect(first.retried).toBeGreaterThan(0);
    await pass();
    expect(hook.state.requests).toEqual([]);

    await hook.up(500);
    await pass();
    await lifecycle(); // more events while the receiver is failing
    await pass();
    expect(hook.state.requests.length).toBeGreaterThan(0);
    expect(hook.state.requests.every((r) => r.status === 500)).toBe(true);

    await hook.up(200);
    for (let i = 0; i < 5 && (await deliveriesOf(changeSets)).some((d) => d.status !== 'DELIVERED'); i++) await pass();

    const deliveries = await deliveriesOf(changeSets);
    expect(deliveries.every((d) => d.status === 'DELIVERED')).toBe(true);
    // The first events went through down, down, 500, 500, then delivered: five attempts.
    expect(Math.max(...deliveries.map((d) => d.attempts))).toBe(5);

    const events = await eventIdsOf(changeSets);
    const ok = hook.state.requests.filter((r) => r.status === 200);
    expect(ok.map((r) => r.event).sort((a, b) => a - b)).toEqual(events); // each event exactly once
    expect(hook.state.requests.every((r) => r.signed)).toBe(true);
    // Each delivery id always carries the same event, and each event travels under one delivery id.
    const eventOf = new Map<string, Set<number>>();
    const deliveryOf = new Map<number, Set<string>>();
    for (const r of hook.state.requests) {
      eventOf.set(r.delivery, (eventOf.get(r.delivery) ?? new Set()).add(r.event));
      deliveryOf.set(r.event, (deliveryOf.get(r.event) ?? new Set()).add(r.delivery));
    }
    expect([...eventOf.values()].every((set) => set.size === 1)).toBe(true);
    expect([...deliveryOf.values()].every((set) => set.size === 1)).toBe(true);
    expect(new Set(deliveries.map((d) => d.id))).toEqual(new Set(eventOf.keys()));
  });

  it('dead-letters a delivery past max_attempts, and a manual retry delivers it under the same id', async () => {
    await hook.up(500);
    const before = hook.state.requests.length;
    const cs = await f.engine.create(f.p['Agent-A']!, uiButton());
    for (let i = 0; i < MAX_ATTEMPTS; i++) await pass();
    const dead = await deliveriesOf([cs.id]);
    expect(dead.map((d) => [d.status, d.attempts])).toEqual(Array(dead.length).fill(['DEAD', MAX_ATTEMPTS]));
    expect((await pass()).retried + (await pass()).dead).toBe(0); // nothing more is tried

    await hook.up(200);
    for (const d of dead) {
      const response = await app.inject({
        method: 'POST',
        url: `/api/ledger/deliveries/${d.id}/retry`,
        headers: { authorization: `Bearer ${adminToken}` },
      });
      expect(response.json()).toMatchObject({ id: d.id, status: 'PENDING', attempts: 0 });
    }
    expect((await dispatcher.runOnce()).delivered).toBe(dead.length);
    const mine = hook.state.requests.slice(before);
    expect(mine).toHaveLength(dead.length * (MAX_ATTEMPTS + 1));
    for (const d of dead) {
      const attempts = mine.filter((r) => r.delivery === d.id);
      expect(attempts.map((r) => r.status)).toEqual([...Array(MAX_ATTEMPTS).fill(500), 200]);
      expect(new Set(attempts.map((r) => r.event))).toEqual(new Set([d.event_id]));
    }
    expect((await deliveriesOf([cs.id])).every((d) => d.status === 'DELIVERED' && d.attempts === 1)).toBe(true);
  });
});

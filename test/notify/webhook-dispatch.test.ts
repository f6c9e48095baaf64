// Webhook delivery end to end: routing, signature, outage and recovery, dead letter, manual retry.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signature, webhookChannel } from '../../src/notify/channels/webhook.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { buildNotifications, type WebhookChannel } from '../../src/notify/notify-config.js';
import { retryDelivery } from '../../src/store/deliveries.js';
import { describeEachBackend } from '../helpers/backends.js';
import { type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

function receiver(): Promise<{ server: Server; url: string; received: Received[]; answer: { status: number } }> {
  const received: Received[] = [];
  const answer = { status: 200 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (answer.status < 300) received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = answer.status;
      res.end(answer.status < 300 ? 'ok' : 'down for maintenance');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, answer }),
    ),
  );
}

describeEachBackend('webhook dispatch', (backend) => {
  let f: Fixture;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let dispatcher: Dispatcher;
  const secret = 'topsecret';

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    hook = await receiver();
    const notifications = buildNotifications({
      channels: { ops: { type: 'webhook', url: hook.url, secret } },
      dispatcher: { max_attempts: 3, backoff_base_ms: 1_000, backoff_max_ms: 60_000 },
    });
    dispatcher = new Dispatcher({
      db: f.db,
      notifications,
      channels: { ops: webhookChannel(notifications.channels['ops'] as WebhookChannel) },
      clock: () => f.clock.now,
    });
  });
  afterAll(async () => {
    await dispatcher.stop();
    hook.server.close();
    await f.db.close();
  });

  it('delivers every event once, signed, with its type and a delivery id', async () => {
    const cs = await f.engine.create(f.p['Agent-A']!, uiButton());
    const pass = await dispatcher.runOnce();
    expect(pass.delivered).toBeGreaterThanOrEqual(2);
    const mine = hook.received.filter((r) => JSON.parse(r.body).change_set?.id === cs.id);
    expect(mine.map((r) => r.headers['x-changeledger-event'])).toEqual(['changeset.created', 'changeset.approved']);
    for (const r of mine) {
      expect(r.headers['x-changeledger-signature']).toBe(signature(secret, r.body));
      expect(r.headers['x-changeledger-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      expect(JSON.parse(r.body)).toMatchObject({
        id: expect.any(Number),
        type: r.headers['x-changeledger-event'],
        actor: 'Agent-A',
      });
    }
    expect((await dispatcher.runOnce()).delivered).toBe(0);
  });

  it('retries with back-off while the receiver fails, dead-letters after max_attempts, and a manual retry delivers', async () => {
    hook.answer.status = 500;
    const cs = await f.engine.create(f.p['Agent-A']!, uiButton());
    const before = hook.received.length;
    expect((await dispatcher.runOnce()).retried).toBe(2);
    expect((await dispatcher.runOnce()).retried).toBe(0); // not due yet: back-off
    f.clock.advance(2_000);
    expect((await dispatcher.runOnce()).retried).toBe(2);
    f.clock.advance(5_000);
    expect((await dispatcher.runOnce()).dead).toBe(2);
    const { rows } = await f.db.query<{ id: string; status: string; attempts: number; last_error: string }>(
      `SELECT d.id, d.status, d.attempts, d.last_error FROM deliveries d JOIN outbox_events e ON e.id = d.event_id WHERE e.change_set = $1`,
      [cs.id],
    );
    expect(rows.map((r) => [r.status, r.attempts])).toEqual([
      ['DEAD', 3],
      ['DEAD', 3],
    ]);
    expect(rows[0]!.last_error).toMatch(/webhook answered 500: down for maintenance/);
    hook.answer.status = 200;
    for (const row of rows) expect((await retryDelivery(f.db, row.id, f.clock.now.toISOString()))?.retried).toBe(true);
    expect((await dispatcher.runOnce()).delivered).toBe(2);
    const ids = hook.received.slice(before).map((r) => r.headers['x-changeledger-delivery']);
    expect(new Set(ids)).toEqual(new Set(rows.map((r) => r.id)));
  });
});

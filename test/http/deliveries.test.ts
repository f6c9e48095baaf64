// GET /api/ledger/deliveries and POST /api/ledger/deliveries/:id/retry: filters, cursors, who may
// see them, and a manual retry of a dead-lettered delivery.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { webhookChannel } from '../../src/notify/channels/webhook.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { buildNotifications, type WebhookChannel } from '../../src/notify/notify-config.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton } from '../helpers/fixture.js';

interface Hook {
  server: Server;
  base: string;
  /** Status answered per path. */
  status: Record<string, number>;
  deliveries: { path: string; delivery: string; event: number }[];
}

function receiver(): Promise<Hook> {
  const hook = { status: {} as Record<string, number>, deliveries: [] as Hook['deliveries'] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = hook.status[req.url ?? ''] ?? 200;
      if (status < 300) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        hook.deliveries.push({
          path: req.url!,
          delivery: String(req.headers['x-changeledger-delivery']),
          event: body.id,
        });
      }
      res.statusCode = status;
      res.end(status < 300 ? 'ok' : 'failing');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ ...hook, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

interface Listed {
  id: string;
  event_id: number;
  event_type: string;
  channel: string;
  recipient: string | null;
  address: string | null;
  status: string;
  attempts: number;
  next_attempt_at: string;
  created_at: string;
  last_error: string | null;
  change_set_id: string | null;
}

describeEachBackend('deliveries API', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let hook: Hook;
  let dispatcher: Dispatcher;
  const tokens: Record<string, string> = {};
  const as = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });
  const list = async (who: string, query = '') => {
    const response = await app.inject({ method: 'GET', url: `/api/ledger/deliveries${query}`, headers: as(who) });
    return { statusCode: response.statusCode, body: response.json() as { data: Listed[]; next_cursor: string | null } };
  };
  const retry = (who: string, id: string) =>
    app.inject({ method: 'POST', url: `/api/ledger/deliveries/${id}/retry`, headers: as(who) });

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    hook = await receiver();
    hook.status['/flaky'] = 500;
    const notifications = buildNotifications({
      channels: {
        ops: { type: 'webhook', url: `${hook.base}/ops` },
        flaky: { type: 'webhook', url: `${hook.base}/flaky`, events: ['changeset.approved'] },
        // Configured but not built below: its deliveries fail ("no channel named mail").
        mail: { type: 'email', host: 'smtp.invalid', from: 'ledger@example.com' },
      },
      dispatcher: { max_attempts: 1 },
    });
    const channels = Object.fromEntries(
      ['ops', 'flaky'].map((name) => [name, webhookChannel(notifications.channels[name] as WebhookChannel)]),
    );
    dispatcher = new Dispatcher({ db: f.db, notifications, channels, clock: () => f.clock.now });
    app = await buildApp({ engine: f.engine });
    for (const who of ['Agent-A', 'alice', 'olga', 'root']) tokens[who] = (await f.engine.issueToken(null, who)).token;

    await f.engine.create(f.p['Agent-A']!, uiButton());
    await dispatcher.runOnce();
    f.clock.advance(1_000);
    const cs = await f.engine.create(f.p['Agent-D']!, configChange());
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    await dispatcher.runOnce();
  });
  afterAll(async () => {
    await app.close();
    await dispatcher.stop();
    hook.server.close();
    await f.db.close();
  });

  it('lists deliveries newest first with their addresses, filtered by status, event type and channel', async () => {
    const all = await list('root');
    expect(all.statusCode).toBe(200);
    expect(all.body.next_cursor).toBeNull();
    const { data } = all.body;
    expect(data.map((d) => d.channel).sort()).toEqual(expect.arrayContaining(['flaky', 'mail', 'ops']));
    // Newest first: by routing time, then by id.
    const key = (d: Listed) => `${d.created_at}/${d.id}`;
    expect(data.map(key)).toEqual(data.map(key).sort().reverse());
    expect(new Set(data.map((d) => d.created_at)).size).toBe(2);
    expect(data[0]!.change_set_id).toBe(data.find((d) => d.event_type === 'changeset.submitted')!.change_set_id);

    const dead = await list('olga', '?status=DEAD');
    expect(dead.body.data.length).toBeGreaterThan(0);
    expect(dead.body.data.every((d) => d.status === 'DEAD' && d.attempts === 1)).toBe(true);
    // Addresses are for admins (an operator sees them only for itself: test/security/contacts-private).
    const mail = await list('root', '?channel=mail');
    expect(mail.body.data.length).toBeGreaterThan(0);
    for (const d of mail.body.data) {
      expect(d).toMatchObject({ status: 'DEAD', last_error: 'no channel named mail is configured' });
      expect(d.address).toBe(`${d.recipient!.toLowerCase()}@example.com`);
    }
    const approved = await list('root', '?event_type=changeset.approved&channel=flaky');
    expect(approved.body.data).toHaveLength(1);
    expect(approved.body.data[0]).toMatchObject({ status: 'DEAD', recipient: null, address: null });
    expect(approved.body.data[0]!.last_error).toMatch(/webhook answered 500/);
    const delivered = await list('root', '?status=DELIVERED&channel=ops');
    expect(delivered.body.data.map((d) => d.id).sort()).toEqual(
      hook.deliveries
        .filter((d) => d.path === '/ops')
        .map((d) => d.delivery)
        .sort(),
    );
  });

  it('pages with a cursor, every delivery once, and refuses a bad limit or cursor', async () => {
    const all = (await list('root')).body.data.map((d) => d.id);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list('root', `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.data.length).toBeLessThanOrEqual(2);
      paged.push(...page.body.data.map((d) => d.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(paged).toEqual(all);
    expect((await list('root', '?limit=201')).statusCode).toBe(400);
    const bad = await list('root', '?cursor=nonsense');
    expect([bad.statusCode, (bad.body as unknown as { code: string }).code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await list('root', '?status=LOST')).statusCode).toBe(400);
  });

  it('shows and retries deliveries only for groups admin and operator', async () => {
    const id = (await list('root')).body.data[0]!.id;
    for (const who of ['alice', 'Agent-A']) {
      const listed = await list(who);
      expect([listed.statusCode, (listed.body as unknown as { code: string }).code]).toEqual([403, 'FORBIDDEN']);
      const retried = await retry(who, id);
      expect([retried.statusCode, retried.json().code]).toEqual([403, 'FORBIDDEN']);
    }
  });

  it('retries a dead delivery: due now with fresh attempts, then delivered under the same delivery id', async () => {
    const [dead] = (await list('root', '?channel=flaky&status=DEAD')).body.data;
    hook.status['/flaky'] = 200;
    f.clock.advance(60_000);
    const response = await retry('olga', dead!.id);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id: dead!.id,
      status: 'PENDING',
      attempts: 0,
      next_attempt_at: f.clock.now.toISOString(),
    });
    expect((await dispatcher.runOnce()).delivered).toBe(1);
    expect(hook.deliveries.filter((d) => d.path === '/flaky')).toEqual([
      { path: '/flaky', delivery: dead!.id, event: dead!.event_id },
    ]);
    const { rows } = await f.db.query<{ actor: string; data: { delivery_id: string } }>(
      "SELECT actor, data FROM audit_entries WHERE action = 'delivery.retry'",
    );
    expect(rows).toEqual([
      { actor: 'olga', data: expect.objectContaining({ delivery_id: dead!.id, channel: 'flaky' }) },
    ]);
  });

  it('refuses to retry a delivered delivery (409) and an unknown one (404)', async () => {
    const [delivered] = (await list('root', '?status=DELIVERED')).body.data;
    const conflict = await retry('root', delivered!.id);
    expect([conflict.statusCode, conflict.json().code]).toEqual([409, 'CONFLICT']);
    expect(conflict.json().message).toMatch(/was delivered at .*only PENDING or DEAD deliveries can be retried/);
    for (const id of ['0b6c3f9e-8d07-4c1a-9d1e-3f5a2b7c9d11', 'not-a-uuid']) {
      const missing = await retry('root', id);
      expect([missing.statusCode, missing.json().code]).toEqual([404, 'NOT_FOUND']);
    }
  });
});

// Standard Webhooks: real deliveries to a local receiver, verified with the published
// `standardwebhooks` library as a receiver would; a tampered body, a wrong secret or a missing
// header fail. The legacy X-Changeledger-Signature is sent only while legacy_signature is on.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { createChannels } from '../../src/notify/channels/index.js';
import { signature } from '../../src/notify/channels/webhook.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { buildNotifications } from '../../src/notify/notify-config.js';
import { describeEachBackend } from '../helpers/backends.js';
import { type Fixture, makeFixture, skipSetUpEvents, uiButton } from '../helpers/fixture.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

function receiver(): Promise<{ server: Server; base: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.end('ok');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }),
    ),
  );
}

/** The headers as a receiver's framework hands them to the library: name → string. */
const asStrings = (headers: IncomingMessage['headers']): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]));

const NEW_SECRET = `whsec_${Buffer.from('a new secret of 32 random bytes!').toString('base64')}`;
const OLD_SECRET = 'topsecret';

describeEachBackend('standard webhooks', (backend) => {
  let f: Fixture;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let dispatcher: Dispatcher;
  const from = (path: string) => hook.received.filter((r) => r.path === path);

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    await skipSetUpEvents(f.db);
    hook = await receiver();
    const notifications = buildNotifications({
      channels: {
        modern: { type: 'webhook', url: `${hook.base}/modern`, secret: NEW_SECRET, legacy_signature: false },
        migrating: { type: 'webhook', url: `${hook.base}/migrating`, secret: OLD_SECRET },
        unsigned: { type: 'webhook', url: `${hook.base}/unsigned` },
      },
    });
    dispatcher = new Dispatcher({
      db: f.db,
      notifications,
      channels: createChannels(notifications, { dashboardUrl: 'https://ledger.example.com' }),
      clock: () => f.clock.now,
    });
    await f.engine.create(f.p['Agent-A']!, uiButton());
    await dispatcher.runOnce();
  });
  afterAll(async () => {
    await dispatcher.stop();
    hook.server.close();
    await f.db.close();
  });

  it('delivers what the standardwebhooks library verifies, with the delivery id as webhook-id', () => {
    const received = from('/modern');
    expect(received.map((r) => r.headers['x-changeledger-event'])).toEqual(['changeset.created', 'changeset.approved']);
    const webhook = new Webhook(NEW_SECRET);
    for (const r of received) {
      expect(webhook.verify(r.body, asStrings(r.headers))).toEqual(JSON.parse(r.body));
      expect(r.headers['webhook-id']).toBe(r.headers['x-changeledger-delivery']);
      expect(r.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      // legacy_signature: false — only the Standard Webhooks signature.
      expect(r.headers['x-changeledger-signature']).toBeUndefined();
    }
  });

  it('fails verification for a tampered body, a changed id or timestamp, or another secret', () => {
    const [r] = from('/modern');
    const headers = asStrings(r!.headers);
    const webhook = new Webhook(NEW_SECRET);
    const tampered = r!.body.replace('"Agent-A"', '"Agent-B"');
    expect(tampered).not.toBe(r!.body);
    expect(() => webhook.verify(tampered, headers)).toThrow(WebhookVerificationError);
    expect(() => webhook.verify(r!.body, { ...headers, 'webhook-id': 'another' })).toThrow(WebhookVerificationError);
    const earlier = String(Number(headers['webhook-timestamp']) - 1);
    expect(() => webhook.verify(r!.body, { ...headers, 'webhook-timestamp': earlier })).toThrow(
      WebhookVerificationError,
    );
    const other = new Webhook(`whsec_${Buffer.from('another secret').toString('base64')}`);
    expect(() => other.verify(r!.body, headers)).toThrow(WebhookVerificationError);
  });

  it('signs with a plain (pre-Standard) secret as whsec_ + its base64, and keeps the legacy header by default', () => {
    const received = from('/migrating');
    expect(received).toHaveLength(2);
    const webhook = new Webhook(`whsec_${Buffer.from(OLD_SECRET).toString('base64')}`);
    for (const r of received) {
      expect(webhook.verify(r.body, asStrings(r.headers))).toEqual(JSON.parse(r.body));
      // Exactly today's header: the hex HMAC-SHA256 of the body keyed by the secret as written.
      expect(r.headers['x-changeledger-signature']).toBe(signature(OLD_SECRET, r.body));
      expect(r.headers['x-changeledger-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    }
  });

  it('sends id and timestamp but no signature without a secret, which the library refuses', () => {
    const received = from('/unsigned');
    expect(received).toHaveLength(2);
    for (const r of received) {
      expect(r.headers['webhook-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.headers['webhook-signature']).toBeUndefined();
      expect(() => new Webhook(NEW_SECRET).verify(r.body, asStrings(r.headers))).toThrow('Missing required headers');
    }
  });
});

describe('webhook secret configuration', () => {
  const load = (channel: string) =>
    parseConfig(
      `notifications:\n  channels:\n    hook:\n      type: webhook\n      url: https://h.example.com\n${channel}`,
      {
        env: {},
      },
    );

  it('keeps the legacy signature by default, and turns it off with legacy_signature: false', () => {
    expect(load('      secret: whsec_c2VjcmV0\n').notifications.channels['hook']).toMatchObject({
      secret: 'whsec_c2VjcmV0',
      legacy_signature: true,
    });
    expect(load('      legacy_signature: false\n').notifications.channels['hook']).toMatchObject({
      legacy_signature: false,
    });
  });

  it('refuses a whsec_ secret that is not base64, and a legacy_signature that is not a boolean', () => {
    expect(() => load('      secret: whsec_not*base64\n')).toThrow(
      'at notifications.channels.hook.secret: a whsec_ secret must be base64 after the prefix',
    );
    expect(() => load('      legacy_signature: "no"\n')).toThrow(
      'at notifications.channels.hook.legacy_signature: must be true or false',
    );
  });
});

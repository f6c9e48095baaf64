// Slack end to end against a local stand-in for Slack: an incoming webhook that posts Block Kit to
// its channel, and a bot token that sends direct messages to principals' slack_id.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Channel } from '../../src/notify/channels/channel.js';
import { createChannels } from '../../src/notify/channels/index.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { buildNotifications } from '../../src/notify/notify-config.js';
import { type Backend, describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, skipSetUpEvents } from '../helpers/fixture.js';

const DASHBOARD = 'https://ledger.example.com';
const TOKEN = 'xoxb-test-token';

interface Posted {
  path: string;
  headers: IncomingMessage['headers'];
  body: { channel?: string; text: string; blocks: Block[] };
}
interface Block {
  type: string;
  text?: { type: string; text: string };
  fields?: { type: string; text: string }[];
  elements?: { type: string; text: { type: string; text: string }; url: string }[];
}
type Answer = { status: number; body: string; headers?: Record<string, string> };

/** Answers like Slack: "ok" on the webhook path, {ok: true} from the Web API, or `answer` when set. */
function fakeSlack(): Promise<{ server: Server; base: string; posted: Posted[]; answer: { next: Answer | null } }> {
  const posted: Posted[] = [];
  const answer: { next: Answer | null } = { next: null };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = answer.next ?? {
        status: 200,
        body: req.url === '/api/chat.postMessage' ? JSON.stringify({ ok: true, ts: '1.2' }) : 'ok',
      };
      if (reply.status === 200 && !reply.body.includes('"ok":false')) {
        posted.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
      }
      // No keep-alive: a socket idle through a slow beforeAll could be reset as it is reused.
      res.writeHead(reply.status, { ...reply.headers, connection: 'close' }).end(reply.body);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, posted, answer }),
    ),
  );
}

async function setUp(backend: Backend, slack: Record<string, unknown>) {
  const f = await makeFixture(await backend.open());
  await skipSetUpEvents(f.db);
  const notifications = buildNotifications({
    channels: { slack: { type: 'slack', ...slack } as never },
    dispatcher: { max_attempts: 3, backoff_base_ms: 1_000 },
  });
  const channels: Record<string, Channel> = createChannels(notifications, { dashboardUrl: DASHBOARD });
  const dispatcher = new Dispatcher({ db: f.db, notifications, channels, clock: () => f.clock.now });
  return { f, dispatcher };
}

const pendingErrors = async (f: Fixture, changeSet: string) =>
  (
    await f.db.query<{ status: string; last_error: string }>(
      `SELECT d.status, d.last_error FROM deliveries d JOIN outbox_events e ON e.id = d.event_id WHERE e.change_set = $1`,
      [changeSet],
    )
  ).rows;

describeEachBackend('slack notifications', (backend) => {
  let slack: Awaited<ReturnType<typeof fakeSlack>>;
  beforeAll(async () => {
    slack = await fakeSlack();
  });
  afterAll(() => {
    slack.server.close();
  });

  describe('incoming webhook', () => {
    let f: Fixture;
    let dispatcher: Dispatcher;
    beforeAll(async () => {
      ({ f, dispatcher } = await setUp(backend, { webhook_url: `${slack.base}/services/T0/B0/secret` }));
    });
    afterAll(async () => {
      await dispatcher.stop();
      await f.db.close();
    });

    it('posts the Block Kit message with the facts and a Review button linking to the dashboard', async () => {
      let cs = await f.engine.create(f.p['Agent-D']!, configChange(undefined, { title: 'Tune <limits> & more' }));
      cs = await f.engine.submit(f.p['Agent-D']!, cs.id);
      const pass = await dispatcher.runOnce();
      const posts = slack.posted.filter((p) => p.body.text === `Approval Required: ${cs.change_set_id}`);
      // One channel post per approval request (alice, root, root2), each naming its approver.
      expect(posts).toHaveLength(3);
      expect(pass).toMatchObject({ delivered: 3, retried: 0 });
      for (const post of posts) {
        expect(post.path).toBe('/services/T0/B0/secret');
        expect(post.headers['content-type']).toMatch(/^application\/json/);
        expect(post.body.channel).toBeUndefined();
        const [section, actions] = post.body.blocks;
        expect(section!.type).toBe('section');
        expect(section!.text).toEqual({ type: 'mrkdwn', text: expect.stringMatching(/^\*Approval Required\*\n/) });
        expect(section!.fields).toEqual([
          { type: 'mrkdwn', text: `*Change-Set:*\n${cs.change_set_id}` },
          { type: 'mrkdwn', text: '*Title:*\nTune &lt;limits&gt; &amp; more' },
          { type: 'mrkdwn', text: '*Agent:*\nAgent-D' },
          { type: 'mrkdwn', text: '*Category:*\nCONFIG_UPDATE' },
          { type: 'mrkdwn', text: `*Priority:*\n${cs.priority}` },
        ]);
        expect(actions!.type).toBe('actions');
        expect(actions!.elements).toEqual([
          { type: 'button', text: { type: 'plain_text', text: 'Review' }, url: `${DASHBOARD}/changesets/${cs.id}` },
        ]);
      }
      expect(posts.map((p) => p.body.blocks[0]!.text!.text.match(/Requested from: (\S+)/)?.[1]).sort()).toEqual([
        'alice',
        'root',
        'root2',
      ]);
    });

    it('retries when Slack does not answer "ok"', async () => {
      slack.answer.next = { status: 404, body: 'no_service' };
      let cs = await f.engine.create(f.p['Agent-D']!, configChange());
      cs = await f.engine.submit(f.p['Agent-D']!, cs.id);
      expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, retried: 3 });
      const rows = await pendingErrors(f, cs.id);
      expect(rows.map((r) => [r.status, r.last_error])).toEqual(
        Array(3).fill(['PENDING', 'slack webhook answered 404: no_service']),
      );
      slack.answer.next = null;
      f.clock.advance(2_000);
      expect(await dispatcher.runOnce()).toMatchObject({ delivered: 3, retried: 0 });
    });
  });

  describe('bot token', () => {
    let f: Fixture;
    let dispatcher: Dispatcher;
    beforeAll(async () => {
      ({ f, dispatcher } = await setUp(backend, { bot_token: TOKEN, api_url: `${slack.base}/api` }));
      await f.engine.updatePrincipal(f.p['root']!, 'alice', { slack_id: 'U0ALICE' });
    });
    afterAll(async () => {
      await dispatcher.stop();
      await f.db.close();
    });

    it('sends a direct message to each approver with a slack_id through chat.postMessage', async () => {
      const before = slack.posted.length;
      let cs = await f.engine.create(f.p['Agent-D']!, configChange());
      cs = await f.engine.submit(f.p['Agent-D']!, cs.id);
      expect(await dispatcher.runOnce()).toMatchObject({ delivered: 1, retried: 0 });
      // root and root2 have no slack_id: no delivery for them on this channel.
      const posts = slack.posted.slice(before);
      expect(posts).toHaveLength(1);
      const [post] = posts;
      expect(post!.path).toBe('/api/chat.postMessage');
      expect(post!.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(post!.body.channel).toBe('U0ALICE');
      expect(post!.body.text).toBe(`Approval Required: ${cs.change_set_id}`);
      expect(post!.body.blocks[1]!.elements![0]).toMatchObject({
        text: { text: 'Review' },
        url: `${DASHBOARD}/changesets/${cs.id}`,
      });
    });

    it('retries, not delivers, when Slack answers {ok: false}', async () => {
      slack.answer.next = { status: 200, body: JSON.stringify({ ok: false, error: 'channel_not_found' }) };
      let cs = await f.engine.create(f.p['Agent-D']!, configChange());
      cs = await f.engine.submit(f.p['Agent-D']!, cs.id);
      expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, retried: 1 });
      expect(await pendingErrors(f, cs.id)).toEqual([
        { status: 'PENDING', last_error: 'slack chat.postMessage to U0ALICE failed (200): channel_not_found' },
      ]);
      slack.answer.next = { status: 429, body: '', headers: { 'retry-after': '30' } };
      f.clock.advance(2_000);
      expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, retried: 1 });
      expect((await pendingErrors(f, cs.id))[0]!.last_error).toBe(
        'slack chat.postMessage rate limited (429), Retry-After 30s',
      );
      slack.answer.next = null;
      // Retry-After 30: the back-off alone (about 2 to 4 s) would retry far sooner.
      f.clock.advance(5_000);
      expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, retried: 0 });
      f.clock.advance(24_000);
      expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, retried: 0 });
      f.clock.advance(1_000);
      expect(await dispatcher.runOnce()).toMatchObject({ delivered: 1, retried: 0 });
    });
  });
});

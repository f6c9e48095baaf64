// Approve and reject from Slack (issue 16), end to end: the dispatcher posts the approval request
// with its buttons to a local server playing Slack's Web API, the test clicks them as Slack would,
// sending requests signed per Slack's published algorithm (the signer below is written from Slack's
// documentation, not imported from the server), and the change-set, its audit trail and the
// message all show the decision.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChangeSet } from '../../src/core/types.js';
import { Engine } from '../../src/engine/engine.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { createChannels } from '../../src/notify/channels/index.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { buildNotifications } from '../../src/notify/notify-config.js';
import { interactiveSlackApps } from '../../src/notify/slack-api.js';
import { type Backend, describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, skipSetUpEvents } from '../helpers/fixture.js';

const DASHBOARD = 'https://ledger.example.com';
const TOKEN = 'xoxb-interactive';
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const URL_PATH = '/api/ledger/integrations/slack/interactions';

interface Call {
  method: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** Slack's Web API: answers {ok: true} to every method and records each call. */
function fakeSlack(): Promise<{ server: Server; base: string; calls: Call[] }> {
  const calls: Call[] = [];
  let ts = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = (req.url ?? '').replace(/^\/api\//, '');
      calls.push({ method, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
      res
        .writeHead(200, { 'content-type': 'application/json', connection: 'close' })
        .end(JSON.stringify({ ok: true, ts: `1700000000.${String(++ts).padStart(6, '0')}` }));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls }),
    ),
  );
}

/**
 * Slack's signature, from https://api.slack.com/authentication/verifying-requests-from-slack:
 * concatenate the version `v0`, the timestamp and the raw body with `:`, HMAC-SHA256 it with the
 * signing secret, and send `v0=` + the hex digest.
 */
function slackSignature(secret: string, timestamp: string, body: string): string {
  const basestring = ['v0', timestamp, body].join(':');
  return `v0=${createHmac('sha256', secret).update(basestring, 'utf8').digest('hex')}`;
}

/** A form-encoded body as Slack sends it: `payload=<url-encoded JSON>`. */
const formBody = (payload: unknown): string => `payload=${encodeURIComponent(JSON.stringify(payload))}`;

async function until<T>(find: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const found = find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Button {
  action_id?: string;
  value?: string;
  url?: string;
  text: { text: string };
}

describeEachBackend('approve and reject from Slack (issue 16)', (backend: Backend) => {
  let slack: Awaited<ReturnType<typeof fakeSlack>>;
  let f: Fixture;
  let app: LedgerApp;
  let dispatcher: Dispatcher;

  beforeAll(async () => {
    slack = await fakeSlack();
    f = await makeFixture(await backend.open());
    const notifications = buildNotifications({
      channels: {
        slack: { type: 'slack', bot_token: TOKEN, api_url: `${slack.base}/api`, signing_secret: SECRET } as never,
      },
    });
    dispatcher = new Dispatcher({
      db: f.db,
      notifications,
      channels: createChannels(notifications, { dashboardUrl: DASHBOARD }),
      clock: () => f.clock.now,
    });
    app = await buildApp({ engine: f.engine, dashboardUrl: DASHBOARD, slack: interactiveSlackApps(notifications) });
    for (const [who, id] of [
      ['alice', 'U0ALICE'],
      ['bob', 'U0BOB'],
      ['Agent-D', 'U0AGENT'],
    ] as const)
      await f.engine.updatePrincipal(f.p['root']!, who, { slack_id: id });
    await skipSetUpEvents(f.db);
  });
  afterAll(async () => {
    await dispatcher.stop();
    await app.close();
    await f.db.close();
    slack.server.close();
  });
  beforeEach(() => {
    slack.calls.length = 0;
  });

  const now = () => String(Math.floor(f.clock.now.getTime() / 1000));

  function send(body: string, headers: Record<string, string> = {}) {
    return app.inject({
      method: 'POST',
      url: URL_PATH,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: body,
    });
  }

  /** A request as Slack sends it, signed with `secret` at `timestamp`. */
  function signed(payload: unknown, options: { secret?: string; timestamp?: string } = {}) {
    const body = formBody(payload);
    const timestamp = options.timestamp ?? now();
    const signature = slackSignature(options.secret ?? SECRET, timestamp, body);
    return { body, headers: { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature } };
  }

  const post = (payload: unknown, options?: { secret?: string; timestamp?: string }) => {
    const request = signed(payload, options);
    return send(request.body, request.headers);
  };

  /** Creates and submits a change-set, and delivers its approval request to alice's Slack. */
  async function requested(): Promise<{ cs: ChangeSet; message: Call; buttons: Button[] }> {
    let cs = await f.engine.create(f.p['Agent-D']!, configChange());
    cs = await f.engine.submit(f.p['Agent-D']!, cs.id);
    await dispatcher.runOnce();
    const message = slack.calls.find(
      (c) => c.method === 'chat.postMessage' && c.body['text'] === `Approval Required: ${cs.change_set_id}`,
    );
    if (!message) throw new Error('no approval request was posted');
    const blocks = message.body['blocks'] as { type: string; elements?: Button[] }[];
    return { cs, message, buttons: blocks.find((b) => b.type === 'actions')!.elements! };
  }

  /** What Slack sends when `user` clicks `button` on a message in channel D0CHAT at ts 1.2. */
  const click = (user: string, button: Button, blocks: unknown = []) => ({
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase() },
    api_app_id: 'A0APP',
    trigger_id: `trigger-${user}-${button.action_id}`,
    container: { type: 'message', message_ts: '1.2', channel_id: 'D0CHAT', is_ephemeral: false },
    channel: { id: 'D0CHAT', name: 'directmessage' },
    message: { type: 'message', ts: '1.2', blocks },
    response_url: 'https://hooks.slack.com/actions/T0/1/x',
    actions: [
      {
        type: 'button',
        action_id: button.action_id,
        block_id: 'changeledger_decision',
        value: button.value,
        action_ts: '1.3',
      },
    ],
  });

  /** What Slack sends when `user` submits the reason dialog with `reason`. */
  const submission = (user: string, privateMetadata: string, reason: string) => ({
    type: 'view_submission',
    user: { id: user },
    view: {
      id: 'V0VIEW',
      callback_id: 'changeledger_reject',
      private_metadata: privateMetadata,
      state: { values: { reason: { reason: { type: 'plain_text_input', value: reason } } } },
    },
  });
  /** The dialog's metadata for the message about `cs` as it was. */
  const metadataOf = (cs: ChangeSet) =>
    JSON.stringify({ id: cs.id, content_hash: cs.content_hash, channel: 'D0CHAT', ts: '1.2' });

  const buttonOf = (buttons: Button[], label: string) => buttons.find((b) => b.text.text === label)!;
  const decisions = async (cs: ChangeSet) => (await f.engine.audit(cs.id)).filter((e) => e.action === 'decision');
  const storedSignatures = async () =>
    Number((await f.db.query<{ n: number }>('SELECT count(*)::int AS n FROM slack_requests')).rows[0]!.n);

  it('an approval request carries Approve and Reject buttons bound to the change-set and its content hash', async () => {
    const { cs, message, buttons } = await requested();
    expect(message.body['channel']).toBe('U0ALICE');
    expect(message.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(buttons.map((b) => b.text.text)).toEqual(['Review', 'Approve', 'Reject']);
    for (const label of ['Approve', 'Reject']) {
      expect(JSON.parse(buttonOf(buttons, label).value!)).toEqual({ id: cs.id, content_hash: cs.content_hash });
    }
    expect(buttonOf(buttons, 'Review').url).toBe(`${DASHBOARD}/changesets/${cs.id}`);
  });

  it('Approve: the mapped principal approves, the audit trail shows it, the message is updated in place', async () => {
    const { cs, buttons } = await requested();
    const response = await post(click('U0ALICE', buttonOf(buttons, 'Approve')));
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('');
    const after = await f.engine.get(cs.id);
    expect(after.status).toBe('APPROVED');
    expect(after.approvals).toEqual([
      expect.objectContaining({ approver_id: 'alice', decision: 'APPROVED', content_hash: cs.content_hash }),
    ]);
    const [decision] = await decisions(cs);
    expect(decision).toMatchObject({ actor: 'alice', data: { decision: 'APPROVED', content_hash: cs.content_hash } });
    const update = await until(() => slack.calls.find((c) => c.method === 'chat.update'), 'chat.update');
    expect(update.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(update.body).toMatchObject({ channel: 'D0CHAT', ts: '1.2', text: `Approved by alice: ${cs.change_set_id}` });
    const blocks = JSON.stringify(update.body['blocks']);
    expect(blocks).toContain('Decision: APPROVED by alice');
    expect(blocks).toContain('Approved in Slack by alice: the change-set is now APPROVED');
    // The buttons are gone: the message now says what was decided.
    expect(blocks).not.toContain('changeledger_approve');
  });

  it('Reject: opens a modal asking for the reason; its submission rejects with that reason', async () => {
    const { cs, buttons } = await requested();
    const clicked = await post(click('U0ALICE', buttonOf(buttons, 'Reject')));
    expect(clicked.statusCode).toBe(200);
    const open = await until(() => slack.calls.find((c) => c.method === 'views.open'), 'views.open');
    expect(open.body['trigger_id']).toBe('trigger-U0ALICE-changeledger_reject');
    const view = open.body['view'] as { callback_id: string; private_metadata: string; blocks: { block_id: string }[] };
    expect(view.blocks.map((b) => b.block_id)).toEqual(['reason']);
    // Nothing is decided until the modal is submitted.
    expect((await f.engine.get(cs.id)).status).toBe('PENDING_APPROVAL');

    expect(view.callback_id).toBe('changeledger_reject');
    const submitted = await post(submission('U0ALICE', view.private_metadata, 'Too risky on a Friday'));
    expect(submitted.statusCode).toBe(200);
    expect(submitted.body).toBe('');
    const after = await f.engine.get(cs.id);
    expect(after.status).toBe('REJECTED');
    expect(after.approvals).toEqual([
      expect.objectContaining({ approver_id: 'alice', decision: 'REJECTED', reason: 'Too risky on a Friday' }),
    ]);
    expect(await decisions(cs)).toEqual([
      expect.objectContaining({ actor: 'alice', data: expect.objectContaining({ reason: 'Too risky on a Friday' }) }),
    ]);
    const update = await until(() => slack.calls.find((c) => c.method === 'chat.update'), 'chat.update');
    expect(update.body).toMatchObject({ channel: 'D0CHAT', ts: '1.2' });
    const blocks = JSON.stringify(update.body['blocks']);
    expect(blocks).toContain('Reason: Too risky on a Friday');
    expect(blocks).toContain('Rejected in Slack by alice: the change-set is now REJECTED');
  });

  it('a button on a message about content that changed since decides nothing and says what changed', async () => {
    const { cs, buttons } = await requested();
    // Rejected, edited and resubmitted: the old message's buttons carry the old content hash.
    await f.engine.decide(f.p['root']!, cs.id, { decision: 'REJECTED', reason: 'fix it' });
    const target = (await f.engine.get(cs.id)).items[0]!.target_id;
    await f.engine.edit(f.p['Agent-D']!, cs.id, {
      items: [{ operation_type: 'CREATE', target_type: 'CONFIG', target_id: target, after_state: { value: 2 } }],
    });
    await f.engine.reopen(f.p['Agent-D']!, cs.id);
    const resubmitted = await f.engine.submit(f.p['Agent-D']!, cs.id);
    expect(resubmitted.content_hash).not.toBe(cs.content_hash);
    slack.calls.length = 0;

    const response = await post(click('U0ALICE', buttonOf(buttons, 'Approve')));
    expect(response.statusCode).toBe(200);
    const told = await until(() => slack.calls.find((c) => c.method === 'chat.postEphemeral'), 'chat.postEphemeral');
    expect(told.body).toMatchObject({ channel: 'D0CHAT', user: 'U0ALICE' });
    expect(told.body['text']).toContain('is not the content you reviewed');
    expect(told.body['text']).toContain('edited since: items by Agent-D');
    const after = await f.engine.get(cs.id);
    expect(after.status).toBe('PENDING_APPROVAL');
    expect(after.approvals.filter((a) => !a.stale)).toEqual([]);
    expect((await decisions(cs)).map((d) => d.actor)).toEqual(['root']);
    expect(slack.calls.some((c) => c.method === 'chat.update')).toBe(false);
  });

  it('the rules of the API hold: an ineligible user and the change-set creator are told, nothing is decided', async () => {
    const { cs, buttons } = await requested();
    const refusals: [string, string][] = [
      ['U0BOB', 'bob may not approve this change-set: approve is for an eligible approver'],
      ['U0AGENT', 'nobody may decide on their own change-set (separation of duties)'],
    ];
    for (const [user, refusal] of refusals) {
      slack.calls.length = 0;
      expect((await post(click(user, buttonOf(buttons, 'Approve')))).statusCode).toBe(200);
      const told = await until(() => slack.calls.find((c) => c.method === 'chat.postEphemeral'), 'chat.postEphemeral');
      expect(told.body).toMatchObject({ user, text: refusal });
    }
    expect((await f.engine.get(cs.id)).approvals).toEqual([]);
    expect(await decisions(cs)).toEqual([]);
  });

  it('an unknown Slack user is told, and nothing is decided', async () => {
    const { cs, buttons } = await requested();
    const response = await post(click('U0NOBODY', buttonOf(buttons, 'Approve')));
    expect(response.statusCode).toBe(200);
    const told = await until(() => slack.calls.find((c) => c.method === 'chat.postEphemeral'), 'chat.postEphemeral');
    expect(told.body).toMatchObject({ channel: 'D0CHAT', user: 'U0NOBODY' });
    expect(told.body['text']).toContain('not linked to an active changeledger principal');
    expect((await f.engine.get(cs.id)).approvals).toEqual([]);
    expect(await decisions(cs)).toEqual([]);
    // A modal submission by an unknown user is answered in the modal.
    const submitted = await post(submission('U0NOBODY', metadataOf(cs), 'no'));
    expect(submitted.json()).toEqual({
      response_action: 'errors',
      errors: { reason: expect.stringContaining('not linked to an active changeledger principal') },
    });
    expect((await f.engine.get(cs.id)).status).toBe('PENDING_APPROVAL');
  });

  it('a replayed request (same signature) is refused with 401, and does nothing again', async () => {
    const { cs, buttons } = await requested();
    const request = signed(click('U0ALICE', buttonOf(buttons, 'Approve')));
    expect((await send(request.body, request.headers)).statusCode).toBe(200);
    await until(() => slack.calls.find((c) => c.method === 'chat.update'), 'chat.update');
    slack.calls.length = 0;
    const replay = await send(request.body, request.headers);
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({
      code: 'UNAUTHENTICATED',
      message: expect.stringContaining('replay'),
      fix: expect.stringMatching(/^Nothing to do: the first delivery/),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(slack.calls).toEqual([]);
    expect((await decisions(cs)).length).toBe(1);
  });

  it('a request delivered to two instances at once is accepted by exactly one', async () => {
    const other = await buildApp({
      engine: new Engine({ db: f.db, config: f.engine.ctx.config, clock: () => f.clock.now }),
      dashboardUrl: DASHBOARD,
      slack: [{ api_url: `${slack.base}/api`, bot_token: TOKEN, signing_secret: SECRET }],
    });
    try {
      const { cs, buttons } = await requested();
      const request = signed(click('U0ALICE', buttonOf(buttons, 'Approve')));
      const inject = (on: LedgerApp) =>
        on.inject({
          method: 'POST',
          url: URL_PATH,
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...request.headers },
          payload: request.body,
        });
      const answers = await Promise.all([inject(app), inject(other)]);
      expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 401]);
      expect((await decisions(cs)).map((d) => d.actor)).toEqual(['alice']);
      expect((await f.engine.get(cs.id)).status).toBe('APPROVED');
    } finally {
      await other.close();
    }
  });

  it('Reject on a message about content that changed since: the reason dialog says what changed', async () => {
    const { cs } = await requested();
    await f.engine.decide(f.p['root']!, cs.id, { decision: 'REJECTED', reason: 'fix it' });
    await f.engine.edit(f.p['Agent-D']!, cs.id, { title: 'Retitled' });
    await f.engine.reopen(f.p['Agent-D']!, cs.id);
    await f.engine.submit(f.p['Agent-D']!, cs.id);
    const submitted = await post(submission('U0ALICE', metadataOf(cs), 'no'));
    expect(submitted.statusCode).toBe(200);
    expect(submitted.json()).toEqual({
      response_action: 'errors',
      errors: { reason: expect.stringMatching(/is not the content you reviewed .*edited since: title by Agent-D/) },
    });
    expect((await f.engine.get(cs.id)).status).toBe('PENDING_APPROVAL');
    expect((await decisions(cs)).map((d) => d.actor)).toEqual(['root']);
  });

  describe('requests Slack did not sign are refused with 401, and nothing is stored', () => {
    let cs: ChangeSet;
    let payload: unknown;
    beforeAll(async () => {
      const req = await requested();
      cs = req.cs;
      payload = click('U0ALICE', buttonOf(req.buttons, 'Approve'));
    });

    const cases: [string, () => { body: string; headers: Record<string, string> }][] = [
      ['no signature headers', () => ({ body: formBody(payload), headers: {} })],
      ['signed with another secret', () => signed(payload, { secret: 'not-the-signing-secret' })],
      [
        'a body other than the one signed',
        () => {
          const request = signed(payload);
          return { ...request, body: formBody({ ...(payload as object), user: { id: 'U0BOB' } }) };
        },
      ],
      [
        'a signature of another timestamp',
        () => {
          const request = signed(payload);
          return {
            ...request,
            headers: { ...request.headers, 'x-slack-request-timestamp': String(Number(now()) - 1) },
          };
        },
      ],
      ['a timestamp more than 5 minutes old', () => signed(payload, { timestamp: String(Number(now()) - 301) })],
      ['a timestamp more than 5 minutes ahead', () => signed(payload, { timestamp: String(Number(now()) + 301) })],
      [
        'a malformed signature',
        () => {
          const request = signed(payload);
          return { ...request, headers: { ...request.headers, 'x-slack-signature': 'v1=abc' } };
        },
      ],
    ];

    it.each(cases)('%s', async (_name, make) => {
      const before = await storedSignatures();
      const { body, headers } = make();
      const response = await send(body, headers);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED', error: 'Unauthorized' });
      // Slack, not a bearer token, is what this route needs: the fix says how to set up the signing.
      expect(response.json().fix).toMatch(/Interactivity Request URL.*signing_secret.*clock/);
      expect(response.body).not.toContain(SECRET);
      expect(await storedSignatures()).toBe(before);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(slack.calls).toEqual([]);
      expect((await f.engine.get(cs.id)).approvals).toEqual([]);
    });

    it('a timestamp 5 minutes old still passes (the window is inclusive of 300 s)', async () => {
      const response = await post(
        { type: 'block_actions', user: { id: 'U0ALICE' }, actions: [] },
        {
          timestamp: String(Number(now()) - 300),
        },
      );
      expect(response.statusCode).toBe(200);
    });
  });

  it('only this route is exempt from bearer auth: JSON is refused, neighbours still need a token', async () => {
    const { cs, buttons } = await requested();
    const json = JSON.stringify({ payload: click('U0ALICE', buttonOf(buttons, 'Approve')) });
    const timestamp = now();
    const asJson = await app.inject({
      method: 'POST',
      url: URL_PATH,
      headers: {
        'content-type': 'application/json',
        'x-slack-request-timestamp': timestamp,
        'x-slack-signature': slackSignature(SECRET, timestamp, json),
      },
      payload: json,
    });
    expect(asJson.statusCode).toBe(415);
    expect(asJson.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    for (const url of [`${URL_PATH}/x`, '/api/ledger/integrations/slack', '/api/ledger/changesets']) {
      const response = await app.inject({ method: 'GET', url });
      expect([401, 404]).toContain(response.statusCode);
      if (url === '/api/ledger/changesets') expect(response.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    // The route does not take a bearer token as its credential either.
    const token = (await f.engine.issueToken(null, 'Agent-D')).token;
    const withToken = await app.inject({
      method: 'POST',
      url: URL_PATH,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: formBody(click('U0ALICE', buttonOf(buttons, 'Approve'))),
    });
    expect(withToken.statusCode).toBe(401);
    expect((await f.engine.get(cs.id)).approvals).toEqual([]);
  });

  it('without a signing secret configured the route answers 404', async () => {
    const bare = await buildApp({ engine: f.engine });
    try {
      const response = await bare.inject({
        method: 'POST',
        url: URL_PATH,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: formBody({}),
      });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await bare.close();
    }
  });
});

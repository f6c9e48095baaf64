// Email end to end: a real SMTP server (smtp-server) receives what the dispatcher sends through the
// email channel, and mailparser reads it back as a mail client would.
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createChannels } from '../../src/notify/channels/index.js';
import { Dispatcher } from '../../src/notify/dispatcher.js';
import { buildNotifications } from '../../src/notify/notify-config.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, skipSetUpEvents } from '../helpers/fixture.js';

const DASHBOARD = 'https://ledger.example.com';

interface Mail {
  to: string[];
  user: string | undefined;
  parsed: ParsedMail;
}

/** An SMTP server on 127.0.0.1 that keeps every message and refuses the addresses in `refuse`. */
async function smtpServer() {
  const mails: Mail[] = [];
  const refuse = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'mailer' && auth.password === 's3cret') callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onRcptTo(address, _session, callback) {
      if (refuse.has(address.address)) {
        callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      } else callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), user: session.user as string, parsed });
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { server, port, mails, refuse };
}

describeEachBackend('email notifications', (backend) => {
  let f: Fixture;
  let smtp: Awaited<ReturnType<typeof smtpServer>>;
  let dispatcher: Dispatcher;
  const mailsAbout = (changeSetId: string) => smtp.mails.filter((m) => m.parsed.subject?.endsWith(changeSetId));

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    smtp = await smtpServer();
    const notifications = buildNotifications({
      channels: {
        mail: {
          type: 'email',
          host: '127.0.0.1',
          port: smtp.port,
          secure: false,
          user: 'mailer',
          password: 's3cret',
          from: 'changeledger <ledger@example.com>',
        },
      },
      dispatcher: { max_attempts: 3, backoff_base_ms: 1_000 },
    });
    dispatcher = new Dispatcher({
      db: f.db,
      notifications,
      channels: createChannels(notifications, { dashboardUrl: DASHBOARD }),
      clock: () => f.clock.now,
    });
    await skipSetUpEvents(f.db);
  });
  afterAll(async () => {
    await dispatcher.stop();
    await new Promise<void>((resolve) => smtp.server.close(() => resolve()));
    await f.db.close();
  });

  it('sends each eligible approver one "Approval Required" mail with the dashboard link, and the creator none', async () => {
    const title = 'Raise <b>limits</b> & "quotas"';
    let cs = await f.engine.create(f.p['Agent-D']!, configChange(undefined, { title }));
    cs = await f.engine.submit(f.p['Agent-D']!, cs.id);
    const pass = await dispatcher.runOnce();
    const mails = mailsAbout(cs.change_set_id);
    expect(pass).toMatchObject({ delivered: mails.length, retried: 0, dead: 0 });
    // alice through the approval chain; the admins may approve anything.
    expect(mails.map((m) => m.to.join()).sort()).toEqual([
      'alice@example.com',
      'root2@example.com',
      'root@example.com',
    ]);
    const link = `${DASHBOARD}/changesets/${cs.id}`;
    for (const mail of mails) {
      const { parsed } = mail;
      expect(parsed.subject).toBe(`Approval Required: ${cs.change_set_id}`);
      expect(parsed.from?.value).toEqual([{ name: 'changeledger', address: 'ledger@example.com' }]);
      expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : '').toBe(mail.to[0]);
      expect(parsed.text).toContain(link);
      expect(parsed.text).toContain(`Title: ${title}`);
      expect(parsed.html).toContain(`href="${link}"`);
      expect(parsed.html).toContain('Raise &lt;b&gt;limits&lt;/b&gt; &amp; &quot;quotas&quot;');
      expect(parsed.html).not.toContain('<b>limits');
      expect(parsed.headers.get('x-changeledger-event')).toBe('changeset.approval_requested');
      expect(parsed.messageId).toBe(`<${parsed.headers.get('x-changeledger-delivery')}@changeledger>`);
      expect(mail.user).toBe('mailer');
    }
    expect(smtp.mails.some((m) => m.to.includes('agent-d@example.com'))).toBe(false);
    expect((await dispatcher.runOnce()).delivered).toBe(0);
  });

  it('tells the creator of the decision, and not the approver who made it', async () => {
    let cs = await f.engine.create(f.p['Agent-D']!, configChange());
    cs = await f.engine.submit(f.p['Agent-D']!, cs.id);
    await dispatcher.runOnce();
    const before = smtp.mails.length;
    await f.engine.decide(f.p['alice']!, cs.id, { decision: 'APPROVED', reason: 'looks right' });
    await dispatcher.runOnce();
    const mails = smtp.mails.slice(before);
    expect(mails.map((m) => [m.to.join(), m.parsed.subject])).toEqual(
      expect.arrayContaining([
        ['agent-d@example.com', `Approved by alice: ${cs.change_set_id}`],
        ['agent-d@example.com', `Approved: ${cs.change_set_id}`],
      ]),
    );
    expect(mails).toHaveLength(2);
    const decision = mails.find((m) => m.parsed.subject?.startsWith('Approved by'))!;
    expect(decision.parsed.text).toContain('Decision: APPROVED by alice');
    expect(decision.parsed.text).toContain('Reason: looks right');
    expect(decision.parsed.text).toContain(`${DASHBOARD}/changesets/${cs.id}`);
  });

  it('tells the creator and the other eligible approvers of a rejection, and not the approver who rejected', async () => {
    let cs = await f.engine.create(f.p['Agent-D']!, configChange());
    cs = await f.engine.submit(f.p['Agent-D']!, cs.id);
    await dispatcher.runOnce();
    const before = smtp.mails.length;
    await f.engine.decide(f.p['alice']!, cs.id, { decision: 'REJECTED', reason: 'wrong value' });
    await dispatcher.runOnce();
    const decisions = smtp.mails
      .slice(before)
      .filter((m) => m.parsed.subject === `Rejected by alice: ${cs.change_set_id}`)
      .map((m) => m.to.join())
      .sort();
    // The default route "a rejection also goes to the other approvers": root and root2 may approve
    // anything; alice made the decision and is not told of it.
    expect(decisions).toEqual(['agent-d@example.com', 'root2@example.com', 'root@example.com']);
  });

  it('retries a mail the server refused, without resending the ones it took', async () => {
    smtp.refuse.add('root2@example.com');
    let cs = await f.engine.create(f.p['Agent-D']!, configChange());
    cs = await f.engine.submit(f.p['Agent-D']!, cs.id);
    expect(await dispatcher.runOnce()).toMatchObject({ delivered: 2, retried: 1, dead: 0 });
    const { rows } = await f.db.query<{ recipient: string; status: string; last_error: string }>(
      `SELECT d.recipient, d.status, d.last_error FROM deliveries d JOIN outbox_events e ON e.id = d.event_id
       WHERE e.change_set = $1 AND d.status = 'PENDING'`,
      [cs.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.recipient).toBe('root2');
    expect(rows[0]!.last_error).toMatch(/^email via 127\.0\.0\.1:\d+ failed \(.*550.*Mailbox unavailable/);
    smtp.refuse.clear();
    f.clock.advance(2_000);
    expect(await dispatcher.runOnce()).toMatchObject({ delivered: 1, retried: 0 });
    expect(
      mailsAbout(cs.change_set_id)
        .map((m) => m.to.join())
        .sort(),
    ).toEqual(['alice@example.com', 'root2@example.com', 'root@example.com']);
  });
});

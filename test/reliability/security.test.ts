// Hostile input and bad actors against the real server: injection and script strings in every text
// field are stored verbatim and stay inert; tokens are looked up by hash, so near-misses are refused
// the same way; no token or secret reaches the logs even at trace level; write rate limits answer
// 429 per principal; request bodies and item counts are bounded.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  addPrincipal,
  cleanUp,
  freshPostgresUrl,
  makeTempDir,
  REPO_ROOT,
  type ServerProcess,
  startServer,
} from '../e2e/helpers.js';
import { describePostgres } from '../helpers/backends.js';
import {
  call,
  isErrorShape,
  type JsonObject,
  type Outcome,
  report,
  type SchemaDb,
  schemaDb,
  startWebhookReceiver,
  type WebhookReceiver,
  waitUntil,
  writeConfig,
} from './helpers.js';

/** SQL injection, script, template and shell strings, and Unicode oddities (no NUL: refused by design). */
const PAYLOADS = [
  "'; DROP TABLE change_sets; --",
  '" OR 1=1 --',
  "' UNION SELECT token_hash FROM tokens --",
  "Robert'); DELETE FROM principals; --",
  '1; SELECT pg_sleep(10); --',
  "\\'; TRUNCATE audit_entries; --",
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '"><svg onload=alert(1)>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style string, literally
  '${jndi:ldap://x/a}',
  '{{7*7}} #{7*7} <%= 7*7 %>',
  '$(rm -rf /) `id` | cat /etc/passwd',
  '../../etc/passwd',
  '%27%20OR%201%3D1%00',
  '{"$gt": ""}',
  'Ω≈ç√∫ é e\u0301 ﷽ 🧨👩‍👩‍👧 \u200b\u202egnp.exe\u202c \uFEFF',
];

/** Bodies the API sends are JSON, whatever they carry. */
function expectJson(outcome: Outcome, what: string): asserts outcome is Outcome & { ok: true } {
  if (!outcome.ok) throw new Error(`${what}: ${outcome.error}`);
  expect(outcome.headers.get('content-type') ?? '', what).toMatch(/^application\/json/);
}

/** An SMTP server that takes mail only from `user` with `password`. */
async function smtpServer(user: string, password: string) {
  const mails: ParsedMail[] = [];
  const server = new SMTPServer({
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) callback(null, { user });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          mails.push(parsed);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.server.address() as AddressInfo).port, mails };
}

/**
 * A POST of `size` bytes of JSON over a plain socket, read until the answer is complete. The server
 * may answer from Content-Length alone (413) and close at once; if it closes with much of the body
 * unread in its socket, the kernel resets the connection and the answer can be lost with it (a
 * node:http client then waited for ever). So the head and a first 16 KiB go first, and the rest only
 * if no answer came within `earlyAnswerMs`; a failed write is ignored. Never waits past `timeoutMs`.
 */
function postBytes(
  url: string,
  token: string,
  size: number,
  { timeoutMs = 60_000, earlyAnswerMs = 5_000 } = {},
): Promise<{ status: number; body: JsonObject; type: string }> {
  const target = new URL(url);
  const filler = 'x'.repeat(Math.max(0, size - 40));
  const data = Buffer.from(JSON.stringify({ title: 'big', description: filler }));
  const head =
    `POST ${target.pathname} HTTP/1.1\r\nhost: ${target.host}\r\nauthorization: Bearer ${token}\r\n` +
    `content-type: application/json\r\ncontent-length: ${data.length}\r\nconnection: close\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(target.port), target.hostname);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no complete answer within ${timeoutMs} ms: ${Buffer.concat(chunks).toString('latin1').slice(0, 200)}`,
        ),
      );
    }, timeoutMs);
    /** The answer once its head and `content-length` bytes of body are in, else null. */
    const answer = () => {
      const raw = Buffer.concat(chunks);
      const end = raw.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
      const headers = new Map(
        lines
          .slice(1)
          .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
      );
      const body = raw.subarray(end + 4, end + 4 + Number(headers.get('content-length') ?? Number.NaN));
      if (body.length !== Number(headers.get('content-length'))) return null;
      return {
        status: Number(lines[0]!.split(' ')[1]),
        body: JSON.parse(body.toString('utf8')) as JsonObject,
        type: headers.get('content-type') ?? '',
      };
    };
    const settle = () => {
      const complete = answer();
      if (!complete) return false;
      clearTimeout(timer);
      socket.destroy();
      resolve(complete);
      return true;
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      settle();
    });
    // The server may stop reading and close: that is its right, and the answer it sent still counts.
    socket.on('error', () => {});
    socket.on('close', () => {
      if (!settle()) {
        clearTimeout(timer);
        reject(
          new Error(
            `the connection closed without a complete answer: ${Buffer.concat(chunks).toString('latin1').slice(0, 200)}`,
          ),
        );
      }
    });
    socket.on('connect', () => {
      socket.write(head);
      socket.write(data.subarray(0, 16 * 1024));
      const rest = setTimeout(() => {
        if (chunks.length === 0 && !socket.destroyed) socket.write(data.subarray(16 * 1024));
      }, earlyAnswerMs);
      socket.once('close', () => clearTimeout(rest));
    });
  });
}

const items = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => ({
    operation_type: 'CREATE',
    target_type: 'FEATURE_FLAG',
    target_id: `${prefix}.${i}`,
    after_state: { on: true },
  }));

const changeSet = (id: string, itemList: unknown[]) => ({
  change_set_id: id,
  title: 'Bounded',
  agent_type: 'BACKEND',
  category: 'CONFIG_UPDATE',
  approval_chain: ['alice'],
  items: itemList,
});

describePostgres('hostile input and bad actors', () => {
  let server: ServerProcess;
  let db: SchemaDb;
  let receiver: WebhookReceiver;
  let smtp: Awaited<ReturnType<typeof smtpServer>>;
  const adminToken = `clg_${randomBytes(32).toString('base64url')}`;
  const webhookSecret = `whsec-${randomBytes(24).toString('hex')}`;
  const smtpPassword = `smtp-${randomBytes(24).toString('hex')}`;
  const databasePassword = `dbpw-${randomBytes(24).toString('hex')}`;
  const tokens: Record<string, string> = { admin: adminToken };
  /** Every credential the server handled: none may appear in its output. */
  const secrets: Record<string, string> = {
    CHANGELEDGER_ADMIN_TOKEN: adminToken,
    'webhook secret': webhookSecret,
    'SMTP password': smtpPassword,
  };
  const figures: Record<string, unknown> = {};
  let requests = 0;
  const api = async (
    method: string,
    path: string,
    who: string | null,
    body?: unknown,
    headers?: Record<string, string>,
  ) => {
    requests++;
    return call(server.url, method, path, who === null ? null : tokens[who]!, body, { headers });
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secret: webhookSecret });
    smtp = await smtpServer('mailer', smtpPassword);
    const fresh = await freshPostgresUrl();
    db = schemaDb(fresh.url);
    // A password in the database URL too (PostgreSQL here trusts local connections, so it is
    // never asked for, but the server holds it all the same).
    const url = new URL(fresh.url);
    if (!url.password && url.username) {
      url.password = databasePassword;
      secrets['database password'] = databasePassword;
    }
    const config = writeConfig(
      makeTempDir(),
      [
        'limits:',
        '  write_requests_per_minute: 0',
        'notifications:',
        '  channels:',
        '    hook:',
        '      type: webhook',
        `      url: ${receiver.url}`,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${NAME} reference in the YAML
        '      secret: ${WEBHOOK_SECRET}',
        '    mail:',
        '      type: email',
        '      host: 127.0.0.1',
        `      port: ${smtp.port}`,
        '      user: mailer',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${NAME} reference in the YAML
        '      password: ${SMTP_PASSWORD}',
        '      from: changeledger <ledger@example.com>',
        '  dispatcher:',
        '    poll_interval_ms: 200',
        '',
      ].join('\n'),
    );
    server = await startServer({
      databaseUrl: url.toString(),
      args: ['--config', config],
      env: {
        LOG_LEVEL: 'trace',
        CHANGELEDGER_ADMIN_TOKEN: adminToken,
        WEBHOOK_SECRET: webhookSecret,
        SMTP_PASSWORD: smtpPassword,
      },
    });
    for (const body of [
      { id: 'Agent-D', kind: 'agent', email: 'agent-d@example.com' },
      { id: 'alice', kind: 'human', email: 'alice@example.com' },
    ]) {
      tokens[body.id] = await addPrincipal(server.url, tokens['admin']!, body);
    }
  });

  afterAll(async () => {
    // The server first: its pooled SMTP connections would keep the SMTP server's close waiting.
    await cleanUp();
    await receiver?.close();
    await new Promise<void>((resolve) => (smtp ? smtp.server.close(() => resolve()) : resolve()));
    await db?.close();
    report('security', { ...figures, requests });
  });

  it('stores injection and script strings verbatim in every text field, and they stay inert', async () => {
    for (const [i, payload] of PAYLOADS.entries()) {
      const id = `CS-SEC-${i}`;
      const item = {
        key: payload,
        operation_type: 'CREATE',
        target_type: payload,
        target_id: `${payload}.${i}`,
        after_state: { [payload]: payload, list: [payload, { deeper: payload }] },
      };
      const body = {
        change_set_id: id,
        title: payload,
        description: `${payload}\n${payload}`,
        agent_type: payload,
        category: 'CONFIG_UPDATE',
        tags: [payload, `tag-${i}`],
        metadata: { [payload]: payload, nested: { list: [payload] } },
        approval_chain: ['alice'],
        items: [item],
      };
      const created = await api('POST', '/changesets', 'Agent-D', body);
      expectJson(created, `create ${id}`);
      expect(created.status, JSON.stringify(created.body)).toBe(201);

      const submitted = await api('POST', `/changesets/${id}/submit`, 'Agent-D');
      expect(submitted.ok && submitted.status).toBe(200);
      const approved = await api('POST', `/changesets/${id}/approve`, 'alice', {
        decision: 'APPROVED',
        reason: payload,
      });
      expect(approved.ok && approved.body['status']).toBe('APPROVED');
      const applied = await api('POST', `/changesets/${id}/apply`, 'Agent-D', { mode: 'ATOMIC' });
      expect(applied.ok && applied.body['status'], JSON.stringify(applied)).toBe('APPLIED');

      // Read back exactly as written.
      const read = await api('GET', `/changesets/${id}`, 'alice');
      expectJson(read, `read ${id}`);
      expect(read.body).toMatchObject({
        title: payload,
        description: `${payload}\n${payload}`,
        agent_type: payload,
        tags: [payload, `tag-${i}`],
        metadata: body.metadata,
        items: [{ key: payload, target_type: payload, target_id: `${payload}.${i}`, after_state: item.after_state }],
        approvals: [{ reason: payload }],
      });
      const resource = await api(
        'GET',
        `/resources/${encodeURIComponent(payload)}/${encodeURIComponent(`${payload}.${i}`)}`,
        'alice',
      );
      expectJson(resource, `resource of ${id}`);
      expect(resource.body, JSON.stringify(resource.body)).toMatchObject({ state: item.after_state });
      // Searches with the string find exactly this change-set, and nothing breaks.
      for (const query of [`q=${encodeURIComponent(payload)}`, `tag=${encodeURIComponent(payload)}`]) {
        const found = await api('GET', `/changesets?${query}`, 'alice');
        expectJson(found, `search ${query}`);
        expect(
          (found.body['data'] as JsonObject[]).map((cs) => cs['change_set_id']),
          query,
        ).toContain(id);
      }
      const rolled = await api('POST', `/changesets/${id}/rollback`, 'Agent-D', { reason: payload });
      expect(rolled.ok && rolled.body['reason']).toBe(payload);
      const audit = await api('GET', `/changesets/${id}/audit`, 'alice');
      expectJson(audit, `audit of ${id}`);
      const entries = audit.body['data'] as { action: string; data: JsonObject }[];
      expect(entries.find((e) => e.action === 'decision')?.data['reason']).toBe(payload);
      expect(entries.find((e) => e.action === 'rollback')?.data['reason']).toBe(payload);

      // A principal's display name.
      const principal = await api('POST', '/principals', 'admin', {
        id: `p-${i}`,
        kind: 'human',
        display_name: payload,
      });
      expect(principal.ok && principal.status).toBe(201);
      const shown = await api('GET', `/principals/p-${i}`, 'alice');
      expect(shown.ok && shown.body['display_name']).toBe(payload);
      // As a path parameter: refused or not found, as JSON.
      const odd = await api('GET', `/changesets/${encodeURIComponent(payload)}`, 'alice');
      expectJson(odd, `GET /changesets/${payload}`);
      expect([400, 404]).toContain(odd.status);
    }

    // Inert: every table is still there, the counts are what was made, the audit trail verifies.
    const tables = await db.query<{ name: string; exists: boolean }>(
      `SELECT name, to_regclass(name) IS NOT NULL AS exists
       FROM unnest(ARRAY['change_sets','change_set_items','principals','tokens','audit_entries','outbox_events','resources','resource_history']) AS name`,
    );
    expect(tables.filter((t) => !t.exists)).toEqual([]);
    const [counts] = await db.query<{ change_sets: number; principals: number; tokens: number }>(
      `SELECT (SELECT count(*)::int FROM change_sets) AS change_sets, (SELECT count(*)::int FROM principals) AS principals,
              (SELECT count(*)::int FROM tokens) AS tokens`,
    );
    // admin, Agent-D, alice and one per payload; the tokens of the first three (people added by an
    // admin get none: they enrol).
    expect(counts).toEqual({
      change_sets: PAYLOADS.length,
      principals: 3 + PAYLOADS.length,
      tokens: 3,
    });
    const verify = await api('GET', '/audit/verify', 'admin');
    expect(verify.ok && verify.body).toMatchObject({ ok: true });

    // HTML never echoes them: the dashboard's pages are static, unknown paths answer JSON.
    for (const path of ['/', '/changesets/CS-SEC-6', `/resources/${encodeURIComponent(PAYLOADS[6]!)}`]) {
      const page = await fetch(`${server.url}${path}`, { headers: { accept: 'text/html' } });
      const html = await page.text();
      for (const payload of PAYLOADS.filter((p) => p.includes('<'))) expect(html, path).not.toContain(payload);
    }
    const unknown = await fetch(`${server.url}/${encodeURIComponent(PAYLOADS[6]!)}`, {
      headers: { accept: 'text/html' },
    });
    expect(unknown.headers.get('content-type') ?? '').toMatch(/^application\/json/);
    await unknown.text();

    // Mail is HTML too: the approval requests sent to alice carry the strings escaped.
    const mails = await waitUntil(
      'approval request mails for every change-set',
      async () => {
        const requests = smtp.mails.filter((m) => m.subject?.startsWith('Approval Required: CS-SEC-'));
        return requests.length >= PAYLOADS.length ? requests : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    for (const mail of mails) {
      const html = String(mail.html);
      for (const payload of PAYLOADS.filter((p) => p.includes('<'))) expect(html).not.toContain(payload);
    }
    expect(mails.some((m) => String(m.html).includes('&lt;script&gt;alert(1)&lt;/script&gt;'))).toBe(true);
    figures['injection'] = {
      strings: PAYLOADS.length,
      fields: 14,
      storedVerbatim: PAYLOADS.length,
      mails: mails.length,
    };
  });

  it('refuses tokens that differ from a real one in their first or last character, alike', async () => {
    const real = tokens['alice']!;
    const flip = (c: string) => (c === 'A' ? 'B' : 'A');
    const near = {
      last: real.slice(0, -1) + flip(real.at(-1)!),
      first: flip(real[0]!) + real.slice(1),
      shorter: real.slice(0, -1),
      longer: `${real}A`,
      upper: real.toUpperCase(),
    };
    expect((await call(server.url, 'GET', '/me', real)).ok).toBe(true);
    for (const [how, token] of Object.entries(near)) {
      const refused = await call(server.url, 'GET', '/me', token);
      expect(refused.ok && refused.status, how).toBe(401);
      expect(refused.ok && refused.body, how).toMatchObject({
        code: 'UNAUTHENTICATED',
        message: 'unknown or revoked token',
      });
    }
  });

  it('compares no raw token or secret with ===: tokens are looked up by their SHA-256 hash', () => {
    const principals = readFileSync(join(REPO_ROOT, 'src/engine/principals.ts'), 'utf8');
    expect(principals).toMatch(/createHash\('sha256'\)\.update\(token\)/);
    // The lookup and its cache (keyed by the hash: the raw token is never kept) see only the hash.
    expect(principals).toMatch(/const tokenHash = hashToken\(token\);/);
    expect(principals).toMatch(/findPrincipalByTokenHash\(ctx\.db, tokenHash\)/);
    expect(principals).toMatch(/cache\.get\(tokenHash\)/);
    expect(principals).not.toMatch(/cache\.(get|set)\(token\b/);
    const store = readFileSync(join(REPO_ROOT, 'src/store/principals.ts'), 'utf8');
    expect(store).toMatch(/WHERE t\.token_hash = \$1/);
    // Anywhere in src: an equality between something named like a credential and anything but a literal.
    const sensitive = /token|secret|password|signature|api_?key/i;
    const literal = /^(null|undefined|true|false|\d+|'[^']*'|"[^"]*"|`[^`]*`)$/;
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? files(path) : /\.tsx?$/.test(name) ? [path] : [];
      });
    const found: string[] = [];
    for (const file of files(join(REPO_ROOT, 'src'))) {
      for (const [n, line] of readFileSync(file, 'utf8').split('\n').entries()) {
        for (const m of line.matchAll(/([\w.$[\]'"?!()]+)\s*(===|!==|==|!=)\s*([\w.$[\]'"`?!()-]+)/g)) {
          const [left, right] = [m[1]!.replace(/[()!]/g, ''), m[3]!.replace(/[()]/g, '')];
          const named = (side: string) => sensitive.test(side) && !literal.test(side);
          if ((named(left) && !literal.test(right)) || (named(right) && !literal.test(left)))
            found.push(`${file.slice(REPO_ROOT.length + 1)}:${n + 1}: ${line.trim()}`);
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('writes no token or secret to its logs, even at trace level with errors and Idempotency-Keys', async () => {
    // More credentials in play: a second token, revoked and tried; Idempotency-Keys; errors of each kind.
    const issued = await api('POST', '/principals/Agent-D/tokens', 'admin', { name: 'second' });
    expect(issued.ok && issued.status).toBe(201);
    const issuedToken = issued.ok ? (issued.body['token'] as { token: string; token_id: string }) : null;
    const second = issuedToken?.token ?? '';
    tokens['second'] = second;
    expect((await api('GET', '/me', 'second')).ok).toBe(true);
    const revoked = await api('DELETE', `/tokens/${issuedToken?.token_id ?? ''}`, 'admin');
    expect(revoked.ok && revoked.status).toBe(200);
    const afterRevoke = await api('GET', '/me', 'second');
    expect(afterRevoke.ok && afterRevoke.status).toBe(401);
    // An enrolment: its code is a secret, and so is the token redeemed with it.
    const enrolment = await api('POST', '/principals/alice/enrolments', 'admin');
    expect(enrolment.ok && enrolment.status).toBe(201);
    const code = enrolment.ok ? (enrolment.body['code'] as string) : '';
    secrets['enrolment code'] = code;
    const redeemed = await fetch(`${server.url}/api/ledger/enrolments/redeem`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(redeemed.status).toBe(201);
    tokens['enrolled'] = ((await redeemed.json()) as { token: { token: string } }).token.token;
    const keys = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
    for (const key of keys) {
      const body = changeSet(`CS-SEC-IDEM-${key.slice(0, 8)}`, items(1, `idem.${key.slice(0, 8)}`));
      const first = await api('POST', '/changesets', 'Agent-D', body, { 'idempotency-key': key });
      const again = await api('POST', '/changesets', 'Agent-D', body, { 'idempotency-key': key });
      expect(first.ok && again.ok && [first.status, again.status]).toEqual([201, 201]);
      const reused = await api(
        'POST',
        '/changesets',
        'Agent-D',
        { ...body, title: 'other' },
        { 'idempotency-key': key },
      );
      expect(reused.ok && reused.status).toBe(422);
      secrets[`Idempotency-Key ${key.slice(0, 4)}`] = key;
    }
    const errors = [
      await call(server.url, 'GET', '/changesets', `${adminToken}x`),
      await call(server.url, 'GET', '/changesets', null),
      await api('GET', '/changesets/CS-NOPE', 'admin'),
      await api('POST', `/changesets/CS-SEC-IDEM-${keys[0]!.slice(0, 8)}/apply`, 'Agent-D', { mode: 'ATOMIC' }),
      await api('POST', '/changesets', 'Agent-D', { title: '' }),
    ];
    expect(errors.map((e) => (e.ok ? e.status : e.error))).toEqual([401, 401, 404, 409, 400]);
    requests += 2;
    // Malformed JSON, and a token in a place it does not belong (the URL).
    const malformed = await fetch(`${server.url}/api/ledger/changesets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens['Agent-D']}`, 'content-type': 'application/json' },
      body: '{"title": ',
    });
    expect(malformed.status).toBe(400);
    await malformed.text();
    await waitUntil('the webhook deliveries', async () => (receiver.received.length > 0 ? true : undefined));

    // Now read everything the process wrote.
    for (const [name, value] of Object.entries(tokens)) secrets[`token of ${name}`] = value;
    const output = server.output();
    const lines = output.split('\n').filter((line) => line.startsWith('{'));
    expect(lines.length).toBeGreaterThan(30);
    // Every request was logged (LOG_LEVEL=trace logs what info does: each request in and out).
    expect(lines.filter((line) => line.includes('"msg":"incoming request"')).length).toBeGreaterThanOrEqual(15);
    const leaked = Object.entries(secrets).filter(([, value]) => output.includes(value));
    expect(leaked.map(([name]) => name)).toEqual([]);
    // Not even as a hash of a token, nor the header itself.
    for (const [name, value] of Object.entries(tokens)) {
      expect(output, name).not.toContain(createHash('sha256').update(value).digest('hex'));
    }
    expect(output.toLowerCase()).not.toMatch(/bearer clg_/);
    figures['logs'] = {
      logLevel: 'trace',
      logLines: lines.length,
      outputBytes: output.length,
      secretsChecked: Object.keys(secrets).length,
      leaked: leaked.length,
    };
  });

  it('bounds bodies and item counts with the default limits: 413 over 10 MiB, 400 over 10,000 items', async () => {
    const tooBig = await postBytes(`${server.url}/api/ledger/changesets`, tokens['Agent-D']!, 10 * 1024 * 1024 + 1024);
    expect(tooBig.status).toBe(413);
    expect(isErrorShape(tooBig.body, 413, 'PAYLOAD_TOO_LARGE'), JSON.stringify(tooBig.body)).toBe(true);
    expect(tooBig.type).toMatch(/^application\/json/);
    const tooMany = await api('POST', '/changesets', 'Agent-D', changeSet('CS-SEC-MANY', items(10_001, 'many')));
    expectJson(tooMany, 'too many items');
    expect(tooMany.status).toBe(400);
    expect(isErrorShape(tooMany.body, 400, 'VALIDATION_FAILED')).toBe(true);
    expect(tooMany.body['details']).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'items' })]));
    const [{ n }] = (await db.query(
      "SELECT count(*)::int AS n FROM change_sets WHERE change_set_id = 'CS-SEC-MANY'",
    )) as [{ n: number }];
    expect(n).toBe(0);
    figures['defaultBounds'] = { bodyBytes: 10 * 1024 * 1024 + 1024, status: 413, items: 10_001, itemsStatus: 400 };
  });
});

describePostgres('configured limits', () => {
  let server: ServerProcess;
  const tokens: Record<string, string> = {};
  const figures: Record<string, unknown> = {};
  beforeAll(async () => {
    const fresh = await freshPostgresUrl();
    const config = writeConfig(
      makeTempDir(),
      [
        'server:',
        '  body_limit_bytes: 65536',
        'limits:',
        '  write_requests_per_minute: 60',
        '  write_burst: 5',
        '  max_items: 100',
        '',
      ].join('\n'),
    );
    server = await startServer({ databaseUrl: fresh.url, args: ['--config', config] });
    tokens['admin'] = server.adminToken;
    for (const id of ['Agent-D', 'Agent-A', 'Agent-B', 'alice']) {
      const added = await call(server.url, 'POST', '/principals', tokens['admin']!, { id, kind: 'agent' });
      if (!added.ok || added.status !== 201) throw new Error(`adding ${id}: ${JSON.stringify(added)}`);
      tokens[id] = (added.body['token'] as { token: string }).token;
    }
  });
  afterAll(async () => {
    await cleanUp();
    report('security-limits', figures);
  });

  it('answers 429 with Retry-After past a principal’s write burst, and serves other principals and reads', async () => {
    // Writes one after another until the first 429. The bucket refills one write a second, so on a
    // slow (busy) machine more than the burst may pass: exactly the burst plus what the elapsed time
    // refilled, never more.
    const statuses: number[] = [];
    let limited: Outcome | null = null;
    const started = performance.now();
    for (let i = 0; i < 40 && !(limited?.ok && limited.status === 429); i++) {
      limited = await call(
        server.url,
        'POST',
        '/changesets',
        tokens['Agent-D']!,
        changeSet(`CS-RL-${i}`, items(1, `rl.${i}`)),
      );
      statuses.push(limited.ok ? limited.status : 0);
    }
    const elapsedMs = performance.now() - started;
    expect(statuses.at(-1), statuses.join(' ')).toBe(429);
    expect(
      statuses.slice(0, -1).every((status) => status === 201),
      statuses.join(' '),
    ).toBe(true);
    expect(statuses.length - 1).toBeGreaterThanOrEqual(5);
    expect(statuses.length - 1).toBeLessThanOrEqual(5 + Math.ceil(elapsedMs / 1000));
    expectJson(limited!, 'the write past the burst');
    expect(isErrorShape(limited.body, 429, 'RATE_LIMITED'), JSON.stringify(limited.body)).toBe(true);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const other = await call(
      server.url,
      'POST',
      '/changesets',
      tokens['Agent-A']!,
      changeSet('CS-RL-A', items(1, 'rl.a')),
    );
    expect(other.ok && other.status).toBe(201);
    const read = await call(server.url, 'GET', '/changesets', tokens['Agent-D']!);
    expect(read.ok && read.status).toBe(200);
    figures['rateLimit'] = {
      perMinute: 60,
      burst: 5,
      statuses,
      elapsedMs: Math.round(elapsedMs),
      retryAfter: limited.headers.get('retry-after'),
    };
  });

  it('answers 413 over server.body_limit_bytes and 400 over limits.max_items, naming items', async () => {
    const tooBig = await postBytes(`${server.url}/api/ledger/changesets`, tokens['Agent-B']!, 70_000);
    expect(tooBig.status).toBe(413);
    expect(isErrorShape(tooBig.body, 413, 'PAYLOAD_TOO_LARGE'), JSON.stringify(tooBig.body)).toBe(true);
    const tooMany = await call(
      server.url,
      'POST',
      '/changesets',
      tokens['Agent-B']!,
      changeSet('CS-LIM', items(101, 'lim')),
    );
    expect(tooMany.ok && tooMany.status).toBe(400);
    expect(tooMany.ok && isErrorShape(tooMany.body, 400, 'VALIDATION_FAILED')).toBe(true);
    expect(tooMany.ok && tooMany.body['details']).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'items' })]),
    );
    const justRight = await call(
      server.url,
      'POST',
      '/changesets',
      tokens['Agent-B']!,
      changeSet('CS-LIM-OK', items(100, 'lim')),
    );
    expect(justRight.ok && justRight.status).toBe(201);
    figures['configuredBounds'] = { bodyLimit: 65536, bodyStatus: 413, maxItems: 100, items101: 400, items100: 201 };
  });
});

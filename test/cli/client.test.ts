import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { connect } from '../../src/cli/client-commands.js';
import { type ChangeSetBody, createLedgerClient, LedgerApiError } from '../../src/client/index.js';
import { ERROR_CATALOG } from '../../src/core/errors.js';
import { buildApp, type LedgerApp } from '../../src/http/app.js';
import { describeEachBackend } from '../helpers/backends.js';
import { configChange, type Fixture, makeFixture, uiButton, uniqueId } from '../helpers/fixture.js';
import { busyFirst } from '../helpers/flaky-proxy.js';
import { run } from '../helpers/run-cli.js';

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'changeledger-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  process.exitCode = undefined;
});

async function writeTemp(name: string, text: string): Promise<string> {
  const file = join(dir, `${randomUUID()}-${name}`);
  await writeFile(file, text);
  return file;
}

describeEachBackend('cli client commands', (backend) => {
  let f: Fixture;
  let app: LedgerApp;
  let url: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    f = await makeFixture(await backend.open());
    app = await buildApp({ engine: f.engine });
    await app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    for (const id of ['Agent-A', 'Agent-D', 'alice', 'olga']) tokens[id] = (await f.engine.issueToken(null, id)).token;
  });
  afterAll(async () => {
    await app.close();
    await f.db.close();
  });

  const as = (who: string, ...args: string[]) => run([...args, '--url', url, '--token', tokens[who]!]);
  const createFromJson = async (who: string, body: Record<string, unknown>) => {
    const result = await as(
      who,
      'changeset',
      'create',
      '-f',
      await writeTemp('cs.json', JSON.stringify(body)),
      '--json',
    );
    expect(result).toMatchObject({ code: 0, err: '' });
    return JSON.parse(result.out) as { id: string; change_set_id: string; status: string };
  };

  it('creates a change-set from a YAML file and summarises it', async () => {
    const body = configChange();
    const file = await writeTemp('cs.yaml', toYaml(body));
    const result = await as('Agent-D', 'changeset', 'create', '-f', file);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(
      new RegExp(`^created ${body.change_set_id} \\(DRAFT, risk [A-Z]+ score \\d+, needs 1 approval\\)$`),
    );
  });

  it('creates a change-set from a JSON file and prints the API JSON with --json', async () => {
    const body = configChange();
    const created = await createFromJson('Agent-D', body);
    expect(created).toMatchObject({ change_set_id: body.change_set_id, status: 'DRAFT' });
    expect((await f.engine.get(body.change_set_id)).items).toHaveLength(1);
  });

  it('creates a change-set from JSON on stdin with -f -', async () => {
    const body = configChange();
    const stdin = vi
      .spyOn(process, 'stdin', 'get')
      .mockReturnValue(Readable.from([JSON.stringify(body)]) as typeof process.stdin);
    try {
      const result = await as('Agent-D', 'changeset', 'create', '-f', '-');
      expect(result).toMatchObject({ code: 0, err: '' });
      expect(result.out).toMatch(new RegExp(`^created ${body.change_set_id} \\(DRAFT, `));
    } finally {
      stdin.mockRestore();
    }
  });

  it('lists with filters, pages with the printed cursor, and prints JSON with --json', async () => {
    const tag = `t${Date.now().toString(36)}`;
    const first = await createFromJson('Agent-D', configChange(undefined, { tags: [tag], title: 'First of two' }));
    f.clock.advance(1000);
    const second = await createFromJson('Agent-D', configChange(undefined, { tags: [tag], title: 'Second of two' }));

    const page1 = await as('alice', 'changeset', 'list', '--tag', tag, '--limit', '1');
    expect(page1.code).toBe(0);
    const lines = page1.out.split('\n');
    expect(lines[0]).toMatch(/^CHANGE-SET\s+STATUS\s+RISK\s+PRIORITY\s+CATEGORY\s+AGENT\s+APPROVALS\s+TITLE$/);
    expect(lines[2]).toMatch(
      new RegExp(
        `^${second.change_set_id}\\s+DRAFT\\s+[A-Z]+ \\d+\\s+NORMAL\\s+CONFIG_UPDATE\\s+Agent-D\\s+0/1\\s+Second of two$`,
      ),
    );
    const cursor = /^next: --cursor (\S+)$/.exec(lines.at(-1)!)?.[1];
    expect(cursor).toBeDefined();

    const page2 = await as('alice', 'changeset', 'list', '--tag', tag, '--limit', '1', '--cursor', cursor!, '--json');
    const json = JSON.parse(page2.out) as { data: { change_set_id: string }[]; next_cursor: string | null };
    expect(json.data.map((c) => c.change_set_id)).toEqual([first.change_set_id]);
    expect(json.next_cursor).toBeNull();

    const none = await as('alice', 'changeset', 'list', '--tag', tag, '--status', 'APPLIED');
    expect(none.out).toBe('no change-sets');
  });

  it('drives a change-set through submit, approve, plan, apply, rollback and audit', async () => {
    const body = configChange();
    const target = body.items[0]!.target_id;
    const { change_set_id: id } = await createFromJson('Agent-D', body);

    expect((await as('Agent-D', 'changeset', 'submit', id)).out).toBe(`${id} is now PENDING_APPROVAL`);

    const mine = await as('alice', 'changeset', 'list', '--mine-to-approve', '--json');
    expect(JSON.parse(mine.out).data.map((c: { change_set_id: string }) => c.change_set_id)).toContain(id);

    const plan = await as('olga', 'changeset', 'plan', id);
    expect(plan.out).toMatch(/KEY\s+OP\s+TARGET\s+WOULD\s+FROM→TO\s+ERROR/);
    expect(plan.out).toMatch(new RegExp(`0\\s+CREATE\\s+CONFIG/${target}\\s+WOULD_APPLY\\s+0→1`));
    expect(plan.out.split('\n').at(-1)).toBe('would succeed: yes');

    // While pending, show names who may decide each open step (alice from the chain, the admins).
    const pending = await as('olga', 'changeset', 'show', id);
    expect(pending.out).toMatch(/^OPEN STEP\s+APPROVALS\s+WHO MAY DECIDE$/m);
    expect(pending.out).toMatch(/^risk\s+0\/1\s+alice, root, root2$/m);

    const approve = await as('alice', 'changeset', 'approve', id, '--decision', 'approve', '--reason', 'looks right');
    expect(approve.code).toBe(0);
    expect(approve.out.split('\n')).toEqual([
      `APPROVED recorded; ${id} is now APPROVED (1/1 approvals)`,
      expect.stringMatching(/^decided on content sha256:[0-9a-f]{64}$/),
    ]);

    const show = await as('olga', 'changeset', 'show', id);
    expect(show.out).toMatch(/^status:\s+APPROVED/m);
    expect(show.out).toMatch(/^risk:\s+[A-Z]+, score \d+/m);
    expect(show.out).toMatch(/^approvals:\s+1\/1 received\/required$/m);
    expect(show.out).toMatch(/^content hash:\s+sha256:[0-9a-f]{64}$/m);
    expect(show.out).toMatch(new RegExp(`^0\\s+CREATE\\s+CONFIG/${target}\\s+PENDING\\s+-$`, 'm'));
    expect(show.out).toMatch(/^alice\s+APPROVED\s+no\s+looks right$/m);
    expect(show.out).not.toContain('OPEN STEP');

    const apply = await as('olga', 'changeset', 'apply', id, '--mode', 'atomic');
    expect(apply.code).toBe(0);
    expect(apply.out.split('\n')[0]).toBe(`${id} is now APPLIED (ATOMIC): 1 applied, 0 failed, 0 skipped`);
    expect(apply.out).toMatch(/^0\s+APPLIED\s+0→1\s+-$/m);

    const resource = await as('olga', 'resource', 'show', 'CONFIG', target);
    expect(resource.out).toMatch(/^version:\s+1$/m);
    expect(resource.out).toContain('"value": 1');
    const history = await as('olga', 'resource', 'history', 'CONFIG', target, '--json');
    expect(JSON.parse(history.out).data).toMatchObject([{ version: 1, operation: 'CREATE', change_set: id }]);

    const rollback = await as('olga', 'changeset', 'rollback', id, '--reason', 'bad idea');
    expect(rollback).toMatchObject({ code: 0, out: `${id} rolled back: 1 item restored, 0 failed` });
    expect((await as('olga', 'changeset', 'show', id, '--json')).out).toContain('"status": "ROLLED_BACK"');

    const audit = await as('olga', 'changeset', 'audit', id);
    const rows = audit.out.split('\n');
    expect(rows[0]).toMatch(/^SEQ\s+AT\s+ACTOR\s+ACTION\s+HASH$/);
    const entries = rows.slice(2).map((row) => row.split(/\s+/));
    expect(entries.map(([, , actor, action]) => `${actor} ${action}`)).toEqual([
      'Agent-D create',
      'Agent-D submit',
      'alice decision',
      'alice transition',
      'olga apply',
      'olga rollback',
    ]);
    for (const [seq, at, , , hash] of entries) {
      expect(seq).toMatch(/^\d+$/);
      expect(at).toBe(f.clock.now.toISOString());
      expect(hash).toMatch(/^[0-9a-f]{12}$/);
    }
  });

  it('applies in DRY_RUN mode by printing the plan', async () => {
    const { change_set_id: id } = await createFromJson('Agent-D', configChange());
    const dry = await as('Agent-D', 'changeset', 'apply', id, '--mode', 'dry_run');
    expect(dry.code).toBe(0);
    expect(dry.out.split('\n').at(-1)).toBe('would succeed: yes');
  });

  it('withdraws, closes and reopens with a reason', async () => {
    const { change_set_id: id } = await createFromJson('Agent-D', configChange());
    await as('Agent-D', 'changeset', 'submit', id);
    expect((await as('Agent-D', 'changeset', 'withdraw', id, '--reason', 'not yet')).out).toBe(`${id} is now DRAFT`);
    expect((await as('Agent-D', 'changeset', 'close', id)).out).toBe(`${id} is now REJECTED`);
    expect((await as('Agent-D', 'changeset', 'reopen', id)).out).toBe(`${id} is now DRAFT`);
  });

  it('exits non-zero with the API message on stderr when the API refuses', async () => {
    const { change_set_id: id } = await createFromJson('Agent-D', configChange());
    await as('Agent-D', 'changeset', 'submit', id);
    const own = await as('Agent-D', 'changeset', 'approve', id, '--decision', 'APPROVED');
    expect(own).toMatchObject({ code: 1, out: '' });
    expect(own.err).toBe(
      'changeledger: FORBIDDEN: nobody may decide on their own change-set (separation of duties)\n' +
        'fix: another eligible approver must decide: the approvers of each step are in approval_steps',
    );

    const missing = await as('olga', 'changeset', 'show', 'CS-does-not-exist');
    expect(missing).toMatchObject({
      code: 1,
      err: `changeledger: NOT_FOUND: change-set CS-does-not-exist does not exist\nfix: ${ERROR_CATALOG.NOT_FOUND.fix}`,
    });
  });

  it('prints every validation problem on its own line', async () => {
    const file = await writeTemp(
      'bad.yml',
      toYaml({
        change_set_id: uniqueId(),
        title: 'Broken',
        agent_type: 'BACKEND',
        items: [
          { operation_type: 'CREATE', target_type: 'CONFIG', target_id: '', after_state: 1 },
          { operation_type: 'UPDATE', target_type: 'CONFIG', target_id: 'x' },
        ],
      }),
    );
    const result = await as('Agent-D', 'changeset', 'create', '-f', file);
    expect(result.code).toBe(1);
    const [first, ...details] = result.err.split('\n');
    expect(first).toMatch(/^changeledger: VALIDATION_FAILED: \d+ problems?: /);
    expect(details.length).toBeGreaterThan(0);
    expect(details).toEqual(expect.arrayContaining([expect.stringMatching(/^ {2}items\[0\]\.target_id: /)]));
  });

  it('refuses a bad --decision, --mode or file before calling the API', async () => {
    const decision = await as('alice', 'changeset', 'approve', 'CS-x', '--decision', 'maybe');
    expect(decision).toMatchObject({
      code: 1,
      err: 'changeledger: --decision must be APPROVED or REJECTED (or approve, reject), got "maybe"',
    });
    const mode = await as('olga', 'changeset', 'apply', 'CS-x', '--mode', 'sometimes');
    expect(mode.err).toMatch(/^changeledger: --mode must be one of AUTO, ATOMIC, BEST_EFFORT, DRY_RUN/);
    const txt = await as('Agent-D', 'changeset', 'create', '-f', await writeTemp('cs.txt', '{}'));
    expect(txt.err).toMatch(/use a \.json, \.yaml or \.yml file/);
    const broken = await as('Agent-D', 'changeset', 'create', '-f', await writeTemp('cs.json', '{"title": '));
    expect(broken.err).toMatch(/is not valid JSON/);
  });

  it('hints at the token when none was given', async () => {
    const result = await run(['changeset', 'list', '--url', url, '--token', '']);
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      [
        'changeledger: UNAUTHENTICATED: missing Authorization: Bearer <token>',
        `fix: ${ERROR_CATALOG.UNAUTHENTICATED.fix}`,
        'hint: pass --token or set CHANGELEDGER_TOKEN',
      ].join('\n'),
    );
  });

  it("prints a refusal's fix after its details", async () => {
    const { change_set_id: id, status } = await createFromJson('Agent-A', uiButton());
    expect(status).toBe('APPROVED');
    const submit = await as('Agent-A', 'changeset', 'submit', id);
    expect(submit.code).toBe(1);
    expect(submit.err).toMatch(
      new RegExp(
        `\\nfix: submit is not needed: this change-set was auto-approved; apply it \\(POST /api/ledger/changesets/${id}/apply\\)$`,
      ),
    );
  });

  it('sends a command answered 503 OVERLOADED again after Retry-After, a POST with the same key, and it acts once', async () => {
    const { id, change_set_id } = await createFromJson('Agent-D', configChange());
    const proxy = await busyFirst(url, 2);
    try {
      const submitted = await run(['changeset', 'submit', id, '--url', proxy.url, '--token', tokens['Agent-D']!]);
      expect(submitted).toMatchObject({ code: 0, err: '' });
      expect(proxy.seen.map((s) => s.method)).toEqual(['POST', 'POST', 'POST']);
      expect(proxy.seen[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Set(proxy.seen.map((s) => s.key)).size).toBe(1);
      expect((await f.engine.audit(change_set_id)).map((e) => e.action)).toEqual(['create', 'submit']);
      // A read, too; and the attempts are bounded: always busy, the command fails with the refusal.
      const shown = await run(['changeset', 'show', id, '--url', proxy.url, '--token', tokens['Agent-D']!]);
      expect(shown.code).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('gives up on a server that stays busy after its bounded attempts, with the refusal on stderr', async () => {
    const proxy = await busyFirst(url, Number.POSITIVE_INFINITY);
    try {
      const result = await run(['changeset', 'list', '--url', proxy.url, '--token', tokens['olga']!]);
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/OVERLOADED: the server is busy/);
      expect(proxy.seen).toHaveLength(5);
    } finally {
      await proxy.close();
    }
  });

  it('acts once when a POST is retried with the same Idempotency-Key', async () => {
    const client = createLedgerClient({ baseUrl: url, token: tokens['Agent-D'] });
    const body = configChange() as ChangeSetBody;
    const key = randomUUID();
    const first = await client.create(body, { idempotencyKey: key });
    const again = await client.create(body, { idempotencyKey: key });
    expect(again).toEqual(first);
    const submitKey = randomUUID();
    await client.submit(first.id, { idempotencyKey: submitKey });
    const replayed = await client.submit(first.id, { idempotencyKey: submitKey });
    expect(replayed.status).toBe('PENDING_APPROVAL');
    const actions = (await f.engine.audit(first.id)).map((e) => e.action);
    expect(actions).toHaveLength(2);

    const reused = client.create(configChange() as ChangeSetBody, { idempotencyKey: key });
    await expect(reused).rejects.toBeInstanceOf(LedgerApiError);
    await expect(reused).rejects.toThrow(/^IDEMPOTENCY_KEY_REUSED: /);
  });
});

describe('http client without a server', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('says it cannot reach an address nothing listens on', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const result = await run(['changeset', 'list', '--url', url, '--token', 'x']);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(new RegExp(`^changeledger: cannot reach changeledger at ${url}: .*ECONNREFUSED`));
  });

  it('retries a dropped POST once with the same Idempotency-Key', async () => {
    const keys: (string | undefined)[] = [];
    const server = createServer((request, response) => {
      keys.push(request.headers['idempotency-key'] as string | undefined);
      if (keys.length === 1) {
        request.socket.destroy();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const client = createLedgerClient({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        token: 't',
      });
      expect(await client.submit('x')).toEqual({ ok: true });
      expect(keys).toHaveLength(2);
      expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(keys[1]).toBe(keys[0]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  /** A server answering from a script: each request gets the next answer (the last one repeats). */
  async function scripted(answers: { status: number; code?: string; retryAfter?: string }[]) {
    const seen: { method: string; key: string | undefined; at: number }[] = [];
    const server = createServer((request, response) => {
      request.resume();
      const answer = answers[Math.min(seen.length, answers.length - 1)]!;
      seen.push({
        method: request.method!,
        key: request.headers['idempotency-key'] as string | undefined,
        at: performance.now(),
      });
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (answer.retryAfter !== undefined) headers['retry-after'] = answer.retryAfter;
      const body =
        answer.status < 300
          ? { ok: true, attempt: seen.length }
          : { statusCode: answer.status, code: answer.code, error: 'Service Unavailable', message: 'busy' };
      response.writeHead(answer.status, headers).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      seen,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  it('retries a GET answered 503 OVERLOADED after its Retry-After, then returns the answer', async () => {
    const server = await scripted([{ status: 503, code: 'OVERLOADED', retryAfter: '1' }, { status: 200 }]);
    try {
      const started = performance.now();
      expect(await createLedgerClient({ baseUrl: server.url, token: 't' }).me()).toEqual({ ok: true, attempt: 2 });
      expect(server.seen).toHaveLength(2);
      // Retry-After: 1 is honoured (plus at most a fifth of jitter).
      const gap = server.seen[1]!.at - server.seen[0]!.at;
      expect(gap).toBeGreaterThanOrEqual(990);
      expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    } finally {
      await server.close();
    }
  });

  it('retries a POST answered 503 UNAVAILABLE and 429 with the same Idempotency-Key', async () => {
    const server = await scripted([
      { status: 503, code: 'UNAVAILABLE', retryAfter: '0' },
      { status: 429, code: 'RATE_LIMITED', retryAfter: '0' },
      { status: 200 },
    ]);
    try {
      const client = createLedgerClient({ baseUrl: server.url, token: 't' });
      expect(await client.apply('x', { mode: 'ATOMIC' })).toEqual({ ok: true, attempt: 3 });
      expect(server.seen.map((s) => s.method)).toEqual(['POST', 'POST', 'POST']);
      expect(server.seen[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Set(server.seen.map((s) => s.key)).size).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('does not retry a PATCH (the server keeps no Idempotency-Key for it): the 503 is the answer', async () => {
    const server = await scripted([{ status: 503, code: 'OVERLOADED', retryAfter: '0' }, { status: 200 }]);
    try {
      const client = createLedgerClient({ baseUrl: server.url, token: 't' });
      await expect(client.edit('x', { title: 'y' })).rejects.toMatchObject({
        code: 'OVERLOADED',
        status: 503,
      });
      expect(server.seen).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('gives up after its attempts, and at once when Retry-After would pass its total time', async () => {
    const server = await scripted([{ status: 503, code: 'OVERLOADED', retryAfter: '0' }]);
    const slow = await scripted([{ status: 503, code: 'OVERLOADED', retryAfter: '60' }]);
    try {
      const policy = { attempts: 3, totalMs: 10_000, defaultWaitMs: 0 };
      const client = createLedgerClient({ baseUrl: server.url, token: 't', retries: policy });
      await expect(client.me()).rejects.toThrow(LedgerApiError);
      expect(server.seen).toHaveLength(3);
      const started = performance.now();
      await expect(createLedgerClient({ baseUrl: slow.url, token: 't' }).me()).rejects.toMatchObject({
        code: 'OVERLOADED',
      });
      expect(slow.seen).toHaveLength(1);
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      await server.close();
      await slow.close();
    }
  });

  it('reports an answer that is not the API error shape by its HTTP status', async () => {
    const server = createServer((_request, response) =>
      response.writeHead(502, 'Bad Gateway').end('<html>upstream down</html>'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(createLedgerClient({ baseUrl: url }).me()).rejects.toThrow(
        `HTTP_502: Bad Gateway from ${url}: <html>upstream down</html>`,
      );
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('takes the server and token from CHANGELEDGER_URL and CHANGELEDGER_TOKEN, flags first', () => {
    const env = { CHANGELEDGER_URL: 'http://ledger.example:9000/', CHANGELEDGER_TOKEN: 'secret' };
    expect(connect({}, env).server).toBe('http://ledger.example:9000');
    expect(connect({ url: 'http://other:1/api/ledger' }, env).server).toBe('http://other:1');
    expect(connect({}, {}).server).toBe('http://127.0.0.1:8080');
    expect(() => connect({ url: 'ledger:8080' }, {})).toThrow('--url must be an http:// or https:// address');
  });
});

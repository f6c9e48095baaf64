// What the reliability scenarios share: HTTP calls with a deadline and a stopwatch, a database view
// of one schema, a webhook receiver, the invariants every scenario checks afterwards (legal
// lifecycles, consistent resource histories, an outbox that matches the audit trail), and a
// PostgreSQL cluster of the test's own to restart at will.
import { execFile } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { type RetryPolicy, retryDelayMs } from '../../src/core/retry.js';
import { freePort } from '../e2e/helpers.js';
import { TEST_DATABASE_URL } from '../helpers/backends.js';

const run = promisify(execFile);

/** One line per scenario with what it measured: docs/reliability.md quotes these. */
export function report(scenario: string, figures: Record<string, unknown>): void {
  console.log(`[reliability] ${scenario} ${JSON.stringify(figures)}`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type JsonObject = Record<string, unknown>;

export type Outcome =
  | { ok: true; status: number; body: JsonObject; headers: Headers; ms: number }
  | { ok: false; error: string; ms: number };

/**
 * A JSON call that never waits longer than `timeoutMs`: a request still unanswered then counts as
 * hung (error 'TIMEOUT'); a network failure gives its code. `ms` is the time it took either way.
 */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
  options: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<Outcome> {
  const started = performance.now();
  try {
    const response = await fetch(`${baseUrl}/api/ledger${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const text = await response.text();
    let parsed: JsonObject;
    try {
      parsed = (text ? JSON.parse(text) : {}) as JsonObject;
    } catch {
      parsed = { unparsed: text.slice(0, 500) };
    }
    return {
      ok: true,
      status: response.status,
      body: parsed,
      headers: response.headers,
      ms: performance.now() - started,
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const name = (error as Error).name;
    const code =
      name === 'TimeoutError' || name === 'AbortError' ? 'TIMEOUT' : (cause?.code ?? (error as Error).message);
    return { ok: false, error: code, ms: performance.now() - started };
  }
}

/** What a well-behaved client got: the last answer, and the answers it was asked to retry. */
export type RetriedOutcome = Outcome & {
  attempts: number;
  /** `<status> <code>` of every answer that was retried (503 OVERLOADED, 429 RATE_LIMITED, …). */
  retried: string[];
  /** The Idempotency-Key every attempt carried (POST), else null. */
  key: string | null;
};

/**
 * Generous bounds for the tests' clients: on a busy machine the same request may be shed many times
 * in a row (a shed request comes back among new ones, and the queue does not remember it), so the
 * bound is the scenarios' own time budget rather than a handful of attempts.
 */
export const TEST_RETRY_POLICY: RetryPolicy = { attempts: 40, totalMs: 100_000, defaultWaitMs: 1_000 };

/**
 * `call` as a well-behaved client makes it (the rule of src/core/retry.ts, shared with the CLI and the
 * dashboard): a POST carries an Idempotency-Key, and an answer the server asks to be retried (503,
 * 429) is sent again with the same key after its Retry-After, within `policy`. Network failures and
 * every other answer are returned as they are.
 */
export async function callRetrying(
  baseUrl: string,
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
  options: { timeoutMs?: number; headers?: Record<string, string>; policy?: RetryPolicy; key?: string } = {},
): Promise<RetriedOutcome> {
  const key = method === 'POST' ? (options.key ?? randomUUID()) : null;
  const headers = { ...options.headers, ...(key ? { 'idempotency-key': key } : {}) };
  const started = performance.now();
  const retried: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const outcome = await call(baseUrl, method, path, token, body, { ...options, headers });
    const wait = outcome.ok
      ? retryDelayMs(
          {
            method,
            hasIdempotencyKey: key !== null,
            status: outcome.status,
            retryAfter: outcome.headers.get('retry-after'),
            attempt,
            elapsedMs: performance.now() - started,
            nowMs: Date.now(),
            jitter: Math.random(),
          },
          options.policy ?? TEST_RETRY_POLICY,
        )
      : null;
    if (wait === null) return { ...outcome, ms: performance.now() - started, attempts: attempt, retried, key };
    retried.push(`${outcome.ok ? outcome.status : ''} ${outcome.ok ? String(outcome.body['code']) : ''}`);
    await sleep(wait);
  }
}

/** The API's error shape (docs/errors.md). */
export function isErrorShape(body: JsonObject, status: number, code: string): boolean {
  return (
    body['statusCode'] === status &&
    body['code'] === code &&
    typeof body['error'] === 'string' &&
    typeof body['message'] === 'string'
  );
}

/** Runs `fn` over `items` with at most `limit` at once. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>) {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// The database, seen from the test: one schema (the server's), read directly.

export interface SchemaDb {
  query<R extends pg.QueryResultRow = JsonObject>(sql: string, params?: unknown[]): Promise<R[]>;
  close(): Promise<void>;
}

/** A small pool on `url` (a DATABASE_URL as given to the server, search_path included). */
export function schemaDb(url: string): SchemaDb {
  const parsed = new URL(url);
  const options = parsed.searchParams.get('options');
  parsed.searchParams.delete('options');
  const pool = new pg.Pool({ connectionString: parsed.toString(), ...(options ? { options } : {}), max: 3 });
  pool.on('error', () => {});
  return {
    async query(sql, params = []) {
      return (await pool.query(sql, params)).rows;
    },
    close: () => pool.end(),
  };
}

/** A URL for `schema` on TEST_DATABASE_URL (the schema must exist). */
export function urlForSchema(schema: string): string {
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set');
  const separator = TEST_DATABASE_URL.includes('?') ? '&' : '?';
  return `${TEST_DATABASE_URL}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
}

// ---------------------------------------------------------------------------------------------
// Configuration files.

export function writeConfig(dir: string, yaml: string): string {
  const path = join(dir, `changeledger-${randomBytes(3).toString('hex')}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

// ---------------------------------------------------------------------------------------------
// A webhook receiver: records every delivery, checks its signature, optionally answers slowly.

export interface Received {
  deliveryId: string;
  eventId: number;
  type: string;
  signatureOk: boolean;
  arrivedAt: number;
  answeredAt: number | null;
}

export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** Requests that arrived and have not been answered yet. */
  holding(): number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(
  options: { secret?: string; holdMs?: number | ((request: Received) => number) } = {},
): Promise<WebhookReceiver> {
  const received: Received[] = [];
  let holding = 0;
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let envelope: { id?: number; type?: string } = {};
      try {
        envelope = JSON.parse(body) as typeof envelope;
      } catch {
        // recorded with id NaN, which fails every check that looks at it
      }
      const expected = options.secret
        ? `sha256=${createHmac('sha256', options.secret).update(body).digest('hex')}`
        : undefined;
      const entry: Received = {
        deliveryId: String(request.headers['x-changeledger-delivery'] ?? ''),
        eventId: Number(envelope.id),
        type: String(request.headers['x-changeledger-event'] ?? ''),
        signatureOk: expected === undefined || request.headers['x-changeledger-signature'] === expected,
        arrivedAt: performance.now(),
        answeredAt: null,
      };
      received.push(entry);
      const hold = typeof options.holdMs === 'function' ? options.holdMs(entry) : (options.holdMs ?? 0);
      holding++;
      const answer = () => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"ok":true}', () => {
          entry.answeredAt = performance.now();
        });
        holding--;
      };
      if (hold > 0) setTimeout(answer, hold);
      else answer();
    });
  };
  const server: Server = createServer(handle);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    holding: () => holding,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Invariants, read straight from the database.

const TRANSITION_FROM: Record<string, readonly string[]> = {
  submit: ['DRAFT'],
  withdraw: ['PENDING_APPROVAL'],
  reopen: ['REJECTED', 'ROLLED_BACK'],
  close: ['DRAFT', 'PENDING_APPROVAL', 'APPROVED'],
  apply: ['APPROVED', 'PARTIALLY_APPLIED'],
  apply_failed: ['APPROVED', 'PARTIALLY_APPLIED'],
  rollback: ['APPLIED', 'PARTIALLY_APPLIED'],
  edit: ['DRAFT', 'REJECTED'],
};

/** Legal `transition` audit entries (decisions and expiry): from → to. */
const DECISION_TRANSITIONS = new Set(['PENDING_APPROVAL>APPROVED', 'PENDING_APPROVAL>REJECTED', 'APPROVED>REJECTED']);

export interface AuditRow {
  change_set: string;
  chain_seq: number;
  action: string;
  actor: string;
  at: Date;
  data: JsonObject;
}

export interface Replay {
  /** The status the audit trail leads to. */
  status: string | null;
  /** Illegal steps, each described. */
  problems: string[];
  /** Applies that started from APPROVED, per round of approval (a round begins on becoming APPROVED). */
  appliesPerRound: number[];
  /** Entries by action. */
  counts: Record<string, number>;
}

/**
 * Replays one change-set's audit trail through the lifecycle of docs/design.md#lifecycle: every step must start from a
 * status that allows it. A round of approval begins each time the change-set becomes APPROVED.
 */
export function replayLifecycle(entries: readonly AuditRow[]): Replay {
  let status: string | null = null;
  const problems: string[] = [];
  const appliesPerRound: number[] = [];
  const counts: Record<string, number> = {};
  const become = (next: string) => {
    if (next === 'APPROVED' && status !== 'APPROVED') appliesPerRound.push(0);
    status = next;
  };
  for (const entry of entries) {
    counts[entry.action] = (counts[entry.action] ?? 0) + 1;
    const where = `#${entry.chain_seq} ${entry.action} by ${entry.actor} in ${status}`;
    const from = TRANSITION_FROM[entry.action];
    if (from && !from.includes(status ?? '')) problems.push(`${where}: needs ${from.join('|')}`);
    switch (entry.action) {
      case 'create':
        if (status !== null) problems.push(`${where}: create of an existing change-set`);
        become('DRAFT');
        break;
      case 'auto_approve':
        if (status !== 'DRAFT') problems.push(`${where}: auto-approval needs a new change-set`);
        become('APPROVED');
        break;
      case 'submit':
        become(String(entry.data['status']));
        break;
      case 'decision': {
        const allowed = entry.data['decision'] === 'REJECTED' ? ['PENDING_APPROVAL', 'APPROVED'] : ['PENDING_APPROVAL'];
        if (!allowed.includes(status ?? '')) problems.push(`${where}: a decision needs ${allowed.join('|')}`);
        break;
      }
      case 'transition': {
        const pair = `${entry.data['from']}>${entry.data['to']}`;
        if (entry.data['from'] !== status || !DECISION_TRANSITIONS.has(pair)) problems.push(`${where}: ${pair}`);
        become(String(entry.data['to']));
        break;
      }
      case 'apply':
        // A second apply of a PARTIALLY_APPLIED change-set only retries what is left.
        if (status === 'APPROVED') appliesPerRound[appliesPerRound.length - 1]! += 1;
        become(String(entry.data['status']));
        break;
      case 'rollback':
        become('ROLLED_BACK');
        break;
      case 'withdraw':
      case 'reopen':
        become('DRAFT');
        break;
      case 'close':
        become('REJECTED');
        break;
      default:
        // edit, apply_failed, policy_evaluation, approval reminders: no change of status
        break;
    }
  }
  return { status, problems, appliesPerRound, counts };
}

/** Every change-set's audit trail, replayed; `problems` names each change-set that breaks a rule. */
export async function checkLifecycles(
  db: SchemaDb,
): Promise<{ problems: string[]; replays: Map<string, Replay & { change_set_id: string; stored: string }> }> {
  const rows = await db.query<AuditRow>(
    'SELECT change_set, chain_seq, action, actor, at, data FROM audit_entries WHERE change_set IS NOT NULL ORDER BY change_set, chain_seq',
  );
  const changeSets = await db.query<{ id: string; change_set_id: string; status: string }>(
    'SELECT id, change_set_id, status FROM change_sets',
  );
  const byChangeSet = new Map<string, AuditRow[]>();
  for (const row of rows) byChangeSet.set(row.change_set, [...(byChangeSet.get(row.change_set) ?? []), row]);
  const problems: string[] = [];
  const replays = new Map<string, Replay & { change_set_id: string; stored: string }>();
  for (const cs of changeSets) {
    const replay = replayLifecycle(byChangeSet.get(cs.id) ?? []);
    replays.set(cs.change_set_id, { ...replay, change_set_id: cs.change_set_id, stored: cs.status });
    for (const problem of replay.problems) problems.push(`${cs.change_set_id}: ${problem}`);
    if (replay.status !== cs.status)
      problems.push(`${cs.change_set_id}: stored status ${cs.status}, its audit trail leads to ${replay.status}`);
    const twice = replay.appliesPerRound.findIndex((n) => n > 1);
    if (twice >= 0)
      problems.push(
        `${cs.change_set_id}: applied ${replay.appliesPerRound[twice]} times in approval round ${twice + 1}`,
      );
  }
  return { problems, replays };
}

/**
 * The resource store agrees with its history: each target's versions are 1..n without a gap, and
 * its current row is the last version's state; no placeholder row (version 0) is left behind.
 */
export async function checkResources(
  db: SchemaDb,
): Promise<{ problems: string[]; resources: number; versions: number }> {
  const problems: string[] = [];
  const gaps = await db.query<{ target_type: string; target_id: string; n: number; max: number; min: number }>(
    `SELECT target_type, target_id, count(*)::int AS n, max(version) AS max, min(version) AS min
     FROM resource_history GROUP BY target_type, target_id HAVING count(*) <> max(version) OR min(version) <> 1`,
  );
  for (const g of gaps) problems.push(`${g.target_type}/${g.target_id}: versions ${g.min}..${g.max} in ${g.n} rows`);
  const mismatched = await db.query<{ target_type: string; target_id: string; version: number; last: number | null }>(
    `SELECT r.target_type, r.target_id, r.version, h.version AS last
     FROM resources r LEFT JOIN LATERAL (
       SELECT version, present, state FROM resource_history h
       WHERE h.target_type = r.target_type AND h.target_id = r.target_id ORDER BY version DESC LIMIT 1
     ) h ON true
     WHERE h.version IS DISTINCT FROM r.version OR h.present IS DISTINCT FROM r.present
        OR (r.present AND h.state IS DISTINCT FROM r.state)`,
  );
  for (const m of mismatched)
    problems.push(`${m.target_type}/${m.target_id}: current version ${m.version}, last in history ${m.last}`);
  const orphans = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT DISTINCT target_type, target_id FROM resource_history) h
     WHERE NOT EXISTS (SELECT 1 FROM resources r WHERE r.target_type = h.target_type AND r.target_id = h.target_id)`,
  );
  if (orphans[0]!.n > 0) problems.push(`${orphans[0]!.n} targets have a history but no current row`);
  const [totals] = await db.query<{ resources: number; versions: number }>(
    'SELECT (SELECT count(*)::int FROM resources) AS resources, (SELECT count(*)::int FROM resource_history) AS versions',
  );
  return { problems, ...totals! };
}

/** The events each audit action writes in its transaction (docs/design.md#events, engine/*.ts). */
function expectedEvents(entry: AuditRow): string[] {
  switch (entry.action) {
    case 'create':
      return ['changeset.created'];
    case 'auto_approve':
      return ['changeset.approved'];
    case 'submit':
      return entry.data['status'] === 'APPROVED'
        ? ['changeset.submitted', 'changeset.approved']
        : ['changeset.submitted'];
    case 'decision':
      return ['changeset.approval_decision'];
    case 'transition':
      return [entry.data['to'] === 'APPROVED' ? 'changeset.approved' : 'changeset.rejected'];
    case 'apply':
      return ['changeset.applied'];
    case 'apply_failed':
      return ['changeset.apply_failed'];
    case 'rollback':
      return ['changeset.rolled_back'];
    case 'withdraw':
      return ['changeset.withdrawn'];
    case 'reopen':
      return ['changeset.reopened'];
    case 'close':
      return ['changeset.rejected'];
    case 'trust_changed':
      return ['agent.trust_changed'];
    default:
      return [];
  }
}

/** One per approver or contact: their number is not in the audit entry, so they are not counted. */
const PER_PERSON = new Set([
  'changeset.approval_requested',
  'changeset.approval_reminder',
  'changeset.approval_escalated',
]);

/**
 * Each action writes its audit entries and its outbox events in one transaction, stamped with the
 * same time and actor. So for every (change-set, time, actor): the events present are exactly the
 * ones its audit entries imply — none lost, none without their action, nothing half-written.
 */
export async function checkOutboxAgainstAudit(db: SchemaDb): Promise<{ problems: string[]; events: number }> {
  const audit = await db.query<AuditRow>(
    'SELECT change_set, chain_seq, action, actor, at, data FROM audit_entries WHERE change_set IS NOT NULL ORDER BY seq',
  );
  const events = await db.query<{ id: number; type: string; change_set: string; actor: string; occurred_at: Date }>(
    'SELECT id, type, change_set, actor, occurred_at FROM outbox_events WHERE change_set IS NOT NULL ORDER BY id',
  );
  const key = (changeSet: string, at: Date, actor: string) => `${changeSet} ${at.toISOString()} ${actor}`;
  const expected = new Map<string, string[]>();
  for (const entry of audit) {
    const k = key(entry.change_set, entry.at, entry.actor);
    expected.set(k, [...(expected.get(k) ?? []), ...expectedEvents(entry)]);
  }
  const found = new Map<string, string[]>();
  for (const event of events) {
    const k = key(event.change_set, event.occurred_at, event.actor);
    found.set(k, [...(found.get(k) ?? []), event.type]);
  }
  const problems: string[] = [];
  for (const k of new Set([...expected.keys(), ...found.keys()])) {
    const want = (expected.get(k) ?? []).sort();
    const have = (found.get(k) ?? []).filter((type) => !PER_PERSON.has(type)).sort();
    const personal = (found.get(k) ?? []).filter((type) => PER_PERSON.has(type));
    if (!expected.has(k) && found.has(k))
      problems.push(`${k}: events ${found.get(k)!.join(',')} without an audit entry`);
    else if (JSON.stringify(want) !== JSON.stringify(have))
      problems.push(`${k}: audit implies [${want.join(',')}], outbox has [${have.join(',')}]`);
    else if (personal.length > 0 && want.length === 0)
      problems.push(`${k}: ${personal.join(',')} without the action that causes them`);
  }
  return { problems, events: events.length };
}

// ---------------------------------------------------------------------------------------------
// A PostgreSQL cluster of the test's own, so that restarting it disturbs nobody else.

export interface PrivatePostgres {
  port: number;
  url: string;
  dir: string;
  /** `pg_ctl stop -m <mode>`. */
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

const PG_BIN = process.env['CHANGELEDGER_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/** Runs a PostgreSQL binary as `postgres` when we are root (PostgreSQL refuses root), else as ourselves. */
async function asPostgres(binary: string, args: string[]): Promise<string> {
  const command = join(PG_BIN, binary);
  const isRoot = process.getuid?.() === 0;
  const { stdout } = isRoot
    ? await run('runuser', ['-u', 'postgres', '--', command, ...args], { timeout: 60_000 })
    : await run(command, args, { timeout: 60_000 });
  return stdout;
}

/** Why a private cluster cannot be made here, or null when it can. */
export async function privatePostgresUnavailable(): Promise<string | null> {
  try {
    await asPostgres('initdb', ['--version']);
    return null;
  } catch (error) {
    return `cannot run ${join(PG_BIN, 'initdb')}${process.getuid?.() === 0 ? ' as user postgres' : ''}: ${(error as Error).message}`;
  }
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'changeledger-pg-'));
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const port = await freePort();
  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-N', '-E', 'UTF8', '--locale=C']);
  const settings = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=60`;
  const cluster: PrivatePostgres = {
    port,
    dir,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop(mode) {
      await asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
    },
    async start() {
      await asPostgres('pg_ctl', ['-D', data, '-o', settings, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
    },
    async destroy() {
      await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}

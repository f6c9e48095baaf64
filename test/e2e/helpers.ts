// The real process for end-to-end tests: `node bin/changeledger.js …` in a temporary directory, on
// a free port, with a fresh data directory (and a fresh PostgreSQL schema when asked). Its output
// is kept, and shown whenever it does not do what a test waits for.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { TEST_DATABASE_URL } from '../helpers/backends.js';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(REPO_ROOT, 'bin', 'changeledger.js');
/**
 * A bound on a start that hangs, not a measure of speed: on a machine busy with other work (one
 * core kept busy, several test files starting servers at once) a PGlite server took over 30 s.
 */
const START_TIMEOUT_MS = 120_000;
/** Above the default server.shutdown_timeout_ms (10 s), after which the server exits on its own. */
const STOP_TIMEOUT_MS = 15_000;

/** Variables a test sets itself: never inherited from the shell that runs the tests. */
const OWN_VARIABLES = [
  'PORT',
  'HOST',
  'DATABASE_URL',
  'CHANGELEDGER_DATA_DIR',
  'CHANGELEDGER_ADMIN_TOKEN',
  'CHANGELEDGER_AUDIT_KEY',
  'CHANGELEDGER_AUDIT_KEY_FILE',
  'CHANGELEDGER_CONFIG',
  'LOG_LEVEL',
];

export type Env = Record<string, string | undefined>;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliProcess {
  proc: ChildProcess;
  /** stdout and stderr, interleaved as they arrived. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Settles once the process has exited and its output is read to the end. */
  exited: Promise<Exit>;
  /**
   * Resolves with the first match of `pattern` in stdout from offset `from` on; rejects if the
   * process exits or time runs out first.
   */
  waitFor(pattern: RegExp, options?: { timeoutMs?: number; from?: number }): Promise<RegExpExecArray>;
}

export interface ServerProcess extends CliProcess {
  url: string;
  cwd: string;
  dataDir: string;
  adminToken: string;
  /** Sends `signal` and waits for the exit; SIGKILL and an error when it takes longer than `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

const running = new Set<ChildProcess>();
const tempDirs: string[] = [];
const schemas: string[] = [];

// A worker that dies without its afterAll must still not leave servers behind.
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

export function makeTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'changeledger-e2e-'));
  tempDirs.push(dir);
  return dir;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function childEnv(env: Env): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = { ...process.env };
  for (const name of OWN_VARIABLES) delete result[name];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete result[name];
    else result[name] = value;
  }
  return result;
}

const describeOutput = (cli: Pick<CliProcess, 'output'>) => `--- process output ---\n${cli.output()}\n---`;

/** `node bin/changeledger.js ...args` with LOG_LEVEL=warn unless `env` says otherwise. */
export function spawnCli(args: string[], options: { cwd: string; env?: Env }): CliProcess {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: childEnv({ LOG_LEVEL: 'warn', ...options.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let all = '';
  let out = '';
  let err = '';
  const changed = new Set<() => void>();
  const notify = () => {
    for (const listener of [...changed]) listener();
  };
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    all += chunk;
    out += chunk;
    notify();
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    all += chunk;
    err += chunk;
    notify();
  });
  let done: Exit | null = null;
  const exited = new Promise<Exit>((resolve) => {
    proc.once('error', (error) => {
      all += `\n[spawn failed: ${error.message}]`;
      running.delete(proc);
      done = { code: null, signal: null };
      resolve(done);
      notify();
    });
    proc.once('close', (code, signal) => {
      running.delete(proc);
      done = { code, signal };
      resolve(done);
      notify();
    });
  });
  const cli: CliProcess = {
    proc,
    output: () => all,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, { timeoutMs = START_TIMEOUT_MS, from = 0 } = {}) {
      return new Promise((resolve, reject) => {
        const finish = (error: Error | null, match?: RegExpExecArray) => {
          clearTimeout(timer);
          changed.delete(check);
          if (error) reject(error);
          else resolve(match!);
        };
        const check = () => {
          const match = pattern.exec(out.slice(from));
          if (match) finish(null, match);
          else if (done)
            finish(
              new Error(
                `the process exited (${JSON.stringify(done)}) before printing ${pattern}\n${describeOutput(cli)}`,
              ),
            );
        };
        const timer = setTimeout(
          () => finish(new Error(`no ${pattern} within ${timeoutMs} ms\n${describeOutput(cli)}`)),
          timeoutMs,
        );
        changed.add(check);
        check();
      });
    },
  };
  return cli;
}

async function waitForExit(cli: CliProcess, timeoutMs: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
  });
  const result = await Promise.race([cli.exited, late]);
  clearTimeout(timer);
  if (result !== 'late') return result;
  cli.proc.kill('SIGKILL');
  await cli.exited;
  throw new Error(`the process did not exit within ${timeoutMs} ms (killed)\n${describeOutput(cli)}`);
}

/** Runs the command to its end (SIGKILL and an error after `timeoutMs`). */
export async function runCli(
  args: string[],
  options: { cwd: string; env?: Env; timeoutMs?: number },
): Promise<Exit & { stdout: string; stderr: string; output: string }> {
  const cli = spawnCli(args, options);
  const exit = await waitForExit(cli, options.timeoutMs ?? START_TIMEOUT_MS);
  return { ...exit, stdout: cli.stdout(), stderr: cli.stderr(), output: cli.output() };
}

export interface StartOptions {
  /** Working directory; default a fresh temporary one. */
  cwd?: string;
  /** Data directory (CHANGELEDGER_DATA_DIR); default `<cwd>/data`. */
  dataDir?: string;
  /** PostgreSQL URL (DATABASE_URL); default the embedded database. */
  databaseUrl?: string;
  /** Extra arguments before `serve`, e.g. `--config FILE`. */
  args?: string[];
  env?: Env;
}

/** `changeledger serve`, resolved once it prints "listening on". */
export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  const cwd = options.cwd ?? makeTempDir();
  const dataDir = options.dataDir ?? join(cwd, 'data');
  const port = await freePort();
  const cli = spawnCli([...(options.args ?? []), 'serve'], {
    cwd,
    env: {
      PORT: String(port),
      CHANGELEDGER_DATA_DIR: dataDir,
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
      ...options.env,
    },
  });
  try {
    const [, url] = await cli.waitFor(/changeledger listening on (http:\/\/\S+)/);
    await cli.waitFor(/^admin token: /m);
    // The lines are printed before serve() installs its SIGTERM handler; one answered request
    // means the process has run past that point, so a signal sent now is handled.
    const ready = await httpGet(`${url}/readyz`);
    if (!('status' in ready) || ready.status !== 200) {
      throw new Error(`/readyz answered ${JSON.stringify(ready)}\n${describeOutput(cli)}`);
    }
    const adminToken = options.env?.['CHANGELEDGER_ADMIN_TOKEN'] ?? readFileSync(join(dataDir, 'admin-token'), 'utf8');
    return {
      ...cli,
      url: url!,
      cwd,
      dataDir,
      adminToken: adminToken.trim(),
      async stop(signal = 'SIGTERM', timeoutMs = STOP_TIMEOUT_MS) {
        if (cli.proc.exitCode === null && cli.proc.signalCode === null) cli.proc.kill(signal);
        return waitForExit(cli, timeoutMs);
      },
    };
  } catch (error) {
    cli.proc.kill('SIGKILL');
    await cli.exited;
    throw error;
  }
}

/** GET on a connection of its own (no keep-alive): the status, or the network error's code. */
export function httpGet(url: string, timeoutMs = 5_000): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve({ status: res.statusCode! });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end();
  });
}

/** SIGTERM, then a clean exit: code 0 (the process output explains any other outcome). */
export async function expectCleanStop(server: ServerProcess): Promise<void> {
  const exit = await server.stop('SIGTERM');
  expect(exit, `stop of ${server.url}\n${describeOutput(server)}`).toEqual({ code: 0, signal: null });
}

/** A URL for a schema of its own on TEST_DATABASE_URL, passed to the server as `options=-c search_path=…`. */
export async function freshPostgresUrl(): Promise<{ url: string; schema: string }> {
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set');
  const schema = `e2e_${randomBytes(6).toString('hex')}`;
  await postgresQuery(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
  schemas.push(schema);
  const separator = TEST_DATABASE_URL.includes('?') ? '&' : '?';
  return { url: `${TEST_DATABASE_URL}${separator}options=${encodeURIComponent(`-c search_path=${schema}`)}`, schema };
}

/** One statement on TEST_DATABASE_URL, on a connection of its own. */
export async function postgresQuery<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** For afterAll: kill whatever is still running, drop the schemas, remove the temporary directories. */
export async function cleanUp(): Promise<void> {
  const leftovers = [...running];
  for (const proc of leftovers) proc.kill('SIGKILL');
  // Each leaves `running` on 'close', so every one of these is still to close.
  await Promise.all(leftovers.map((proc) => new Promise((resolve) => proc.once('close', resolve))));
  for (const schema of schemas.splice(0)) {
    await postgresQuery(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  }
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export type JsonObject = Record<string, unknown>;

export interface ApiResponse<T = JsonObject> {
  status: number;
  body: T;
}

/** A JSON call to the API at `baseUrl` as the holder of `token`. */
export async function callApi<T = JsonObject>(
  baseUrl: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<ApiResponse<T>> {
  const response = await fetch(`${baseUrl}/api/ledger${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

/**
 * Adds a principal as the admin and returns a token of its own: an agent's or a service's comes
 * with it; a human redeems an enrolment for theirs (admins may not issue human tokens).
 */
export async function addPrincipal(
  baseUrl: string,
  adminToken: string,
  body: { id: string; kind: string; [field: string]: unknown },
): Promise<string> {
  const added = await callApi<{ token: { token: string } | null }>(baseUrl, 'POST', '/principals', adminToken, body);
  if (added.status !== 201)
    throw new Error(`POST /principals ${body.id}: ${added.status} ${JSON.stringify(added.body)}`);
  if (added.body.token) return added.body.token.token;
  const enrolment = await callApi<{ code: string }>(baseUrl, 'POST', `/principals/${body.id}/enrolments`, adminToken);
  const redeemed = await callApi<{ token: { token: string } }>(baseUrl, 'POST', '/enrolments/redeem', '', {
    code: enrolment.body.code,
  });
  if (redeemed.status !== 201)
    throw new Error(`redeem for ${body.id}: ${redeemed.status} ${JSON.stringify(redeemed.body)}`);
  return redeemed.body.token.token;
}

/**
 * `ok(who, …)` calls as the holder of `tokens[who]`, expects a 2xx and returns the body; `baseUrl`
 * is read at each call (the server starts after this is made).
 */
export function apiAs(baseUrl: () => string, tokens: Record<string, string>) {
  const ok = async (who: string, method: string, path: string, body?: unknown) => {
    const response = await callApi<JsonObject>(baseUrl(), method, path, tokens[who] ?? '', body);
    expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBeLessThan(300);
    return response.body;
  };
  return { ok };
}

// The real `changeledger serve` process on each database: a change-set's whole life over HTTP, then
// a graceful stop (SIGTERM) while a large request is in flight, and a restart that still has it.
import { Agent, request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { describePostgres } from '../helpers/backends.js';
import {
  type ApiResponse,
  addPrincipal,
  callApi,
  cleanUp,
  expectCleanStop,
  freshPostgresUrl,
  httpGet,
  type JsonObject,
  postgresQuery,
  type ServerProcess,
  type StartOptions,
  startServer,
} from './helpers.js';

/** server.shutdown_timeout_ms by default: past it the server gives up and exits 1. */
const SHUTDOWN_TIMEOUT_MS = 10_000;
const BIG = 5_000;

/** A POST whose body is sent in two halves: the second only on `release()`. */
function postInTwoParts(url: string, token: string, body: unknown, agent: Agent) {
  const data = Buffer.from(JSON.stringify(body));
  const half = Math.floor(data.length / 2);
  let release = () => {};
  const response = new Promise<ApiResponse>((resolve, reject) => {
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': data.length,
    };
    const req = request(url, { method: 'POST', agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.write(data.subarray(0, half));
    release = () => req.end(data.subarray(half));
  });
  return { response, release: () => release() };
}

/** GET `url` on new connections until one fails: every status seen, then the error code. */
async function probeUntilFailed(url: string, timeoutMs = 20_000): Promise<(number | string)[]> {
  const seen: (number | string)[] = [];
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    // A busy machine may take seconds to answer: a slow answer is not the refusal looked for.
    const probe = await httpGet(url, 10_000);
    seen.push('status' in probe ? probe.status : probe.error);
    if (!('status' in probe)) return seen;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return seen;
}

/** The server's JSON log lines (LOG_LEVEL=info), with the position of each in the output. */
function logLines(output: string): { at: number; line: JsonObject }[] {
  const lines: { at: number; line: JsonObject }[] = [];
  let at = 0;
  for (const text of output.split('\n')) {
    if (text.startsWith('{')) {
      try {
        lines.push({ at, line: JSON.parse(text) as JsonObject });
      } catch {
        // a line of another kind
      }
    }
    at += text.length + 1;
  }
  return lines;
}

function lifecycleOverHttp(start: () => Promise<StartOptions>, afterStart?: (server: ServerProcess) => Promise<void>) {
  let options: StartOptions;
  let server: ServerProcess;
  const tokens: Record<string, string> = {};
  const as = (who: string) => tokens[who]!;
  const api = <T = JsonObject>(method: string, path: string, who: string, body?: unknown) =>
    callApi<T>(server.url, method, path, as(who), body);

  afterAll(cleanUp);

  it('drives a change-set through its whole life over HTTP', async () => {
    // Info logs: they show when the server got a request and when it answered (see the next test).
    options = { ...(await start()), env: { LOG_LEVEL: 'info' } };
    server = await startServer(options);
    // Restarts reuse the same directory, data directory and database.
    options = { ...options, cwd: server.cwd, dataDir: server.dataDir };
    tokens['admin'] = server.adminToken;
    await afterStart?.(server);
    for (const body of [
      { id: 'Agent-D', kind: 'agent' },
      { id: 'alice', kind: 'human' },
      { id: 'olga', kind: 'human', groups: ['operator'] },
    ]) {
      tokens[body.id] = await addPrincipal(server.url, server.adminToken, body);
    }

    const created = await api('POST', '/changesets', 'Agent-D', {
      change_set_id: 'CS-E2E-0001',
      title: 'Tune a setting',
      agent_type: 'BACKEND',
      category: 'CONFIG_UPDATE',
      approval_chain: ['alice'],
      items: [{ operation_type: 'CREATE', target_type: 'CONFIG', target_id: 'config.e2e', after_state: { value: 1 } }],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ change_set_id: 'CS-E2E-0001', status: 'DRAFT', required_approvals: 1 });
    const id = 'CS-E2E-0001';

    expect((await api('POST', `/changesets/${id}/submit`, 'Agent-D')).body).toMatchObject({
      status: 'PENDING_APPROVAL',
    });
    const approved = await api('POST', `/changesets/${id}/approve`, 'alice', { decision: 'APPROVED', reason: 'ok' });
    expect(approved.body).toMatchObject({ status: 'APPROVED' });
    const plan = await api('GET', `/changesets/${id}/plan`, 'olga');
    expect(plan.body).toMatchObject({ would_succeed: true, items: [{ status: 'WOULD_APPLY' }] });
    const applied = await api('POST', `/changesets/${id}/apply`, 'olga', { mode: 'ATOMIC' });
    expect(applied.body).toMatchObject({ success: true, status: 'APPLIED', applied_items: 1 });
    expect((await api('GET', '/resources/CONFIG/config.e2e', 'alice')).body).toMatchObject({ state: { value: 1 } });

    const rolled = await api('POST', `/changesets/${id}/rollback`, 'Agent-D', { reason: 'not needed' });
    expect(rolled.body).toMatchObject({ success: true, rolled_back_items: 1 });
    expect((await api('GET', `/changesets/${id}`, 'alice')).body).toMatchObject({ status: 'ROLLED_BACK' });
    const audit = await api<{ data: { action: string }[] }>('GET', `/changesets/${id}/audit`, 'alice');
    expect(audit.body.data.map((entry) => entry.action)).toEqual(
      expect.arrayContaining(['create', 'submit', 'decision', 'apply', 'rollback']),
    );
    expect((await api('GET', '/audit/verify', 'admin')).body).toMatchObject({ ok: true });
  });

  it('finishes an in-flight request on SIGTERM, refuses new ones, exits 0, and keeps the data', async () => {
    const items = Array.from({ length: BIG }, (_, i) => ({
      operation_type: 'CREATE',
      target_type: 'FEATURE_FLAG',
      target_id: `flags.bulk.${i}`,
      after_state: { enabled: i % 2 === 0 },
    }));
    const body = {
      change_set_id: 'CS-E2E-BULK',
      title: 'Bulk flags',
      agent_type: 'BACKEND',
      category: 'CONFIG_UPDATE',
      approval_chain: ['alice'],
      items,
    };
    // Keep-alive, as fetch, browsers and load balancers do.
    const agent = new Agent({ keepAlive: true });
    try {
      const mark = server.stdout().length;
      const inFlight = postInTwoParts(`${server.url}/api/ledger/changesets`, as('Agent-D'), body, agent);
      await server.waitFor(/"url":"\/api\/ledger\/changesets".*"msg":"incoming request"/, { from: mark });
      const signalled = performance.now();
      server.proc.kill('SIGTERM');
      await server.waitFor(/SIGTERM, finishing in-flight requests/, { timeoutMs: 20_000, from: mark });

      // New requests: 503 from /readyz while the listener is still open, then refused (or, caught
      // while the server closes, reset). Never hung.
      const probes = await probeUntilFailed(`${server.url}/readyz`);
      expect(probes.slice(0, -1), probes.join(' ')).toEqual(probes.slice(0, -1).map(() => 503));
      expect(probes.at(-1), probes.join(' ')).toMatch(/^(ECONNREFUSED|ECONNRESET)$/);

      // The listener is closed and the request is still arriving: it must still be served.
      inFlight.release();
      const created = await inFlight.response;
      expect(created.status, server.output()).toBe(201);
      expect(created.body).toMatchObject({ change_set_id: 'CS-E2E-BULK', item_count: BIG });
      const exit = await server.exited;
      const stoppedAfterMs = performance.now() - signalled;
      expect(exit, server.output()).toEqual({ code: 0, signal: null });
      expect(stoppedAfterMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);

      // The log agrees: the request came in before the signal and was answered after it.
      const output = server.stdout().slice(mark);
      const logs = logLines(output);
      const incoming = logs.find(({ line }) => {
        const req = line['req'] as JsonObject | undefined;
        return (
          line['msg'] === 'incoming request' && req?.['method'] === 'POST' && req['url'] === '/api/ledger/changesets'
        );
      });
      const completed = logs.find(
        ({ line }) => line['msg'] === 'request completed' && line['reqId'] === incoming?.line['reqId'],
      );
      const signal = output.indexOf('SIGTERM, finishing in-flight requests');
      expect(incoming!.at, output).toBeLessThan(signal);
      expect(completed?.at, output).toBeGreaterThan(signal);
      expect((completed!.line['res'] as JsonObject)['statusCode']).toBe(201);
    } finally {
      agent.destroy();
    }

    server = await startServer(options);
    const kept = await api('GET', '/changesets/CS-E2E-BULK', 'alice');
    expect(kept.body).toMatchObject({ status: 'DRAFT', item_count: BIG });
    expect((await api('GET', '/changesets/CS-E2E-0001', 'alice')).body).toMatchObject({ status: 'ROLLED_BACK' });
    await expectCleanStop(server);
  });
}

describe('the serve process [pglite]', () => {
  lifecycleOverHttp(async () => ({}));
});

describePostgres('the serve process', () => {
  let schema: string;
  lifecycleOverHttp(
    async () => {
      const fresh = await freshPostgresUrl();
      schema = fresh.schema;
      return { databaseUrl: fresh.url };
    },
    // `options=-c search_path=…` in DATABASE_URL reaches the server's connections: its tables are there.
    async () => {
      const rows = await postgresQuery<{ n: number }>(
        "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'change_sets'",
        [schema],
      );
      expect(rows[0]!.n).toBe(1);
    },
  );
});

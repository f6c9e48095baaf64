// SIGTERM while a large request is still arriving and webhook deliveries are waiting on a slow
// receiver: /readyz turns unready first, the request completes 201, the deliveries being sent finish
// and are recorded DELIVERED (none is sent again after a restart), and the process exits 0.
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import {
  addPrincipal,
  cleanUp,
  freshPostgresUrl,
  httpGet,
  makeTempDir,
  type ServerProcess,
  type StartOptions,
  startServer,
} from '../e2e/helpers.js';
import { describePostgres } from '../helpers/backends.js';
import {
  call,
  type JsonObject,
  report,
  type SchemaDb,
  schemaDb,
  sleep,
  startWebhookReceiver,
  type WebhookReceiver,
  waitUntil,
  writeConfig,
} from './helpers.js';

/** How long the receiver sits on each delivery. */
const HOLD_MS = 2_000;
/** server.shutdown_timeout_ms by default. */
const SHUTDOWN_TIMEOUT_MS = 10_000;
const BIG = 3_000;

/** A POST whose body is sent in two halves, the second only on `release()`. */
function postInTwoParts(url: string, token: string, body: unknown, agent: Agent) {
  const data = Buffer.from(JSON.stringify(body));
  const half = Math.floor(data.length / 2);
  let release = () => {};
  const response = new Promise<{ status: number; body: JsonObject }>((resolve, reject) => {
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
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? (JSON.parse(text) as JsonObject) : {} }));
    });
    req.on('error', reject);
    req.write(data.subarray(0, half));
    release = () => req.end(data.subarray(half));
  });
  return { response, release: () => release() };
}

/**
 * A GET /readyz whose request line is sent now and the end of its headers only on `finish()`: the
 * probe a load balancer sends at the moment the shutdown begins.
 */
function readyzInTwoParts(url: string) {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.write(`GET /readyz HTTP/1.1\r\nHost: ${hostname}\r\n`);
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
  });
  const answer = new Promise<number | string>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? Number.NaN)));
  });
  return {
    answer,
    finish: () => socket.write('Connection: close\r\n\r\n'),
  };
}

describePostgres('graceful shutdown', () => {
  let server: ServerProcess;
  let receiver: WebhookReceiver;
  let db: SchemaDb;
  afterAll(async () => {
    await receiver?.close();
    await db?.close();
    await cleanUp();
  });

  it('turns unready, finishes the in-flight request and deliveries, then exits 0', async () => {
    receiver = await startWebhookReceiver({ holdMs: HOLD_MS });
    const fresh = await freshPostgresUrl();
    db = schemaDb(fresh.url);
    const config = writeConfig(
      makeTempDir(),
      [
        'notifications:',
        '  channels:',
        '    hook:',
        '      type: webhook',
        `      url: ${receiver.url}`,
        '  dispatcher:',
        '    poll_interval_ms: 200',
        '    timeout_ms: 5000',
        '',
      ].join('\n'),
    );
    let options: StartOptions = { databaseUrl: fresh.url, args: ['--config', config], env: { LOG_LEVEL: 'info' } };
    server = await startServer(options);
    options = { ...options, cwd: server.cwd, dataDir: server.dataDir };
    const tokens: Record<string, string> = { admin: server.adminToken };
    for (const body of [
      { id: 'Agent-D', kind: 'agent' },
      { id: 'alice', kind: 'human' },
    ]) {
      tokens[body.id] = await addPrincipal(server.url, tokens['admin']!, body);
    }

    // Deliveries in flight: events the receiver is sitting on.
    for (let i = 0; i < 3; i++) {
      const created = await call(server.url, 'POST', '/changesets', tokens['Agent-D']!, {
        change_set_id: `CS-GS-${i}`,
        title: 'Before the signal',
        agent_type: 'BACKEND',
        category: 'CONFIG_UPDATE',
        approval_chain: ['alice'],
        items: [{ operation_type: 'CREATE', target_type: 'CONFIG', target_id: `config.gs.${i}`, after_state: { i } }],
      });
      expect(created.ok && created.status).toBe(201);
    }
    // One dispatcher pass sends what it claimed and waits for all of it: the first event goes
    // alone, the next two together once the receiver answers the first.
    await waitUntil(
      'the three deliveries sent, some held by the receiver',
      async () => (receiver.received.length >= 3 && receiver.holding() > 0 ? true : undefined),
      { timeoutMs: 10_000, intervalMs: 10 },
    );

    // A request in flight: half its body sent, on a kept-alive connection as proxies use.
    const agent = new Agent({ keepAlive: true });
    const mark = server.stdout().length;
    const big = postInTwoParts(
      `${server.url}/api/ledger/changesets`,
      tokens['Agent-D']!,
      {
        change_set_id: 'CS-GS-BIG',
        title: 'Arrives during the shutdown',
        agent_type: 'BACKEND',
        category: 'CONFIG_UPDATE',
        approval_chain: ['alice'],
        items: Array.from({ length: BIG }, (_, i) => ({
          operation_type: 'CREATE',
          target_type: 'FEATURE_FLAG',
          target_id: `flags.gs.${i}`,
          after_state: { on: true },
        })),
      },
      agent,
    );
    await server.waitFor(/"url":"\/api\/ledger\/changesets".*"msg":"incoming request"/, { from: mark });
    // A readiness probe arriving just as the shutdown begins.
    const probe = readyzInTwoParts(server.url);

    const inFlightDeliveries = receiver.received.filter((r) => r.answeredAt === null).map((r) => r.deliveryId);
    expect(inFlightDeliveries.length).toBeGreaterThan(0);
    const signalledAt = performance.now();
    server.proc.kill('SIGTERM');
    await server.waitFor(/SIGTERM, finishing in-flight requests/, { timeoutMs: 20_000, from: mark });
    // Unready: the probe that arrives now answers 503, and no new connection is served any more.
    probe.finish();
    const probes: (number | string)[] = [await probe.answer];
    // The listener closes after server.drain_ms; on a busy machine that can take a while longer.
    const probeDeadline = performance.now() + 20_000;
    while (performance.now() < probeDeadline) {
      const next = await httpGet(`${server.url}/readyz`, 10_000);
      probes.push('status' in next ? next.status : next.error);
      if (!('status' in next)) break;
      await sleep(25);
    }
    expect(probes[0], probes.join(' ')).toBe(503);
    expect(
      probes.filter((p) => p === 200),
      probes.join(' '),
    ).toEqual([]);
    expect(probes.at(-1), probes.join(' ')).toMatch(/^(ECONNREFUSED|ECONNRESET)$/);

    big.release();
    const created = await big.response;
    expect(created.status, server.output()).toBe(201);
    expect(created.body).toMatchObject({ change_set_id: 'CS-GS-BIG', item_count: BIG });

    agent.destroy();
    const exit = await server.exited;
    const exitedAt = performance.now();
    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    expect(exitedAt - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);

    // The deliveries in flight at the signal were answered before the process ended, and recorded.
    const held = receiver.received.filter((r) => inFlightDeliveries.includes(r.deliveryId));
    expect(held.map((r) => r.answeredAt !== null && r.answeredAt < exitedAt)).toEqual(held.map(() => true));
    const recorded = await db.query<{ id: string; status: string; locked_until: Date | null }>(
      'SELECT id, status, locked_until FROM deliveries WHERE id = ANY($1::uuid[])',
      [inFlightDeliveries],
    );
    expect(recorded.map((r) => [r.status, r.locked_until])).toEqual(inFlightDeliveries.map(() => ['DELIVERED', null]));

    // The log agrees: the request came in before the signal and was answered 201 after it.
    const output = server.stdout().slice(mark);
    const incomingAt = output.search(/"url":"\/api\/ledger\/changesets".*"msg":"incoming request"/);
    const signalAt = output.indexOf('SIGTERM, finishing in-flight requests');
    const answeredAt = output.search(/"statusCode":201.*"msg":"request completed"/);
    expect(incomingAt).toBeGreaterThanOrEqual(0);
    expect(signalAt).toBeGreaterThan(incomingAt);
    expect(answeredAt).toBeGreaterThan(signalAt);

    // After a restart nothing delivered is sent again; what was left pending is delivered now.
    const before = receiver.received.length;
    server = await startServer(options);
    await waitUntil(
      'every delivery delivered after the restart',
      async () => {
        const [row] = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM deliveries WHERE status <> 'DELIVERED'",
        );
        const [unrouted] = await db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM outbox_events WHERE routed_at IS NULL',
        );
        return row!.n === 0 && unrouted!.n === 0 ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    const resent = receiver.received.slice(before).filter((r) => inFlightDeliveries.includes(r.deliveryId));
    expect(resent).toEqual([]);
    const kept = await call(server.url, 'GET', '/changesets/CS-GS-BIG', tokens['alice']!);
    expect(kept.ok && kept.body).toMatchObject({ status: 'DRAFT', item_count: BIG });
    expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    report('graceful-shutdown', {
      inFlightRequests: 1,
      inFlightDeliveries: inFlightDeliveries.length,
      receiverHoldMs: HOLD_MS,
      readyzProbesAfterSignal: probes,
      shutdownMs: Math.round(exitedAt - signalledAt),
      exitCode: exit.code,
      deliveredBeforeExit: held.length,
      resentAfterRestart: resent.length,
      lost: 0,
    });
  });
});

// Three real server instances on one PostgreSQL schema, started at the same moment, every request
// sent to the next instance in turn: 200 change-sets live through their lifecycles at once, with
// racing approvals, duplicate applies, apply against revoke, and rollbacks followed by a second
// round of approval. Afterwards: every status is legal for its audit trail, nothing was applied
// twice in one round of approval, resource versions match their history, the audit trail verifies,
// and the three dispatchers delivered every outbox event to the webhook. The clients behave: each POST
// carries an Idempotency-Key and an answer the server asks to be retried (503 OVERLOADED) is sent
// again after its Retry-After. One instance runs admission control with a small limit, so some
// requests are always shed; each shed request must end done exactly once or refused, never lost or
// half-done, and its key must replay its final answer.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import {
  addPrincipal,
  cleanUp,
  freshPostgresUrl,
  makeTempDir,
  type ServerProcess,
  startServer,
} from '../e2e/helpers.js';
import { describePostgres } from '../helpers/backends.js';
import {
  call,
  callRetrying,
  checkLifecycles,
  checkOutboxAgainstAudit,
  checkResources,
  type JsonObject,
  type RetriedOutcome,
  report,
  type SchemaDb,
  schemaDb,
  startWebhookReceiver,
  type WebhookReceiver,
  waitUntil,
  writeConfig,
} from './helpers.js';

const INSTANCES = 3;
const LIFECYCLES = 200;
const CREATORS = 10;
const SHARED_TARGETS = 8;
const APPROVERS = ['alice', 'bob', 'carol'];
/** Bounds: the lifecycles, then the dispatchers draining the outbox. */
const LOAD_BUDGET_MS = 120_000;
const DRAIN_BUDGET_MS = 60_000;

/**
 * What happens to change-set i, by i % 5:
 * 0 approvals race → duplicate applies (also updates a shared target)
 * 1 approvals race → duplicate applies → duplicate rollbacks
 * 2 approvals race → apply races a revocation (also updates a shared target)
 * 3 approvals race a veto
 * 4 approvals race → duplicate applies → duplicate rollbacks → reopen, submit, approvals race, duplicate applies
 */
const LEGAL_END: Record<number, string[]> = {
  0: ['APPLIED'],
  1: ['ROLLED_BACK'],
  2: ['APPLIED', 'REJECTED'],
  3: ['REJECTED'],
  4: ['APPLIED'],
};

interface Answer {
  changeSet: string;
  action: string;
  actor: string;
  instance: number;
  result: number | string;
  code?: string;
  /** The answers that were retried before this one (`503 OVERLOADED`, …). */
  retried: string[];
  path: string;
  body: unknown;
  key: string | null;
}

/** Instance 0 sheds beyond this many requests at once (admission control), so shedding always happens. */
const ADMISSION = { max_in_flight: 8, admission_wait_ms: 2_000 };

describePostgres('three instances on one database', () => {
  let servers: ServerProcess[] = [];
  let receiver: WebhookReceiver;
  let db: SchemaDb;
  afterAll(async () => {
    await receiver?.close();
    await db?.close();
    await cleanUp();
  });

  it('keeps 200 racing lifecycles legal, applied once per approval, consistent, audited and delivered', async () => {
    const secret = randomBytes(16).toString('hex');
    receiver = await startWebhookReceiver({ secret });
    const fresh = await freshPostgresUrl();
    db = schemaDb(fresh.url);
    const dir = makeTempDir();
    const config = writeConfig(
      dir,
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
        '  dispatcher:',
        '    poll_interval_ms: 250',
        '    backoff_base_ms: 250',
        '    backoff_max_ms: 2000',
        '    timeout_ms: 5000',
        '',
      ].join('\n'),
    );
    const admissionConfig = writeConfig(
      dir,
      `${readFileSync(config, 'utf8')}server:\n  max_in_flight: ${ADMISSION.max_in_flight}\n  admission_wait_ms: ${ADMISSION.admission_wait_ms}\n`,
    );
    const adminToken = `clg_${randomBytes(32).toString('base64url')}`;
    // Instances on one database share one audit signing key (docs/security.md).
    const auditKey = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    // All at once: migrations and the bootstrap admin race between the instances.
    servers = await Promise.all(
      Array.from({ length: INSTANCES }, (_, n) =>
        startServer({
          databaseUrl: fresh.url,
          args: ['--config', n === 0 ? admissionConfig : config],
          env: { CHANGELEDGER_ADMIN_TOKEN: adminToken, CHANGELEDGER_AUDIT_KEY: auditKey, WEBHOOK_SECRET: secret },
        }),
      ),
    );
    const tokens: Record<string, string> = { admin: adminToken };
    const principals = [
      ...Array.from({ length: CREATORS }, (_, i) => ({ id: `bot-${i}`, kind: 'agent', risk: 100 })),
      ...[...APPROVERS, 'dave'].map((id) => ({ id, kind: 'human' })),
      { id: 'olga', kind: 'human', groups: ['operator'] },
      { id: 'setup', kind: 'agent' },
    ];
    for (const [index, body] of principals.entries()) {
      tokens[body.id] = await addPrincipal(servers[index % INSTANCES]!.url, adminToken, body);
    }
    // The shared targets exist before the load: small UI changes, auto-approved, create them.
    for (let k = 0; k < SHARED_TARGETS; k++) {
      const id = `CS-SETUP-${k}`;
      const setup = await call(servers[k % INSTANCES]!.url, 'POST', '/changesets', tokens['setup']!, {
        change_set_id: id,
        title: 'A shared target',
        agent_type: 'UI',
        category: 'UI_LAYOUT',
        items: [
          {
            operation_type: 'CREATE',
            target_type: 'UI_COMPONENT',
            target_id: `ui.shared.${k}`,
            after_state: { by: id },
          },
        ],
      });
      expect(setup.ok && setup.body['status'], JSON.stringify(setup)).toBe('APPROVED');
      const applied = await call(
        servers[(k + 1) % INSTANCES]!.url,
        'POST',
        `/changesets/${id}/apply`,
        tokens['setup']!,
      );
      expect(applied.ok && applied.body['status'], JSON.stringify(applied)).toBe('APPLIED');
    }

    let turn = 0;
    const perInstance = new Array<number>(INSTANCES).fill(0);
    const answers: Answer[] = [];
    const send = async (changeSet: string, action: string, actor: string, path: string, body?: unknown) => {
      const instance = turn++ % INSTANCES;
      perInstance[instance]!++;
      const outcome = await callRetrying(servers[instance]!.url, 'POST', path, tokens[actor]!, body, {
        timeoutMs: 60_000,
      });
      answers.push({
        changeSet,
        action,
        actor,
        instance,
        result: outcome.ok ? outcome.status : outcome.error,
        ...(outcome.ok && outcome.status >= 300 ? { code: String(outcome.body['code']) } : {}),
        retried: outcome.retried,
        path,
        body,
        key: outcome.key,
      });
      return outcome;
    };
    const succeeded = (outcome: RetriedOutcome): outcome is RetriedOutcome & { ok: true } =>
      outcome.ok && outcome.status < 300;
    const statusOf = (outcome: RetriedOutcome) => (outcome.ok ? String(outcome.body['status']) : undefined);

    async function lifecycle(i: number): Promise<JsonObject> {
      const id = `CS-MI-${String(i).padStart(3, '0')}`;
      const creator = `bot-${i % CREATORS}`;
      const variant = i % 5;
      const cs = `/changesets/${id}`;
      const items: JsonObject[] = [
        { operation_type: 'CREATE', target_type: 'SECURITY_POLICY', target_id: `security.mi.${i}`, after_state: { i } },
      ];
      if (variant === 0 || variant === 2) {
        items.push({
          operation_type: 'UPDATE',
          target_type: 'UI_COMPONENT',
          target_id: `ui.shared.${i % SHARED_TARGETS}`,
          after_state: { by: id },
        });
      }
      const created = await send(id, 'create', creator, '/changesets', {
        change_set_id: id,
        title: `Racing ${id}`,
        agent_type: 'BACKEND',
        category: 'SECURITY',
        approval_chain: [...APPROVERS, 'dave'],
        items,
      });
      if (!succeeded(created)) return { id, stopped: 'create' };
      const round = async () => {
        await send(id, 'submit', creator, `${cs}/submit`);
        const decisions = await Promise.all(
          APPROVERS.map((who) =>
            send(id, 'decision', who, `${cs}/approve`, {
              decision: variant === 3 && who === 'carol' ? 'REJECTED' : 'APPROVED',
              reason: 'race',
            }),
          ),
        );
        return decisions.filter(succeeded).map(statusOf);
      };
      const applyTwice = () =>
        Promise.all([
          send(id, 'apply', creator, `${cs}/apply`, { mode: 'ATOMIC' }),
          send(id, 'apply', 'olga', `${cs}/apply`, { mode: 'ATOMIC' }),
        ]);
      const rollbackTwice = () =>
        Promise.all([
          send(id, 'rollback', creator, `${cs}/rollback`, { reason: 'race' }),
          send(id, 'rollback', 'olga', `${cs}/rollback`, { reason: 'race' }),
        ]);

      await round();
      if (variant === 3) return { id, variant };
      if (variant === 2) {
        await Promise.all([
          send(id, 'apply', creator, `${cs}/apply`, { mode: 'ATOMIC' }),
          send(id, 'decision', 'dave', `${cs}/approve`, { decision: 'REJECTED', reason: 'revoked' }),
        ]);
        return { id, variant };
      }
      await applyTwice();
      if (variant === 0) return { id, variant };
      await rollbackTwice();
      if (variant === 4) {
        await send(id, 'reopen', creator, `${cs}/reopen`, { reason: 'again' });
        await round();
        await applyTwice();
      }
      return { id, variant };
    }

    const loadStarted = performance.now();
    const done = await Promise.race([
      Promise.all(Array.from({ length: LIFECYCLES }, (_, i) => lifecycle(i))),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`the lifecycles took over ${LOAD_BUDGET_MS} ms`)), LOAD_BUDGET_MS),
      ),
    ]);
    const loadMs = performance.now() - loadStarted;
    expect(done).toHaveLength(LIFECYCLES);

    // No 5xx, no network error: refusals are 409s that the races make inevitable.
    const refusals = answers.filter((a) => a.result !== 200 && a.result !== 201);
    const unexpected = refusals.filter((a) => a.result !== 409 || a.code !== 'INVALID_TRANSITION');
    expect(unexpected, JSON.stringify(unexpected.slice(0, 10))).toEqual([]);
    // Shed under overload, never told the database is down (it is not): only OVERLOADED was retried.
    const retriedAnswers = answers.flatMap((a) => a.retried);
    expect(retriedAnswers.filter((r) => r !== '503 OVERLOADED')).toEqual([]);
    const shed = answers.filter((a) => a.retried.length > 0);
    expect(shed.length, 'instance 0 sheds beyond its max_in_flight').toBeGreaterThan(0);

    // A shed request was not half-done: no Idempotency-Key is left "in progress", and each shed
    // request that ended 2xx replays that answer under its key without acting again (the audit
    // counts below include these replays).
    await waitUntil(
      'every Idempotency-Key settled',
      async () => {
        const [{ n }] = (await db.query(
          'SELECT count(*)::int AS n FROM idempotency_keys WHERE status_code IS NULL',
        )) as [{ n: number }];
        return n === 0 ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    const replays = shed.filter((a) => a.result === 200 || a.result === 201).slice(0, 40);
    const notReplayed: string[] = [];
    for (const a of replays) {
      const again = await call(servers[a.instance]!.url, 'POST', a.path, tokens[a.actor]!, a.body, {
        headers: { 'idempotency-key': a.key! },
      });
      if (!again.ok || again.status !== a.result || again.headers.get('idempotent-replayed') !== 'true')
        notReplayed.push(`${a.changeSet} ${a.action}: ${again.ok ? again.status : again.error}`);
    }
    expect(notReplayed).toEqual([]);

    // Every change-set ends legally, and its audit trail has exactly the transitions answered 2xx.
    const lifecycles = await checkLifecycles(db);
    expect(lifecycles.problems).toEqual([]);
    const mismatches: string[] = [];
    for (let i = 0; i < LIFECYCLES; i++) {
      const id = `CS-MI-${String(i).padStart(3, '0')}`;
      const replay = lifecycles.replays.get(id);
      if (!replay) {
        mismatches.push(`${id}: missing`);
        continue;
      }
      if (!LEGAL_END[i % 5]!.includes(replay.stored)) mismatches.push(`${id}: ends ${replay.stored}`);
      for (const action of ['create', 'submit', 'decision', 'apply', 'rollback', 'reopen']) {
        const answered = answers.filter(
          (a) => a.changeSet === id && a.action === action && (a.result === 200 || a.result === 201),
        ).length;
        if ((replay.counts[action] ?? 0) !== answered)
          mismatches.push(`${id}: ${answered} ${action} answered 2xx, ${replay.counts[action] ?? 0} audited`);
      }
      // Two of three racing approvals count; the third finds it APPROVED already (no veto race).
      if (i % 5 !== 3) {
        const rounds = i % 5 === 4 ? 2 : 1;
        const approvals = answers.filter(
          (a) => a.changeSet === id && a.action === 'decision' && a.actor !== 'dave' && a.result === 200,
        ).length;
        if (approvals !== 2 * rounds) mismatches.push(`${id}: ${approvals} approvals answered 200 in ${rounds} rounds`);
      }
      if (replay.appliesPerRound.some((n) => n > 1))
        mismatches.push(`${id}: applies per round ${replay.appliesPerRound}`);
    }
    expect(mismatches).toEqual([]);

    const resources = await checkResources(db);
    expect(resources.problems).toEqual([]);
    const outbox = await checkOutboxAgainstAudit(db);
    expect(outbox.problems).toEqual([]);
    const verify = await call(servers[2]!.url, 'GET', '/audit/verify', adminToken);
    expect(verify.ok && verify.body).toMatchObject({
      ok: true,
      first_break: null,
      signatures: { checked: true, unsigned: 0, invalid: 0 },
    });

    // The dispatchers drain the outbox: every event routed and delivered, in a bounded time.
    const drainStarted = performance.now();
    const [{ events }] = (await db.query('SELECT count(*)::int AS events FROM outbox_events')) as [{ events: number }];
    await waitUntil(
      'every outbox event delivered to the webhook',
      async () => {
        const [state] = (await db.query(
          `SELECT (SELECT count(*)::int FROM outbox_events WHERE routed_at IS NULL) AS unrouted,
                  (SELECT count(*)::int FROM deliveries WHERE status <> 'DELIVERED') AS undelivered`,
        )) as [{ unrouted: number; undelivered: number }];
        return state.unrouted === 0 && state.undelivered === 0 ? true : undefined;
      },
      { timeoutMs: DRAIN_BUDGET_MS, intervalMs: 250 },
    );
    const drainMs = performance.now() - drainStarted;
    const ids = (await db.query<{ id: string }>('SELECT id FROM outbox_events ORDER BY id')).map((row) =>
      Number(row.id),
    );
    const deliveries = await db.query<{ event_id: number; id: string; attempts: number }>(
      `SELECT event_id, id, attempts FROM deliveries WHERE channel = 'hook'`,
    );
    expect(deliveries.length).toBe(ids.length);
    const receivedIds = new Set(receiver.received.map((r) => r.eventId));
    const missing = ids.filter((id) => !receivedIds.has(id));
    expect(missing).toEqual([]);
    // Duplicates only ever under one delivery id, so the receiver can drop them.
    const deliveryIdsPerEvent = new Map<number, Set<string>>();
    for (const r of receiver.received) {
      deliveryIdsPerEvent.set(r.eventId, (deliveryIdsPerEvent.get(r.eventId) ?? new Set()).add(r.deliveryId));
    }
    expect([...deliveryIdsPerEvent.values()].filter((set) => set.size !== 1)).toEqual([]);
    expect(receiver.received.filter((r) => !r.signatureOk)).toEqual([]);
    const duplicates = receiver.received.length - receivedIds.size;
    // A delivery is sent again only as a new attempt (a timeout, an error): never twice under one
    // claim, which would mean two dispatchers sending it at once.
    const attempts = new Map(deliveries.map((d) => [d.id, d.attempts]));
    const sends = new Map<string, number>();
    for (const r of receiver.received) sends.set(r.deliveryId, (sends.get(r.deliveryId) ?? 0) + 1);
    const overSent = [...sends].filter(([id, n]) => n > (attempts.get(id) ?? 0));
    expect(overSent).toEqual([]);
    const retried = deliveries.filter((d) => d.attempts > 1).length;

    for (const server of servers) expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    const [counts] = (await db.query(
      `SELECT (SELECT count(*)::int FROM change_sets) AS change_sets,
              (SELECT count(*)::int FROM audit_entries) AS audit_entries,
              (SELECT count(*)::int FROM resource_history) AS versions`,
    )) as [JsonObject];
    const finals: Record<string, number> = {};
    for (const replay of lifecycles.replays.values()) finals[replay.stored] = (finals[replay.stored] ?? 0) + 1;
    report('many-instances', {
      instances: INSTANCES,
      lifecycles: LIFECYCLES,
      requests: answers.length,
      requestsPerInstance: perInstance,
      refused409: refusals.length,
      status5xx: 0,
      shedRequests: shed.length,
      shedAnswers: retriedAnswers.length,
      shedThenDone: shed.filter((a) => a.result === 200 || a.result === 201).length,
      replayed: replays.length,
      loadMs: Math.round(loadMs),
      finalStatuses: finals,
      ...counts,
      outboxEvents: events,
      delivered: receivedIds.size,
      webhookRequests: receiver.received.length,
      duplicates,
      retriedDeliveries: retried,
      drainMs: Math.round(drainMs),
      lost: missing.length,
    });
  });
});

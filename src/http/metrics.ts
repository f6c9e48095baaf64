// Prometheus metrics: requests by route and status, change-sets by status, applies, rollbacks, approvals,
// requests shed under overload; for operations, change-set actions (count, refusals by code,
// latency), notification deliveries per channel (outcomes, latency) and how long the oldest
// pending approval has waited. docs/integrations.md lists them; docs/grafana/changeledger.json uses them.
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { STATUSES } from '../core/types.js';
import type { Engine } from '../engine/index.js';

export interface Metrics {
  registry: Registry;
  applies: Counter<'result'>;
  rollbacks: Counter<'forced'>;
  approvals: Counter<'decision'>;
  /** Requests answered 503 OVERLOADED: shed by admission control, or after waiting out the pool. */
  overloaded: Counter<'stage'>;
  /** One delivery attempt's outcome and how long its send took (the dispatcher's onOutcome). */
  observeDelivery(channel: string, outcome: 'DELIVERED' | 'PENDING' | 'DEAD', seconds: number): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DELIVERY_OUTCOMES = { DELIVERED: 'delivered', PENDING: 'retried', DEAD: 'dead' } as const;

/**
 * The change-set action a request is, from its route: POST /changesets is create, PATCH
 * /changesets/:id edit, POST /changesets/:id/<action> that action; null for anything else.
 */
export function actionOf(method: string, route: string | undefined): string | null {
  const match = /^\/api\/ledger\/changesets(?:\/:id(?:\/([a-z_]+))?)?$/.exec(route ?? '');
  if (!match) return null;
  const hasId = route !== '/api/ledger/changesets';
  if (method === 'POST' && !hasId) return 'create';
  if (method === 'PATCH' && hasId && !match[1]) return 'edit';
  if (method === 'POST' && match[1]) return match[1];
  return null;
}

/** The `code` of a refusal's body (the API's error shape), or a placeholder when it has none. */
function refusalCode(payload: unknown): string {
  if (typeof payload !== 'string') return 'UNKNOWN';
  try {
    const code = (JSON.parse(payload) as { code?: unknown }).code;
    return typeof code === 'string' ? code : 'UNKNOWN';
  } catch {
    return 'UNKNOWN';
  }
}

export function registerMetrics(app: FastifyInstance, engine: Engine): Metrics {
  const registry = new Registry();
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new Counter({
    name: 'changeledger_http_requests_total',
    help: 'HTTP requests',
    labelNames,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'changeledger_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'changeledger_changesets',
    help: 'Change-sets by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counts = await engine.countByStatus().catch(() => null);
      if (!counts) return;
      for (const status of STATUSES) this.set({ status }, counts[status] ?? 0);
    },
  });
  new Gauge({
    name: 'changeledger_pending_approval_oldest_age_seconds',
    help: 'How long the longest-waiting change-set pending approval has waited since submission (0: none waits)',
    registers: [registry],
    async collect() {
      const at = await engine.oldestPendingSubmission().catch(() => undefined);
      if (at === undefined) return;
      this.set(at ? Math.max(0, (Date.now() - at.getTime()) / 1000) : 0);
    },
  });
  const actions = new Counter({
    name: 'changeledger_actions_total',
    help: 'Change-set actions requested, by action and outcome (done, refused: 4xx, failed: 5xx)',
    labelNames: ['action', 'outcome'],
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'changeledger_action_refusals_total',
    help: 'Change-set actions refused, by action and error code',
    labelNames: ['action', 'code'],
    registers: [registry],
  });
  const actionLatency = new Histogram({
    name: 'changeledger_action_duration_seconds',
    help: 'Change-set action latency, by action',
    labelNames: ['action'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'changeledger_deliveries_total',
    help: 'Notification delivery attempts, by channel and outcome (delivered, retried, dead)',
    labelNames: ['channel', 'outcome'],
    registers: [registry],
  });
  const deliveryLatency = new Histogram({
    name: 'changeledger_delivery_duration_seconds',
    help: 'How long one delivery attempt took to send, by channel',
    labelNames: ['channel'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const metrics: Metrics = {
    registry,
    observeDelivery(channel, outcome, seconds) {
      deliveries.inc({ channel, outcome: DELIVERY_OUTCOMES[outcome] });
      deliveryLatency.observe({ channel }, seconds);
    },
    applies: new Counter({
      name: 'changeledger_applies_total',
      help: 'Apply attempts by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    rollbacks: new Counter({
      name: 'changeledger_rollbacks_total',
      help: 'Rollbacks',
      labelNames: ['forced'],
      registers: [registry],
    }),
    approvals: new Counter({
      name: 'changeledger_approvals_total',
      help: 'Approval decisions',
      labelNames: ['decision'],
      registers: [registry],
    }),
    overloaded: new Counter({
      name: 'changeledger_overloaded_total',
      help: 'Requests answered 503 OVERLOADED, by where they were shed (admission, pool)',
      labelNames: ['stage'],
      registers: [registry],
    }),
  };
  const codes = new WeakMap<object, string>();
  // A refusal's code is read from the body sent, whichever part of the app refused.
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400 && reply.statusCode < 500 && actionOf(request.method, request.routeOptions.url))
      codes.set(request, refusalCode(payload));
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
    const action = actionOf(request.method, request.routeOptions.url);
    if (!action) return;
    const outcome = reply.statusCode >= 500 ? 'failed' : reply.statusCode >= 400 ? 'refused' : 'done';
    actions.inc({ action, outcome });
    actionLatency.observe({ action }, reply.elapsedTime / 1000);
    if (outcome === 'refused') refusals.inc({ action, code: codes.get(request) ?? 'UNKNOWN' });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  return metrics;
}

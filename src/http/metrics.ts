// Prometheus metrics: requests by route and status, change-sets by status, applies, rollbacks, approvals,
// requests shed under overload.
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
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
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
  const metrics: Metrics = {
    registry,
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
  app.addHook('onResponse', async (request, reply) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    latency.observe(labels, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });
  return metrics;
}

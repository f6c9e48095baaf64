// Per-principal limits on write requests (a token bucket per principal and server instance):
// an agent in a loop cannot flood the approvers' queue or the database. Reads are not limited.
import type { FastifyInstance } from 'fastify';
import { LedgerError } from '../core/errors.js';

export interface RateLimit {
  /** Sustained write requests per minute; 0 turns the limit off. */
  perMinute: number;
  /** Requests allowed at once before the sustained rate applies. */
  burst: number;
  /** The clock, in milliseconds (tests move it). */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const WRITES = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

export function registerRateLimit(app: FastifyInstance, limit: RateLimit): void {
  if (limit.perMinute <= 0) return;
  const now = limit.now ?? Date.now;
  const perMs = limit.perMinute / 60_000;
  const buckets = new Map<string, Bucket>();
  // Buckets that have refilled are forgotten, so the map holds only recently active principals.
  const sweep = setInterval(() => {
    const t = now();
    for (const [id, bucket] of buckets) if (bucket.tokens + (t - bucket.at) * perMs >= limit.burst) buckets.delete(id);
  }, 60_000);
  sweep.unref();
  app.addHook('onClose', async () => clearInterval(sweep));
  app.addHook('preValidation', async (request, reply) => {
    if (!WRITES.has(request.method) || !request.principal) return;
    const t = now();
    const bucket = buckets.get(request.principal.id) ?? { tokens: limit.burst, at: t };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (t - bucket.at) * perMs);
    bucket.at = t;
    buckets.set(request.principal.id, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfter = Math.ceil((1 - bucket.tokens) / perMs / 1000);
    reply.header('retry-after', String(retryAfter));
    throw new LedgerError(
      'RATE_LIMITED',
      `${request.principal.id} made more than ${limit.perMinute} write requests a minute (burst ${limit.burst}): retry in ${retryAfter} s`,
      undefined,
      { fix: `retry after ${retryAfter} s (the Retry-After header), and send fewer write requests a minute` },
    );
  });
}

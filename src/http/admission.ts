// Admission control: at most `maxInFlight` API requests of this instance are being worked on at
// once; the next ones wait in a short FIFO queue, and a request that finds no slot within
// `waitMs` (or a full queue) is answered 503 OVERLOADED with Retry-After at once, before it has
// touched the database. Without it every request goes straight to the connection pool and waits
// there, up to the pool's timeout, behind all the others (docs/reliability.md has the measurements).
// A shed request has done nothing: no token lookup, no Idempotency-Key claimed, no write.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LedgerError, RETRY_AFTER_SECONDS } from '../core/errors.js';

export interface Admission {
  /** API requests worked on at once; 0 turns admission control off. */
  maxInFlight: number;
  /** How long a request may wait for a slot before it is shed. */
  waitMs: number;
  /** Requests allowed to wait at once (default: 4 × maxInFlight); beyond it they are shed at once. */
  maxQueued?: number;
  /** Counts each shed request. */
  onShed?: () => void;
}

/** Long-lived streams hold their slot for minutes: they are not counted. */
const UNCOUNTED = new Set([
  '/api/ledger/events',
  '/api/ledger/resources/watch',
  '/api/ledger/changesets/:id/wait',
  '/api/ledger/openapi.json',
]);

interface Waiter {
  admit: () => void;
  timer: NodeJS.Timeout;
}

export function registerAdmission(app: FastifyInstance, admission: Admission): void {
  if (admission.maxInFlight <= 0) return;
  const maxQueued = admission.maxQueued ?? 4 * admission.maxInFlight;
  let inFlight = 0;
  const queue: Waiter[] = [];

  const release = () => {
    const next = queue.shift();
    if (next) {
      clearTimeout(next.timer);
      next.admit();
    } else inFlight--;
  };
  // The slot is held until the answer is sent or the connection is gone, whichever comes first.
  const hold = (reply: FastifyReply) => {
    let held = true;
    reply.raw.once('close', () => {
      if (held) release();
      held = false;
    });
  };
  const shed = (reply: FastifyReply, why: string) => {
    admission.onShed?.();
    const refusal = new LedgerError(
      'OVERLOADED',
      `the server is busy (${why}): retry in ${RETRY_AFTER_SECONDS.OVERLOADED} s`,
    );
    return reply
      .status(refusal.statusCode)
      .header('retry-after', String(RETRY_AFTER_SECONDS.OVERLOADED))
      .send(refusal.toBody());
  };

  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    const route = request.routeOptions.url;
    if (route === undefined || !route.startsWith('/api/') || UNCOUNTED.has(route)) return done();
    if (inFlight < admission.maxInFlight) {
      inFlight++;
      hold(reply);
      return done();
    }
    if (queue.length >= maxQueued || admission.waitMs <= 0) {
      void shed(reply, `${admission.maxInFlight} requests in progress and ${queue.length} waiting`);
      return;
    }
    const waiter: Waiter = {
      // The slot passes straight from the finished request to this one (inFlight stays the same).
      admit: () => {
        reply.raw.removeListener('close', gone);
        hold(reply);
        done();
      },
      timer: setTimeout(() => {
        queue.splice(queue.indexOf(waiter), 1);
        reply.raw.removeListener('close', gone);
        void shed(reply, `no request slot freed up within ${admission.waitMs} ms`);
      }, admission.waitMs),
    };
    // A client that gives up while waiting leaves the queue.
    const gone = () => {
      const index = queue.indexOf(waiter);
      if (index < 0) return;
      queue.splice(index, 1);
      clearTimeout(waiter.timer);
    };
    reply.raw.once('close', gone);
    queue.push(waiter);
  });
}

// GET /api/ledger/events: Server-Sent Events, filterable by type and change-set, resumable with
// Last-Event-ID. Refusals (auth, filters) are ordinary JSON errors; once the stream starts the
// reply is hijacked and written by hand.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { LedgerError } from '../../core/errors.js';
import type { Engine } from '../../engine/index.js';
import type { EventFeed, FeedEvent } from '../../notify/event-feed.js';
import { openEventStream, parseLastEventId, resolveEventFilter } from '../../notify/event-stream.js';
import { bearer } from '../auth.js';
import * as S from '../schemas.js';
import { StreamCredentialWatch } from '../stream-credentials.js';

export interface EventRouteOptions {
  feed: EventFeed | undefined;
  /** Interval of the `: heartbeat` comment that keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /** A client this far behind is cut off; it reconnects with Last-Event-ID and catches up. */
  maxBufferedBytes?: number;
  /**
   * How often open streams' tokens are checked again (stream-credentials.ts): default
   * auth.token_cache_ms, or 1 s when the cache is off.
   */
  credentialCheckMs?: number;
}

const ENDED_BY_CREDENTIALS = ': the token was revoked or its principal deactivated\n\n';

const frame = (event: FeedEvent): string =>
  `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.envelope)}\n\n`;

/** Starts the SSE response; returns its writer and a function that ends it once. */
function startSse(reply: FastifyReply, maxBufferedBytes: number) {
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  const end = () => {
    if (!res.writableEnded) res.end();
  };
  const write = (text: string): undefined | Promise<void> => {
    if (res.writableEnded || res.destroyed) return undefined;
    if (res.write(text)) return undefined;
    if (res.writableLength > maxBufferedBytes) {
      end();
      return undefined;
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  };
  return { res, write, end };
}

export function eventRoutes(app: FastifyInstance, engine: Engine, options: EventRouteOptions): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const open = new Set<() => void>();
  const credentials = new StreamCredentialWatch({
    check: (tokens) => engine.stillAuthenticating(tokens),
    periodMs: options.credentialCheckMs ?? (engine.config.auth.token_cache_ms || 1_000),
    onError: (error) => app.log.error({ err: error }, 'event stream credential check failed'),
  });
  const stopHearing = engine.onCredentialsChanged(() => credentials.sweep());
  // Open streams never finish on their own: end them, or closing the server would wait for ever.
  app.addHook('preClose', async () => {
    stopHearing();
    credentials.stop();
    for (const end of [...open]) end();
  });

  r.get(
    '/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Server-Sent Events: every event, or those of some types or one change-set',
        description:
          'Each event is `id: <id>`, `event: <type>`, `data: <envelope JSON>`. Send `Last-Event-ID` (or ' +
          '`last_event_id`) to receive the events after it first. A `: heartbeat` comment comes every 15 s.',
        querystring: S.EventsQuery,
        produces: ['text/event-stream'],
        response: S.responses({ 200: S.EventStreamResponse, '4xx': S.ErrorResponse, 503: S.ErrorResponse }),
      },
    },
    async (request, reply) => {
      const feed = options.feed;
      if (!feed) throw new LedgerError('UNAVAILABLE', 'event stream not enabled');
      const filter = await resolveEventFilter(request.query, (reference) => engine.changeSetId(reference));
      const after = parseLastEventId(request.headers['last-event-id'], request.query.last_event_id);
      reply.hijack();
      const sse = startSse(reply, options.maxBufferedBytes ?? 8 * 1024 * 1024);
      let stream: { close(): void } | null = null;
      const heartbeat = setInterval(() => sse.write(': heartbeat\n\n'), options.heartbeatMs);
      // The auth hook accepted this bearer token: the stream lives as long as it authenticates.
      const token = bearer(request);
      const unwatch = token
        ? credentials.add(token, () => {
            sse.write(ENDED_BY_CREDENTIALS);
            sse.end();
          })
        : () => {};
      const cleanUp = () => {
        clearInterval(heartbeat);
        stream?.close();
        unwatch();
        open.delete(sse.end);
      };
      open.add(sse.end);
      sse.res.on('close', cleanUp);
      try {
        stream = await openEventStream({
          feed,
          filter,
          after,
          send: (event) => sse.write(frame(event)),
          onEnd: sse.end,
        });
        if (sse.res.destroyed || sse.res.writableEnded) cleanUp();
      } catch (error) {
        request.log.error({ err: error }, 'event stream replay failed');
        sse.end();
      }
    },
  );
}

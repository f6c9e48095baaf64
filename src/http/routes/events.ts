// The ledger's Server-Sent Events streams, both resumable with Last-Event-ID and served on every
// instance: GET /api/ledger/events (events, filterable by type and change-set) and
// GET /api/ledger/resources/watch (every committed resource write under a prefix). Refusals (auth,
// filters) are ordinary JSON errors; once a stream starts the reply is hijacked (../sse.ts).
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { LedgerError } from '../../core/errors.js';
import type { Engine } from '../../engine/index.js';
import type { EventFeed } from '../../notify/event-feed.js';
import { openEventStream, parseLastEventId, resolveEventFilter } from '../../notify/event-stream.js';
import { openResourceWatch } from '../../notify/resource-watch.js';
import { operation } from '../openapi.js';
import * as S from '../schemas.js';
import { type SseOptions, sseFrame, sseStreams } from '../sse.js';

export interface EventRouteOptions extends SseOptions {
  feed: EventFeed | undefined;
}

export function eventRoutes(app: FastifyInstance, engine: Engine, options: EventRouteOptions): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const serve = sseStreams(app, options);

  r.get(
    '/events',
    {
      schema: operation('GET', {
        operationId: 'streamEvents',
        tags: ['events'],
        summary: 'Server-Sent Events: every event, or those of some types or one change-set',
        description:
          'Each event is `id: <id>`, `event: <type>`, `data: <envelope JSON>`. Send `Last-Event-ID` (or ' +
          '`last_event_id`) to receive the events after it first. A `: heartbeat` comment comes every 15 s.',
        querystring: S.EventsQuery,
        headers: ['Last-Event-ID'],
        answers: {
          200: {
            description: 'The stream; the `data` of each frame is an `Event`',
            schema: S.EventStreamResponse,
            contentType: 'text/event-stream',
          },
        },
        refusals: ['NOT_FOUND'],
      }),
    },
    async (request, reply) => {
      const feed = options.feed;
      if (!feed) throw new LedgerError('UNAVAILABLE', 'event stream not enabled');
      const filter = await resolveEventFilter(request.query, (reference) => engine.changeSetId(reference));
      const after = parseLastEventId(request.headers['last-event-id'], request.query.last_event_id);
      await serve(request, reply, (sse) =>
        openEventStream({
          feed,
          filter,
          after,
          send: (event) => sse.write(sseFrame(event.id, event.type, event.envelope)),
          onEnd: sse.end,
        }),
      );
    },
  );
  r.get(
    '/resources/watch',
    {
      schema: operation('GET', {
        operationId: 'watchResources',
        tags: ['resources'],
        summary: 'Server-Sent Events: every committed resource write under a prefix, resumable',
        description:
          'Each write is `event: resource.changed` with the write as `data` (target, version, present, state, ' +
          'operation, change-set, `ledger_version`); the last write of each commit carries `id: <ledger_version>`. ' +
          'After the replay of what followed `since_version` (or `Last-Event-ID`) comes `event: ready`; then live ' +
          'writes. `since_version=0` replays the whole history under the prefix.',
        querystring: Type.Object(
          {
            prefix: Type.Optional(Type.String({ maxLength: 512, description: 'target ids starting with this' })),
            target_type: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            since_version: Type.Optional(
              Type.String({ maxLength: 20, description: 'resume after this ledger version (as Last-Event-ID)' }),
            ),
          },
          { additionalProperties: false },
        ),
        headers: ['Last-Event-ID'],
        answers: {
          200: { description: 'The stream of writes', schema: S.EventStreamResponse, contentType: 'text/event-stream' },
        },
      }),
    },
    async (request, reply) => {
      const feed = options.feed;
      if (!feed) throw new LedgerError('UNAVAILABLE', 'resource watch not enabled (it needs the event feed)');
      const after = parseLastEventId(request.headers['last-event-id'], request.query.since_version, 'since_version');
      const { prefix, target_type } = request.query;
      await serve(request, reply, (sse) =>
        openResourceWatch({
          feed,
          filter: { prefix, target_type },
          after,
          send: (changes, ledgerVersion) => {
            let pending: undefined | Promise<void>;
            for (const [n, change] of changes.entries())
              pending = sse.write(
                sseFrame(n === changes.length - 1 ? ledgerVersion : null, 'resource.changed', change),
              );
            return pending;
          },
          onCaughtUp: (ledgerVersion) => sse.write(sseFrame(ledgerVersion, 'ready', { ledger_version: ledgerVersion })),
          onEnd: sse.end,
        }),
      );
    },
  );
}

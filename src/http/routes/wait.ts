// GET /api/ledger/changesets/{id}/wait: answers as soon as the change-set is decided, applied or
// rolled back (whichever `for` asks), or at the timeout with its current state. The waiting itself
// holds no database connection (../../notify/waiters.ts); docs/agents.md says how agents use it.
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { LedgerError } from '../../core/errors.js';
import { Nullable, StringEnum } from '../../core/schema-kit.js';
import { UUID_PATTERN } from '../../core/validate-change-set.js';
import type { Engine } from '../../engine/index.js';
import { LIFECYCLE_EVENTS, WAIT_NEXT_ACTIONS, WAIT_OUTCOMES, waitAnswer } from '../../notify/wait-answer.js';
import {
  type ChangeSetWaiters,
  endsWait,
  WAIT_ENDED_BY,
  WAIT_FOR,
  type WaitEnd,
  type WaitFor,
} from '../../notify/waiters.js';
import { bearer } from '../auth.js';
import { named, operation } from '../openapi.js';
import * as S from '../schemas.js';
import type { StreamCredentialWatch } from '../stream-credentials.js';

export const WAIT_TIMEOUT_DEFAULT_S = 30;
export const WAIT_TIMEOUT_MAX_S = 300;

const WaitQuery = Type.Object(
  {
    for: Type.Optional(StringEnum(WAIT_FOR, { description: 'what to wait for (default decision)' })),
    timeout_s: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: WAIT_TIMEOUT_MAX_S,
        description: `seconds to wait, 0 to ${WAIT_TIMEOUT_MAX_S}, fractions allowed (default ${WAIT_TIMEOUT_DEFAULT_S})`,
      }),
    ),
  },
  { additionalProperties: false },
);

const WaitAnswerSchema = named(
  'WaitAnswer',
  Type.Object({
    for: StringEnum(WAIT_FOR),
    ended_by: StringEnum(WAIT_ENDED_BY),
    outcome: Nullable(StringEnum(WAIT_OUTCOMES)),
    waited_ms: Type.Integer(),
    change_set: S.ChangeSetView,
    event: Nullable(S.EventEnvelope),
    reasons: Type.Array(
      Type.Object({
        by: Type.String(),
        what: Type.String(),
        reason: Nullable(Type.String()),
        at: Type.String(),
      }),
    ),
    next: Type.Object({
      action: StringEnum(WAIT_NEXT_ACTIONS),
      method: Nullable(StringEnum(['GET', 'POST'])),
      path: Nullable(Type.String()),
      hint: Type.String(),
    }),
  }),
);

export function waitRoutes(
  app: FastifyInstance,
  engine: Engine,
  waiters: ChangeSetWaiters | undefined,
  credentials: StreamCredentialWatch,
): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const open = new Set<() => void>();
  // Waits end with their last known state when the server closes (their clients wait again elsewhere).
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  r.get(
    '/changesets/:id/wait',
    {
      schema: operation('GET', {
        operationId: 'waitForChangeSet',
        params: S.ChangeSetParams,
        querystring: WaitQuery,
        tags: ['change-sets'],
        summary: 'Wait until it is decided, applied or rolled back, or until the timeout',
        description:
          '`for=decision` ends when it leaves PENDING_APPROVAL; `for=apply` when it is applied, its apply fails, ' +
          'or it is rejected or withdrawn; `for=rollback` when it is rolled back, or rejected or withdrawn. ' +
          '`ended_by` says whether the outcome or the timeout ended it; `next` says what to do. See docs/agents.md.',
        answers: { 200: { description: 'How the wait ended', schema: WaitAnswerSchema, headers: ['ETag'] } },
        refusals: ['NOT_FOUND', 'UNAUTHENTICATED'],
      }),
    },
    async (request, reply) => {
      const waitFor: WaitFor = request.query.for ?? 'decision';
      const timeoutMs = (request.query.timeout_s ?? WAIT_TIMEOUT_DEFAULT_S) * 1000;
      if (!waiters) throw new LedgerError('UNAVAILABLE', 'waiting is not enabled (it needs the event feed)');
      const reference = request.params.id;
      const started = performance.now();
      // A uuid needs no lookup (an unknown one is NOT_FOUND at the first read); a human id does.
      const id = UUID_PATTERN.test(reference) ? reference.toLowerCase() : await engine.changeSetId(reference);
      // Subscribe first, then read: an event committed after the read is then sure to be heard.
      const handle = waiters.add(id, waitFor);
      const gone = () => {
        if (!reply.raw.writableEnded) handle.cancel();
      };
      const shutdown = () => handle.cancel('shutdown');
      reply.raw.once('close', gone);
      open.add(shutdown);
      // A wait lasts as long as its token authenticates: revoked, or its principal deactivated, it
      // ends with a refusal, not with the change-set's state (stream-credentials.ts).
      let revoked = false;
      const token = bearer(request);
      const unwatch = token
        ? credentials.add(token, () => {
            revoked = true;
            handle.cancel();
          })
        : () => {};
      let end: WaitEnd | null;
      try {
        handle.start(await engine.get(id), timeoutMs);
        end = await handle.done;
      } catch (error) {
        handle.cancel();
        throw error;
      } finally {
        unwatch();
        open.delete(shutdown);
        reply.raw.off('close', gone);
      }
      if (revoked)
        throw new LedgerError('UNAUTHENTICATED', 'the token was revoked or its principal deactivated while waiting');
      if (!end) {
        // The client went away: nothing to answer (the request is over for Fastify too).
        if (reply.raw.destroyed) return reply.hijack();
        throw new LedgerError('UNAVAILABLE', 'the server is shutting down: wait again');
      }
      if (end.endedBy === 'timeout') {
        // The current state; the outcome when it came just now, ahead of its event.
        const current = await engine.get(id);
        end = { ...end, changeSet: current, endedBy: endsWait(waitFor, current) ? 'outcome' : 'timeout' };
      }
      const latest = end.endedBy === 'outcome' && !end.event ? await waiters.latestEvent(id, LIFECYCLE_EVENTS) : null;
      reply.header('etag', `"${end.changeSet.version}"`);
      return waitAnswer(waitFor, end, latest, performance.now() - started);
    },
  );
}

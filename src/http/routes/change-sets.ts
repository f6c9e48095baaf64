// /api/ledger/changesets: thin handlers — parse, call the engine, reply.

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LedgerError } from '../../core/errors.js';
import type { ChangeSet } from '../../core/types.js';
import type { Engine } from '../../engine/index.js';
import { actorOf } from '../auth.js';
import { changeSetBodyRefusal } from '../errors.js';
import type { Metrics } from '../metrics.js';
import * as S from '../schemas.js';

const errors = { '4xx': S.ErrorResponse };
const tags = ['change-sets'];

/** `"7"`, `W/"7"` or `7` → 7; `*` → any version. */
function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
  if (!match) {
    throw new LedgerError('PRECONDITION_FAILED', `If-Match ${header} is not a version this API returned`, [
      { path: 'headers.if-match', message: 'must be an ETag this API returned, e.g. "7"' },
    ]);
  }
  return Number(match[1]);
}

const withETag = (reply: FastifyReply, changeSet: ChangeSet): ChangeSet => {
  reply.header('etag', `"${changeSet.version}"`);
  return changeSet;
};

export function changeSetRoutes(app: FastifyInstance, engine: Engine, metrics: Metrics, pageSizeMax: number): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const one = { params: S.ChangeSetParams, tags };
  const bodyRefusal = (error: Error, request: FastifyRequest, kind: 'create' | 'edit') =>
    changeSetBodyRefusal(error, request, (body) => engine.changeSetBodyProblems(kind, body));

  r.post(
    '/changesets',
    {
      schema: {
        tags,
        summary: 'Propose a change-set',
        body: S.CreateBody,
        response: S.responses({ 201: S.ChangeSetView, ...errors }),
      },
      // A body that fails the schema is refused with core's problems of it too (changeSetBodyRefusal).
      attachValidation: true,
    },
    async (request, reply) => {
      if (request.validationError) throw bodyRefusal(request.validationError, request, 'create');
      const created = await engine.create(actorOf(request), request.body);
      reply.status(201).header('location', `/api/ledger/changesets/${created.id}`);
      return withETag(reply, created);
    },
  );

  r.get(
    '/changesets',
    {
      schema: {
        tags,
        summary: 'List change-sets, newest first',
        querystring: S.ListQuery,
        response: S.responses({ 200: S.ChangeSetList, ...errors }),
      },
    },
    (request) => engine.list(actorOf(request), request.query, pageSizeMax),
  );

  r.get(
    '/changesets/:id',
    {
      schema: {
        ...one,
        summary: 'One change-set with items, approvals, risk and policy results',
        response: S.responses({ 200: S.ChangeSetView, ...errors }),
      },
    },
    async (request, reply) => {
      const changeSet = await engine.get(request.params.id);
      if (request.headers['if-none-match'] === `"${changeSet.version}"`) return reply.status(304).send();
      return withETag(reply, changeSet);
    },
  );

  r.patch(
    '/changesets/:id',
    {
      schema: {
        ...one,
        summary: 'Edit a DRAFT or REJECTED change-set',
        body: S.EditBody,
        response: S.responses({ 200: S.ChangeSetView, ...errors }),
      },
      attachValidation: true,
    },
    async (request, reply) => {
      if (request.validationError) throw bodyRefusal(request.validationError, request, 'edit');
      const ifVersion = parseIfMatch(request.headers['if-match']);
      return withETag(reply, await engine.edit(actorOf(request), request.params.id, request.body, { ifVersion }));
    },
  );

  for (const action of ['submit', 'withdraw', 'reopen', 'close'] as const) {
    const body = action === 'submit' ? undefined : S.ReasonBody;
    r.post(
      `/changesets/:id/${action}`,
      {
        schema: {
          ...one,
          summary: `${action.charAt(0).toUpperCase()}${action.slice(1)} a change-set`,
          ...(body ? { body } : {}),
          response: S.responses({ 200: S.ChangeSetView, ...errors }),
        },
      },
      async (request, reply) => {
        const actor = actorOf(request);
        const id = request.params.id;
        const result =
          action === 'submit' ? await engine.submit(actor, id) : await engine[action](actor, id, request.body);
        return withETag(reply, result);
      },
    );
  }

  r.post(
    '/changesets/:id/approve',
    {
      schema: {
        ...one,
        summary: 'Approve or reject',
        description:
          'Bound to what the reviewer read: `If-Match` (the ETag) refuses with 412 when the change-set has moved ' +
          'on; `content_hash` (of the change-set read) refuses with 409 STALE_CONTENT when its content changed ' +
          'since, saying what changed. `approval.require_content_hash` makes `content_hash` mandatory.',
        body: S.DecisionBody,
        response: S.responses({ 200: S.ChangeSetView, ...errors }),
      },
    },
    async (request, reply) => {
      const ifVersion = parseIfMatch(request.headers['if-match']);
      const result = await engine.decide(actorOf(request), request.params.id, request.body, { ifVersion });
      metrics.approvals.inc({ decision: request.body.decision });
      return withETag(reply, result);
    },
  );

  r.post(
    '/changesets/:id/apply',
    {
      schema: {
        ...one,
        summary: 'Apply (AUTO, ATOMIC, BEST_EFFORT) or plan (DRY_RUN)',
        body: S.ApplyBody,
        response: S.responses({ 200: S.ApplyResult, ...errors }),
      },
    },
    async (request) => {
      const actor = actorOf(request);
      // DRY_RUN writes nothing: it answers the plan.
      if (request.body?.mode === 'DRY_RUN') return engine.plan(request.params.id);
      try {
        const result = await engine.apply(actor, request.params.id, request.body);
        metrics.applies.inc({ result: result.success ? 'success' : 'partial' });
        return result;
      } catch (error) {
        if (error instanceof LedgerError && error.code === 'APPLY_FAILED') metrics.applies.inc({ result: 'failed' });
        throw error;
      }
    },
  );

  r.get(
    '/changesets/:id/plan',
    { schema: { ...one, summary: 'The dry-run plan', response: S.responses({ 200: S.PlanResult, ...errors }) } },
    (request) => engine.plan(request.params.id),
  );

  r.post(
    '/changesets/:id/rollback',
    {
      schema: {
        ...one,
        summary: 'Roll back the applied items',
        body: S.RollbackBody,
        response: S.responses({ 200: S.RollbackResult, ...errors }),
      },
    },
    async (request) => {
      const result = await engine.rollback(actorOf(request), request.params.id, request.body);
      metrics.rollbacks.inc({ forced: String(result.forced) });
      return result;
    },
  );

  r.get(
    '/changesets/:id/audit',
    { schema: { ...one, summary: 'Its audit entries, oldest first' } },
    async (request) => ({ data: await engine.audit(request.params.id) }),
  );
}

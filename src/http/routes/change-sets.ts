// /api/ledger/changesets: thin handlers — parse, call the engine, reply.

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LedgerError } from '../../core/errors.js';
import type { ChangeSet } from '../../core/types.js';
import type { Engine } from '../../engine/index.js';
import { actorOf } from '../auth.js';
import { changeSetBodyRefusal } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { type Answer, operation } from '../openapi.js';
import * as S from '../schemas.js';

const tags = ['change-sets'];
/** A change-set answered with its version as ETag. */
const changeSet = (description: string): Answer => ({ description, schema: S.ChangeSetView, headers: ['ETag'] });
/** Refusals of an action on an existing change-set (docs/errors.md). */
const ACTION_REFUSALS = ['NOT_FOUND', 'FORBIDDEN', 'INVALID_TRANSITION', 'POLICY_DENIED'] as const;
const ACTION_NAMES = {
  submit: 'submitChangeSet',
  withdraw: 'withdrawChangeSet',
  reopen: 'reopenChangeSet',
  close: 'closeChangeSet',
};

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
  const bodyRefusal = (error: Error, request: FastifyRequest, kind: 'create' | 'edit') =>
    changeSetBodyRefusal(error, request, (body) => engine.changeSetBodyProblems(kind, body));

  r.post(
    '/changesets',
    {
      schema: operation('POST', {
        operationId: 'createChangeSet',
        tags,
        summary: 'Propose a change-set',
        body: S.CreateBody,
        answers: { 201: { ...changeSet('Created'), headers: ['ETag', 'Location'] } },
        refusals: ['DUPLICATE', 'FORBIDDEN', 'NOT_FOUND', 'POLICY_DENIED', 'APPROVAL_UNSATISFIABLE', 'APPLY_FAILED'],
      }),
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
      schema: operation('GET', {
        operationId: 'listChangeSets',
        tags,
        summary: 'List change-sets, newest first',
        querystring: S.ListQuery,
        answers: { 200: { description: 'One page', schema: S.ChangeSetPage } },
      }),
    },
    (request) => engine.list(actorOf(request), request.query, pageSizeMax),
  );

  r.get(
    '/changesets/:id',
    {
      schema: operation('GET', {
        operationId: 'getChangeSet',
        tags,
        summary: 'One change-set with items, approvals, risk and policy results',
        params: S.ChangeSetParams,
        headers: ['If-None-Match'],
        answers: {
          200: changeSet('The change-set'),
          304: { description: 'Not modified: If-None-Match names its current version' },
        },
        refusals: ['NOT_FOUND'],
      }),
    },
    async (request, reply) => {
      // The text this route's serializer makes of the view (as send would), kept while its inputs hold.
      const view = await engine.getRendered(request.params.id, (changeSet) =>
        String(reply.serializeInput(changeSet as unknown as Record<string, unknown>, '200', 'application/json')),
      );
      if (request.headers['if-none-match'] === `"${view.version}"`) return reply.status(304).send();
      reply.header('etag', `"${view.version}"`).type('application/json; charset=utf-8');
      return reply.send(view.text);
    },
  );

  r.patch(
    '/changesets/:id',
    {
      schema: operation('PATCH', {
        operationId: 'editChangeSet',
        tags,
        summary: 'Edit a DRAFT or REJECTED change-set',
        params: S.ChangeSetParams,
        body: S.EditBody,
        headers: ['If-Match'],
        answers: { 200: changeSet('The edited change-set') },
        refusals: [...ACTION_REFUSALS, 'PRECONDITION_FAILED', 'APPROVAL_UNSATISFIABLE'],
      }),
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
        schema: operation('POST', {
          operationId: ACTION_NAMES[action],
          tags,
          summary: `${action.charAt(0).toUpperCase()}${action.slice(1)} a change-set`,
          params: S.ChangeSetParams,
          ...(body ? { body, bodyOptional: true } : {}),
          answers: { 200: changeSet('The change-set after the action') },
          refusals: [
            ...ACTION_REFUSALS,
            ...(action === 'submit'
              ? (['APPROVAL_UNSATISFIABLE', 'ITEMS_NOT_APPLICABLE', 'APPLY_FAILED'] as const)
              : []),
          ],
        }),
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
      schema: operation('POST', {
        operationId: 'decideChangeSet',
        tags,
        summary: 'Approve or reject',
        params: S.ChangeSetParams,
        headers: ['If-Match'],
        description:
          'Bound to what the reviewer read: `If-Match` (the ETag) refuses with 412 when the change-set has moved ' +
          'on; `content_hash` (of the change-set read) refuses with 409 STALE_CONTENT when its content changed ' +
          'since, saying what changed. `approval.require_content_hash` makes `content_hash` mandatory.',
        body: S.DecisionBody,
        answers: { 200: changeSet('The change-set after the decision') },
        refusals: [...ACTION_REFUSALS, 'PRECONDITION_FAILED', 'STALE_CONTENT', 'APPLY_FAILED'],
      }),
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
      schema: operation('POST', {
        operationId: 'applyChangeSet',
        tags,
        summary: 'Apply (AUTO, ATOMIC, BEST_EFFORT) or plan (DRY_RUN)',
        description:
          'With `mode: DRY_RUN` nothing is written and the answer is the plan (`DryRunResult`); otherwise the ' +
          'apply (`ApplyResult`). `mode` tells them apart. An ATOMIC apply that fails is 409 APPLY_FAILED.',
        params: S.ChangeSetParams,
        body: S.ApplyBody,
        bodyOptional: true,
        answers: {
          200: { description: 'The apply, or the plan', schema: S.ApplyAnswer },
        },
        refusals: [...ACTION_REFUSALS, 'APPLY_FAILED', 'CONFLICT'],
      }),
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
    {
      schema: operation('GET', {
        operationId: 'planChangeSet',
        tags,
        summary: 'The dry-run plan',
        params: S.ChangeSetParams,
        answers: { 200: { description: 'What applying would do now', schema: S.PlanResult } },
        refusals: ['NOT_FOUND'],
      }),
    },
    (request) => engine.plan(request.params.id),
  );

  r.post(
    '/changesets/:id/rollback',
    {
      schema: operation('POST', {
        operationId: 'rollbackChangeSet',
        tags,
        summary: 'Roll back the applied items',
        params: S.ChangeSetParams,
        body: S.RollbackBody,
        bodyOptional: true,
        answers: { 200: { description: 'The rollback', schema: S.RollbackResult } },
        refusals: [...ACTION_REFUSALS, 'CONFLICT'],
      }),
    },
    async (request) => {
      const result = await engine.rollback(actorOf(request), request.params.id, request.body);
      metrics.rollbacks.inc({ forced: String(result.forced) });
      return result;
    },
  );

  r.get(
    '/changesets/:id/audit',
    {
      schema: operation('GET', {
        operationId: 'getChangeSetAudit',
        tags,
        summary: 'Its audit entries, oldest first',
        params: S.ChangeSetParams,
        answers: { 200: { description: 'Every entry of its chain', schema: S.AuditEntries } },
        refusals: ['NOT_FOUND'],
      }),
    },
    async (request) => ({ data: await engine.audit(request.params.id) }),
  );
}

// Resources, the audit check, the loaded policies, principals and tokens.

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Engine } from '../../engine/engine.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

const errors = { '4xx': S.ErrorResponse };

const PolicyView = Type.Object({
  name: Type.String(),
  condition: Type.String(),
  effect: Type.String(),
  actions: Type.Array(Type.String()),
  approvers: Type.Array(Type.String()),
  count: Type.Integer(),
  message: Type.Union([Type.String(), Type.Null()]),
});

export function ledgerRoutes(app: FastifyInstance, engine: Engine): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/resources',
    {
      schema: {
        tags: ['resources'],
        summary: 'Current resources',
        querystring: Type.Object(
          {
            target_type: Type.Optional(Type.String({ maxLength: 128 })),
            prefix: Type.Optional(Type.String({ maxLength: 512 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            after: Type.Optional(Type.String({ maxLength: 700 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    (request) => engine.listResources(request.query),
  );
  r.get(
    '/resources/:target_type/:target_id',
    {
      schema: {
        tags: ['resources'],
        summary: 'One resource',
        params: S.ResourceParams,
        response: S.responses({ ...errors }),
      },
    },
    (request) => engine.resource(request.params.target_type, request.params.target_id),
  );
  r.get(
    '/resources/:target_type/:target_id/history',
    {
      schema: {
        tags: ['resources'],
        summary: 'Every version of a resource and the change-set that made it',
        params: S.ResourceParams,
      },
    },
    async (request) => ({
      data: await engine.resourceHistory(request.params.target_type, request.params.target_id),
    }),
  );

  const verifySummary = 'Recompute every hash chain, check head signatures, and check the state against the chains';
  r.get('/audit/verify', { schema: { tags: ['audit'], summary: verifySummary } }, () => engine.verifyAudit());

  r.get(
    '/policies',
    {
      schema: {
        tags: ['policies'],
        summary: 'The loaded policies (read-only)',
        response: S.responses({ 200: Type.Object({ data: Type.Array(PolicyView) }) }),
      },
    },
    () => ({ data: engine.policies() }),
  );

  r.get(
    '/me',
    {
      schema: {
        tags: ['principals'],
        summary: 'The authenticated principal',
        response: S.responses({ 200: S.PrincipalView }),
      },
    },
    (request) => actorOf(request),
  );
  r.get('/principals', { schema: { tags: ['principals'], summary: 'All principals' } }, async () => ({
    data: await engine.listPrincipals(),
  }));
  r.post(
    '/principals',
    {
      schema: {
        tags: ['principals'],
        summary: 'Add a principal (admin); returns its first token, shown once',
        body: S.PrincipalBody,
        response: S.responses({ 201: Type.Object({ principal: S.PrincipalView, token: S.IssuedToken }), ...errors }),
      },
    },
    async (request, reply) => {
      const b = request.body;
      const { principal, token } = await engine.createPrincipal(actorOf(request), {
        id: b.id,
        kind: b.kind ?? 'human',
        display_name: b.display_name ?? null,
        email: b.email ?? null,
        slack_id: b.slack_id ?? null,
        groups: b.groups ?? [],
        risk: b.risk ?? null,
        active: true,
      });
      return reply.status(201).send({ principal, token: token! });
    },
  );
  r.get(
    '/principals/:id',
    {
      schema: {
        tags: ['principals'],
        params: S.PrincipalParams,
        response: S.responses({ 200: S.PrincipalView, ...errors }),
      },
    },
    (request) => engine.requirePrincipal(request.params.id),
  );
  r.patch(
    '/principals/:id',
    {
      schema: {
        tags: ['principals'],
        summary: 'Change a principal (admin), e.g. active: false',
        params: S.PrincipalParams,
        body: S.PrincipalPatch,
        response: S.responses({ 200: S.PrincipalView, ...errors }),
      },
    },
    (request) => engine.updatePrincipal(actorOf(request), request.params.id, request.body),
  );
  r.post(
    '/principals/:id/tokens',
    {
      schema: {
        tags: ['principals'],
        summary: 'Issue a token (admin), shown once',
        params: S.PrincipalParams,
        body: Type.Optional(S.TokenBody),
        response: S.responses({ 201: S.IssuedToken, ...errors }),
      },
    },
    async (request, reply) =>
      reply.status(201).send(await engine.issueToken(actorOf(request), request.params.id, request.body?.name ?? null)),
  );
  r.delete(
    '/tokens/:token_id',
    { schema: { tags: ['principals'], summary: 'Revoke a token (admin)', params: S.TokenParams } },
    (request) => engine.revokeToken(actorOf(request), request.params.token_id),
  );
}

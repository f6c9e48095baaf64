// Resources, the audit check, the loaded policies, principals and tokens.

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { assertAdmin } from '../../core/credentials.js';
import { ReplayResultSchema } from '../../core/replay.js';
import { type Engine, type EngineConfig, REPLAY_DEFAULT_LIMIT, REPLAY_MAX_LIMIT } from '../../engine/index.js';
import { actorOf } from '../auth.js';
import { operation } from '../openapi.js';
import * as S from '../schemas.js';

const ResourceQuery = Type.Object(
  {
    target_type: Type.Optional(Type.String({ maxLength: 128 })),
    prefix: Type.Optional(Type.String({ maxLength: 512 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    cursor: S.Cursor,
    after: Type.Optional(Type.String({ maxLength: 700, deprecated: true, description: 'the former name of `cursor`' })),
  },
  { additionalProperties: false },
);

const POLICIES_DESCRIPTION =
  'Every authenticated principal sees the enforced policies. Admins also see the policies in shadow mode ' +
  'and, per shadow policy, how often it matched since `since` (default 30d) and what enforcing it would ' +
  'have done, with links to the change-sets; an agent that could read them could learn to slip past a ' +
  'rule before it is enforced.';

/** How far back a report or a replay looks: `30d`, `12h`, `90m` or an ISO-8601 time. */
const Since = Type.Optional(Type.String({ maxLength: 64, description: '30d, 12h, 90m or an ISO-8601 time' }));

const REPLAY_DESCRIPTION =
  'Validates `config` (YAML text, or the same as a JSON object) with the schema of the configuration file ' +
  '(400 VALIDATION_FAILED naming each path), then judges every change-set created since `since` (default ' +
  '30d) as create, submit, apply and rollback would have under it: risk level, auto-approval, required ' +
  'approvals, denials. Nothing is written: no row, no audit entry, no event. Admins only. The candidate is ' +
  'read without the server environment, so an environment reference (dollar, braces) in it is refused.';

const ReplayBody = Type.Object(
  {
    config: Type.Union([Type.String({ maxLength: 1_000_000 }), Type.Object({})], {
      description: 'The candidate configuration: YAML text or a JSON object',
    }),
    since: Since,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: REPLAY_MAX_LIMIT, default: REPLAY_DEFAULT_LIMIT })),
    enforce_shadow: Type.Optional(Type.Boolean({ description: "Judge the candidate's shadow policies as enforced" })),
  },
  { additionalProperties: false },
);

const CONTACTS_PRIVATE =
  'Contact details (`email`, `slack_id`) are private: they are included only for admins and for the ' +
  'principal itself; anyone else gets the principal without those two fields.';

export interface LedgerRouteOptions {
  /** The dashboard's base URL, for an enrolment's redeem_url (no trailing slash). */
  dashboardUrl: string;
  /** Reads replay's candidate configuration; without it POST /policies/replay is not served. */
  candidateConfig?: ((text: string) => EngineConfig) | undefined;
}

export function ledgerRoutes(app: FastifyInstance, engine: Engine, options: LedgerRouteOptions): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/resources',
    {
      schema: operation('GET', {
        operationId: 'listResources',
        tags: ['resources'],
        summary: 'Current resources, in key order',
        querystring: ResourceQuery,
        answers: { 200: { description: 'One page', schema: S.ResourcePage } },
      }),
    },
    (request) => {
      const { after, cursor, ...query } = request.query;
      return engine.listResources({ ...query, cursor: cursor ?? after });
    },
  );
  r.get(
    '/resources/:target_type/:target_id',
    {
      schema: operation('GET', {
        operationId: 'getResource',
        tags: ['resources'],
        summary: 'One resource',
        params: S.ResourceParams,
        answers: { 200: { description: 'Its current version', schema: S.ResourceView } },
        refusals: ['NOT_FOUND'],
      }),
    },
    (request) => engine.resource(request.params.target_type, request.params.target_id),
  );
  r.get(
    '/resources/:target_type/:target_id/history',
    {
      schema: operation('GET', {
        operationId: 'getResourceHistory',
        tags: ['resources'],
        summary: 'Every version of a resource and the change-set that made it',
        params: S.ResourceParams,
        answers: { 200: { description: 'Oldest first (empty for a target never written)', schema: S.ResourceHistory } },
      }),
    },
    async (request) => ({
      data: await engine.resourceHistory(request.params.target_type, request.params.target_id),
    }),
  );

  const verifySummary = 'Recompute every hash chain, check head signatures, and check the state against the chains';
  r.get(
    '/audit/verify',
    {
      schema: operation('GET', {
        operationId: 'verifyAudit',
        tags: ['audit'],
        summary: verifySummary,
        answers: { 200: { description: 'What verify found', schema: S.AuditVerification } },
      }),
    },
    () => engine.verifyAudit(),
  );

  r.get(
    '/policies',
    {
      schema: operation('GET', {
        operationId: 'listPolicies',
        tags: ['policies'],
        summary: "The loaded policies (read-only), with the shadow policies' report for admins",
        description: POLICIES_DESCRIPTION,
        querystring: Type.Object({ since: Since }, { additionalProperties: false }),
        answers: { 200: { description: 'Every policy, as configured', schema: S.PolicyList } },
      }),
    },
    (request) => engine.policies(actorOf(request), { since: request.query.since }),
  );

  const candidateConfig = options.candidateConfig;
  if (candidateConfig) {
    r.post(
      '/policies/replay',
      {
        schema: operation('POST', {
          operationId: 'replayPolicies',
          tags: ['policies'],
          summary: 'Judge a candidate configuration against the recorded history, changing nothing (admin)',
          description: REPLAY_DESCRIPTION,
          body: ReplayBody,
          answers: {
            200: { description: 'What would differ, per change-set, with totals', schema: ReplayResultSchema },
          },
          refusals: ['FORBIDDEN'],
        }),
      },
      (request) => {
        const { config, since, limit, enforce_shadow } = request.body;
        // JSON is YAML: an object is read by the same loader as the text of a file.
        const candidate = candidateConfig(typeof config === 'string' ? config : JSON.stringify(config));
        return engine.replayPolicies(actorOf(request), candidate, { since, limit, enforce_shadow });
      },
    );
  }

  r.get(
    '/me',
    {
      schema: operation('GET', {
        operationId: 'getMe',
        tags: ['principals'],
        summary: 'The authenticated principal',
        answers: { 200: { description: 'Who the token belongs to', schema: S.PrincipalView } },
      }),
    },
    (request) => actorOf(request),
  );
  r.get(
    '/principals',
    {
      schema: operation('GET', {
        operationId: 'listPrincipals',
        tags: ['principals'],
        summary: 'All principals',
        description: CONTACTS_PRIVATE,
        answers: { 200: { description: 'Every principal', schema: S.PrincipalList } },
      }),
    },
    async (request) => ({ data: await engine.listPrincipalsFor(actorOf(request)) }),
  );
  r.post(
    '/principals',
    {
      config: { issuesSecret: { authorize: assertAdmin } },
      schema: operation('POST', {
        operationId: 'createPrincipal',
        tags: ['principals'],
        summary: 'Add a principal (admin); an agent or service gets its first token, shown once',
        issuesSecret: true,
        description:
          'An agent or a service comes with its first token, shown once (never replayed for a repeated ' +
          'Idempotency-Key). A human gets `token: null`: people take their own credentials by redeeming ' +
          'an enrolment (POST /principals/{id}/enrolments), unless `auth.admin_may_issue_human_tokens` is on.',
        body: S.PrincipalBody,
        answers: { 201: { description: 'The principal, and its first token or null', schema: S.PrincipalCreated } },
        refusals: ['FORBIDDEN', 'DUPLICATE'],
      }),
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
      return reply.status(201).send({ principal, token });
    },
  );
  r.get(
    '/principals/:id',
    {
      schema: operation('GET', {
        operationId: 'getPrincipal',
        tags: ['principals'],
        summary: 'One principal',
        description: CONTACTS_PRIVATE,
        params: S.PrincipalParams,
        answers: { 200: { description: 'The principal', schema: S.PrincipalView } },
        refusals: ['NOT_FOUND'],
      }),
    },
    (request) => engine.principalFor(actorOf(request), request.params.id),
  );
  r.patch(
    '/principals/:id',
    {
      schema: operation('PATCH', {
        operationId: 'updatePrincipal',
        tags: ['principals'],
        summary: 'Change a principal (admin), e.g. active: false',
        params: S.PrincipalParams,
        body: S.PrincipalPatch,
        answers: { 200: { description: 'The principal as changed', schema: S.PrincipalView } },
        refusals: ['FORBIDDEN', 'NOT_FOUND'],
      }),
    },
    (request) => engine.updatePrincipal(actorOf(request), request.params.id, request.body),
  );
  r.post(
    '/principals/:id/tokens',
    {
      config: { issuesSecret: { authorize: assertAdmin } },
      schema: operation('POST', {
        operationId: 'issueToken',
        tags: ['principals'],
        summary: 'Issue a token (admin) for an agent or a service, shown once',
        issuesSecret: true,
        description:
          'Refused (403) for a human unless `auth.admin_may_issue_human_tokens` is on: people redeem an ' +
          'enrolment instead. The token is shown once: a repeat with the same Idempotency-Key is refused ' +
          'with SECRET_SHOWN_ONCE.',
        params: S.PrincipalParams,
        body: S.TokenBody,
        bodyOptional: true,
        answers: { 201: { description: 'The token, shown once', schema: S.TokenIssued } },
        refusals: ['FORBIDDEN', 'NOT_FOUND'],
      }),
    },
    async (request, reply) =>
      reply
        .status(201)
        .send({ token: await engine.issueToken(actorOf(request), request.params.id, request.body?.name ?? null) }),
  );
  r.post(
    '/principals/:id/enrolments',
    {
      config: { issuesSecret: { authorize: assertAdmin } },
      schema: operation('POST', {
        operationId: 'createEnrolment',
        tags: ['principals'],
        summary: 'Create a one-time enrolment (admin): a code the principal redeems for their own token',
        issuesSecret: true,
        description:
          'The code is shown once (stored only as its hash; a repeat with the same Idempotency-Key is ' +
          'refused with SECRET_SHOWN_ONCE) and expires after `auth.enrolment_ttl_hours`. Hand it (or ' +
          '`redeem_url`, the dashboard page that redeems it) to the principal only.',
        params: S.PrincipalParams,
        answers: { 201: { description: 'The enrolment, its code shown once', schema: S.CreatedEnrolment } },
        refusals: ['FORBIDDEN', 'NOT_FOUND'],
      }),
    },
    async (request, reply) => {
      const created = await engine.createEnrolment(actorOf(request), request.params.id);
      const redeem_url = `${options.dashboardUrl}/enrol#code=${encodeURIComponent(created.code)}`;
      return reply.status(201).send({ ...created, redeem_url });
    },
  );
  r.post(
    '/enrolments/redeem',
    {
      schema: operation('POST', {
        operationId: 'redeemEnrolment',
        tags: ['principals'],
        summary: 'Redeem an enrolment code for a token (no token needed), once',
        public: true,
        description:
          'The code is the credential. A code already redeemed or expired: 410 GONE. The redemption is ' +
          'audited and announced (`token.issued`, via enrolment) to the principal and the admins.',
        body: S.RedeemBody,
        answers: { 201: { description: 'The token, shown once', schema: S.TokenIssued } },
        refusals: ['NOT_FOUND', 'GONE', 'FORBIDDEN'],
      }),
    },
    async (request, reply) =>
      reply.status(201).send({ token: await engine.redeemEnrolment(request.body.code, { ip: request.ip }) }),
  );
  r.delete(
    '/tokens/:token_id',
    {
      schema: operation('DELETE', {
        operationId: 'revokeToken',
        tags: ['principals'],
        summary: 'Revoke a token (admin)',
        params: S.TokenParams,
        answers: { 200: { description: 'The token record, revoked', schema: S.RevokedToken } },
        refusals: ['FORBIDDEN', 'NOT_FOUND'],
      }),
    },
    (request) => engine.revokeToken(actorOf(request), request.params.token_id),
  );
}

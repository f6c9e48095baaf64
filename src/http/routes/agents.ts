// /api/ledger/agents/{id}/track-record: an agent's outcomes and earned trust (docs/trust.md).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { OUTCOMES } from '../../core/trust.js';
import type { Engine } from '../../engine/index.js';
import { actorOf } from '../auth.js';
import { named, operation } from '../openapi.js';
import * as S from '../schemas.js';

const Spread = Type.Object({ min: Type.Integer(), median: Type.Integer(), max: Type.Integer() });

const WindowCounts = Type.Object({
  ...Object.fromEntries(OUTCOMES.map((outcome) => [outcome, Type.Integer({ minimum: 0 })])),
  rejected_by_veto: Type.Integer({ minimum: 0, description: 'rejections by a reviewer while pending' }),
  change_fail_rate: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
    description: '(rolled_back + apply_failed) / (applied + partially_applied + apply_failed), at most 1',
  }),
  rollback_after_apply_ms: Type.Union([Spread, Type.Null()], {
    description: 'how soon after the apply the rollbacks of the window came',
  }),
});
const ByWindow = Type.Record(Type.String(), WindowCounts, { description: 'window name (7d, 30d…, all) → counts' });

const TrackRecordView = named(
  'TrackRecord',
  Type.Object({
    agent_id: Type.String(),
    as_of: Type.String({ format: 'date-time' }),
    windows: Type.Array(
      Type.Object({
        name: Type.String(),
        days: Type.Union([Type.Integer(), Type.Null()]),
        since: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      }),
    ),
    overall: ByWindow,
    by_category: Type.Record(Type.String(), ByWindow),
    by_target_type: Type.Record(Type.String(), ByWindow),
    trust: Type.Object({
      mode: Type.Union([Type.Literal('off'), Type.Literal('shadow'), Type.Literal('enforce')]),
      window_days: Type.Integer(),
      applied: Type.Integer(),
      failures: Type.Integer(),
      clean_streak: Type.Integer(),
      credit: Type.Integer(),
      penalty: Type.Integer(),
      adjustment: Type.Integer({ description: 'points on the agent factor: negative lowers it' }),
      reason: Type.String(),
    }),
  }),
);

export function agentRoutes(app: FastifyInstance, engine: Engine): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.get(
    '/agents/:id/track-record',
    {
      schema: operation('GET', {
        operationId: 'getTrackRecord',
        tags: ['agents'],
        summary: "An agent's track record and earned trust",
        description:
          'Outcomes of the agent’s change-sets per window, overall, per category and per target type, and the ' +
          'trust adjustment its next change-set starts from. For admins, people (principals of kind human) and ' +
          'the agent itself; anyone else is refused (403) before the agent is looked up.',
        params: S.PrincipalParams,
        answers: { 200: { description: 'The track record and the trust it earns', schema: TrackRecordView } },
        refusals: ['FORBIDDEN', 'NOT_FOUND'],
      }),
    },
    (request) => engine.trackRecord(actorOf(request), request.params.id),
  );
}

// /api/ledger/agents/{id}/track-record: an agent's outcomes and earned trust (docs/trust.md).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { TrackRecordSchema } from '../../core/trust.js';
import type { Engine } from '../../engine/index.js';
import { actorOf } from '../auth.js';
import { named, operation } from '../openapi.js';
import * as S from '../schemas.js';

const TrackRecordView = named('TrackRecord', TrackRecordSchema);

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

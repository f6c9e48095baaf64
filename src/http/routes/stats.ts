// /api/ledger/stats: activity at a glance, for the dashboard's overview page and anyone's own charts.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { ACTIVITY_DAYS, ActivityStatsSchema } from '../../core/activity.js';
import type { Engine } from '../../engine/index.js';
import { named, operation } from '../openapi.js';

const ActivityStats = named('ActivityStats', ActivityStatsSchema);

const ActivityQuery = Type.Object(
  {
    days: Type.Optional(
      Type.Integer({
        minimum: ACTIVITY_DAYS.min,
        maximum: ACTIVITY_DAYS.max,
        default: ACTIVITY_DAYS.default,
        description: 'whole UTC days ending today',
      }),
    ),
  },
  { additionalProperties: false },
);

export function statsRoutes(app: FastifyInstance, engine: Engine): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/stats/activity',
    {
      schema: operation('GET', {
        operationId: 'getActivityStats',
        tags: ['stats'],
        summary: 'Activity over the last days: outcomes per day, time to decision, the queue now, per agent',
        description:
          'Any authenticated principal. Days are UTC days; today is counted so far. Outcomes come from the ' +
          'audit trail: proposed (created), applied (reached APPLIED), rejected (reached REJECTED: veto, ' +
          'revoked approval, expiry or close) and rolled back. Time to decision runs from a submit to the ' +
          'approval or veto that ended that round. See docs/design.md#activity.',
        querystring: ActivityQuery,
        answers: { 200: { description: 'The activity of the window', schema: ActivityStats } },
      }),
    },
    (request) => engine.activity({ days: request.query.days }),
  );
}

// /api/ledger/deliveries: notification deliveries (groups admin and operator) and manual retries.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine/index.js';
import { actorOf } from '../auth.js';
import { operation } from '../openapi.js';
import * as S from '../schemas.js';

const tags = ['deliveries'];

export function deliveryRoutes(app: FastifyInstance, engine: Engine, pageSizeMax: number): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/deliveries',
    {
      schema: operation('GET', {
        operationId: 'listDeliveries',
        tags,
        summary: 'Notification deliveries, newest first (groups admin and operator)',
        querystring: S.DeliveryQuery,
        answers: { 200: { description: 'One page', schema: S.DeliveryList } },
        refusals: ['FORBIDDEN'],
      }),
    },
    (request) => engine.listDeliveries(actorOf(request), request.query, pageSizeMax),
  );

  r.post(
    '/deliveries/:id/retry',
    {
      schema: operation('POST', {
        operationId: 'retryDelivery',
        tags,
        summary: 'Retry a delivery now with a fresh set of attempts (groups admin and operator)',
        params: S.DeliveryParams,
        answers: { 200: { description: 'The delivery, due now', schema: S.DeliveryView } },
        refusals: ['FORBIDDEN', 'NOT_FOUND'],
      }),
    },
    (request) => engine.retryDelivery(actorOf(request), request.params.id),
  );
}

// /api/ledger/deliveries: notification deliveries (groups admin and operator) and manual retries.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine/index.js';
import { actorOf } from '../auth.js';
import * as S from '../schemas.js';

const errors = { '4xx': S.ErrorResponse };
const tags = ['deliveries'];

export function deliveryRoutes(app: FastifyInstance, engine: Engine, pageSizeMax: number): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.get(
    '/deliveries',
    {
      schema: {
        tags,
        summary: 'Notification deliveries, newest first (groups admin and operator)',
        querystring: S.DeliveryQuery,
        response: S.responses({ 200: S.DeliveryList, ...errors }),
      },
    },
    (request) => engine.listDeliveries(actorOf(request), request.query, pageSizeMax),
  );

  r.post(
    '/deliveries/:id/retry',
    {
      schema: {
        tags,
        summary: 'Retry a delivery now with a fresh set of attempts (groups admin and operator)',
        params: S.DeliveryParams,
        response: S.responses({ 200: S.DeliveryView, ...errors }),
      },
    },
    (request) => engine.retryDelivery(actorOf(request), request.params.id),
  );
}

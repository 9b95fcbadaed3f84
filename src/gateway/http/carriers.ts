/**
 * Hybrid fleet routes (issue 13; runtime/carrier-dispatch.ts does the work):
 *   POST /v1/orders/:id/fleet {fleet: "own" | "<carrier>", version?}  dispatcher, admin → 200 {order}
 *     `own`: own fleet only from now on (a carrier order not picked up yet is cancelled at the carrier and
 *     comes back to the open pool); a carrier's name: handed to that carrier now (from the pool or from an
 *     own courier before pickup; never while an own offer is open).
 *     Refusals: 404 order_not_found, unknown_carrier · 409 illegal_transition, version_conflict,
 *     carrier_not_cancellable, order_changed · 502 carrier_refused · 503 carrier_unavailable.
 *   POST /v1/carriers/:name/webhooks   public, signed by the carrier (X-Carrier-Signature) → 200 {applied, note?}
 *     401 bad_signature · 404 unknown_carrier · 400 bad_webhook · 503 handoff_pending (retry: the order
 *     is being handed to the carrier right now).
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { publicOrder } from '../../domain/order.js';
import { AppError } from '../errors.js';
import { actorOf, rejectInvalid } from './orders.js';
import { OrderIdParams, toAppError, typeboxValidator } from './orders-schemas.js';
import { errorResponses } from './common-schemas.js';
import { OrderEnvelopeSchema } from './response-schemas.js';

export const FleetBodySchema = Type.Object(
  {
    fleet: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9_-]+$', description: '`own`, or the name of a configured carrier' }),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'expected order version (optimistic check)' })),
  },
  { additionalProperties: false },
);

const WebhookParams = Type.Object({ name: Type.String({ maxLength: 64 }) });
/** What a carrier sends (docs/carrier-api.md); documentation only: the signed raw body is checked by the carrier's adapter. */
const CarrierWebhookBody = Type.Object(
  {
    eventId: Type.String({ description: 'unique per event (retries repeat it)' }),
    type: Type.Union([Type.Literal('delivery.status'), Type.Literal('delivery.location')]),
    deliveryId: Type.String(),
    externalId: Type.String({ description: '`<order id>:<order version at hand-off>`' }),
    at: Type.Integer({ description: 'epoch ms' }),
    status: Type.Optional(Type.String({ description: 'delivery.status: created, courier_assigned, at_pickup, picked_up, at_dropoff, delivered, failed, cancelled' })),
    reason: Type.Optional(Type.String()),
    courier: Type.Optional(Type.Object({ id: Type.String(), lat: Type.Number(), lng: Type.Number() })),
    eta: Type.Optional(Type.Integer({ description: 'delivery.location: the carrier’s ETA at its next stop, epoch ms' })),
  },
  { description: 'signed with X-Carrier-Signature' },
);

const WebhookAnswer = Type.Object({
  applied: Type.Boolean({ description: 'false: a replay, an older status, or an update of an order that moved on (nothing to do)' }),
  note: Type.Optional(Type.String()),
});

async function mapped<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw toAppError(err);
  }
}

export async function carrierRoutes(app: FastifyInstance): Promise<void> {
  app.post(
    '/v1/orders/:id/fleet',
    {
      attachValidation: true,
      validatorCompiler: typeboxValidator,
      config: { roles: ['dispatcher', 'admin'] },
      schema: {
        summary: 'Force an order to the own fleet or to a carrier',
        description:
          '`own`: own fleet only from now on (a carrier order not picked up yet is cancelled at the carrier and comes back to the pool). A carrier’s name: hand it to that carrier now (from the pool, or from an own courier before pickup; not while an own offer is open).',
        tags: ['dispatch'],
        params: OrderIdParams,
        body: FleetBodySchema,
        response: {
          200: OrderEnvelopeSchema,
          ...errorResponses({
            400: ['validation_failed'],
            401: ['unauthorized'],
            403: ['forbidden', 'override_forbidden'],
            404: ['order_not_found', 'unknown_carrier'],
            409: ['illegal_transition', 'version_conflict', 'carrier_not_cancellable', 'order_changed'],
            429: ['rate_limited'],
            502: ['carrier_refused'],
            503: ['carrier_unavailable'],
          }),
        },
      },
    },
    async (request) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      const { fleet, version } = request.body as { fleet: string; version?: number };
      const actor = actorOf(request);
      const carriers = app.carrierDispatch;
      if (!carriers) {
        if (fleet !== 'own') throw new AppError(404, 'unknown_carrier', `no carrier named ${fleet}`, { carrier: fleet, field: 'fleet' });
        const current = await app.orders.repo.get(id);
        if (!current) throw new AppError(404, 'order_not_found', 'order not found');
        if (version !== undefined && version !== current.version) throw new AppError(409, 'version_conflict', `order ${id} changed; reload it and decide again`);
        return { order: publicOrder((await mapped(app.orders.lifecycle.apply(id, { type: 'fleet_forced', fleet: 'own', reason: 'dispatcher' }, actor))).order) };
      }
      return { order: publicOrder(await mapped(carriers.force(id, fleet, actor, version))) };
    },
  );

  // carriers sign the raw body: this route keeps it as a string (its own JSON parser, scoped here)
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post(
      '/v1/carriers/:name/webhooks',
      {
        config: { public: true },
        // the body stays the raw string the signature covers: the adapter checks and parses it
        validatorCompiler: () => () => true,
        schema: {
          summary: 'Carrier webhook: a delivery status or the carrier courier’s position',
          description:
            'Called by a third-party carrier (docs/carrier-api.md), signed `X-Carrier-Signature: t=<ms>,v1=<HMAC-SHA256(webhook secret, "<t>.<body>")>`. Answered 2xx only once the update is stored, so the carrier retries until then.',
          tags: ['dispatch'],
          params: WebhookParams,
          body: CarrierWebhookBody,
          response: {
            200: WebhookAnswer,
            ...errorResponses({ 400: ['bad_webhook'], 401: ['bad_signature'], 404: ['unknown_carrier'], 429: ['rate_limited'], 503: ['handoff_pending'] }),
          },
        },
      },
      async (request) => {
        const { name } = request.params as { name: string };
        const carriers = app.carrierDispatch;
        if (!carriers) throw new AppError(404, 'unknown_carrier', `no carrier named ${name}`, { carrier: name });
        const raw = typeof request.body === 'string' ? request.body : '';
        return mapped(carriers.webhook(name, request.headers, raw));
      },
    );
  });
}

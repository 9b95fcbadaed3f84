/**
 * Dispatcher overrides of orders (roles dispatcher and admin; the caller is the event's actor):
 *   POST /v1/orders/:id/assign    {courierId, version?}  → 200 {order}  assigned to that courier and pinned
 *   POST /v1/orders/:id/unassign  {version?}             → 200 {order}  back in the open pool, unpinned
 *   POST /v1/orders/:id/priority  {priority: 0..10, version?} → 200 {order}
 * Refusals: 400 validation_failed · 404 order_not_found · 409 order_not_assignable, courier_offline,
 * courier_paused, order_not_assigned, order_picked_up, illegal_transition (priority of an ended
 * order), version_conflict (the order changed while the override was applied, or since `version`).
 *
 * Also creates the override service (`app.overrides`): couriers are online with a position fresher
 * than STALE_AFTER_MS (the nearby rule) and paused while `courier-paused:<id>` is '1' in Redis.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { publicOrder } from '../../domain/order.js';
import { OrderOverrides, type CourierAvailability } from '../../runtime/order-overrides.js';
import { courierPaused } from '../../store/redis/courier-paused.js';
import { actorOf, rejectInvalid } from './orders.js';
import { OrderIdParams, toAppError, typeboxValidator } from './orders-schemas.js';
import { AssignBodySchema, PriorityBodySchema, UnassignBodySchema } from './overrides-schemas.js';
import { errorResponses } from './common-schemas.js';
import { OrderEnvelopeSchema } from './response-schemas.js';

const refusals = (conflicts: readonly string[]) => ({
  200: OrderEnvelopeSchema,
  ...errorResponses({
    400: ['validation_failed'],
    401: ['unauthorized'],
    403: ['forbidden', 'override_forbidden'],
    404: ['order_not_found'],
    409: [...conflicts, 'version_conflict'],
    429: ['rate_limited'],
  }),
});

declare module 'fastify' {
  interface FastifyInstance {
    overrides: OrderOverrides;
  }
}

async function mapped<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw toAppError(err);
  }
}

export const overrideRoutes = fp(
  async function overrideRoutes(app: FastifyInstance) {
    const { config, clock } = app;
    const couriers: CourierAvailability = {
      isOnline: async (courierId) => {
        const loc = await app.locationIndex.get(courierId);
        return loc !== null && clock.now() - loc.serverTs <= config.staleAfterMs;
      },
      isPaused: (courierId) => courierPaused(app.redis, courierId),
    };
    const { lifecycle, repo, offers, bus } = app.orders;
    const overrides = new OrderOverrides(lifecycle, repo, offers, bus, clock, app.log.child({ feature: 'overrides' }), couriers);
    app.decorate('overrides', overrides);

    const common = { attachValidation: true, validatorCompiler: typeboxValidator, config: { roles: ['dispatcher', 'admin'] as const } } as const;

    app.post('/v1/orders/:id/assign', {
        ...common,
        schema: {
          summary: 'Assign an order to a courier and pin it',
          tags: ['dispatch'],
          params: OrderIdParams,
          body: AssignBodySchema,
          response: refusals(['order_not_assignable', 'courier_offline', 'courier_paused', 'illegal_transition']),
        },
      }, async (request) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      const { courierId, version } = request.body as { courierId: string; version?: number };
      return { order: publicOrder(await mapped(overrides.assign(id, courierId, actorOf(request), version))) };
    });

    app.post('/v1/orders/:id/unassign', {
        ...common,
        schema: {
          summary: 'Put an order not yet picked up back in the open pool, unpinned',
          tags: ['dispatch'],
          params: OrderIdParams,
          body: UnassignBodySchema,
          response: refusals(['order_not_assigned', 'order_picked_up', 'illegal_transition']),
        },
      }, async (request) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      const { version } = (request.body ?? {}) as { version?: number };
      return { order: publicOrder(await mapped(overrides.unassign(id, actorOf(request), version))) };
    });

    app.post('/v1/orders/:id/priority', {
        ...common,
        schema: {
          summary: "Set an order's priority (0..10, higher is more urgent)",
          tags: ['dispatch'],
          params: OrderIdParams,
          body: PriorityBodySchema,
          response: refusals(['illegal_transition']),
        },
      }, async (request) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      const { priority, version } = request.body as { priority: number; version?: number };
      return { order: publicOrder(await mapped(overrides.setPriority(id, priority, actorOf(request), version))) };
    });
  },
  { name: 'dispatchd-order-overrides', fastify: '5.x', dependencies: ['dispatchd-orders', 'dispatchd-courier-socket', 'dispatchd-auth'] },
);

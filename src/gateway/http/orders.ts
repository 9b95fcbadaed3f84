/**
 * HTTP API of orders:
 *   POST /v1/orders                    store       place (idempotent on externalId: 201 new, 200 replay, 409 different body)
 *   GET  /v1/orders/:id                store (own), courier (own), dispatcher, admin
 *   GET  /v1/orders?status=&store=&limit=&cursor=   newest first; a store lists only its own
 *   POST /v1/orders/:id/ready          store       ready now or at `readyAt`
 *   POST /v1/orders/:id/cancel         store (own), dispatcher, admin   after pickup this starts a return
 *   GET  /v1/orders/:id/events?after=VERSION        the history, oldest first
 *   POST /v1/orders/:id/fail           dispatcher, admin   give up on it {reason, note?} (e.g. no_courier, customer_unreachable)
 *   POST /v1/orders/:id/offer          dispatcher, admin   offer to a courier by hand (the dispatch loop does it otherwise);
 *                                                         same courier checks as assign: 409 courier_offline, courier_paused
 * Bodies and queries are checked against the schemas in orders-schemas.ts; a failure answers 400
 * `validation_failed` with the offending `field`.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { publicOrder, type Actor, type FailureReason, type Order, type OrderInput } from '../../domain/order.js';
import { ownedBy } from '../../runtime/order-lifecycle.js';
import { AppError } from '../errors.js';
import {
  CancelBodySchema,
  EventsQuerySchema,
  FailBodySchema,
  fieldOfAjvError,
  ListQuerySchema,
  OfferBodySchema,
  OrderBodySchema,
  OrderIdParams,
  ReadyBodySchema,
  toAppError,
  typeboxValidator,
  type OrderBody,
} from './orders-schemas.js';
import { errorResponses } from './common-schemas.js';
import { OrderEventsSchema, OrderListSchema, OrderRef, OfferSchema } from './response-schemas.js';

export function actorOf(request: FastifyRequest): Actor {
  return { role: request.user.role, id: request.user.sub };
}

/** Turns Fastify's attached validation error into 400 `validation_failed` naming the field. */
export function rejectInvalid(request: FastifyRequest): void {
  const err = request.validationError as (Error & { validation?: { instancePath?: string; params?: Record<string, unknown>; message?: string }[] }) | undefined;
  if (!err) return;
  const first = err.validation?.[0];
  const field = first ? fieldOfAjvError(first) : '(unknown)';
  throw new AppError(400, 'validation_failed', `${field}: ${first?.message ?? err.message}`, { field });
}

export function orderInput(body: OrderBody): OrderInput {
  return body as OrderInput;
}

/** May this caller see the order? Foreign orders answer 404, as if absent. */
function visibleTo(order: Order | null, actor: Actor): Order {
  const visible =
    order !== null &&
    (actor.role === 'dispatcher' ||
      actor.role === 'admin' ||
      (actor.role === 'store' && order.storeId === actor.id) ||
      (actor.role === 'courier' && order.courierId === actor.id));
  if (!visible) throw new AppError(404, 'order_not_found', 'order not found');
  return order;
}

async function mapped<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw toAppError(err);
  }
}

/** Error codes every order route can answer besides its own. */
const AUTH = { 401: ['unauthorized'], 403: ['forbidden'] } as const;
const WRITE = { ...AUTH, 429: ['rate_limited'] } as const;
const ORDER_ID = 'validation_failed (a malformed id)';

export async function orderRoutes(app: FastifyInstance): Promise<void> {
  const { lifecycle, offers, repo } = app.orders;
  const common = { attachValidation: true, validatorCompiler: typeboxValidator } as const;

  app.post(
    '/v1/orders',
    {
      ...common,
      schema: {
        summary: 'Place an order (idempotent on externalId)',
        description: '201 with the new order; 200 with the stored one when the same body comes again; 409 when the externalId is taken by a different body.',
        tags: ['orders'],
        body: OrderBodySchema,
        response: {
          201: OrderRef('placed'),
          200: OrderRef('the same body came again: the stored order'),
          ...errorResponses({ ...WRITE, 400: ['validation_failed', 'invalid_order'], 409: ['idempotency_conflict'], 422: ['outside_service_area'] }),
        },
      },
      config: { roles: ['store'] },
    },
    async (request, reply) => {
      rejectInvalid(request);
      const actor = actorOf(request);
      const { order, created } = await mapped(lifecycle.place(actor.id, orderInput(request.body as OrderBody), actor));
      return reply.code(created ? 201 : 200).send(publicOrder(order));
    },
  );

  // Who may read single orders; any other role (a customer: it tracks through its link) gets 403 as on every route.
  const readers = ['store', 'courier', 'dispatcher', 'admin'] as const;

  app.get('/v1/orders/:id', {
      ...common,
      config: { roles: readers },
      schema: {
        summary: 'Get an order',
        description: 'A store sees its own orders, a courier the ones assigned to it; dispatchers and admins see all. An order of another store or courier is 404; a customer gets 403.',
        tags: ['orders'],
        params: OrderIdParams,
        response: { 200: OrderRef(), ...errorResponses({ ...AUTH, 400: [ORDER_ID], 404: ['order_not_found'] }) },
      },
    }, async (request) => {
    rejectInvalid(request);
    const { id } = request.params as { id: string };
    return publicOrder(visibleTo(await repo.get(id), actorOf(request)));
  });

  app.get(
    '/v1/orders',
    {
      ...common,
      schema: {
        summary: 'List orders, newest first',
        description: 'A store lists only its own orders. Page with `cursor` = the previous `nextCursor`.',
        tags: ['orders'],
        querystring: ListQuerySchema,
        response: { 200: OrderListSchema, ...errorResponses({ ...AUTH, 400: ['validation_failed', 'invalid_cursor'] }) },
      },
      config: { roles: ['store', 'dispatcher', 'admin'] },
    },
    async (request) => {
      rejectInvalid(request);
      const q = request.query as { status?: Order['status']; store?: string; limit?: number; cursor?: string };
      const actor = actorOf(request);
      if (actor.role === 'store' && q.store !== undefined && q.store !== actor.id) {
        throw new AppError(403, 'forbidden', 'a store may only list its own orders', { field: 'store' });
      }
      const storeId = actor.role === 'store' ? actor.id : q.store;
      const page = await mapped(repo.list({ status: q.status, storeId, limit: q.limit ?? 50, cursor: q.cursor }));
      return { orders: page.orders.map(publicOrder), nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/v1/orders/:id/ready',
    {
      ...common,
      schema: {
        summary: 'Mark an order ready (now or at readyAt)',
        tags: ['orders'],
        params: OrderIdParams,
        body: ReadyBodySchema,
        response: {
          200: OrderRef(),
          ...errorResponses({ ...WRITE, 400: ['validation_failed'], 404: ['order_not_found'], 409: ['illegal_transition', 'version_conflict'] }),
        },
      },
      config: { roles: ['store'] },
    },
    async (request) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      const { readyAt } = (request.body ?? {}) as { readyAt?: number };
      const actor = actorOf(request);
      const { order } = await mapped(lifecycle.apply(id, { type: 'ready', ...(readyAt === undefined ? {} : { readyAt }) }, actor, ownedBy(actor)));
      return publicOrder(order);
    },
  );

  app.post(
    '/v1/orders/:id/cancel',
    {
      ...common,
      schema: {
        summary: 'Cancel an order (after pickup this starts a return)',
        tags: ['orders'],
        params: OrderIdParams,
        body: CancelBodySchema,
        response: {
          200: OrderRef(),
          ...errorResponses({
            ...WRITE,
            400: ['validation_failed'],
            404: ['order_not_found'],
            409: ['illegal_transition', 'version_conflict', 'carrier_not_cancellable (a carrier has picked it up)'],
            502: ['carrier_refused'],
            503: ['carrier_unavailable (the carrier could not be told; retry)'],
          }),
        },
      },
      config: { roles: ['store', 'dispatcher', 'admin'] },
    },
    async (request) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      const { reason } = (request.body ?? {}) as { reason?: string };
      const actor = actorOf(request);
      const { order } = await mapped(offers.cancel(id, actor, reason, ownedBy(actor)));
      return publicOrder(order);
    },
  );

  app.post(
    '/v1/orders/:id/fail',
    {
      ...common,
      schema: {
        summary: 'Give up on an order (failed, with a reason)',
        tags: ['dispatch'],
        params: OrderIdParams,
        body: FailBodySchema,
        response: {
          200: OrderRef(),
          ...errorResponses({ ...WRITE, 400: ['validation_failed'], 404: ['order_not_found'], 409: ['illegal_transition', 'version_conflict'] }),
        },
      },
      config: { roles: ['dispatcher', 'admin'] },
    },
    async (request) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      const { reason, note } = request.body as { reason: FailureReason; note?: string };
      const { order } = await mapped(lifecycle.apply(id, { type: 'failed', reason, ...(note ? { note } : {}) }, actorOf(request)));
      return publicOrder(order);
    },
  );

  app.get(
    '/v1/orders/:id/events',
    {
      ...common,
      config: { roles: readers },
      schema: {
        summary: "An order's history, oldest first",
        description: 'Events with a version above `after` (default 0). Visible to the same callers as GET /v1/orders/{id}.',
        tags: ['orders'],
        params: OrderIdParams,
        querystring: EventsQuerySchema,
        response: { 200: OrderEventsSchema, ...errorResponses({ ...AUTH, 400: ['validation_failed'], 404: ['order_not_found'] }) },
      },
    },
    async (request) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      const { after } = request.query as { after?: number };
      visibleTo(await repo.get(id), actorOf(request));
      return { events: await repo.events(id, after ?? 0) };
    },
  );

  app.post(
    '/v1/orders/:id/offer',
    {
      ...common,
      schema: {
        summary: 'Offer an order to a courier by hand',
        description: 'The dispatch loop makes offers on its own; this creates one now. The courier gets it on its socket.',
        tags: ['dispatch'],
        params: OrderIdParams,
        body: OfferBodySchema,
        response: {
          201: Type.Ref(OfferSchema),
          ...errorResponses({
            ...WRITE,
            400: ['validation_failed', 'no_orders'],
            404: ['order_not_found'],
            409: ['courier_has_open_offer', 'illegal_transition', 'order_changed', 'version_conflict'],
          }),
        },
      },
      config: { roles: ['dispatcher', 'admin'] },
    },
    async (request, reply) => {
      rejectInvalid(request);
      const { id } = request.params as { id: string };
      const { courierId } = request.body as { courierId: string };
      // the same courier preconditions as an assign (courier_offline, courier_paused), checked in the commit
      const offer = await mapped(offers.offer(courierId, [id], actorOf(request), { checkCourier: () => app.overrides.checkCourier(courierId) }));
      return reply.code(201).send(offer);
    },
  );
}

/**
 * Response bodies of the HTTP API as TypeBox, for the routes' `schema.response`: they feed the
 * OpenAPI document (and so the typed client) and Fastify's serializer. The serializer drops any
 * property a schema does not name, so each schema lists every field the handler sends; the
 * type-level checks at the bottom fail `tsc` when a domain type gains a field the schema lacks.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CARRIER_STATUSES } from '../../domain/carrier.js';
import { ORDER_STATUSES, type publicOrder } from '../../domain/order.js';
import type { StoredOrderEvent } from '../../store/pg/order-repository.js';
import type { LiveOffer } from '../../store/redis/offers.js';
import type { CourierOrderView } from '../../runtime/courier-tasks.js';

export const EpochMs = (description = 'epoch milliseconds') => Type.Integer({ description });
const Nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()]);

export const OrderStatusSchema = Type.Union(
  ORDER_STATUSES.map((s) => Type.Literal(s)),
  { $id: 'OrderStatus', title: 'OrderStatus' },
);
const Status = () => Type.Ref(OrderStatusSchema);

const NullableNum = (description: string) => Type.Union([Type.Number(), Type.Null()], { description });

/** One fleet's KPIs (domain/fleet-kpis.ts), in GET /v1/kpis and the console state frame. */
export const FleetKpisSchema = Type.Object(
  {
    fleet: Type.String({ description: "'own' (the service's couriers) or a carrier's name" }),
    placed: Type.Integer({ description: 'orders placed in the range that this fleet has' }),
    delivered: Type.Integer({ description: 'orders this fleet delivered in the range' }),
    onTime: Type.Integer({ description: 'of those, delivered at or before promisedBy' }),
    late: Type.Integer(),
    onTimePct: NullableNum('onTime / delivered, %; null without deliveries'),
    ctdP50Ms: NullableNum('click-to-door median of the deliveries, ms'),
    ctdP90Ms: NullableNum('click-to-door 90th percentile (nearest rank), ms'),
    cost: Type.Array(
      Type.Object({
        currency: Type.String({ description: 'ISO 4217; amounts are never converted between currencies' }),
        orders: Type.Integer({ description: 'deliveries this cost covers' }),
        perOrder: Type.Number({ description: 'cost per delivered order, major units rounded to the minor unit' }),
      }),
      {
        description:
          'own: courier pay (per courier the larger of $10 per delivery and $15 per hour worked) ÷ deliveries, in CURRENCY; a carrier: what it charged ÷ its priced deliveries, one entry per currency',
      },
    ),
  },
  { title: 'FleetKpis' },
);


export const PlaceOut = Type.Object({ lat: Type.Number(), lng: Type.Number(), address: Type.Optional(Type.String()) });

export const OrderSchema = Type.Object(
  {
    id: Type.String(),
    storeId: Type.String(),
    externalId: Type.String(),
    status: Status(),
    version: Type.Integer({ description: 'incremented by every event' }),
    pickup: PlaceOut,
    dropoff: PlaceOut,
    items: Type.Integer(),
    size: Type.Integer({ description: 'capacity units' }),
    placedAt: EpochMs(),
    readyAt: EpochMs(),
    readyKnown: Type.Boolean(),
    option: Type.Union([Type.Literal('express'), Type.Literal('standard'), Type.Literal('scheduled')]),
    window: Nullable(Type.Object({ from: EpochMs(), to: EpochMs() })),
    promisedBy: EpochMs('promised hand-over, epoch ms'),
    hasPin: Type.Boolean({ description: 'a delivery PIN is required (the PIN itself is never returned)' }),
    courierId: Nullable(Type.String()),
    offerId: Nullable(Type.String()),
    declinedBy: Type.Array(Type.String(), { description: 'couriers that rejected or let an offer of it expire' }),
    reason: Nullable(Type.String({ description: 'why it was cancelled, returned or failed' })),
    pinned: Type.Boolean({ description: 'assigned by a dispatcher; the optimizer leaves it alone' }),
    priority: Type.Integer({ minimum: 0, maximum: 10 }),
    fee: Nullable(
      Type.Object(
        { amount: Type.Number({ description: 'in currency units, rounded to the minor unit' }), currency: Type.String({ description: 'ISO 4217' }) },
        { description: 'the delivery fee quoted for it; null for orders placed without a quote' },
      ),
    ),
    quoteId: Nullable(Type.String({ description: 'the quote it was placed against (POST /v1/quotes)' })),
    fleet: Type.String({ description: '`own` (own couriers) or the name of the carrier the order was handed to' }),
    carrierDeliveryId: Nullable(Type.String({ description: 'the carrier’s delivery id while a carrier has the order' })),
    carrierCost: Nullable(
      Type.Object(
        { amount: Type.Number({ description: 'in currency units, rounded to the minor unit' }), currency: Type.String({ description: 'ISO 4217' }) },
        { description: 'what the carrier charges for it (its quote) while a carrier has the order' },
      ),
    ),
    carrierStatus: Nullable(
      Type.Union(
        CARRIER_STATUSES.map((s) => Type.Literal(s)),
        { description: 'the last status the carrier reported' },
      ),
    ),
    ownOnly: Type.Boolean({ description: 'own fleet only: a carrier failed or cancelled it, or a dispatcher forced the own fleet' }),
    updatedAt: EpochMs(),
  },
  { $id: 'Order', title: 'Order' },
);
export const OrderRef = (description?: string) => Type.Ref(OrderSchema, description ? { description } : {});

export const OrderListSchema = Type.Object({
  orders: Type.Array(OrderRef()),
  nextCursor: Nullable(Type.String({ description: 'pass as `cursor` for the next page; null on the last' })),
});

export const ActorSchema = Type.Object({ role: Type.String(), id: Type.String() });

export const OrderEventSchema = Type.Object(
  {
    eventId: Type.String(),
    orderId: Type.String(),
    version: Type.Integer(),
    type: Type.String({ description: 'placed, ready, offered, accepted, picked_up, delivered, cancelled, …' }),
    actor: ActorSchema,
    at: EpochMs(),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { $id: 'OrderEvent', title: 'OrderEvent' },
);
export const OrderEventsSchema = Type.Object({ events: Type.Array(Type.Ref(OrderEventSchema)) });
export const OrderEnvelopeSchema = Type.Object({ order: OrderRef() });

/** What a courier sees of an order (offers and tasks): no PIN, no other courier data. */
export const CourierOrderViewSchema = Type.Object(
  {
    id: Type.String(),
    externalId: Type.String(),
    status: Status(),
    version: Type.Integer(),
    pickup: PlaceOut,
    dropoff: PlaceOut,
    items: Type.Integer(),
    readyAt: EpochMs(),
    promisedBy: EpochMs(),
    pinRequired: Type.Boolean(),
  },
  { $id: 'CourierOrderView', title: 'CourierOrderView' },
);

export const OfferStopSchema = Type.Object({
  kind: Type.Union([Type.Literal('pickup'), Type.Literal('dropoff')]),
  orderIds: Type.Array(Type.String()),
  lat: Type.Number(),
  lng: Type.Number(),
  address: Type.Optional(Type.String()),
  eta: EpochMs('estimated arrival and service instant, epoch ms'),
});

export const OfferSchema = Type.Object(
  {
    offerId: Type.String(),
    courierId: Type.String(),
    orderIds: Type.Array(Type.String()),
    orders: Type.Array(Type.Ref(CourierOrderViewSchema)),
    stops: Type.Array(OfferStopSchema),
    createdAt: EpochMs(),
    expiresAt: EpochMs('the courier must answer before this, epoch ms'),
  },
  { $id: 'Offer', title: 'Offer' },
);

export const TrackingLinkSchema = Type.Object({
  token: Type.String({ description: 'customer JWT for this one order' }),
  url: Type.String({ description: 'the tracking WebSocket (/v1/track/:orderId?token=…)' }),
  pageUrl: Type.String({ description: 'the customer tracking page' }),
  expiresAt: EpochMs(),
});

export const WebhookSchema = Type.Object({ url: Type.String(), updatedAt: EpochMs() });

export const NearbyCouriersSchema = Type.Object({
  couriers: Type.Array(
    Type.Object({
      courierId: Type.String(),
      lat: Type.Number(),
      lng: Type.Number(),
      distanceM: Type.Number(),
      ts: EpochMs('device time of the position'),
      serverTs: EpochMs('when the service received it'),
      status: Type.String({ description: 'offline | paused | free | busy' }),
    }),
  ),
});

export const CourierStateSchema = Type.Object({
  courierId: Type.String(),
  lat: Type.Number(),
  lng: Type.Number(),
  ts: EpochMs(),
  serverTs: EpochMs(),
  cell: Type.String({ description: 'H3 cell' }),
  status: Type.String({ description: 'offline | paused | free | busy' }),
  seq: Type.Integer(),
  stale: Type.Boolean(),
  paused: Type.Boolean(),
  lastSeenAt: EpochMs('when the service last heard from it (= serverTs)'),
  load: Type.Integer({ minimum: 0, description: 'orders it holds (assigned, not yet delivered)' }),
  shiftEndsAt: Type.Union([EpochMs(), Type.Null()], { description: 'from its last shift frame; null when it sent none' }),
  stops: Type.Array(
    Type.Object({
      orderId: Type.String(),
      kind: Type.Union([Type.Literal('pickup'), Type.Literal('dropoff')]),
      lat: Type.Number(),
      lng: Type.Number(),
      eta: EpochMs('planned arrival through the stops before it'),
    }),
    { description: 'its planned route, in order' },
  ),
});

export const TrailSchema = Type.Object({
  type: Type.Literal('Feature'),
  geometry: Type.Object({
    type: Type.Literal('LineString'),
    coordinates: Type.Array(Type.Array(Type.Number(), { minItems: 2, maxItems: 2 }), { description: '[lng, lat] pairs' }),
  }),
  properties: Type.Object({
    courierId: Type.String(),
    from: Type.String({ format: 'date-time' }),
    to: Type.String({ format: 'date-time' }),
    timestamps: Type.Array(Type.Integer(), { description: 'device time (epoch ms) of each coordinate' }),
    seqs: Type.Array(Type.Integer()),
  }),
});

export const PausedSchema = Type.Object({ courierId: Type.String(), paused: Type.Boolean() });

/** Shared schemas the routes reference by `$id`; api-docs.ts adds them to the app (and so the document). */
export const SHARED_SCHEMAS: readonly TSchema[] = [OrderStatusSchema, OrderSchema, OrderEventSchema, CourierOrderViewSchema, OfferSchema];

// ---- drift checks (compile time): each schema must cover its domain type and the reverse ----
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Mutable<T> = T extends readonly (infer U)[] ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;
type Keys<T> = keyof T;
type OrderStatic = Omit<Static<typeof OrderSchema>, 'status'>;
type OrderOut = Omit<Mutable<ReturnType<typeof publicOrder>>, 'status'>;
const orderKeys: Same<Keys<OrderStatic>, Keys<OrderOut>> = true;
const eventKeys: Same<Keys<Static<typeof OrderEventSchema>>, Keys<StoredOrderEvent>> = true;
const offerKeys: Same<Keys<Static<typeof OfferSchema>>, Keys<LiveOffer>> = true;
const viewKeys: Same<Keys<Static<typeof CourierOrderViewSchema>>, Keys<CourierOrderView>> = true;
void [orderKeys, eventKeys, offerKeys, viewKeys];

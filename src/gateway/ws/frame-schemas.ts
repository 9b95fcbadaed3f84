/**
 * Every WebSocket frame of the four sockets, both directions, as TypeBox: the inbound ones are the
 * schemas the sockets validate with (re-exported from where they live), the outbound ones describe
 * what the servers send (their TS types live with the code that builds them; the compile-time checks
 * at the bottom fail `tsc` when a type and its schema stop naming the same fields).
 * `asyncapi.ts` builds the AsyncAPI document from `SOCKETS`; the typed client's frame types come from it.
 */
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { REJECT_REASONS } from '../../domain/location-filter.js';
import type { Kpis } from '../../domain/kpis.js';
import type { FleetKpis } from '../../domain/fleet-kpis.js';
import type { StopEta } from '../../domain/eta.js';
import type { ConsoleCell, ConsoleCourier, ConsoleOrder, ConsoleState } from '../../runtime/console-state.js';
import type { CourierTaskChanged, StatusMessage } from '../../runtime/order-lifecycle.js';
import type { TaskFrame, TrackPositionMessage } from '../../runtime/courier-tasks.js';
import { CourierFrameSchemas, StoreFrameSchemas } from '../http/orders-schemas.js';
import { CourierOrderViewSchema, EpochMs, FleetKpisSchema, OfferSchema, OrderStatusSchema } from '../http/response-schemas.js';
import { LocFrameSchema, MAX_POINTS_PER_FRAME, PointSchema } from './courier-frames.js';
import { ShiftFrameSchema } from './courier-shift.js';

const Nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()]);
const Status = () => Type.Ref(OrderStatusSchema);
const LatLng = Type.Object({ lat: Type.Number(), lng: Type.Number() });

// ---- courier socket (/v1/courier) ----

/**
 * The `locs` frame as a client should send it. The socket's own envelope check (LocsFrameSchema)
 * accepts any array items so that each bad point is rejected alone (in the ack) instead of the frame.
 */
export const LocsFrameDocSchema = Type.Object({
  type: Type.Literal('locs'),
  points: Type.Array(PointSchema, { maxItems: MAX_POINTS_PER_FRAME, description: 'points buffered while offline, oldest first' }),
});

export const AckFrameSchema = Type.Object({
  type: Type.Literal('ack'),
  seq: Nullable(Type.Integer({ description: 'highest seq accepted from the frame, null when none was' })),
  rejected: Type.Array(Type.Object({ seq: Nullable(Type.Integer()), reason: Type.Union(REJECT_REASONS.map((r) => Type.Literal(r))) })),
});

export const CourierErrorFrameSchema = Type.Object({
  type: Type.Literal('error'),
  code: Type.String({ description: 'bad_json, bad_frame, unknown_type, store_unavailable, internal, or an order/offer code (offer_expired, …)' }),
  message: Type.String(),
});

export const OfferFrameSchema = Type.Object(
  { type: Type.Literal('offer'), ...OfferSchema.properties },
  { description: 'an offer to answer with offer.accept or offer.reject before expiresAt; sent again on reconnect while open' },
);

const StopEtaSchema = Type.Object({
  kind: Type.Union([Type.Literal('pickup'), Type.Literal('dropoff')]),
  orderIds: Type.Array(Type.String()),
  place: LatLng,
  arriveAt: EpochMs(),
  serviceAt: EpochMs('pickup or hand-over instant'),
  departAt: EpochMs(),
  arrived: Type.Boolean(),
});

export const TaskFrameSchema = Type.Object(
  {
    type: Type.Literal('task'),
    orders: Type.Array(Type.Ref(CourierOrderViewSchema)),
    stops: Type.Array(StopEtaSchema, { description: 'the stops ahead, in order, with ETAs' }),
  },
  { description: 'the current work; sent on every connect and after every change' },
);

export const CourierOutSchemas = {
  ack: AckFrameSchema,
  error: CourierErrorFrameSchema,
  offer: OfferFrameSchema,
  'offer.accepted': Type.Object({ type: Type.Literal('offer.accepted'), offerId: Type.String(), orderIds: Type.Array(Type.String()) }),
  'offer.rejected': Type.Object({ type: Type.Literal('offer.rejected'), offerId: Type.String() }),
  'offer.expired': Type.Object({ type: Type.Literal('offer.expired'), offerId: Type.String() }),
  'offer.withdrawn': Type.Object({ type: Type.Literal('offer.withdrawn'), offerId: Type.String(), orderIds: Type.Array(Type.String()) }),
  'status.ack': Type.Object({ type: Type.Literal('status.ack'), orderId: Type.String(), status: Status(), version: Type.Integer() }),
  task: TaskFrameSchema,
  'task.changed': Type.Object(
    { type: Type.Literal('task.changed'), orderId: Type.String(), status: Status(), event: Type.String(), reason: Nullable(Type.String()) },
    { description: 'someone else changed one of your orders (cancel, return, dispatcher); a new task follows' },
  ),
  'shift.ack': Type.Object({ type: Type.Literal('shift.ack'), endsAt: EpochMs(), capacity: Type.Integer() }),
} satisfies Record<string, TObject>;

export const CourierInSchemas = {
  loc: LocFrameSchema,
  locs: LocsFrameDocSchema,
  ...CourierFrameSchemas,
  shift: ShiftFrameSchema,
} satisfies Record<string, TObject>;

// ---- store socket (/v1/store) ----

export const OrderStatusFrameSchema = Type.Object(
  {
    type: Type.Literal('order.status'),
    orderId: Type.String(),
    externalId: Type.String(),
    status: Status(),
    version: Type.Integer(),
    event: Type.String({ description: 'the event that caused it (placed, accepted, picked_up, delivered, …)' }),
    at: EpochMs(),
    courierId: Nullable(Type.String()),
    reason: Nullable(Type.String()),
  },
  { description: 'every change of an order' },
);

export const StoreOutSchemas = {
  ack: Type.Object({
    type: Type.Literal('ack'),
    ref: Nullable(Type.String({ description: 'the ref of the frame answered' })),
    frame: Type.Union(Object.keys(StoreFrameSchemas).map((k) => Type.Literal(k))),
    orderId: Type.String(),
    externalId: Type.String(),
    status: Status(),
    version: Type.Integer(),
    promisedBy: EpochMs(),
    created: Type.Optional(Type.Boolean({ description: 'order.placed only: false when the same order was placed before' })),
  }),
  error: Type.Object({
    type: Type.Literal('error'),
    ref: Nullable(Type.String()),
    code: Type.String({ description: 'bad_json, bad_frame, unknown_type, validation_failed, order_not_found, idempotency_conflict, …' }),
    message: Type.String(),
    field: Type.Optional(Type.String()),
  }),
  'order.status': OrderStatusFrameSchema,
  'order.position': Type.Object(
    {
      type: Type.Literal('order.position'),
      orderId: Type.String(),
      externalId: Type.String(),
      fleet: Type.String({ description: 'the carrier delivering it' }),
      status: Status(),
      lat: Type.Number(),
      lng: Type.Number(),
      coarse: Type.Boolean({ description: 'true before pickup: the centre of the courier’s H3 cell, not the courier' }),
      eta: EpochMs('expected hand-over'),
      at: EpochMs(),
    },
    { description: 'hybrid fleet: a position of the carrier courier delivering one of the store’s orders (from the carrier’s webhooks)' },
  ),
} satisfies Record<string, TObject>;

export const StoreInSchemas = StoreFrameSchemas satisfies Record<string, TObject>;

// ---- tracking socket (/v1/track/{orderId}) ----

export const TrackOutSchemas = {
  snapshot: Type.Object(
    {
      type: Type.Literal('snapshot'),
      orderId: Type.String(),
      status: Status(),
      version: Type.Integer(),
      promisedBy: EpochMs(),
      pickup: LatLng,
      dropoff: LatLng,
      position: Nullable(Type.Object({ lat: Type.Number(), lng: Type.Number(), coarse: Type.Boolean() })),
      eta: Nullable(EpochMs('expected hand-over')),
    },
    { description: 'sent once on connect' },
  ),
  'order.status': OrderStatusFrameSchema,
  position: Type.Object(
    {
      type: Type.Literal('position'),
      orderId: Type.String(),
      status: Status(),
      lat: Type.Number(),
      lng: Type.Number(),
      coarse: Type.Boolean({ description: 'true before pickup: the centre of the courier’s H3 cell, not the courier' }),
      eta: Nullable(EpochMs('expected hand-over')),
      at: EpochMs(),
    },
    { description: 'every accepted courier point' },
  ),
} satisfies Record<string, TObject>;

// ---- console socket (/v1/console) ----

const KpisSchema = Type.Object({
  windowMs: Type.Integer(),
  delivered: Type.Integer(),
  onTimePct: Nullable(Type.Number()),
  clickToDoorP50Min: Nullable(Type.Number()),
  clickToDoorP90Min: Nullable(Type.Number()),
  waiting: Type.Integer(),
  oldestWaitingMin: Nullable(Type.Number()),
  activeCouriers: Type.Integer(),
  costPerOrder: Nullable(Type.Number()),
  byFleet: Type.Array(FleetKpisSchema),
});
const ConsoleCourierSchema = Type.Object({
  courierId: Type.String(),
  lat: Type.Number(),
  lng: Type.Number(),
  status: Type.Union(['free', 'offered', 'busy', 'paused', 'offline'].map((s) => Type.Literal(s))),
  load: Type.Integer(),
  lastSeenAt: EpochMs(),
});
const ConsoleOrderSchema = Type.Object({
  id: Type.String(),
  externalId: Type.String(),
  storeId: Type.String(),
  status: Status(),
  placedAt: EpochMs(),
  ageMs: Type.Integer(),
  promisedBy: EpochMs(),
  courierId: Nullable(Type.String()),
  pickup: LatLng,
  dropoff: LatLng,
  pinned: Type.Boolean(),
  priority: Type.Integer(),
  dispatch: Type.Optional(
    Type.Object(
      {
        decision: Type.Union([Type.Literal('assigned'), Type.Literal('waiting')]),
        reason: Type.Optional(Type.String({ description: 'why it waits (GET /v1/orders/{id}/dispatch lists the codes)' })),
        at: EpochMs(),
        courierId: Type.Optional(Type.String()),
        nearest: Type.Optional(Type.Object({ courierId: Type.Optional(Type.String()), etaPickupAt: EpochMs(), freesAt: Type.Optional(EpochMs()) })),
      },
      { description: "the latest dispatch round's decision for this open order" },
    ),
  ),
  etaDropoffAt: Nullable(EpochMs()),
});
const ConsoleCellSchema = Type.Object({
  cell: Type.String(),
  openOrders: Type.Integer(),
  freeCouriers: Type.Integer(),
  boundary: Type.Array(Type.Array(Type.Number(), { minItems: 2, maxItems: 2 })),
});

export const ConsoleOutSchemas = {
  state: Type.Object(
    {
      type: Type.Literal('state'),
      at: EpochMs(),
      couriers: Type.Array(ConsoleCourierSchema),
      orders: Type.Array(ConsoleOrderSchema),
      cells: Type.Array(ConsoleCellSchema),
      kpis: KpisSchema,
      truncated: Type.Object({ couriers: Type.Boolean(), orders: Type.Boolean() }),
      zonesVersion: Type.String({ description: 'changes when a delivery zone is created, replaced or deleted: reload GET /v1/zones' }),
    },
    { description: 'the live picture, on connect and about once a second' },
  ),
  error: Type.Object({ type: Type.Literal('error'), code: Type.Literal('state_unavailable'), message: Type.String() }),
} satisfies Record<string, TObject>;

export interface SocketProtocol {
  /** Fastify route path, `:param` style. */
  readonly path: string;
  readonly title: string;
  readonly roles: readonly string[];
  readonly description: string;
  /** Frames the client sends, by `type`. */
  readonly receives: Record<string, TObject>;
  /** Frames the server sends, by `type`. */
  readonly sends: Record<string, TObject>;
}

/** The four sockets; the contract test checks this against what the servers register and send. */
export const SOCKETS = {
  courier: {
    path: '/v1/courier',
    title: 'Courier',
    roles: ['courier'],
    description:
      'The courier app: positions in (each answered in order by an ack), offers and task updates out, offer answers and status reports in. ' +
      'Bad frames get an error frame and the socket stays open. Closed with 1008 on a refused token, 4000 after WS_IDLE_TIMEOUT_MS of silence, 1009 for an oversize frame.',
    receives: CourierInSchemas,
    sends: CourierOutSchemas,
  },
  store: {
    path: '/v1/store',
    title: 'Store',
    roles: ['store'],
    description:
      'A store system: place, ready and cancel orders (each answered in order by an ack or an error echoing `ref`), and hear every change of its orders.',
    receives: StoreInSchemas,
    sends: StoreOutSchemas,
  },
  track: {
    path: '/v1/track/:orderId',
    title: 'Tracking',
    roles: ['customer', 'dispatcher', 'admin'],
    description:
      'One order for its customer (token from POST /v1/orders/{id}/tracking-link, as ?token=). Frames sent to it are ignored. ' +
      'Closed with 1008 and reason forbidden, order_not_found or tracking_expired (TRACKING_GRACE_MS after the order ended).',
    receives: {},
    sends: TrackOutSchemas,
  },
  console: {
    path: '/v1/console',
    title: 'Dispatcher console',
    roles: ['dispatcher', 'admin'],
    description: 'The live state for the dispatcher console. Frames sent to it are ignored; overrides go through HTTP.',
    receives: {},
    sends: ConsoleOutSchemas,
  },
} as const satisfies Record<string, SocketProtocol>;

// ---- drift checks (compile time): schema fields == the type's fields ----
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type K<T> = keyof T;
const checks: true[] = [
  true as Same<K<Static<(typeof CourierOutSchemas)['task']>>, K<TaskFrame>>,
  true as Same<K<Static<typeof StopEtaSchema>>, K<StopEta & { arrived: boolean }>>,
  true as Same<K<Static<(typeof CourierOutSchemas)['task.changed']>>, K<CourierTaskChanged>>,
  true as Same<K<Static<typeof OrderStatusFrameSchema>>, K<StatusMessage>>,
  true as Same<K<Static<(typeof TrackOutSchemas)['position']>>, K<TrackPositionMessage>>,
  true as Same<K<Static<(typeof ConsoleOutSchemas)['state']>>, K<ConsoleState>>,
  true as Same<K<Static<typeof KpisSchema>>, K<Kpis & { byFleet: unknown }>>,
  true as Same<K<Static<typeof FleetKpisSchema>>, K<FleetKpis>>,
  true as Same<K<Static<typeof ConsoleCourierSchema>>, K<ConsoleCourier>>,
  true as Same<K<Static<typeof ConsoleOrderSchema>>, K<ConsoleOrder>>,
  true as Same<K<Static<typeof ConsoleCellSchema>>, K<ConsoleCell>>,
];
void checks;

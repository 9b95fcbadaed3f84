/**
 * Message schemas of the order API, shared by HTTP (`/v1/orders`) and the store socket (`/v1/store`),
 * and the one mapping from order errors to HTTP status + stable code. Times are epoch milliseconds.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type ValueError } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import type { FastifySchemaCompiler } from 'fastify';
import { FAILURE_REASONS, OrderError, ORDER_STATUSES } from '../../domain/order.js';
import { OrderStoreError } from '../../store/pg/order-repository.js';
import { OfferError } from '../../runtime/offers.js';
import { OutsideServiceAreaError, ZoneRefusalError } from '../../runtime/order-lifecycle.js';
import { OverrideError } from '../../runtime/order-overrides.js';
import { CarrierDispatchError } from '../../runtime/carrier-dispatch.js';
import { QuoteError } from '../../domain/quote.js';
import { AppError } from '../errors.js';

/** A pattern rather than `format: 'uuid'`: the socket-side TypeBox compiler has no formats registered. */
const Uuid = () => Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
const EpochMs = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, description: 'epoch milliseconds' });

export const PlaceSchema = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lng: Type.Number({ minimum: -180, maximum: 180 }),
    address: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

export const OrderBodySchema = Type.Object(
  {
    externalId: Type.String({ minLength: 1, maxLength: 200 }),
    pickup: PlaceSchema,
    dropoff: PlaceSchema,
    items: Type.Integer({ minimum: 1, maximum: 10_000 }),
    size: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    placedAt: Type.Optional(EpochMs),
    readyAt: Type.Optional(EpochMs),
    option: Type.Union([Type.Literal('express'), Type.Literal('standard'), Type.Literal('scheduled')]),
    window: Type.Optional(Type.Object({ from: EpochMs, to: EpochMs }, { additionalProperties: false })),
    pin: Type.Optional(Type.String({ pattern: '^[0-9]{4,8}$' })),
    quoteId: Type.Optional(Uuid()),
  },
  { additionalProperties: false },
);
export type OrderBody = Static<typeof OrderBodySchema>;

export const OrderIdParams = Type.Object({ id: Uuid() });

export const ListQuerySchema = Type.Object(
  {
    status: Type.Optional(Type.Union(ORDER_STATUSES.map((s) => Type.Literal(s)))),
    store: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

export const FailureReasonSchema = Type.Union(FAILURE_REASONS.map((r) => Type.Literal(r)));
export const FailBodySchema = Type.Object(
  { reason: FailureReasonSchema, note: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export const CancelBodySchema = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });
export const ReadyBodySchema = Type.Object({ readyAt: Type.Optional(EpochMs) }, { additionalProperties: false });
export const OfferBodySchema = Type.Object({ courierId: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export const EventsQuerySchema = Type.Object({ after: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false });

// ---- store socket frames ----
const Ref = Type.Optional(Type.String({ maxLength: 100 }));
const OrderRef = {
  ref: Ref,
  orderId: Type.Optional(Uuid()),
  externalId: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
};
export const StoreFrameSchemas = {
  'order.placed': Type.Object({ type: Type.Literal('order.placed'), ref: Ref, order: OrderBodySchema }, { additionalProperties: false }),
  'order.ready': Type.Object({ type: Type.Literal('order.ready'), ...OrderRef, readyAt: Type.Optional(EpochMs) }, { additionalProperties: false }),
  'order.cancelled': Type.Object(
    { type: Type.Literal('order.cancelled'), ...OrderRef, reason: Type.Optional(Type.String({ maxLength: 500 })) },
    { additionalProperties: false },
  ),
};
export const storeFrameChecks = Object.fromEntries(Object.entries(StoreFrameSchemas).map(([k, s]) => [k, TypeCompiler.Compile(s)])) as {
  [K in keyof typeof StoreFrameSchemas]: ReturnType<typeof TypeCompiler.Compile<(typeof StoreFrameSchemas)[K]>>;
};

// ---- courier socket frames (offers and status) ----
export const CourierFrameSchemas = {
  'offer.accept': Type.Object({ type: Type.Literal('offer.accept'), offerId: Uuid() }),
  'offer.reject': Type.Object({
    type: Type.Literal('offer.reject'),
    offerId: Uuid(),
    reason: Type.String({ minLength: 1, maxLength: 200 }),
  }),
  status: Type.Object({
    type: Type.Literal('status'),
    orderId: Uuid(),
    status: Type.Union([
      Type.Literal('arrived_pickup'),
      Type.Literal('picked_up'),
      Type.Literal('arrived_dropoff'),
      Type.Literal('delivered'),
      Type.Literal('returned'),
      Type.Literal('failed'),
    ]),
    /** With status `failed`: why. */
    reason: Type.Optional(FailureReasonSchema),
    note: Type.Optional(Type.String({ maxLength: 500 })),
    proof: Type.Optional(
      Type.Object(
        { pin: Type.Optional(Type.String({ pattern: '^[0-9]{4,8}$' })), photoRef: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) },
        { additionalProperties: false },
      ),
    ),
  }),
};
export const courierFrameChecks = Object.fromEntries(Object.entries(CourierFrameSchemas).map(([k, s]) => [k, TypeCompiler.Compile(s)])) as {
  [K in keyof typeof CourierFrameSchemas]: ReturnType<typeof TypeCompiler.Compile<(typeof CourierFrameSchemas)[K]>>;
};

/**
 * Route validator for the order API: the same TypeBox checks as the sockets, so HTTP and WS refuse
 * the same input the same way — unknown fields are errors (Fastify's default Ajv would drop them
 * silently) and body types are not coerced. Query strings and path params are converted from text first.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Fastify types route schemas loosely
export const typeboxValidator: FastifySchemaCompiler<any> = ({ schema: raw, httpPart }) => {
  const schema = raw as TSchema;
  const check = TypeCompiler.Compile(schema);
  // A body whose fields are all optional may be left out (`POST /v1/orders/:id/ready` with no body): it is `{}`.
  const bodyOptional = httpPart === 'body' && check.Check({});
  return (data: unknown) => {
    const value = httpPart === 'body' ? (data == null && bodyOptional ? {} : data) : Value.Convert(schema, Value.Default(schema, Value.Clone(data ?? {})));
    if (check.Check(value)) return { value };
    const first = check.Errors(value).First();
    const validation = [{ instancePath: first?.path ?? '', message: first?.message ?? 'invalid', params: {} }];
    return { error: Object.assign(new Error(`${fieldOfPath(first?.path ?? '')}: ${first?.message ?? 'invalid'}`), { validation }) };
  };
};

/** `/pickup/lat` → `pickup.lat` (the field a client has to fix). */
export function fieldOfPath(path: string): string {
  return path.replace(/^\//, '').replace(/\//g, '.') || '(root)';
}

/** First schema error of a frame as {field, message}. */
export function firstFrameError(errors: Iterable<ValueError>): { field: string; message: string } {
  for (const e of errors) {
    const field = fieldOfPath(e.path);
    return { field, message: `${field}: ${e.message}` };
  }
  return { field: '(root)', message: 'invalid frame' };
}

/** Ajv (Fastify) validation error → the field it is about. */
export function fieldOfAjvError(e: { instancePath?: string; params?: Record<string, unknown> }): string {
  const base = fieldOfPath(e.instancePath ?? '');
  const extra = (e.params?.missingProperty ?? e.params?.additionalProperty) as string | undefined;
  if (!extra) return base;
  return base === '(root)' ? extra : `${base}.${extra}`;
}

const STATUS: Record<string, number> = {
  illegal_transition: 409,
  offer_mismatch: 409,
  not_your_order: 404,
  pin_mismatch: 422,
  pin_required: 422,
  invalid_window: 400,
  validation_failed: 400,
  idempotency_conflict: 409,
  version_conflict: 409,
  order_not_found: 404,
  invalid_cursor: 400,
  offer_not_found: 404,
  offer_not_yours: 403,
  offer_closed: 409,
  offer_expired: 409,
  courier_has_open_offer: 409,
  courier_paused: 409,
  order_changed: 409,
  no_orders: 400,
  outside_service_area: 422,
  order_not_assignable: 409,
  order_not_assigned: 409,
  order_picked_up: 409,
  override_forbidden: 403,
};

/** Order, repository and offer errors → AppError with their stable code; anything else unchanged. */
export function toAppError(err: unknown): unknown {
  if (err instanceof OrderError || err instanceof OrderStoreError || err instanceof OfferError) {
    const status = STATUS[err.code] ?? 400;
    // a foreign order looks absent, not forbidden
    if (err.code === 'not_your_order') return new AppError(404, 'order_not_found', err.message, err.details);
    return new AppError(status, err.code, err.message, err.details);
  }
  if (err instanceof OutsideServiceAreaError) return new AppError(422, err.code, err.message, { field: err.field, point: err.field });
  if (err instanceof ZoneRefusalError) return new AppError(422, err.code, err.message, err.details);
  if (err instanceof QuoteError) return new AppError(err.code === 'quote_not_found' ? 404 : 409, err.code, err.message, err.details);
  if (err instanceof OverrideError) return new AppError(409, err.code, err.message, err.details);
  if (err instanceof CarrierDispatchError) return new AppError(err.status, err.code, err.message, err.details);
  return err;
}

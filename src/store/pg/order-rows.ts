/** Mapping between the `orders` / `order_events` rows and the domain types (the one place that knows both). */
import { minorDigits } from '../../domain/fees.js';
import type { DeliveryOption, Order, OrderEvent, OrderEventType, OrderStatus, Role } from '../../domain/order.js';

export interface OrderRow {
  id: string;
  store_id: string;
  external_id: string;
  status: string;
  version: number;
  pickup_lat: number;
  pickup_lng: number;
  pickup_address: string | null;
  dropoff_lat: number;
  dropoff_lng: number;
  dropoff_address: string | null;
  items: number;
  size: number;
  placed_at: Date;
  ready_at: Date;
  ready_known: boolean;
  delivery_option: string;
  window_from: Date | null;
  window_to: Date | null;
  promised_by: Date;
  pin: string | null;
  courier_id: string | null;
  offer_id: string | null;
  declined_by: string[];
  reason: string | null;
  pinned: boolean;
  priority: number;
  /** bigint: pg hands it over as a string. */
  fee_minor: string | null;
  fee_currency: string | null;
  quote_id: string | null;
  updated_at: Date;
}

export interface EventRow {
  event_id: string;
  order_id: string;
  version: number;
  type: string;
  actor_role: string;
  actor_id: string;
  at: Date;
  data: Record<string, unknown>;
}

/** An event as stored: the domain event plus its globally unique id (webhook receivers dedupe on it). */
export interface StoredOrderEvent extends OrderEvent {
  readonly eventId: string;
}

const place = (lat: number, lng: number, address: string | null) => (address === null ? { lat, lng } : { lat, lng, address });

export function orderFromRow(r: OrderRow): Order {
  return {
    id: r.id,
    storeId: r.store_id,
    externalId: r.external_id,
    status: r.status as OrderStatus,
    version: r.version,
    pickup: place(r.pickup_lat, r.pickup_lng, r.pickup_address),
    dropoff: place(r.dropoff_lat, r.dropoff_lng, r.dropoff_address),
    items: r.items,
    size: r.size,
    placedAt: r.placed_at.getTime(),
    readyAt: r.ready_at.getTime(),
    readyKnown: r.ready_known,
    option: r.delivery_option as DeliveryOption,
    window: r.window_from && r.window_to ? { from: r.window_from.getTime(), to: r.window_to.getTime() } : null,
    promisedBy: r.promised_by.getTime(),
    pin: r.pin,
    courierId: r.courier_id,
    offerId: r.offer_id,
    declinedBy: r.declined_by,
    reason: r.reason,
    pinned: r.pinned,
    priority: r.priority,
    fee: r.fee_minor !== null && r.fee_currency !== null ? { amount: Number(r.fee_minor) / 10 ** minorDigits(r.fee_currency), currency: r.fee_currency } : null,
    quoteId: r.quote_id,
    updatedAt: r.updated_at.getTime(),
  };
}

/** Column values in the order of ORDER_COLUMNS. */
export const ORDER_COLUMNS = [
  'id',
  'store_id',
  'external_id',
  'status',
  'version',
  'pickup_lat',
  'pickup_lng',
  'pickup_address',
  'dropoff_lat',
  'dropoff_lng',
  'dropoff_address',
  'items',
  'size',
  'placed_at',
  'ready_at',
  'ready_known',
  'delivery_option',
  'window_from',
  'window_to',
  'promised_by',
  'pin',
  'courier_id',
  'offer_id',
  'declined_by',
  'reason',
  'updated_at',
  'pinned',
  'priority',
  'fee_minor',
  'fee_currency',
  'quote_id',
] as const;

export function orderValues(o: Order): unknown[] {
  const d = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));
  return [
    o.id,
    o.storeId,
    o.externalId,
    o.status,
    o.version,
    o.pickup.lat,
    o.pickup.lng,
    o.pickup.address ?? null,
    o.dropoff.lat,
    o.dropoff.lng,
    o.dropoff.address ?? null,
    o.items,
    o.size,
    d(o.placedAt),
    d(o.readyAt),
    o.readyKnown,
    o.option,
    d(o.window?.from),
    d(o.window?.to),
    d(o.promisedBy),
    o.pin,
    o.courierId,
    o.offerId,
    o.declinedBy,
    o.reason,
    d(o.updatedAt),
    o.pinned,
    o.priority,
    o.fee ? Math.round(o.fee.amount * 10 ** minorDigits(o.fee.currency)) : null,
    o.fee?.currency ?? null,
    o.quoteId,
  ];
}

export function eventFromRow(r: EventRow): StoredOrderEvent {
  return {
    eventId: r.event_id,
    orderId: r.order_id,
    version: r.version,
    type: r.type as OrderEventType,
    actor: { role: r.actor_role as Role, id: r.actor_id },
    at: r.at.getTime(),
    data: r.data,
  };
}

/** Mapping between the `orders` / `order_events` rows and the domain types (the one place that knows both). */
import { minorDigits } from '../../domain/fees.js';
import type { CarrierStatus } from '../../domain/carrier.js';
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
  fleet: string;
  carrier_delivery_id: string | null;
  /** bigint: pg hands it over as a string. */
  carrier_cost_minor: string | null;
  carrier_cost_currency: string | null;
  carrier_status: string | null;
  own_only: boolean;
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

const money = (minor: string | null, currency: string | null) => (minor !== null && currency !== null ? { amount: Number(minor) / 10 ** minorDigits(currency), currency } : null);
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
    fee: money(r.fee_minor, r.fee_currency),
    quoteId: r.quote_id,
    fleet: r.fleet,
    carrierDeliveryId: r.carrier_delivery_id,
    carrierCost: money(r.carrier_cost_minor, r.carrier_cost_currency),
    carrierStatus: r.carrier_status as CarrierStatus | null,
    ownOnly: r.own_only,
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
  'fleet',
  'carrier_delivery_id',
  'carrier_cost_minor',
  'carrier_cost_currency',
  'carrier_status',
  'own_only',
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
    o.fleet,
    o.carrierDeliveryId,
    o.carrierCost ? Math.round(o.carrierCost.amount * 10 ** minorDigits(o.carrierCost.currency)) : null,
    o.carrierCost?.currency ?? null,
    o.carrierStatus,
    o.ownOnly,
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

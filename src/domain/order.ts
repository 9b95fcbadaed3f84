/**
 * The order and its lifecycle, pure: no I/O, no clock (times are passed in, epoch milliseconds).
 *
 *   placed → ready → offered → assigned → at_pickup → picked_up → at_dropoff → delivered
 *
 * - `placed → offered` is also legal: dispatch may run ahead of readiness (the optimizer sees
 *   `readyKnown: false`); `ready` on an order already in flight only updates its ready time.
 * - A rejected or expired offer puts the order back to `ready` (or `placed` when readiness is not
 *   known yet) and adds the courier to `declinedBy`, so it is never offered to them again.
 * - Cancel before pickup → `cancelled`; after pickup the goods are with the courier, so a cancel turns
 *   into a return (`returning` → `returned`), never a silent cancel.
 * - `failed` (with a reason) where something can actually fail: no courier found, store cannot
 *   prepare it, customer unreachable, courier incident.
 * - Dispatcher overrides: `dispatcher_assigned` binds the order to a courier and pins it (an open offer
 *   of it is replaced, a courier assigned before pickup is swapped); `dispatcher_unassigned` puts an
 *   order that was not picked up yet back in the pool, unpinned; `priority_changed` (0..10) on any
 *   order still running. Pinned orders are never open, so the optimizer never changes them.
 * - Assignment update (issue 14): `reassigned` (system) takes an `assigned` order (not pinned, not reached
 *   yet) from its courier and offers it to another one in the same step (`offered`), whose answer then
 *   goes as for any offer (accept → `assigned`; reject / expiry → back to the pool).
 * - Hybrid fleet (issue 13): `carrier_requested` hands an open order to a third-party carrier (the
 *   dispatch round's fleet policy, or a dispatcher forcing it — then also from an own courier before
 *   pickup): the order is `assigned` with `fleet` = the carrier, its delivery id and cost, no own
 *   courier. Never from `offered` (an own offer is open). The carrier's statuses (`carrier_status`,
 *   recorded as `carrier_<status>` events) move it along the same lifecycle, only forward; a carrier
 *   `failed`/`cancelled` before pickup puts it back in the pool with `ownOnly` (own fleet from then on)
 *   and the reason, after pickup it fails (`courier_incident`). `fleet_forced` {fleet: own} sets
 *   `ownOnly` (and takes a carrier order back before pickup). Dispatcher assign/unassign are refused
 *   on a carrier order (force the own fleet first).
 * Every applied event increments `version` by exactly one; anything else throws `OrderError`.
 */
import type { DeliveryOption } from '../dispatch/types.js';
import { isValidLatLng } from './geo.js';
import type { Money } from './fees.js';
import type { CarrierStatus } from './carrier.js';

export type { DeliveryOption };

export const ORDER_STATUSES = [
  'placed',
  'ready',
  'offered',
  'assigned',
  'at_pickup',
  'picked_up',
  'at_dropoff',
  'delivered',
  'cancelled',
  'returning',
  'returned',
  'failed',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const TERMINAL_STATUSES: readonly OrderStatus[] = ['delivered', 'cancelled', 'returned', 'failed'];
/** Statuses in which the order waits in the open pool for a courier. */
export const OPEN_STATUSES: readonly OrderStatus[] = ['placed', 'ready'];
/** Statuses in which a courier is bound to the order. */
export const ACTIVE_STATUSES: readonly OrderStatus[] = ['assigned', 'at_pickup', 'picked_up', 'at_dropoff', 'returning'];

export type Role = 'courier' | 'store' | 'customer' | 'dispatcher' | 'admin' | 'system';

export interface Actor {
  readonly role: Role;
  readonly id: string;
}

export interface Place {
  readonly lat: number;
  readonly lng: number;
  readonly address?: string;
}

export interface TimeWindow {
  readonly from: number;
  readonly to: number;
}

/** What a store sends; everything the order is created from (and compared on for idempotency). */
export interface OrderInput {
  readonly externalId: string;
  readonly pickup: Place;
  readonly dropoff: Place;
  readonly items: number;
  /** Capacity units; defaults to 1. */
  readonly size?: number;
  /** Placement time (epoch ms); defaults to the time the service receives it. */
  readonly placedAt?: number;
  /** Estimated ready time (epoch ms); defaults to placement time. */
  readonly readyAt?: number;
  readonly option: DeliveryOption;
  /** Required for `scheduled`, refused otherwise. */
  readonly window?: TimeWindow;
  /** Delivery PIN the customer tells the courier (optional proof of delivery). */
  readonly pin?: string;
  /** Place against this quote: the order keeps the quoted fee and promise (POST /v1/quotes). */
  readonly quoteId?: string;
}

export interface Order {
  readonly id: string;
  readonly storeId: string;
  readonly externalId: string;
  readonly status: OrderStatus;
  readonly version: number;
  readonly pickup: Place;
  readonly dropoff: Place;
  readonly items: number;
  readonly size: number;
  readonly placedAt: number;
  readonly readyAt: number;
  readonly readyKnown: boolean;
  readonly option: DeliveryOption;
  readonly window: TimeWindow | null;
  readonly promisedBy: number;
  readonly pin: string | null;
  readonly courierId: string | null;
  readonly offerId: string | null;
  readonly declinedBy: readonly string[];
  /** Why it was cancelled, returned or failed. */
  readonly reason: string | null;
  /** A dispatcher (or admin) assigned it by hand: the optimizer must not change the assignment. */
  readonly pinned: boolean;
  /** Higher is more urgent, 0..10 (the optimizer's OrderRequest.priority); 0 unless a dispatcher raised it. */
  readonly priority: number;
  /** The delivery fee quoted for it; null for orders placed without a quote. */
  readonly fee: Money | null;
  readonly quoteId: string | null;
  /** Who delivers it: `own` (our couriers) or the name of the carrier it was handed to. */
  readonly fleet: string;
  /** The carrier's id of the delivery while a carrier has it. */
  readonly carrierDeliveryId: string | null;
  /** What the carrier charges for it (its quote) while a carrier has it. */
  readonly carrierCost: Money | null;
  /** The last status the carrier reported (null: no carrier has it). */
  readonly carrierStatus: CarrierStatus | null;
  /** Own fleet only: a carrier failed or cancelled it, or a dispatcher forced the own fleet. */
  readonly ownOnly: boolean;
  readonly updatedAt: number;
}

/** What an order is sold at when it differs from the defaults: a quote's promise and fee. */
export interface OrderTerms {
  readonly promisedBy?: number;
  readonly fee?: Money | null;
  readonly quoteId?: string | null;
}

export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 10;
/** Statuses a dispatcher may assign (and pin) from: anything before pickup that is still running. */
export const ASSIGNABLE_STATUSES: readonly OrderStatus[] = ['placed', 'ready', 'offered', 'assigned', 'at_pickup'];
/** Statuses after pickup: the goods are with the courier. */
export const PICKED_UP_STATUSES: readonly OrderStatus[] = ['picked_up', 'at_dropoff', 'returning', 'delivered', 'returned'];

export const FAILURE_REASONS = [
  'no_courier',
  'store_cannot_fulfil',
  'customer_unreachable',
  'address_not_found',
  'courier_incident',
  'damaged',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** A command against an order; `applyOrderEvent` decides if it is legal in the current status. */
export type OrderEventInput =
  | { readonly type: 'ready'; readonly readyAt?: number }
  | { readonly type: 'offered'; readonly offerId: string; readonly courierId: string; readonly expiresAt: number }
  | { readonly type: 'offer_rejected'; readonly offerId: string; readonly courierId: string; readonly reason: string }
  | { readonly type: 'offer_expired'; readonly offerId: string; readonly courierId: string }
  /** The offer was taken back (another order of its bundle was cancelled): back to the pool, no exclusion. */
  | { readonly type: 'offer_withdrawn'; readonly offerId: string; readonly courierId: string }
  | { readonly type: 'accepted'; readonly offerId: string; readonly courierId: string }
  | { readonly type: 'arrived_pickup'; readonly auto?: boolean; readonly fixTs?: number }
  | { readonly type: 'picked_up' }
  | { readonly type: 'arrived_dropoff'; readonly auto?: boolean; readonly fixTs?: number }
  | { readonly type: 'delivered'; readonly proof?: DeliveryProof }
  | { readonly type: 'cancelled'; readonly reason?: string }
  | { readonly type: 'returned' }
  | { readonly type: 'failed'; readonly reason: FailureReason; readonly note?: string }
  /** Dispatcher override: assign to this courier and pin (replaces an open offer or another courier before pickup). */
  | { readonly type: 'dispatcher_assigned'; readonly courierId: string }
  /** Dispatcher override: take the order away from its courier (before pickup), back to the pool, unpinned. */
  | { readonly type: 'dispatcher_unassigned' }
  /** Dispatcher override: 0 (default) .. 10 (most urgent). */
  | { readonly type: 'priority_changed'; readonly priority: number }
  /**
   * Assignment update (the dispatch round, issue 14): an order assigned but not reached yet is taken from
   * its courier and offered to a better one (must accept) because its ready estimate changed.
   */
  | {
      readonly type: 'reassigned';
      readonly offerId: string;
      readonly courierId: string;
      readonly expiresAt: number;
      /** Why: `estimate_changed`. */
      readonly reason: string;
      /** Pickup earlier by this many seconds; the gain in seconds of click-to-door; the estimate's change (s). */
      readonly savedS: number;
      readonly gainS: number;
      readonly readyChangeS: number;
    }
  /** Handed to a carrier (fleet policy or a dispatcher's force): the carrier created delivery `deliveryId`. */
  | {
      readonly type: 'carrier_requested';
      readonly carrier: string;
      readonly deliveryId: string;
      readonly cost: Money;
      /** Why: the fleet policy's reason, or `dispatcher`. */
      readonly reason: string;
      readonly pickupEta: number;
      readonly dropoffEta: number;
      /** A dispatcher forced it: allowed on `ownOnly` orders and from an own courier before pickup. */
      readonly forced?: boolean;
    }
  /** A status the carrier reported (its webhook); recorded as the event `carrier_<status>`. */
  | {
      readonly type: 'carrier_status';
      readonly status: CarrierStatus;
      readonly carrierEventId: string;
      /** The carrier's time of the status (epoch ms). */
      readonly reportedAt: number;
      readonly carrierCourierId?: string;
      readonly reason?: string;
    }
  /** Dispatcher: own fleet only from now on (a carrier order before pickup comes back to the pool). */
  | { readonly type: 'fleet_forced'; readonly fleet: 'own'; readonly reason?: string };

/** The order event a carrier status is recorded as. */
export type CarrierEventType = `carrier_${CarrierStatus}`;
export type OrderEventType = Exclude<OrderEventInput['type'], 'carrier_status'> | 'placed' | 'return_started' | CarrierEventType;

/** Carrier statuses in lifecycle order: a webhook is applied only when it moves the order forward. */
export const CARRIER_STATUS_RANK: Readonly<Record<CarrierStatus, number>> = {
  created: 0,
  courier_assigned: 1,
  at_pickup: 2,
  picked_up: 3,
  at_dropoff: 4,
  delivered: 5,
  failed: 5,
  cancelled: 5,
};

export interface DeliveryProof {
  readonly pin?: string;
  readonly photoRef?: string;
}

/** One row of the append-only history. */
export interface OrderEvent {
  readonly orderId: string;
  readonly version: number;
  readonly type: OrderEventType;
  readonly actor: Actor;
  readonly at: number;
  readonly data: Record<string, unknown>;
}

export type OrderErrorCode =
  | 'illegal_transition'
  | 'offer_mismatch'
  | 'not_your_order'
  | 'pin_mismatch'
  | 'pin_required'
  | 'invalid_window'
  | 'invalid_location'
  | 'validation_failed'
  | 'order_not_assignable'
  | 'order_not_assigned'
  | 'order_picked_up'
  | 'override_forbidden'
  | 'carrier_status_stale';

export class OrderError extends Error {
  constructor(
    readonly code: OrderErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'OrderError';
  }
}

/** Which commands each status accepts (the whole state machine in one table). */
const LEGAL: Record<OrderStatus, readonly OrderEventInput['type'][]> = {
  placed: ['ready', 'offered', 'cancelled', 'failed', 'dispatcher_assigned', 'priority_changed', 'carrier_requested', 'fleet_forced'],
  ready: ['ready', 'offered', 'cancelled', 'failed', 'dispatcher_assigned', 'priority_changed', 'carrier_requested', 'fleet_forced'],
  offered: ['ready', 'offer_rejected', 'offer_expired', 'offer_withdrawn', 'accepted', 'cancelled', 'dispatcher_assigned', 'priority_changed', 'fleet_forced'],
  assigned: ['ready', 'arrived_pickup', 'cancelled', 'failed', 'dispatcher_assigned', 'dispatcher_unassigned', 'priority_changed', 'carrier_requested', 'carrier_status', 'fleet_forced', 'reassigned'],
  at_pickup: ['ready', 'picked_up', 'cancelled', 'failed', 'dispatcher_assigned', 'dispatcher_unassigned', 'priority_changed', 'carrier_requested', 'carrier_status', 'fleet_forced'],
  picked_up: ['arrived_dropoff', 'cancelled', 'failed', 'priority_changed', 'carrier_status'],
  at_dropoff: ['delivered', 'cancelled', 'failed', 'priority_changed', 'carrier_status'],
  returning: ['returned', 'failed', 'priority_changed'],
  delivered: [],
  cancelled: [],
  returned: [],
  failed: [],
};

export function isLegal(status: OrderStatus, type: OrderEventInput['type']): boolean {
  return LEGAL[status].includes(type);
}

export function legalEventTypes(status: OrderStatus): readonly OrderEventInput['type'][] {
  return LEGAL[status];
}

export function isTerminal(status: OrderStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Configurable promise targets: minutes after placement per option. */
export interface PromiseTargets {
  readonly expressMs: number;
  readonly standardMs: number;
}

/** Scheduled deliveries promise the end of their window; the others a fixed target after placement. */
export function promisedDeliveryTime(
  option: DeliveryOption,
  placedAt: number,
  targets: PromiseTargets,
  window?: TimeWindow | null,
): number {
  switch (option) {
    case 'express':
      return placedAt + targets.expressMs;
    case 'standard':
      return placedAt + targets.standardMs;
    case 'scheduled':
      if (!window) throw new OrderError('invalid_window', 'a scheduled order needs a window', { field: 'window' });
      return window.to;
  }
}

/**
 * Business checks the schema cannot express; returns the problem or null. A delivery window that is
 * missing, empty, already over or given for a non-scheduled order is `invalid_window`; other
 * contradictions within the request are `validation_failed` (both 400, with the offending `field`).
 */
export function checkOrderInput(
  input: OrderInput,
  now: number,
): { code: 'invalid_window' | 'invalid_location' | 'validation_failed'; field: string; message: string } | null {
  const window = (field: string, message: string) => ({ code: 'invalid_window' as const, field, message });
  // the same rule as courier points: exactly (0,0) is a failed GPS fix or a missing geocode, not a place
  for (const field of ['pickup', 'dropoff'] as const) {
    const { lat, lng } = input[field];
    if (!isValidLatLng(lat, lng)) return { code: 'invalid_location', field, message: `${field} is exactly (0,0): a missing or failed geocode, not a place` };
  }
  if (input.option === 'scheduled') {
    if (!input.window) return window('window', 'window is required for a scheduled delivery');
    if (!(input.window.from < input.window.to)) return window('window', 'window.from must be before window.to');
    if (input.window.to <= (input.placedAt ?? now)) return window('window.to', 'window ends before placement');
  } else if (input.window) {
    return window('window', `window is only allowed for scheduled delivery, not ${input.option}`);
  }
  // only a contradiction within the request itself; an estimate a little behind the server's clock is fine
  if (input.readyAt !== undefined && input.placedAt !== undefined && input.readyAt < input.placedAt) {
    return { code: 'validation_failed', field: 'readyAt', message: 'readyAt is before placedAt' };
  }
  return null;
}

/** Creates a new order at version 1 together with its `placed` event. */
export function createOrder(
  id: string,
  storeId: string,
  input: OrderInput,
  now: number,
  targets: PromiseTargets,
  actor: Actor,
  terms: OrderTerms = {},
): { order: Order; event: OrderEvent } {
  const problem = checkOrderInput(input, now);
  if (problem) throw new OrderError(problem.code, problem.message, { field: problem.field });
  const placedAt = input.placedAt ?? now;
  const order: Order = {
    id,
    storeId,
    externalId: input.externalId,
    status: 'placed',
    version: 1,
    pickup: input.pickup,
    dropoff: input.dropoff,
    items: input.items,
    size: input.size ?? 1,
    placedAt,
    // food cannot be ready before the order exists
    readyAt: Math.max(input.readyAt ?? placedAt, placedAt),
    readyKnown: false,
    option: input.option,
    window: input.window ?? null,
    promisedBy: terms.promisedBy ?? promisedDeliveryTime(input.option, placedAt, targets, input.window),
    pin: input.pin ?? null,
    courierId: null,
    offerId: null,
    declinedBy: [],
    reason: null,
    pinned: false,
    priority: 0,
    fee: terms.fee ?? null,
    quoteId: terms.quoteId ?? null,
    fleet: 'own',
    carrierDeliveryId: null,
    carrierCost: null,
    carrierStatus: null,
    ownOnly: false,
    updatedAt: now,
  };
  const event: OrderEvent = {
    orderId: id,
    version: 1,
    type: 'placed',
    actor,
    at: now,
    data: {
      promisedBy: order.promisedBy,
      option: order.option,
      readyAt: order.readyAt,
      ...(order.fee ? { fee: order.fee } : {}),
      ...(order.quoteId ? { quoteId: order.quoteId } : {}),
    },
  };
  return { order, event };
}

/** Overrides are refused with a code that says why; everything else with `illegal_transition`. */
function refusalCode(order: Order, type: OrderEventInput['type']): OrderErrorCode {
  if (type === 'dispatcher_assigned') return 'order_not_assignable';
  if (type === 'dispatcher_unassigned') return PICKED_UP_STATUSES.includes(order.status) ? 'order_picked_up' : 'order_not_assigned';
  return 'illegal_transition';
}

const OVERRIDE_EVENTS: readonly OrderEventInput['type'][] = ['dispatcher_assigned', 'dispatcher_unassigned', 'priority_changed', 'carrier_requested', 'carrier_status', 'fleet_forced', 'reassigned'];
const OVERRIDE_ROLES: readonly Role[] = ['dispatcher', 'admin', 'system'];

function illegal(order: Order, type: OrderEventInput['type']): OrderError {
  return new OrderError(refusalCode(order, type), `cannot apply ${type} to an order that is ${order.status}`, {
    orderId: order.id,
    status: order.status,
    event: type,
    allowed: LEGAL[order.status],
  });
}

/**
 * Applies one command. Returns the new order (version + 1) and the event to append, or throws
 * `OrderError` and changes nothing. Couriers may only act on orders bound to them.
 */
export function applyOrderEvent(
  order: Order,
  input: OrderEventInput,
  actor: Actor,
  now: number,
): { order: Order; event: OrderEvent } {
  if (OVERRIDE_EVENTS.includes(input.type) && !OVERRIDE_ROLES.includes(actor.role)) {
    throw new OrderError('override_forbidden', `${actor.role} may not ${input.type.replace('_', ' ')} orders`, { orderId: order.id, event: input.type });
  }
  if (!isLegal(order.status, input.type)) throw illegal(order, input.type);
  checkFleet(order, input, actor);
  // a courier acts only on an order offered or assigned to them
  if (actor.role === 'courier' && order.courierId !== actor.id) {
    throw new OrderError('not_your_order', `order ${order.id} is not assigned to courier ${actor.id}`, { orderId: order.id });
  }
  let next: Order;
  let type: OrderEventType = input.type === 'carrier_status' ? `carrier_${input.status}` : input.type;
  let data: Record<string, unknown> = {};
  const pool: OrderStatus = order.readyKnown ? 'ready' : 'placed';
  switch (input.type) {
    case 'ready': {
      const readyAt = input.readyAt ?? now;
      next = { ...order, readyAt, readyKnown: true, status: order.status === 'placed' ? 'ready' : order.status };
      data = { readyAt };
      break;
    }
    case 'offered':
      if (order.declinedBy.includes(input.courierId)) {
        throw new OrderError('illegal_transition', `courier ${input.courierId} already declined order ${order.id}`, {
          orderId: order.id,
          courierId: input.courierId,
        });
      }
      next = { ...order, status: 'offered', offerId: input.offerId, courierId: input.courierId };
      data = { offerId: input.offerId, courierId: input.courierId, expiresAt: input.expiresAt };
      break;
    case 'offer_rejected':
    case 'offer_expired': {
      checkOffer(order, input.offerId, input.courierId);
      next = {
        ...order,
        status: pool,
        offerId: null,
        courierId: null,
        declinedBy: [...order.declinedBy, input.courierId],
      };
      data = { offerId: input.offerId, courierId: input.courierId };
      if (input.type === 'offer_rejected') data.reason = input.reason;
      break;
    }
    case 'offer_withdrawn':
      checkOffer(order, input.offerId, input.courierId);
      next = { ...order, status: pool, offerId: null, courierId: null };
      data = { offerId: input.offerId, courierId: input.courierId };
      break;
    case 'accepted':
      checkOffer(order, input.offerId, input.courierId);
      next = { ...order, status: 'assigned' };
      data = { offerId: input.offerId, courierId: input.courierId };
      break;
    case 'arrived_pickup':
      next = { ...order, status: 'at_pickup' };
      data = arrivalData(order, input);
      break;
    case 'picked_up':
      next = { ...order, status: 'picked_up' };
      data = { courierId: order.courierId };
      break;
    case 'arrived_dropoff':
      next = { ...order, status: 'at_dropoff' };
      data = arrivalData(order, input);
      break;
    case 'delivered': {
      const proof = input.proof ?? {};
      // a PIN set by the store is the proof: without it the hand-over cannot be confirmed
      if (order.pin !== null && proof.pin === undefined) {
        throw new OrderError('pin_required', 'this order needs the delivery PIN as proof', { orderId: order.id, field: 'proof.pin' });
      }
      if (proof.pin !== undefined && order.pin !== null && proof.pin !== order.pin) {
        throw new OrderError('pin_mismatch', 'the delivery PIN does not match', { orderId: order.id });
      }
      next = { ...order, status: 'delivered' };
      data = { courierId: order.courierId, pinChecked: proof.pin !== undefined && order.pin !== null };
      if (proof.photoRef) data.photoRef = proof.photoRef;
      break;
    }
    case 'cancelled': {
      const afterPickup = order.status === 'picked_up' || order.status === 'at_dropoff';
      const reason = input.reason ?? 'cancelled';
      if (afterPickup) {
        // the goods are with the courier: bring them back instead of dropping the order silently
        type = 'return_started';
        next = { ...order, status: 'returning', reason };
      } else {
        next = { ...order, status: 'cancelled', reason, offerId: null };
      }
      data = { reason, courierId: order.courierId, previousStatus: order.status };
      break;
    }
    case 'returned':
      next = { ...order, status: 'returned' };
      data = { courierId: order.courierId };
      break;
    case 'failed':
      next = { ...order, status: 'failed', reason: input.reason, offerId: null };
      data = { reason: input.reason, courierId: order.courierId, previousStatus: order.status };
      if (input.note) data.note = input.note;
      break;
    case 'dispatcher_assigned': {
      // the same courier keeps its progress (already at the pickup); another one starts from scratch
      const same = order.courierId === input.courierId && (order.status === 'assigned' || order.status === 'at_pickup');
      next = { ...order, status: same ? order.status : 'assigned', courierId: input.courierId, offerId: null, pinned: true };
      data = { courierId: input.courierId, previousCourierId: order.courierId, previousStatus: order.status };
      // an open offer of this order is replaced by the assignment
      if (order.status === 'offered') data.withdrawnOfferId = order.offerId;
      break;
    }
    case 'reassigned':
      if (order.pinned || order.declinedBy.includes(input.courierId) || order.courierId === input.courierId) {
        throw new OrderError('illegal_transition', `order ${order.id} cannot move to courier ${input.courierId} automatically`, {
          orderId: order.id,
          courierId: input.courierId,
          pinned: order.pinned,
        });
      }
      next = { ...order, status: 'offered', offerId: input.offerId, courierId: input.courierId };
      data = {
        offerId: input.offerId,
        courierId: input.courierId,
        previousCourierId: order.courierId,
        expiresAt: input.expiresAt,
        reason: input.reason,
        savedS: input.savedS,
        gainS: input.gainS,
        readyChangeS: input.readyChangeS,
      };
      break;
    case 'dispatcher_unassigned':
      next = { ...order, status: pool, courierId: null, offerId: null, pinned: false };
      data = { courierId: order.courierId, previousStatus: order.status };
      break;
    case 'priority_changed':
      if (!Number.isInteger(input.priority) || input.priority < MIN_PRIORITY || input.priority > MAX_PRIORITY) {
        throw new OrderError('validation_failed', `priority must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}`, { orderId: order.id, field: 'priority' });
      }
      next = { ...order, priority: input.priority };
      data = { priority: input.priority, previousPriority: order.priority };
      break;
    case 'carrier_requested':
      next = {
        ...order,
        status: 'assigned',
        fleet: input.carrier,
        carrierDeliveryId: input.deliveryId,
        carrierCost: input.cost,
        carrierStatus: 'created',
        courierId: null,
        offerId: null,
        pinned: false,
      };
      data = {
        carrier: input.carrier,
        deliveryId: input.deliveryId,
        cost: input.cost,
        reason: input.reason,
        pickupEta: input.pickupEta,
        dropoffEta: input.dropoffEta,
        forced: input.forced ?? false,
        previousStatus: order.status,
        // an own courier it was taken from hears it (post-commit notice)
        ...(order.courierId ? { courierId: order.courierId } : {}),
      };
      break;
    case 'carrier_status': {
      data = {
        carrier: order.fleet,
        deliveryId: order.carrierDeliveryId,
        carrierEventId: input.carrierEventId,
        reportedAt: input.reportedAt,
        ...(input.carrierCourierId ? { carrierCourierId: input.carrierCourierId } : {}),
        ...(input.reason ? { reason: input.reason } : {}),
      };
      const s = input.status;
      if (s === 'failed' || s === 'cancelled') {
        const reason = `carrier_${s}${input.reason ? `: ${input.reason}` : ''}`;
        if (PICKED_UP_STATUSES.includes(order.status)) {
          // the goods are with the carrier's courier: nothing to re-dispatch, the order failed
          next = { ...order, status: 'failed', carrierStatus: s, reason: 'courier_incident', offerId: null };
          data = { ...data, previousStatus: order.status, note: reason };
        } else {
          // back to own dispatch, nothing lost: the order is open again, for the own fleet only
          next = { ...backToOwn(order, pool), reason };
          data = { ...data, previousStatus: order.status, backToOwn: true };
        }
        break;
      }
      const moves: Partial<Record<CarrierStatus, OrderStatus>> = { at_pickup: 'at_pickup', picked_up: 'picked_up', at_dropoff: 'at_dropoff', delivered: 'delivered' };
      next = { ...order, carrierStatus: s, status: moves[s] ?? order.status };
      break;
    }
    case 'fleet_forced':
      if (order.fleet !== 'own') {
        next = { ...backToOwn(order, pool), reason: input.reason ?? 'dispatcher' };
        data = { fleet: 'own', previousFleet: order.fleet, deliveryId: order.carrierDeliveryId, previousStatus: order.status, backToOwn: true };
      } else {
        next = { ...order, ownOnly: true };
        data = { fleet: 'own', previousFleet: order.fleet };
      }
      if (input.reason) data.reason = input.reason;
      break;
  }
  next = { ...next, version: order.version + 1, updatedAt: now };
  return { order: next, event: { orderId: order.id, version: next.version, type, actor, at: now, data } };
}

/** A carrier order back in the open pool, for the own fleet only (the carrier's delivery is over). */
function backToOwn(order: Order, pool: OrderStatus): Order {
  return { ...order, status: pool, fleet: 'own', carrierDeliveryId: null, carrierCost: null, carrierStatus: null, courierId: null, offerId: null, pinned: false, ownOnly: true };
}

/** The fleet rules the status table cannot express (see the file comment). */
function checkFleet(order: Order, input: OrderEventInput, actor: Actor): void {
  const carrierOrder = order.fleet !== 'own';
  const refuse = (code: OrderErrorCode, message: string) => {
    throw new OrderError(code, `${message} (order is ${order.status})`, { orderId: order.id, status: order.status, fleet: order.fleet, event: input.type });
  };
  switch (input.type) {
    case 'carrier_requested': {
      const forced = input.forced === true && (actor.role === 'dispatcher' || actor.role === 'admin');
      if (carrierOrder) refuse('illegal_transition', `order ${order.id} is already with carrier ${order.fleet}`);
      if (!forced && order.ownOnly) refuse('illegal_transition', `order ${order.id} is for the own fleet only`);
      if (!forced && !OPEN_STATUSES.includes(order.status)) refuse('illegal_transition', `only a dispatcher may take order ${order.id} from its courier for a carrier`);
      break;
    }
    case 'carrier_status':
      if (!carrierOrder) refuse('illegal_transition', `order ${order.id} is not with a carrier`);
      if (CARRIER_STATUS_RANK[input.status] <= CARRIER_STATUS_RANK[order.carrierStatus ?? 'created']) {
        refuse('carrier_status_stale', `carrier status ${input.status} does not move order ${order.id} forward (it is ${order.carrierStatus})`);
      }
      break;
    case 'fleet_forced':
      if (order.ownOnly && !carrierOrder) refuse('illegal_transition', `order ${order.id} is already for the own fleet only`);
      break;
    case 'dispatcher_assigned':
      if (carrierOrder) refuse('order_not_assignable', `order ${order.id} is with carrier ${order.fleet}: force the own fleet first`);
      break;
    case 'reassigned':
      if (carrierOrder) refuse('illegal_transition', `order ${order.id} is with carrier ${order.fleet}`);
      break;
    case 'dispatcher_unassigned':
      if (carrierOrder) refuse('order_not_assigned', `order ${order.id} is with carrier ${order.fleet}: force the own fleet first`);
      break;
    case 'arrived_pickup':
    case 'picked_up':
    case 'arrived_dropoff':
    case 'delivered':
      // a carrier order moves only with the carrier's statuses
      if (carrierOrder) refuse('illegal_transition', `order ${order.id} is with carrier ${order.fleet}`);
      break;
    default:
      break;
  }
}

/** Automatic (geofence) arrivals record the device time of the fix that completed the dwell. */
function arrivalData(order: Order, input: { auto?: boolean; fixTs?: number }): Record<string, unknown> {
  const data: Record<string, unknown> = { courierId: order.courierId, auto: input.auto ?? false };
  if (input.fixTs !== undefined) data.fixTs = input.fixTs;
  return data;
}

function checkOffer(order: Order, offerId: string, courierId: string): void {
  if (order.offerId !== offerId || order.courierId !== courierId) {
    throw new OrderError('offer_mismatch', `offer ${offerId} is not the open offer of order ${order.id}`, {
      orderId: order.id,
      offerId,
    });
  }
}

/** The view a store or dispatcher gets (the PIN never leaves the service). */
export function publicOrder(order: Order): Omit<Order, 'pin'> & { hasPin: boolean } {
  const { pin, ...rest } = order;
  return { ...rest, hasPin: pin !== null };
}

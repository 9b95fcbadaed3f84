/**
 * A simulated third-party carrier for the MDRP harness (issue 13, hybrid dispatch): orders the own
 * couriers leave waiting too long (late risk) or cannot serve at all go to a carrier at a price per
 * order. The own couriers keep the benchmark's rules untouched (rules.ts): the carrier only takes orders
 * out of the pool before a round, and its deliveries are counted apart (hybrid metrics, metrics.ts).
 *
 * Hand-off rule (`shouldHandOff`): an order still unassigned at minute `now` goes to the carrier once it
 * has waited `lateRiskMin` minutes since placement; when the own couriers are gone (no shift left), the
 * leftovers go at that moment. Delay model (`carrierDelivery`): the carrier's courier reaches the
 * restaurant `pickupMin` after the hand-off, picks the food up when it is ready (the instance's service
 * times, as for an own courier), rides straight to the customer at `speedFactor` × the instance's speed, and hands over
 * after the drop-off service. Deterministic, pure.
 */
import type { MdrpOrder, MdrpParameters, MdrpPlace } from './instance.js';
import { travelMinutes } from './rules.js';

export interface CarrierModel {
  /** What the carrier charges per order, dollars. */
  readonly pricePerOrder: number;
  /** Minutes an order may wait unassigned before it is handed to the carrier. */
  readonly lateRiskMin: number;
  /** Minutes from hand-off until the carrier's courier is at the restaurant. */
  readonly pickupMin: number;
  /** The carrier courier's speed relative to the instance's metersPerMinute. */
  readonly speedFactor: number;
}

export interface CarrierDelivery {
  readonly handedAt: number;
  readonly pickupAt: number;
  readonly dropoffAt: number;
  readonly price: number;
}

/** True when the still-unassigned order goes to the carrier at minute `now`. */
export function shouldHandOff(order: Pick<MdrpOrder, 'placementTime'>, now: number, model: Pick<CarrierModel, 'lateRiskMin'>, ownCouriersLeft: boolean): boolean {
  if (now < order.placementTime) return false;
  return !ownCouriersLeft || now - order.placementTime >= model.lateRiskMin;
}

/** When the carrier picks up and hands over an order handed to it at minute `handedAt`. */
export function carrierDelivery(order: Pick<MdrpOrder, 'readyTime' | 'customer'>, restaurant: MdrpPlace, handedAt: number, params: MdrpParameters, model: CarrierModel): CarrierDelivery {
  // the same service-time rules as an own courier's route (rules.ts timeRoute)
  const arrive = handedAt + model.pickupMin;
  const pickupAt = Math.max(arrive + params.pickupServiceMin / 2, order.readyTime);
  const ride = travelMinutes(restaurant, order.customer, params.metersPerMinute * model.speedFactor);
  const dropoffAt = pickupAt + params.pickupServiceMin / 2 + ride + params.dropoffServiceMin / 2;
  return { handedAt, pickupAt, dropoffAt, price: model.pricePerOrder };
}

/** Small builders for optimizer tests: planar MDRP-like world, 320 m/min, 4-minute service times. */
import { planarTravelModel } from '../../../src/dispatch/travel.js';
import type { CourierState, OrderRequest, PlanarPoint, Snapshot } from '../../../src/dispatch/types.js';
import { seededRandom } from '../../../src/domain/random.js';

export const travel = planarTravelModel(320);
export const service = { pickupS: 240, dropoffS: 240 };
export const pay = { perOrder: 10, guaranteedPerHour: 15 };

export function order(
  id: string,
  pickupId: string,
  pickup: PlanarPoint,
  dropoff: PlanarPoint,
  readyAt: number,
  extra: Partial<OrderRequest<PlanarPoint>> = {},
): OrderRequest<PlanarPoint> {
  const placedAt = extra.placedAt ?? Math.min(0, readyAt);
  return {
    id,
    pickupId,
    pickup,
    dropoff,
    placedAt,
    readyAt,
    readyKnown: true,
    option: 'standard',
    promisedBy: placedAt + 2400,
    size: 1,
    declinedBy: [],
    ...extra,
  };
}

export function courier(id: string, position: PlanarPoint, extra: Partial<CourierState<PlanarPoint>> = {}): CourierState<PlanarPoint> {
  return {
    id,
    position,
    freeAt: 0,
    shiftStart: 0,
    shiftEnd: 8 * 3600,
    capacity: 10,
    status: 'free',
    ordersThisShift: 0,
    ...extra,
  };
}

export function snapshot(
  orders: OrderRequest<PlanarPoint>[],
  couriers: CourierState<PlanarPoint>[],
  now = 0,
): Snapshot<PlanarPoint> {
  return { now, orders, couriers, travel, service, pay, seed: 1 };
}

/** Deterministic PRNG for randomized cases. */
export const rng = seededRandom;

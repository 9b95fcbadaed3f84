/**
 * The rules of the MDRP world (data README), in integer minutes: travel time and how a courier executes
 * one assignment. The simulator uses them to move couriers; the optimizer only ever sees them through the
 * TravelModel built here, so the world and the plan agree on travel times by construction.
 */
import type { PlanarPoint, TravelModel } from '../../dispatch/types.js';
import type { MdrpParameters, MdrpPlace } from './instance.js';

/**
 * ceil(euclidean distance / metres per minute), as the public evaluator computes it: sqrt(dx² + dy²)
 * rather than Math.hypot, whose last-bit rounding can differ and flip a ceil at an exact boundary.
 */
export function travelMinutes(a: PlanarPoint, b: PlanarPoint, metersPerMinute: number): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  return Math.ceil(Math.sqrt(dx * dx + dy * dy) / metersPerMinute);
}

/** The MDRP travel rule in seconds (minutes × 60) for snapshots. */
export function mdrpTravelModel(metersPerMinute: number): TravelModel<MdrpPlace> {
  return {
    seconds: (a, b) => travelMinutes(a, b, metersPerMinute) * 60,
    planar: (p) => p,
    // Rounding up only ever slows travel down, so the straight-line speed is an upper bound.
    maxSpeedMps: metersPerMinute / 60,
  };
}

/** One move of a courier, as the couriers solution file lists it. */
export interface Move {
  readonly departAt: number;
  readonly from: MdrpPlace;
  readonly to: MdrpPlace;
  readonly arriveAt: number;
}

/** The timed execution of one assignment (all times in minutes). */
export interface RouteTiming {
  readonly departAt: number;
  readonly arriveRestaurantAt: number;
  readonly pickupAt: number;
  /** Drop-off instants, in delivery sequence. */
  readonly dropoffAt: readonly number[];
  /** When the courier leaves the last customer: it is free from then on. */
  readonly freeAt: number;
  readonly moves: readonly Move[];
  /** Minutes spent driving (sum of move travel times). */
  readonly drivingMin: number;
}

/**
 * Times one assignment: leave `from` at `departAt`, pick the bundle up at `restaurant` no earlier than
 * arrival + half the pickup service and every ready time, leave half a service later, then visit the
 * customers in sequence, each drop-off half a service after arrival.
 */
export function timeRoute(
  params: MdrpParameters,
  from: MdrpPlace,
  departAt: number,
  restaurant: MdrpPlace,
  readyTimes: readonly number[],
  customers: readonly MdrpPlace[],
): RouteTiming {
  const mpm = params.metersPerMinute;
  const halfPickup = params.pickupServiceMin / 2;
  const halfDropoff = params.dropoffServiceMin / 2;
  const moves: Move[] = [];
  let drivingMin = 0;
  const move = (depart: number, a: MdrpPlace, b: MdrpPlace): number => {
    const tt = travelMinutes(a, b, mpm);
    drivingMin += tt;
    moves.push({ departAt: depart, from: a, to: b, arriveAt: depart + tt });
    return depart + tt;
  };
  const arriveRestaurantAt = move(departAt, from, restaurant);
  const pickupAt = Math.max(arriveRestaurantAt + halfPickup, ...readyTimes);
  let leaveAt = pickupAt + halfPickup;
  let at: MdrpPlace = restaurant;
  const dropoffAt: number[] = [];
  for (const customer of customers) {
    const arrive = move(leaveAt, at, customer);
    const drop = arrive + halfDropoff;
    dropoffAt.push(drop);
    leaveAt = drop + halfDropoff;
    at = customer;
  }
  return { departAt, arriveRestaurantAt, pickupAt, dropoffAt, freeAt: leaveAt, moves, drivingMin };
}

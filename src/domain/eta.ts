/**
 * ETA from the courier's position through its remaining stops, pure.
 *
 * Uses the same TravelModel the optimizer plans with, and the same stop rules (MDRP): at a pickup the
 * courier spends half the service time before the pickup instant, waits for the food if it is not
 * ready, and leaves half the service time later; at a drop-off the hand-over instant is arrival plus
 * half the service time. Times here are epoch milliseconds; the travel model answers in seconds.
 */
import type { ServiceTimes, TravelModel } from '../dispatch/types.js';

export interface LatLng {
  readonly lat: number;
  readonly lng: number;
}

export interface RemainingStop {
  readonly kind: 'pickup' | 'dropoff';
  readonly orderIds: readonly string[];
  readonly place: LatLng;
  /** Pickups only: when the food is (expected to be) ready, epoch ms. */
  readonly readyAt?: number;
  /** The courier is already at this stop (arrived, service under way). */
  readonly arrivedAt?: number;
}

export interface StopEta {
  readonly kind: 'pickup' | 'dropoff';
  readonly orderIds: readonly string[];
  readonly place: LatLng;
  readonly arriveAt: number;
  /** Pickup or hand-over instant. */
  readonly serviceAt: number;
  readonly departAt: number;
}

export function etaThroughStops(
  now: number,
  from: LatLng,
  stops: readonly RemainingStop[],
  travel: TravelModel<LatLng>,
  service: ServiceTimes,
): StopEta[] {
  const out: StopEta[] = [];
  let at = from;
  let t = now;
  for (const stop of stops) {
    const arriveAt = stop.arrivedAt ?? t + travel.seconds(at, stop.place) * 1000;
    const halfMs = ((stop.kind === 'pickup' ? service.pickupS : service.dropoffS) / 2) * 1000;
    const serviceAt =
      stop.kind === 'pickup' ? Math.max(arriveAt + halfMs, stop.readyAt ?? 0) : arriveAt + halfMs;
    // a service already under way cannot end in the past
    const departAt = Math.max(serviceAt + halfMs, now);
    out.push({ kind: stop.kind, orderIds: stop.orderIds, place: stop.place, arriveAt, serviceAt, departAt });
    at = stop.place;
    t = departAt;
  }
  return out;
}

/** The drop-off instant of one order along the route, or null when the route does not reach it. */
export function dropoffEta(etas: readonly StopEta[], orderId: string): number | null {
  const stop = etas.find((s) => s.kind === 'dropoff' && s.orderIds.includes(orderId));
  return stop ? stop.serviceAt : null;
}

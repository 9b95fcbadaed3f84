/**
 * The promise a quote makes, pure. From the live state, not a constant:
 *
 *   pickup    = max(courier at pickup + pickupS/2, ready)            (the optimizer's stop rules)
 *   delivered = pickup + pickupS/2 + trip + dropoffS/2
 *   promise   = max(now + option floor, delivered + zone safety margin), rounded up to the minute
 *
 * "Courier at pickup" is when the best own courier could get there after its committed work (the
 * runtime finds it with the optimizer's courier grid and travel model). No courier → no promise; a
 * promise later than the option's `maxMin` is not offered either. Times are epoch milliseconds.
 */
import type { TimeWindow } from './order.js';

export interface PromiseInput {
  readonly now: number;
  /** When the best own courier could be at the pickup; null when none could. */
  readonly courierAtPickup: number | null;
  readonly readyAt: number;
  readonly tripS: number;
  readonly pickupS: number;
  readonly dropoffS: number;
  readonly safetyMarginMin: number;
  readonly floorMin: number;
  readonly maxMin?: number;
}

export type Unavailable = 'no_courier' | 'cannot_meet_promise' | 'zone_closed' | 'option_not_offered' | 'no_own_fleet' | 'window_in_past' | 'window_too_soon' | 'window_too_far';

export type PromiseResult = { readonly promisedBy: number; readonly estimate: number } | { readonly reason: Unavailable };

const MINUTE = 60_000;

/** The earliest delivery the live state allows (ms), before margin and floor. */
export function earliestDelivery(input: Omit<PromiseInput, 'safetyMarginMin' | 'floorMin' | 'maxMin'> & { courierAtPickup: number }): number {
  const pickup = Math.max(input.courierAtPickup + (input.pickupS * 1000) / 2, input.readyAt);
  return pickup + ((input.pickupS + input.dropoffS) * 1000) / 2 + input.tripS * 1000;
}

export function quotedPromise(input: PromiseInput): PromiseResult {
  if (input.courierAtPickup === null) return { reason: 'no_courier' };
  const estimate = earliestDelivery({ ...input, courierAtPickup: input.courierAtPickup });
  const withMargin = estimate + input.safetyMarginMin * MINUTE;
  const promisedBy = Math.ceil(Math.max(input.now + input.floorMin * MINUTE, withMargin) / MINUTE) * MINUTE;
  if (input.maxMin !== undefined && promisedBy > input.now + input.maxMin * MINUTE) return { reason: 'cannot_meet_promise' };
  return { promisedBy, estimate };
}

/** Scheduled windows are sold this far ahead at most. */
export const MAX_SCHEDULE_AHEAD_MS = 7 * 86_400_000;

/**
 * Can a scheduled window be served? It must lie ahead (not past, not beyond a week), and its end must
 * leave room for the trip: now + floor and the earliest delivery (with margin) both by `window.to`.
 * Whether the zone is open at the window is the caller's question.
 */
export function windowProblem(window: TimeWindow, input: Omit<PromiseInput, 'courierAtPickup' | 'maxMin'> & { courierAtPickup: number | null }): Unavailable | null {
  if (window.to <= input.now) return 'window_in_past';
  if (window.from > input.now + MAX_SCHEDULE_AHEAD_MS) return 'window_too_far';
  // a courier free later can still serve a later window: without one now, only the trip is known
  const reach = input.courierAtPickup ?? input.now;
  const estimate = earliestDelivery({ ...input, courierAtPickup: Math.max(reach, input.now) }) + input.safetyMarginMin * MINUTE;
  if (Math.max(estimate, input.now + input.floorMin * MINUTE) > window.to) return 'window_too_soon';
  return null;
}

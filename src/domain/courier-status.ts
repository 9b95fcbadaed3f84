/**
 * The one courier status vocabulary of the API, the console, the metrics and the optimizer:
 *   offline — no fresh position (stale or never seen)
 *   paused  — a dispatcher paused it (no new work until resumed)
 *   free    — online, with no offer and no order
 *   busy    — online with an open offer or orders to serve
 */
export const COURIER_STATUSES = ['offline', 'paused', 'free', 'busy'] as const;
export type CourierStatus = (typeof COURIER_STATUSES)[number];

export interface CourierFacts {
  /** No accepted position within STALE_AFTER_MS (or none at all). */
  readonly stale: boolean;
  readonly paused: boolean;
  readonly hasOpenOffer: boolean;
  /** Active orders (assigned … returning). */
  readonly load: number;
}

/** Offline wins over paused (a paused courier that went silent is offline), paused over work. */
export function courierStatus(f: CourierFacts): CourierStatus {
  if (f.stale) return 'offline';
  if (f.paused) return 'paused';
  return f.load > 0 || f.hasOpenOffer ? 'busy' : 'free';
}

/**
 * The commitment rule: a matched courier is locked to a bundle only when it has to set off within about
 * one round (`policy.commitHorizonS`) to be at the pickup when the food is ready. Until then the bundle
 * stays open so the next round can find a better match or a bundle partner: that covers orders whose food
 * is far from ready and couriers still busy with earlier work (queueing behind them would lock the order
 * to them for nothing). A ready order never waits for nothing: matched to a free courier it cannot wait,
 * so it is committed unless it is bundled with a partner that is not ready yet.
 */
import type { Bundle } from './bundling.js';
import type { Route } from './route.js';
import type { Policy, UnassignedReason } from './types.js';

export type CommitDecision =
  | { readonly commit: true }
  | { readonly commit: false; readonly reasons: ReadonlyMap<string, UnassignedReason> };

/**
 * When the courier has to set off to serve the route as planned: its start if it would be late anyway,
 * otherwise the last moment that still has it at the pickup when the food is ready.
 */
export function mustLeaveAt<P>(route: Route<P>): number {
  return route.startAt + route.waitS;
}

/** The rule itself: lock now only if the courier must set off within the horizon. */
export function commitsNow<P>(route: Route<P>, now: number, policy: Policy): boolean {
  return mustLeaveAt(route) <= now + policy.commitHorizonS;
}

export function commitDecision<P>(bundle: Bundle<P>, route: Route<P>, now: number, policy: Policy): CommitDecision {
  if (commitsNow(route, now, policy)) return { commit: true };
  // Earliest pickup instant if the courier leaves now: arrival + half the service time.
  const earliestPickup = route.pickupAt - route.waitS;
  const reasons = new Map<string, UnassignedReason>();
  const courierBusy = route.startAt > now + policy.commitHorizonS;
  for (const o of bundle.orders) {
    const aloneWouldCommit = !courierBusy && o.readyAt - earliestPickup <= policy.commitHorizonS;
    reasons.set(
      o.id,
      courierBusy ? 'courier_busy' : aloneWouldCommit && bundle.orders.length > 1 ? 'waiting_to_bundle' : 'not_ready_soon_enough',
    );
  }
  return { commit: false, reasons };
}

/**
 * The commitment rule: a matched courier is locked to a bundle only when it has to set off within about
 * one round (`policy.commitHorizonS`) to be at the pickup when the food is ready — i.e. when, leaving now,
 * it would wait at most that long. Later bundles stay open so the next round can find a better match or a
 * bundle partner. A ready order never waits for nothing: leaving now, its courier cannot wait, so a matched
 * ready order is always committed unless it is bundled with a partner that is not ready yet.
 */
import type { Bundle } from './bundling.js';
import type { Route } from './route.js';
import type { Policy, UnassignedReason } from './types.js';

export type CommitDecision =
  | { readonly commit: true }
  | { readonly commit: false; readonly reasons: ReadonlyMap<string, UnassignedReason> };

export function commitDecision<P>(bundle: Bundle<P>, route: Route<P>, policy: Policy): CommitDecision {
  if (route.waitS <= policy.commitHorizonS) return { commit: true };
  // Earliest pickup instant if the courier leaves now: arrival + half the service time.
  const earliestPickup = route.pickupAt - route.waitS;
  const reasons = new Map<string, UnassignedReason>();
  for (const o of bundle.orders) {
    const aloneWouldCommit = o.readyAt - earliestPickup <= policy.commitHorizonS;
    reasons.set(o.id, aloneWouldCommit && bundle.orders.length > 1 ? 'waiting_to_bundle' : 'not_ready_soon_enough');
  }
  return { commit: false, reasons };
}

/**
 * Local improvement after the matching, while the round's budget lasts. One move: a bundle that got no
 * courier joins a matched bundle of the same pickup when the extra cost of carrying it along is below
 * what serving it alone would cost plus one more round of waiting. This is how scarcity turns into
 * bundles without guessing sizes up front.
 */
import { makeBundle, type Bundle } from './bundling.js';
import type { Candidate } from './candidates.js';
import { routeCost } from './cost.js';
import { planRoute, type RouteContext } from './route.js';
import type { CourierState, PayRules, Policy } from './types.js';

export interface Matched<P> {
  bundle: Bundle<P>;
  chosen: Candidate<P>;
  /** All candidates of the bundle as first formed, for the runner-up. */
  readonly candidates: readonly Candidate<P>[];
}

export interface Leftover<P> {
  readonly bundle: Bundle<P>;
  readonly candidates: readonly Candidate<P>[];
}

/**
 * Applies merge moves in place (leftovers are processed in order, each into its cheapest host).
 * Returns the leftovers that stayed on their own and whether the deadline cut the phase short.
 */
export function mergeLeftovers<P>(
  matched: Matched<P>[],
  leftovers: readonly Leftover<P>[],
  couriers: readonly CourierState<P>[],
  ctx: RouteContext<P>,
  pay: PayRules,
  policy: Policy,
  deadline: () => boolean,
): { remaining: Leftover<P>[]; truncated: boolean } {
  const hosts = new Map<string, Matched<P>[]>();
  for (const m of matched) {
    const list = hosts.get(m.bundle.pickupId);
    if (list) list.push(m);
    else hosts.set(m.bundle.pickupId, [m]);
  }
  const waitPenalty = policy.timeWeight * policy.clickToDoorWeight * policy.commitHorizonS;
  const remaining: Leftover<P>[] = [];
  for (let k = 0; k < leftovers.length; k++) {
    const left = leftovers[k];
    if (deadline()) return { remaining: remaining.concat(leftovers.slice(k)), truncated: true };
    const alone = left.candidates.length ? left.candidates[0].cost.total : Infinity;
    let best: { host: Matched<P>; chosen: Candidate<P>; bundle: Bundle<P>; delta: number } | undefined;
    for (const host of hosts.get(left.bundle.pickupId) ?? []) {
      if (host.bundle.orders.length + left.bundle.orders.length > policy.maxBundleSize) continue;
      const merged = makeBundle([...host.bundle.orders, ...left.bundle.orders]);
      let earliestReady = Infinity;
      for (const o of merged.orders) earliestReady = Math.min(earliestReady, o.readyAt);
      if (merged.readyAt - earliestReady > policy.bundleReadyGapS) continue;
      const courier = couriers[host.chosen.courier];
      if (left.bundle.orders.some((o) => o.declinedBy.includes(courier.id))) continue;
      const route = planRoute(courier, merged.orders, ctx);
      if (!route) continue;
      const cost = routeCost(route, courier, pay, policy);
      const delta = cost.total - host.chosen.cost.total;
      if (delta <= alone + waitPenalty && (!best || delta < best.delta)) {
        best = { host, chosen: { courier: host.chosen.courier, route, cost }, bundle: merged, delta };
      }
    }
    if (best) {
      best.host.bundle = best.bundle;
      best.host.chosen = best.chosen;
    } else {
      remaining.push(left);
    }
  }
  return { remaining, truncated: false };
}

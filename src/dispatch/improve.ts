/**
 * Local improvement after the matching, while the round's budget lasts. One move per function:
 *
 * - mergeMatched: two matched bundles of one pickup ride with one courier when that costs less than
 *   both couriers driving (frees a courier; this is how scarcity turns into bundles).
 * - mergeLeftovers: a bundle that got no courier joins a matched bundle of the same pickup when carrying
 *   it along costs less than serving it alone plus one more round of waiting.
 *
 * Both mutate `matched` in place and are deterministic (fixed scan order, ties on position).
 */
import { makeBundle, type Bundle } from './bundling.js';
import { pricedRouteCost, type Candidate, type RouteRisk } from './candidates.js';
import { planRoute, type RouteContext } from './route.js';
import type { CourierTimePrice } from './scarcity.js';
import type { CourierState, PayRules, Policy } from './types.js';

export interface Matched<P> {
  bundle: Bundle<P>;
  chosen: Candidate<P>;
  /** Candidates of the bundle as matched, for the runner-up. */
  candidates: readonly Candidate<P>[];
}

export interface Leftover<P> {
  readonly bundle: Bundle<P>;
  readonly candidates: readonly Candidate<P>[];
}

export interface ImproveContext<P> {
  readonly couriers: readonly CourierState<P>[];
  readonly ctx: RouteContext<P>;
  readonly pay: PayRules;
  readonly policy: Policy;
  readonly deadline: () => boolean;
  /**
   * What freeing a courier is worth this round (cost units): under scarcity a freed courier serves
   * someone who would otherwise wait, so a merge may cost up to this much and still pay off.
   */
  readonly freedCourierValue: number;
  /** Price of courier seconds this round (scarcity.ts). */
  readonly courierTime: CourierTimePrice;
  /** Extra cost of a route with uncertain ready times (plan-round.ts); none when all are known. */
  readonly risk?: RouteRisk<P>;
}

/**
 * The value of a freed courier, estimated from this round's matching: the mean pickup delay past the
 * ready time per matched bundle (zero when couriers are plentiful and everyone is picked up on time).
 */
export function freedCourierValue<P>(matched: readonly Matched<P>[], policy: Policy): number {
  if (matched.length === 0) return 0;
  let delayS = 0;
  for (const m of matched) for (const o of m.bundle.orders) delayS += Math.max(0, m.chosen.route.pickupAt - o.readyAt);
  return policy.freedCourierFactor * policy.timeWeight * policy.clickToDoorWeight * (delayS / matched.length);
}

/** The merged bundle on `courier`, or null when the policy or the courier rules it out. */
function mergedOn<P>(
  a: Bundle<P>,
  b: Bundle<P>,
  courierIndex: number,
  ic: ImproveContext<P>,
): { bundle: Bundle<P>; chosen: Candidate<P> } | null {
  const { policy } = ic;
  if (a.orders.length + b.orders.length > policy.maxBundleSize) return null;
  const bundle = makeBundle([...a.orders, ...b.orders]);
  const courier = ic.couriers[courierIndex];
  if (bundle.orders.some((o) => o.declinedBy.includes(courier.id))) return null;
  const route = planRoute(courier, bundle.orders, ic.ctx);
  if (!route) return null;
  // Nobody's food may wait more than bundleReadyGapS for a partner's. A courier who arrives after all the
  // food is ready makes nobody wait, however far apart the ready times (the usual case when couriers are short).
  let earliestReady = Infinity;
  for (const o of bundle.orders) earliestReady = Math.min(earliestReady, o.readyAt);
  const earliestPickup = route.arriveAt + ic.ctx.service.pickupS / 2;
  if (route.pickupAt - Math.max(earliestReady, earliestPickup) > policy.bundleReadyGapS) return null;
  return { bundle, chosen: { courier: courierIndex, route, cost: pricedRouteCost(route, courier, ic.pay, policy, ic.courierTime, ic.risk) } };
}

function byPickup<P>(matched: readonly Matched<P>[]): Map<string, Matched<P>[]> {
  const hosts = new Map<string, Matched<P>[]>();
  for (const m of matched) {
    const list = hosts.get(m.bundle.pickupId);
    if (list) list.push(m);
    else hosts.set(m.bundle.pickupId, [m]);
  }
  return hosts;
}

/**
 * Repeatedly merges the pair of matched same-pickup bundles with the largest saving, keeping the
 * cheaper of the two couriers. Returns the number of merges and whether the deadline cut it short.
 */
export function mergeMatched<P>(matched: Matched<P>[], ic: ImproveContext<P>): { merges: number; truncated: boolean } {
  let merges = 0;
  for (const group of byPickup(matched).values()) {
    while (group.length > 1) {
      if (ic.deadline()) return { merges, truncated: true };
      let best: { keep: Matched<P>; drop: Matched<P>; bundle: Bundle<P>; chosen: Candidate<P>; delta: number } | undefined;
      for (let i = 0; i < group.length; i++) {
        for (let j = i + 1; j < group.length; j++) {
          const x = group[i];
          const y = group[j];
          const before = x.chosen.cost.total + y.chosen.cost.total;
          for (const [keep, drop] of [
            [x, y],
            [y, x],
          ] as const) {
            const m = mergedOn(keep.bundle, drop.bundle, keep.chosen.courier, ic);
            if (!m) continue;
            const delta = m.chosen.cost.total - before;
            if (delta < ic.freedCourierValue && (!best || delta < best.delta)) best = { keep, drop, ...m, delta };
          }
        }
      }
      if (!best) break;
      best.keep.bundle = best.bundle;
      best.keep.chosen = best.chosen;
      best.keep.candidates = [best.chosen];
      group.splice(group.indexOf(best.drop), 1);
      matched.splice(matched.indexOf(best.drop), 1);
      merges++;
    }
  }
  return { merges, truncated: false };
}

/** Leftovers in order, each into its cheapest host; returns those that stayed on their own. */
export function mergeLeftovers<P>(
  matched: Matched<P>[],
  leftovers: readonly Leftover<P>[],
  ic: ImproveContext<P>,
): { remaining: Leftover<P>[]; truncated: boolean } {
  const hosts = byPickup(matched);
  const { policy } = ic;
  const waitPenalty = policy.timeWeight * policy.clickToDoorWeight * policy.commitHorizonS;
  const remaining: Leftover<P>[] = [];
  for (let k = 0; k < leftovers.length; k++) {
    const left = leftovers[k];
    if (ic.deadline()) return { remaining: remaining.concat(leftovers.slice(k)), truncated: true };
    const alone = left.candidates.length ? left.candidates[0].cost.total : Infinity;
    let best: { host: Matched<P>; bundle: Bundle<P>; chosen: Candidate<P>; delta: number } | undefined;
    for (const host of hosts.get(left.bundle.pickupId) ?? []) {
      const m = mergedOn(host.bundle, left.bundle, host.chosen.courier, ic);
      if (!m) continue;
      const delta = m.chosen.cost.total - host.chosen.cost.total;
      if (delta <= alone + waitPenalty && (!best || delta < best.delta)) best = { host, ...m, delta };
    }
    if (best) {
      best.host.bundle = best.bundle;
      best.host.chosen = best.chosen;
      best.host.candidates = [best.chosen];
    } else {
      remaining.push(left);
    }
  }
  return { remaining, truncated: false };
}

/**
 * One dispatch round: snapshot in, plan out. Pure and deterministic (inputs are sorted by id and every
 * tie breaks on ids or indices); never throws for an order it cannot serve — that order gets a reason.
 *
 * Steps: pinned orders go to their courier untouched → orders ready within the look-ahead are bundled per
 * pickup → candidate couriers per bundle (grid pruning) → exact min-cost assignment of bundles to couriers,
 * where leaving a bundle out has a large cost (larger for urgent ones, see matching.ts) → merges of
 * same-pickup bundles that free a courier, and one more exact matching → leftover bundles may join a
 * matched one → the commitment rule decides which matches are locked now. Nothing here is random, so the
 * snapshot's seed is not needed today; a randomized move would have to draw from it.
 */
import { matchingProblem } from './matching.js';
import { solveAssignment } from './assignment.js';
import { byId, formBundles, makeBundle, targetBundleSize, type Bundle } from './bundling.js';
import { candidatesFor, CourierGrid, pricedRouteCost, type Candidate, type RouteRisk } from './candidates.js';
import { commitDecision, commitsNow } from './commitment.js';
import { spareBacking } from './spare-couriers.js';
import { routeCost } from './cost.js';
import { reasonWithoutCourier, runnerUpOf, usableCouriers } from './explain.js';
import { freedCourierValue, mergeLeftovers, mergeMatched, type ImproveContext, type Leftover, type Matched } from './improve.js';
import { planRoute, startTime, stopsOf, type Route, type RouteContext } from './route.js';
import { courierTimePrice, type CourierTimePrice } from './scarcity.js';
import { aimQuantile, anticipate, expectedCourierWaitS, expectedExtraWaitS, expectedPickupS, isUncertain, readySlices, SLICES, maxExpectedWaitS } from './ready-estimate.js';
import type {
  Assignment,
  CostBreakdown,
  CourierState,
  OrderRequest,
  Plan,
  Policy,
  ServiceTimes,
  Snapshot,
  Stop,
  Unassigned,
} from './types.js';

/** Exact matchings per round: the first, and one more after merges or splits freed couriers. */
const MATCHING_PASSES = 2;

export function planRound<P>(snapshot: Snapshot<P>, policy: Policy): Plan<P> {
  const t0 = performance.now();
  const deadline = (): boolean => performance.now() - t0 > policy.maxMs;
  const now = snapshot.now;
  const ctx: RouteContext<P> = { now, travel: snapshot.travel, service: snapshot.service };
  const orders = [...snapshot.orders].sort(byId);
  const couriers = [...snapshot.couriers].sort(byId);
  const assignments: Assignment<P>[] = [];
  const unassigned: Unassigned[] = [];

  const usable = usableCouriers(couriers, now);
  const usableById = new Map(usable.map((c) => [c.id, c]));

  // Pinned orders: the dispatcher decided; the optimizer only sequences them.
  const pinned = new Map<string, OrderRequest<P>[]>();
  const open: OrderRequest<P>[] = [];
  for (const o of orders) {
    if (o.pinnedCourierId === undefined) open.push(o);
    else pinned.set(o.pinnedCourierId, [...(pinned.get(o.pinnedCourierId) ?? []), o]);
  }
  const takenByPinned = new Set<string>();
  for (const courierId of [...pinned.keys()].sort()) {
    const list = pinned.get(courierId)!;
    const courier = usableById.get(courierId);
    const chain = courier ? pinnedChain(courier, list, ctx) : null;
    if (!courier || !chain) {
      const tooBig = courier !== undefined && list.some((o) => o.size > courier.capacity);
      for (const o of list) unassigned.push({ orderId: o.id, reason: tooBig ? 'over_capacity' : 'pinned_courier_unavailable' });
      continue;
    }
    takenByPinned.add(courierId);
    assignments.push({
      courierId,
      orderIds: chain.orderIds,
      stops: chain.stops,
      cost: chain.routes.map((r) => routeCost(r, courier, snapshot.pay, policy)).reduce(addCosts),
      pinned: true,
    });
  }

  const pool = usable.filter((c) => !takenByPinned.has(c.id));
  // Uncertain ready times (ready-estimate.ts): price courier time with the estimates, then plan each such
  // order with the quantile of its ready time a courier should aim at; the estimates stay for the
  // commitment check below.
  const estimates = new Map<string, OrderRequest<P>>();
  let planned = open;
  let waitLimitS = policy.readyMaxExpectedWaitS;
  if (open.some(isUncertain)) {
    const due = open.filter((o) => o.readyAt <= now + policy.lookAheadS);
    const price = courierTimePrice(due, pool, now, policy);
    const q = aimQuantile(policy, price);
    waitLimitS = maxExpectedWaitS(policy, price);
    planned = open.map((o) => {
      if (!isUncertain(o)) return o;
      estimates.set(o.id, o);
      return anticipate(o, now, q);
    });
  }
  const inHorizon: OrderRequest<P>[] = [];
  for (const o of planned) {
    if (o.readyAt > now + policy.lookAheadS) unassigned.push({ orderId: o.id, reason: 'not_ready_soon_enough' });
    else inHorizon.push(o);
  }

  const grid = new CourierGrid(pool, ctx);
  const maxCapacity = pool.reduce((m, c) => Math.max(m, c.capacity), 0);
  const bundles = formBundles(inHorizon, targetBundleSize(inHorizon.length, pool.length, policy), policy, maxCapacity);
  const courierTime = courierTimePrice(inHorizon, pool, now, policy);
  const risk = estimates.size > 0 && (policy.readyRiskWeight > 0 || policy.readyBusyRiskWeight > 0) ? routeRisk(estimates, now, snapshot.service, policy, courierTime) : undefined;
  const candidateCache = new Map<string, Candidate<P>[]>();
  const candidatesOf = (b: Bundle<P>): Candidate<P>[] => {
    const key = b.orders.map((o) => o.id).join('\u0000');
    let list = candidateCache.get(key);
    if (!list) candidateCache.set(key, (list = candidatesFor(b, grid, ctx, snapshot.pay, policy, courierTime, risk)));
    return list;
  };

  // The exact matching of all bundles to all couriers; then local improvement: merges free couriers, and a
  // bundle nobody could take may fit someone once split (a small courier, one who declined only one of its
  // orders). If either happened, one more exact matching gives everyone the couriers now free.
  const ic: ImproveContext<P> = {
    couriers: pool,
    ctx,
    pay: snapshot.pay,
    policy,
    deadline,
    freedCourierValue: 0,
    courierTime,
    ...(risk ? { risk } : {}),
  };
  let truncated = false;
  let matched: Matched<P>[] = [];
  let leftovers: Leftover<P>[] = [];
  let current = bundles;
  for (let pass = 1; pass <= MATCHING_PASSES; pass++) {
    ({ matched, leftovers } = matchBundles(current, current.map(candidatesOf), pool.length, now, snapshot.service, policy));
    if (pass === MATCHING_PASSES || truncated) break;
    const merged = mergeMatched(matched, { ...ic, freedCourierValue: freedCourierValue(matched, policy) });
    truncated ||= merged.truncated;
    const splittable = leftovers.some((l) => l.bundle.orders.length > 1);
    if (truncated || (merged.merges === 0 && !splittable)) break;
    current = [
      ...matched.map((m) => m.bundle),
      ...leftovers.flatMap((l) => l.bundle.orders.map((o) => makeBundle([o]))),
    ].sort((a, b) => a.readyAt - b.readyAt || byId(a.orders[0], b.orders[0]));
  }
  const finalMerge = mergeLeftovers(matched, leftovers, ic);
  const remaining = finalMerge.remaining;
  truncated ||= finalMerge.truncated;

  // The commitment rule per match; then the per-courier aim: a match the rule keeps open whose courier is
  // idle anyway (spare-couriers.ts) is tried again with its orders aimed at readySpareQuantile.
  const decisions = matched.map((m) => {
    let decision = commitDecision(m.bundle, m.chosen.route, now, policy);
    if (decision.commit && estimates.size > 0 && tooEarlyToLock(m.bundle.orders, m.chosen.route, now, snapshot.service, waitLimitS, estimates)) {
      decision = { commit: false, reasons: new Map(m.bundle.orders.map((o) => [o.id, 'not_ready_soon_enough' as const])) };
    }
    return decision;
  });
  const earlyRoutes = new Map<number, Route<P>>();
  if (estimates.size > 0 && policy.readySpareQuantile >= 0) {
    const asking: number[] = [];
    matched.forEach((m, k) => {
      if (decisions[k]!.commit || m.chosen.route.startAt > now + policy.commitHorizonS) return;
      if (m.bundle.orders.some((o) => estimates.has(o.id))) asking.push(k);
    });
    if (asking.length > 0) {
      const backed = spareBacking(
        asking.map((k) => ({ pickup: matched[k]!.chosen.route.pickup, arriveAt: matched[k]!.chosen.route.arriveAt })),
        pool,
        new Set(matched.map((m) => m.chosen.courier)),
        now,
        snapshot.travel,
        policy,
      );
      asking.forEach((k, j) => {
        if (!backed[j]) return;
        const m = matched[k]!;
        const early = m.bundle.orders.map((o) => {
          const e = estimates.get(o.id);
          return e ? anticipate(e, now, policy.readySpareQuantile) : o;
        });
        const route = planRoute(pool[m.chosen.courier]!, early, ctx);
        if (!route || !commitsNow(route, now, policy)) return;
        if (tooEarlyToLock(early, route, now, snapshot.service, policy.readySpareMaxWaitS, estimates)) return;
        earlyRoutes.set(k, route);
        decisions[k] = { commit: true };
      });
    }
  }

  let bundleCount = 0;
  matched.forEach((m, k) => {
    const decision = decisions[k]!;
    if (!decision.commit) {
      for (const o of m.bundle.orders) unassigned.push({ orderId: o.id, reason: decision.reasons.get(o.id)! });
      return;
    }
    const courier = pool[m.chosen.courier];
    if (m.bundle.orders.length > 1) bundleCount++;
    const early = earlyRoutes.get(k);
    const route = early ?? m.chosen.route;
    // A bundle reshaped by the improvement phase has no alternatives yet: look them up for the runner-up.
    const alternatives = m.candidates.length > 1 ? m.candidates : candidatesOf(m.bundle);
    const runnerUp = runnerUpOf(alternatives, m.chosen.courier, pool);
    assignments.push({
      courierId: courier.id,
      orderIds: route.orders.map((o) => o.id),
      stops: stopsOf(route, snapshot.service),
      cost: early ? pricedRouteCost(early, courier, snapshot.pay, policy, courierTime, risk) : m.chosen.cost,
      ...(runnerUp ? { runnerUp } : {}),
      pinned: false,
    });
  });
  for (const left of remaining) {
    const reason = reasonWithoutCourier(left.bundle, left.candidates, pool, now, policy);
    for (const o of left.bundle.orders) unassigned.push({ orderId: o.id, reason });
  }

  assignments.sort((a, b) => (a.courierId < b.courierId ? -1 : a.courierId > b.courierId ? 1 : 0));
  unassigned.sort((a, b) => (a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0));
  const assigned = assignments.reduce((n, a) => n + a.orderIds.length, 0);
  return {
    assignments,
    unassigned,
    summary: {
      orders: orders.length,
      couriers: couriers.length,
      assigned,
      bundles: bundleCount,
      totalCost: assignments.reduce((s, a) => s + a.cost.total, 0),
      solveMs: performance.now() - t0,
      truncated,
    },
  };
}

/**
 * Honest commitments with uncertain ready times: a courier is not locked to a bundle whose food it would
 * expect to wait for longer than `waitLimitS` (maxExpectedWaitS; it stays free for other work until the
 * estimate firms up or the food is ready).
 */
function tooEarlyToLock<P>(
  orders: readonly OrderRequest<P>[],
  route: Route<P>,
  now: number,
  service: ServiceTimes,
  waitLimitS: number,
  estimates: ReadonlyMap<string, OrderRequest<P>>,
): boolean {
  const uncertain = orders.map((o) => estimates.get(o.id)).filter((o): o is OrderRequest<P> => o !== undefined);
  if (uncertain.length === 0) return false;
  return expectedCourierWaitS(uncertain, now, route.arriveAt + service.pickupS / 2) > waitLimitS;
}

/**
 * What a route's uncertain ready times add beyond its plan: the expected extra click-to-door
 * (ready-estimate.ts expectedPickupS), per order carried, in cost units × readyRiskWeight; and when
 * couriers are short this round, the courier's expected extra wait at the counter (expectedExtraWaitS) at
 * the busy-second price × readyBusyRiskWeight — a courier aimed early looks cheap in the plan but waits.
 */
function routeRisk<P>(
  estimates: ReadonlyMap<string, OrderRequest<P>>,
  now: number,
  service: ServiceTimes,
  policy: Policy,
  courierTime: CourierTimePrice,
): RouteRisk<P> {
  const perSecond = policy.readyRiskWeight * policy.timeWeight * policy.clickToDoorWeight;
  const busyPerSecond = policy.readyBusyRiskWeight * courierTime.busyS;
  const slices = new Map<string, Float64Array>();
  for (const [id, o] of estimates) slices.set(id, readySlices(o, now));
  const certain = new Map<string, Float64Array>();
  return (route) => {
    let uncertain = false;
    const told = route.orders.map((o) => {
      const sl = slices.get(o.id);
      if (sl) {
        uncertain = true;
        return sl;
      }
      let fixed = certain.get(o.id);
      if (!fixed) certain.set(o.id, (fixed = new Float64Array(SLICES).fill(o.readyAt)));
      return fixed;
    });
    if (!uncertain) return 0;
    const food = perSecond * route.orders.length * (expectedPickupS(told, route, service.pickupS / 2) - route.pickupAt);
    return busyPerSecond > 0 ? food + busyPerSecond * expectedExtraWaitS(told, route) : food;
  };
}

function addCosts(a: CostBreakdown, b: CostBreakdown): CostBreakdown {
  return {
    clickToDoorS: a.clickToDoorS + b.clickToDoorS,
    latenessS: a.latenessS + b.latenessS,
    travelS: a.travelS + b.travelS,
    waitS: a.waitS + b.waitS,
    total: a.total + b.total,
  };
}

/** Solves one assignment problem and splits the bundles into matched and left over. */
function matchBundles<P>(
  bundles: readonly Bundle<P>[],
  candidates: readonly Candidate<P>[][],
  couriers: number,
  now: number,
  service: ServiceTimes,
  policy: Policy,
): { matched: Matched<P>[]; leftovers: Leftover<P>[] } {
  const problem = matchingProblem(bundles, candidates, couriers, now, service, policy);
  const { rowToCol } = solveAssignment(problem.matrix, problem.unassignedCost);
  const matched: Matched<P>[] = [];
  const leftovers: Leftover<P>[] = [];
  bundles.forEach((bundle, i) => {
    const chosen = candidates[i].find((c) => c.courier === rowToCol[i]);
    if (chosen) matched.push({ bundle, chosen, candidates: candidates[i] });
    else leftovers.push({ bundle, candidates: candidates[i] });
  });
  return { matched, leftovers };
}

/** Pinned orders of one courier: one pickup after another in ready-time order, chained in time. */
function pinnedChain<P>(
  courier: CourierState<P>,
  orders: readonly OrderRequest<P>[],
  ctx: RouteContext<P>,
): { orderIds: string[]; stops: Stop<P>[]; routes: Route<P>[] } | null {
  const groups = formBundles(orders, Infinity, { bundleReadyGapS: Infinity });
  const routes: Route<P>[] = [];
  let state = courier;
  for (const g of groups) {
    const route = planRoute(state, g.orders, ctx);
    if (!route) return null;
    routes.push(route);
    state = { ...state, position: route.endPlace, freeAt: route.endAt };
  }
  return {
    orderIds: routes.flatMap((r) => r.orders.map((o) => o.id)),
    stops: routes.flatMap((r) => stopsOf(r, ctx.service)),
    routes,
  };
}

export type { Candidate };

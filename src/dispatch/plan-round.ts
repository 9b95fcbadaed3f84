/**
 * One dispatch round: snapshot in, plan out. Pure and deterministic (inputs are sorted by id and every
 * tie breaks on ids or indices); never throws for an order it cannot serve — that order gets a reason.
 *
 * Steps: pinned orders go to their courier untouched → orders ready within the look-ahead are bundled per
 * pickup → candidate couriers per bundle (grid pruning) → exact min-cost assignment of bundles to couriers,
 * where leaving a bundle out has a large cost (larger for bundles that are due now) → leftover bundles may
 * join a matched bundle of the same pickup → the commitment rule decides which matches are locked now.
 */
import { matchingProblem } from './matching.js';
import { solveAssignment } from './assignment.js';
import { byId, formBundles, makeBundle, targetBundleSize } from './bundling.js';
import { candidatesFor, CourierGrid, type Candidate } from './candidates.js';
import { commitDecision } from './commitment.js';
import { routeCost } from './cost.js';
import { reasonWithoutCourier, runnerUpOf } from './explain.js';
import { freedCourierValue, mergeLeftovers, mergeMatched, type ImproveContext, type Leftover, type Matched } from './improve.js';
import { planRoute, startTime, type Route, type RouteContext } from './route.js';
import type {
  Assignment,
  CostBreakdown,
  CourierState,
  OrderRequest,
  Plan,
  Policy,
  Snapshot,
  Stop,
  Unassigned,
} from './types.js';

/** Matching rounds per plan: the first, plus re-matchings after bundle merges freed couriers. */
const MATCHING_PASSES = 3;

export function planRound<P>(snapshot: Snapshot<P>, policy: Policy): Plan<P> {
  const t0 = performance.now();
  const deadline = (): boolean => performance.now() - t0 > policy.maxMs;
  const now = snapshot.now;
  const ctx: RouteContext<P> = { now, travel: snapshot.travel, service: snapshot.service };
  const orders = [...snapshot.orders].sort(byId);
  const couriers = [...snapshot.couriers].sort(byId);
  const assignments: Assignment<P>[] = [];
  const unassigned: Unassigned[] = [];

  const usable = couriers.filter(
    (c) => (c.status === 'idle' || c.status === 'busy') && startTime(c, now) <= c.shiftEnd,
  );
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
  const inHorizon: OrderRequest<P>[] = [];
  for (const o of open) {
    if (o.readyAt > now + policy.lookAheadS) unassigned.push({ orderId: o.id, reason: 'not_ready_soon_enough' });
    else inHorizon.push(o);
  }

  const grid = new CourierGrid(pool, ctx);
  const maxCapacity = pool.reduce((m, c) => Math.max(m, c.capacity), 0);
  let bundles = formBundles(inHorizon, targetBundleSize(inHorizon.length, pool.length, policy), policy, maxCapacity);
  let matched: Matched<P>[] = [];
  let remaining: Leftover<P>[] = [];
  let truncated = false;
  for (let pass = 1; ; pass++) {
    const candidates = bundles.map((b) => candidatesFor(b, grid, ctx, snapshot.pay, policy));
    const problem = matchingProblem(bundles, candidates, pool.length, now, policy);
    const { rowToCol } = solveAssignment(problem.matrix, problem.unassignedCost);
    matched = [];
    const leftovers: Leftover<P>[] = [];
    bundles.forEach((bundle, i) => {
      const chosen = candidates[i].find((c) => c.courier === rowToCol[i]);
      if (chosen) matched.push({ bundle, chosen, candidates: candidates[i] });
      else leftovers.push({ bundle, candidates: candidates[i] });
    });
    const ic: ImproveContext<P> = {
      couriers: pool,
      ctx,
      pay: snapshot.pay,
      policy,
      deadline,
      freedCourierValue: pass === 1 ? freedCourierValue(matched, policy) : 0,
    };
    // Merging frees couriers, and a bundle nobody could take may fit someone once split (a small courier,
    // one who declined only one of its orders): one more matching gives both a chance.
    const lastPass = pass >= MATCHING_PASSES;
    const merged = lastPass ? { merges: 0, truncated: false } : mergeMatched(matched, ic);
    truncated ||= merged.truncated;
    const splittable = leftovers.some((l) => l.bundle.orders.length > 1);
    if (lastPass || truncated || (merged.merges === 0 && !splittable)) {
      const result = mergeLeftovers(matched, leftovers, ic);
      remaining = result.remaining;
      truncated ||= result.truncated;
      break;
    }
    bundles = [
      ...matched.map((m) => m.bundle),
      ...leftovers.flatMap((l) => l.bundle.orders.map((o) => makeBundle([o]))),
    ].sort((a, b) => a.readyAt - b.readyAt || byId(a.orders[0], b.orders[0]));
  }

  let bundleCount = 0;
  for (const m of matched) {
    const decision = commitDecision(m.bundle, m.chosen.route, now, policy);
    if (!decision.commit) {
      for (const o of m.bundle.orders) unassigned.push({ orderId: o.id, reason: decision.reasons.get(o.id)! });
      continue;
    }
    const courier = pool[m.chosen.courier];
    if (m.bundle.orders.length > 1) bundleCount++;
    const runnerUp = runnerUpOf(m.candidates, m.chosen.courier, pool);
    assignments.push({
      courierId: courier.id,
      orderIds: m.chosen.route.orders.map((o) => o.id),
      stops: m.chosen.route.stops,
      cost: m.chosen.cost,
      ...(runnerUp ? { runnerUp } : {}),
      pinned: false,
    });
  }
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

function addCosts(a: CostBreakdown, b: CostBreakdown): CostBreakdown {
  return {
    clickToDoorS: a.clickToDoorS + b.clickToDoorS,
    latenessS: a.latenessS + b.latenessS,
    travelS: a.travelS + b.travelS,
    waitS: a.waitS + b.waitS,
    total: a.total + b.total,
  };
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
    stops: routes.flatMap((r) => [...r.stops]),
    routes,
  };
}

export type { Candidate };

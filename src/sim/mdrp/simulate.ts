/**
 * Deterministic discrete-event replay of one MDRP instance against a planner (`planRound`).
 *
 * Time advances minute by minute (the instance's resolution). A round runs every `roundEveryMin` minutes
 * (and, with `eventRounds`, also in any minute where an order is placed or becomes ready) whenever some
 * order is open. The round's snapshot holds the placed, unassigned orders and the couriers who can still
 * pick up before their shift ends; a busy courier appears where and when its committed work ends, so a
 * new assignment is queued after it (ready times hidden: when it ends by the estimates the planner is told,
 * not by the hidden ready times). Every assignment the planner returns is validated and then executed
 * by the README rules (rules.ts); couriers are never diverted, they wait at their last drop-off.
 */
import { performance } from 'node:perf_hooks';
import { pino, type Logger } from 'pino';
import type { CourierState, OrderRequest, Plan, Policy, Snapshot, UnassignedReason } from '../../dispatch/types.js';
import type { MdrpCourier, MdrpInstance, MdrpOrder, MdrpPlace } from './instance.js';
import { makeReadyEstimator, type ReadyEstimateMode } from './ready-estimates.js';
import { mdrpTravelModel, timeRoute, type Move, type RouteTiming } from './rules.js';
import { readyQuantile } from '../../dispatch/ready-estimate.js';
import { carrierDelivery, shouldHandOff, type CarrierDelivery, type CarrierModel } from './carrier.js';

export type Planner<P> = (snapshot: Snapshot<P>, policy: Policy) => Plan<P>;

export interface SimOptions {
  readonly planner: Planner<MdrpPlace>;
  readonly policy: Policy;
  /** Minutes between planning rounds. */
  readonly roundEveryMin: number;
  /** Also plan in minutes where an order is placed or (ready-late mode) becomes ready. */
  readonly eventRounds: boolean;
  /** True: ready times known at placement (published default). False: revealed when the food is ready. */
  readonly readyKnown: boolean;
  /** Ready times hidden (readyKnown false): what the optimizer is told until the food is ready (ready-estimates.ts). */
  readonly readyEstimate: ReadyEstimateMode;
  /** Ready-late mode: prep-time estimate (minutes) used until 20 prep times have been observed. */
  readonly prepEstimateMin: number;
  /** `global` estimate: which quantile of the conditional prep distribution to use (< 0: its mean). */
  readonly prepEstimateQuantile: number;
  /** `learned` estimate: weight (in orders) of the global mean in a restaurant's mean. */
  readonly shrinkOrders: number;
  /** Spread estimates: prior standard deviation (minutes) until enough is observed. */
  readonly prepSpreadMin: number;
  /** Couriers whose shift starts within this many minutes are already offered to the planner. */
  readonly courierLookaheadMin: number;
  /** Ready-known mode: a plan whose stop times differ from the rules' times is a bug (throw). */
  readonly strictEtas: boolean;
  readonly seed: number;
  /** Hybrid dispatch (carrier.ts): hand late-risk and unserved orders to a simulated carrier. Off by default. */
  readonly carrier: boolean;
  /** Carrier price per order, dollars. */
  readonly carrierPrice: number;
  /** Minutes an order may wait unassigned before the carrier gets it. */
  readonly carrierLateRiskMin: number;
  /** Minutes from hand-off until the carrier's courier is at the restaurant. */
  readonly carrierPickupMin: number;
  /** Carrier courier speed relative to the instance's. */
  readonly carrierSpeedFactor: number;
  readonly logger?: Logger;
}

export const defaultSimOptions: Omit<SimOptions, 'planner' | 'policy'> = {
  roundEveryMin: 1,
  eventRounds: false,
  readyKnown: true,
  readyEstimate: 'global',
  prepEstimateMin: 15,
  prepEstimateQuantile: 0.5,
  shrinkOrders: 0.5,
  prepSpreadMin: 8,
  courierLookaheadMin: 10,
  strictEtas: true,
  seed: 1,
  carrier: false,
  carrierPrice: 8,
  carrierLateRiskMin: 20,
  carrierPickupMin: 8,
  carrierSpeedFactor: 1,
};

/** A plan the harness cannot execute: always an optimizer bug (ready-known) or a broken contract. */
export class PlanValidationError extends Error {
  readonly code = 'MDRP_INVALID_PLAN';
  constructor(message: string, readonly round: number, readonly minute: number) {
    super(`MDRP_INVALID_PLAN: round ${round} at minute ${minute}: ${message}`);
    this.name = 'PlanValidationError';
  }
}

/** One executed assignment. */
export interface ExecutedRoute {
  readonly courierId: string;
  readonly assignedAt: number;
  readonly restaurantId: string;
  /** In delivery sequence. */
  readonly orderIds: readonly string[];
  readonly timing: RouteTiming;
}

export interface OrderOutcome {
  readonly courierId: string;
  readonly assignedAt: number;
  readonly pickupAt: number;
  readonly dropoffAt: number;
}

export interface SimResult {
  readonly instance: MdrpInstance;
  readonly readyKnown: boolean;
  /** In execution order (by assignment time, then plan order). */
  readonly routes: readonly ExecutedRoute[];
  readonly outcomes: ReadonlyMap<string, OrderOutcome>;
  /** Per courier, its moves in execution order. */
  readonly moves: ReadonlyMap<string, readonly Move[]>;
  /** Rounds in which the planner was called. */
  readonly rounds: number;
  /** Wall-clock milliseconds of each planner call. */
  readonly solveMs: readonly number[];
  /**
   * CPU milliseconds (user + system) of the process during each planner call: unlike wall time, not
   * inflated when other processes share the cores. Meaningful when the process runs one simulation.
   */
  readonly solveCpuMs: readonly number[];
  /**
   * Ready-late mode: assignments the courier could not complete because the real ready time pushed the pickup
   * past its off_time (it waited at the counter until then; the orders went back to the pool).
   */
  readonly rejectedAssignments: number;
  /** Plan stop times that differed from the rules' times (only counted when not strict). */
  readonly etaMismatches: number;
  /** Undelivered orders by the last reason the planner gave. */
  readonly undeliveredReasons: Readonly<Record<string, number>>;
  /** Orders the simulated carrier delivered (hybrid mode only; empty otherwise). */
  readonly carrierDeliveries?: ReadonlyMap<string, CarrierDelivery>;
}

interface CourierRun {
  readonly courier: MdrpCourier;
  /** Where the courier is (or will be) when its committed work ends. */
  at: MdrpPlace;
  /** Minute from which the courier is free to start new work. */
  freeAt: number;
  committedOrders: number;
  readonly moves: Move[];
  /** Committed routes not yet over (ready times hidden: the planner's belief about the courier is built from them). */
  readonly pending: PendingRoute[];
}

/** A committed route as the planner could re-time it: where and when it starts, what it carries. */
interface PendingRoute {
  readonly assignedAt: number;
  readonly from: MdrpPlace;
  readonly departAt: number;
  readonly restaurant: MdrpPlace;
  /** In delivery sequence. */
  readonly orders: readonly MdrpOrder[];
  /** When the route is over in the world (the courier free, or gone at its off_time): dropped from then on. */
  readonly endsAt: number;
}

/** Where and when a courier's committed work ends, as the planner may believe it. */
interface CourierEnd {
  readonly freeAt: number;
  readonly at: MdrpPlace;
}

interface OrderRun {
  readonly order: MdrpOrder;
  readonly restaurant: MdrpPlace;
  readonly declinedBy: string[];
}

export function simulate(instance: MdrpInstance, options: SimOptions): SimResult {
  const opts = { ...defaultSimOptions, ...options };
  if (!(Number.isInteger(opts.roundEveryMin) && opts.roundEveryMin >= 1)) {
    throw new Error(`roundEveryMin must be a whole number ≥ 1, got ${opts.roundEveryMin}`);
  }
  const log = opts.logger ?? pino({ level: 'warn' }, pino.destination(2));
  const { params } = instance;
  const travel = mdrpTravelModel(params.metersPerMinute);

  const byPlacement = [...instance.orders].sort((a, b) => a.placementTime - b.placementTime);
  const open = new Map<string, OrderRun>();
  /** Orders with a courier who will not get them (its shift ends first): back in the pool at `releaseAt`. */
  const held: { run: OrderRun; releaseAt: number }[] = [];
  /** believedEnd's answers in the current minute. */
  const believedThisMinute = new Map<CourierRun, CourierEnd>();
  const readyMinutes = new Set(instance.orders.map((o) => o.readyTime));
  const placementMinutes = new Set(instance.orders.map((o) => o.placementTime));
  const couriers = instance.couriers.map<CourierRun>((courier) => ({
    courier,
    at: courier.start,
    freeAt: courier.onTime,
    committedOrders: 0,
    moves: [],
    pending: [],
  }));
  const courierById = new Map(couriers.map((c) => [c.courier.id, c]));
  const lastOffTime = Math.max(...instance.couriers.map((c) => c.offTime));

  const routes: ExecutedRoute[] = [];
  const outcomes = new Map<string, OrderOutcome>();
  const solveMs: number[] = [];
  const solveCpuMs: number[] = [];
  const reasons = new Map<string, UnassignedReason>();
  let rounds = 0;
  let rejectedAssignments = 0;
  let etaMismatches = 0;
  let nextPlacement = 0;
  const start = byPlacement[0]!.placementTime;
  const estimator = opts.readyKnown ? null : makeReadyEstimator(opts.readyEstimate, instance, opts);
  const carrierDeliveries = new Map<string, CarrierDelivery>();
  const carrierModel: CarrierModel = { pricePerOrder: opts.carrierPrice, lateRiskMin: opts.carrierLateRiskMin, pickupMin: opts.carrierPickupMin, speedFactor: opts.carrierSpeedFactor };
  /** Hybrid mode: the open orders the carrier takes at minute `now` leave the own pool. */
  const handOff = (now: number, ownCouriersLeft: boolean) => {
    for (const run of [...open.values()]) {
      if (!shouldHandOff(run.order, now, carrierModel, ownCouriersLeft)) continue;
      open.delete(run.order.id);
      carrierDeliveries.set(run.order.id, carrierDelivery(run.order, run.restaurant, now, params, carrierModel));
    }
  };

  for (let now = start; now <= lastOffTime; now++) {
    while (nextPlacement < byPlacement.length && byPlacement[nextPlacement]!.placementTime <= now) {
      const order = byPlacement[nextPlacement++]!;
      open.set(order.id, { order, restaurant: instance.restaurants.get(order.restaurantId)!, declinedBy: [] });
    }
    for (let i = held.length - 1; i >= 0; i--) {
      if (held[i]!.releaseAt > now) continue;
      open.set(held[i]!.run.order.id, held[i]!.run);
      held.splice(i, 1);
    }
    believedThisMinute.clear();
    if (opts.carrier && open.size > 0) handOff(now, couriers.some((c) => Math.max(believedEnd(c, now).freeAt, now) < c.courier.offTime));
    if (open.size === 0) {
      if (nextPlacement >= byPlacement.length && held.length === 0) break;
      continue;
    }
    const scheduled = (now - start) % opts.roundEveryMin === 0;
    const eventful = opts.eventRounds && (placementMinutes.has(now) || (!opts.readyKnown && readyMinutes.has(now)));
    if (!scheduled && !eventful) continue;

    const available = couriers.filter(
      (c) => c.courier.onTime <= now + opts.courierLookaheadMin && Math.max(believedEnd(c, now).freeAt, now) < c.courier.offTime,
    );
    if (available.length === 0) continue;

    const snapshot: Snapshot<MdrpPlace> = {
      now: now * 60,
      orders: [...open.values()].map((o) => orderRequest(o, now)),
      couriers: available.map((c) => courierState(c, now)),
      travel,
      service: { pickupS: params.pickupServiceMin * 60, dropoffS: params.dropoffServiceMin * 60 },
      pay: { perOrder: params.payPerOrder, guaranteedPerHour: params.guaranteedPayPerHour },
      seed: opts.seed,
    };
    rounds++;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const plan = opts.planner(snapshot, opts.policy);
    solveMs.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    solveCpuMs.push((cpu.user + cpu.system) / 1000);
    applyPlan(plan, now, available);
  }

  function orderRequest(run: OrderRun, now: number): OrderRequest<MdrpPlace> {
    const { order } = run;
    const revealed = opts.readyKnown || order.readyTime <= now;
    const estimate = revealed ? null : estimator!.estimate(order, now);
    const readyMin = estimate ? estimate.readyMin : order.readyTime;
    return {
      id: order.id,
      pickupId: order.restaurantId,
      pickup: run.restaurant,
      dropoff: order.customer,
      placedAt: order.placementTime * 60,
      readyAt: Math.round(readyMin * 60),
      readyKnown: revealed,
      ...(estimate && estimate.spreadMin > 0 ? { readySpreadS: estimate.spreadMin * 60 } : {}),
      option: 'standard',
      promisedBy: (order.placementTime + params.targetClickToDoorMin) * 60,
      size: 1,
      declinedBy: run.declinedBy,
    };
  }

  /**
   * Where and when the planner may believe the courier's committed work ends. Ready times known: the rules'
   * time and place. Ready times hidden: a committed route whose food is not ready yet ends when the estimate
   * says (the conditional median the planner sees for the order), not when the hidden ready time will make
   * it end, and at its last customer even if it will fail at the counter — the planner learns the courier is
   * late only as the world would tell it (the food is ready, the estimate moves, the courier's off_time).
   * Once per courier per minute (the carrier check, the round's filter and its snapshot all ask).
   */
  function believedEnd(run: CourierRun, now: number): CourierEnd {
    let end = believedThisMinute.get(run);
    if (end) return end;
    while (run.pending.length > 0 && run.pending[0]!.endsAt <= now) run.pending.shift();
    const last = run.pending[run.pending.length - 1];
    end = { freeAt: run.freeAt, at: last ? last.orders[last.orders.length - 1]!.customer : run.at };
    if (!opts.readyKnown && run.pending.some((r) => r.orders.some((o) => o.readyTime > now))) {
      let freeAt = now;
      run.pending.forEach((r, i) => {
        const departAt = i === 0 ? r.departAt : Math.max(r.assignedAt, freeAt);
        const readyTimes = r.orders.map((o) => (o.readyTime <= now ? o.readyTime : believedReadyMin(o, now)));
        freeAt = timeRoute(params, r.from, departAt, r.restaurant, readyTimes, r.orders.map((o) => o.customer)).freeAt;
      });
      end = { ...end, freeAt };
    }
    believedThisMinute.set(run, end);
    return end;
  }

  /** The median of the ready time the planner is told for an order still in the kitchen (whole minutes). */
  function believedReadyMin(order: MdrpOrder, now: number): number {
    const request = orderRequest({ order, restaurant: instance.restaurants.get(order.restaurantId)!, declinedBy: [] }, now);
    return Math.max(now + 1, Math.round(readyQuantile(request, now * 60, 0.5) / 60));
  }

  function courierState(run: CourierRun, now: number): CourierState<MdrpPlace> {
    const end = believedEnd(run, now);
    const freeAt = Math.max(end.freeAt, now);
    return {
      id: run.courier.id,
      position: end.at,
      freeAt: freeAt * 60,
      shiftStart: run.courier.onTime * 60,
      shiftEnd: run.courier.offTime * 60,
      capacity: Number.POSITIVE_INFINITY,
      // Not yet on shift counts as busy: free at on_time, like a courier finishing a route.
      status: freeAt > now ? 'busy' : 'free',
      ordersThisShift: run.committedOrders,
    };
  }

  function applyPlan(plan: Plan<MdrpPlace>, now: number, available: readonly CourierRun[]): void {
    const fail = (message: string): never => {
      throw new PlanValidationError(message, rounds, now);
    };
    const offered = new Set(available.map((c) => c.courier.id));
    const usedCouriers = new Set<string>();
    const usedOrders = new Set<string>();
    for (const u of plan.unassigned) reasons.set(u.orderId, u.reason);

    for (const a of plan.assignments) {
      const run = courierById.get(a.courierId);
      if (!run || !offered.has(a.courierId)) fail(`courier ${a.courierId} was not in the snapshot`);
      if (usedCouriers.has(a.courierId)) fail(`courier ${a.courierId} got two assignments in one round`);
      usedCouriers.add(a.courierId);
      if (a.orderIds.length === 0) fail(`empty assignment for courier ${a.courierId}`);
      const orders: OrderRun[] = [];
      for (const id of a.orderIds) {
        const o = open.get(id);
        if (!o) fail(`order ${id} is not open (unknown, unplaced or already assigned)`);
        if (usedOrders.has(id)) fail(`order ${id} is assigned twice`);
        if (o!.declinedBy.includes(a.courierId)) fail(`order ${id} offered again to ${a.courierId}, who refused it`);
        usedOrders.add(id);
        orders.push(o!);
      }
      const restaurant = orders[0]!.restaurant;
      if (orders.some((o) => o.restaurant.id !== restaurant.id)) fail(`bundle ${a.orderIds.join(',')} spans several restaurants`);
      checkStops(a, restaurant, fail);

      const courier = run!;
      const departAt = Math.max(now, courier.freeAt);
      const timing = timeRoute(
        params,
        courier.at,
        departAt,
        restaurant,
        orders.map((o) => o.order.readyTime),
        orders.map((o) => o.order.customer),
      );
      if (timing.pickupAt > courier.courier.offTime) {
        if (opts.readyKnown) fail(`pickup at ${timing.pickupAt} is after ${a.courierId}'s off_time ${courier.courier.offTime}`);
        // An estimate was too early; nobody knows it yet. If the courier's earlier work runs late, it cannot
        // reach the counter in time: that is plain once that work's food is ready, and the orders go back
        // then, the courier untouched. Otherwise it is this food: the courier goes to the counter and waits;
        // at its off_time it may no longer pick up and leaves without it (its last minutes spent), and only
        // then do the orders go back to the pool. Never to this courier again.
        rejectedAssignments++;
        const offTime = courier.courier.offTime;
        let releaseAt = offTime;
        if (timing.arriveRestaurantAt + params.pickupServiceMin / 2 > offTime) {
          releaseAt = Math.min(offTime, Math.max(0, ...courier.pending.flatMap((r) => r.orders.map((o) => o.readyTime))));
        } else {
          // Until then the planner believes the route runs as estimated (it may even queue work behind it).
          courier.pending.push({ assignedAt: now, from: courier.at, departAt: timing.departAt, restaurant, orders: orders.map((o) => o.order), endsAt: offTime });
          courier.moves.push(timing.moves[0]!);
          courier.at = restaurant;
          courier.freeAt = offTime;
        }
        for (const o of orders) {
          o.declinedBy.push(a.courierId);
          open.delete(o.order.id);
          held.push({ run: o, releaseAt: Math.max(releaseAt, now + 1) });
        }
        log.debug({ courierId: a.courierId, orderIds: a.orderIds, minute: now }, 'pickup would be after the courier\'s shift end: orders back to the pool when that shows');
        continue;
      }
      if (opts.readyKnown) {
        const mismatch = etaMismatch(a.stops, timing);
        if (mismatch) {
          if (opts.strictEtas) fail(`courier ${a.courierId}: ${mismatch}`);
          etaMismatches++;
        }
      }

      for (const o of orders) open.delete(o.order.id);
      courier.pending.push({ assignedAt: now, from: courier.at, departAt: timing.departAt, restaurant, orders: orders.map((o) => o.order), endsAt: timing.freeAt });
      courier.moves.push(...timing.moves);
      courier.at = orders[orders.length - 1]!.order.customer;
      courier.freeAt = timing.freeAt;
      courier.committedOrders += orders.length;
      routes.push({ courierId: a.courierId, assignedAt: now, restaurantId: restaurant.id, orderIds: [...a.orderIds], timing });
      orders.forEach((o, i) =>
        outcomes.set(o.order.id, { courierId: a.courierId, assignedAt: now, pickupAt: timing.pickupAt, dropoffAt: timing.dropoffAt[i]! }),
      );
    }
  }

  if (opts.carrier) {
    // orders the own couriers never got to (placed or still open after the last shift): the carrier takes them
    const end = Math.max(start, lastOffTime);
    for (const o of byPlacement) {
      if (outcomes.has(o.id) || carrierDeliveries.has(o.id)) continue;
      carrierDeliveries.set(o.id, carrierDelivery(o, instance.restaurants.get(o.restaurantId)!, Math.max(o.placementTime, Math.min(end, o.placementTime + opts.carrierLateRiskMin)), params, carrierModel));
    }
  }
  const undeliveredReasons: Record<string, number> = {};
  for (const o of instance.orders) {
    if (outcomes.has(o.id) || carrierDeliveries.has(o.id)) continue;
    const reason = reasons.get(o.id) ?? 'never_planned';
    undeliveredReasons[reason] = (undeliveredReasons[reason] ?? 0) + 1;
  }
  return {
    instance,
    readyKnown: opts.readyKnown,
    routes,
    outcomes,
    moves: new Map(couriers.map((c) => [c.courier.id, c.moves])),
    rounds,
    solveMs,
    solveCpuMs,
    rejectedAssignments,
    etaMismatches,
    undeliveredReasons,
    ...(opts.carrier ? { carrierDeliveries } : {}),
  };
}

/** A route's stops must be: one pickup of the whole bundle at its restaurant, then each drop-off in sequence. */
function checkStops(a: Plan<MdrpPlace>['assignments'][number], restaurant: MdrpPlace, fail: (m: string) => never): void {
  const [pickup, ...drops] = a.stops;
  if (!pickup || pickup.kind !== 'pickup') fail(`courier ${a.courierId}: the route must start with a pickup`);
  if (pickup!.place.id !== restaurant.id) fail(`courier ${a.courierId}: pickup stop is not at restaurant ${restaurant.id}`);
  const picked = [...pickup!.orderIds].sort().join(',');
  if (picked !== [...a.orderIds].sort().join(',')) fail(`courier ${a.courierId}: pickup stop holds ${picked}, assignment ${a.orderIds.join(',')}`);
  const dropped: string[] = [];
  for (const s of drops) {
    if (s.kind !== 'dropoff') fail(`courier ${a.courierId}: a second pickup in one route`);
    for (const id of s.orderIds) {
      if (s.place.id !== id) fail(`courier ${a.courierId}: drop-off of ${id} is not at its customer`);
      dropped.push(id);
    }
  }
  if (dropped.join(',') !== a.orderIds.join(',')) {
    fail(`courier ${a.courierId}: drop-off sequence ${dropped.join(',')} differs from orderIds ${a.orderIds.join(',')}`);
  }
}

function etaMismatch(stops: Plan<MdrpPlace>['assignments'][number]['stops'], timing: RouteTiming): string | undefined {
  const expected = [timing.pickupAt, ...timing.dropoffAt].map((m) => m * 60);
  const got = stops.map((s) => s.serviceAt);
  for (let i = 0; i < expected.length; i++) {
    if (got[i] !== expected[i]) {
      return `stop ${i} (${stops[i]!.kind}) planned at ${got[i]}s but the rules give ${expected[i]}s`;
    }
  }
  return undefined;
}

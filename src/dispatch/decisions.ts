/**
 * Dispatch decisions as data: what one round decided for each order it saw, and why — the record the
 * console, `GET /v1/orders/:id/dispatch` and the decision history show. Pure mapping from the round's
 * snapshot and plan; times are the plan's seconds turned into epoch ms.
 *
 * An assigned order carries its courier, stop sequence, ETAs, cost breakdown and the runner-up courier
 * (cost difference, its ETA to the pickup). A waiting order carries the optimizer's reason code and the
 * courier that could reach its pickup first (and when that courier frees up if it is busy).
 */
import { CourierGrid } from './candidates.js';
import { usableCouriers } from './explain.js';
import { planRoute, startTime, type RouteContext } from './route.js';
import type { CostBreakdown, CourierState, OrderRequest, Plan, ReadyEstimateInfo, Snapshot, UnassignedReason } from './types.js';

/** Reason codes of a waiting order: the optimizer's, plus `commit_conflict` (planned, but the commit lost a race). */
export type WaitingReason = UnassignedReason | 'commit_conflict';

export interface DecisionStop {
  readonly orderId: string;
  readonly kind: 'pickup' | 'dropoff';
  /** Planned service instant, epoch ms. */
  readonly at: number;
}

export interface DispatchDecision {
  readonly orderId: string;
  /** The round's time (service clock), epoch ms. */
  readonly at: number;
  readonly zone: string;
  /**
   * `carrier`: the fleet policy handed it to a third-party carrier (see `fleet`); `reassigned`: an
   * assignment update took it from its courier and offered it to `courierId` (see `reassigned`).
   */
  readonly decision: 'assigned' | 'waiting' | 'carrier' | 'reassigned';
  readonly reason?: WaitingReason;
  readonly courierId?: string;
  readonly etaPickupAt?: number;
  readonly etaDropoffAt?: number;
  /** The courier's planned stops for this assignment (a bundle shares them). */
  readonly stops?: readonly DecisionStop[];
  /** The assignment's cost (the whole bundle's when bundled), in the optimizer's units and seconds. */
  readonly cost?: CostBreakdown;
  /** True when a dispatcher pinned the order to its courier. */
  readonly pinned?: boolean;
  /** The best other courier for the same orders: how much more it would have cost, and its pickup ETA. */
  readonly runnerUp?: { readonly courierId?: string; readonly costDelta: number; readonly etaPickupAt?: number };
  /** For a waiting order: the courier that could be at the pickup first, and when it frees up if busy. */
  readonly nearest?: { readonly courierId?: string; readonly etaPickupAt: number; readonly freesAt?: number };
  /** The ready time the round planned with and where it came from (when the snapshot says). */
  readonly ready?: DecisionReady;
  /** The hybrid-fleet policy's verdict for an order in a zone that allows a carrier (fleet-policy.ts). */
  readonly fleet?: FleetNote;
  /** An assignment update (reassign.ts): why, from whom, and what it gains. */
  readonly reassigned?: ReassignNote;
}

export interface ReassignNote {
  /** `estimate_changed`. */
  readonly reason: string;
  readonly fromCourierId?: string;
  /** Pickup (and delivery) earlier by this many seconds (≤ 0 when the gain is courier time). */
  readonly savedS: number;
  /** The gain on the optimizer's score, in seconds of click-to-door. */
  readonly gainS: number;
  /** The ready estimate now − the one the assignment was planned with (s). */
  readonly readyChangeS: number;
}

export interface DecisionReady extends ReadyEstimateInfo {
  /** The ready time planned with, epoch ms. */
  readonly at: number;
}

export interface FleetNote {
  /** `own` or the carrier's name. */
  readonly fleet: string;
  /** e.g. `carrier: no own courier meets promise`, `own: own fleet meets promise`. */
  readonly reason: string;
  readonly carrier?: string;
  /** Own cost estimate, in the carrier quote's currency units. */
  readonly ownCost?: number;
  readonly carrierFee?: { readonly amount: number; readonly currency: string };
  readonly carrierDropoffEta?: number;
  /** The carrier's delivery when it was handed off. */
  readonly deliveryId?: string;
}

export interface RoundContext {
  readonly zone: string;
  /** Round time, epoch ms. */
  readonly at: number;
  /** Orders whose assignment was planned but not committed (lost a race): recorded as waiting. */
  readonly notCommitted?: ReadonlySet<string>;
}

/** Couriers looked at exactly when searching the nearest one (the grid ranks by a lower bound). */
const NEAREST_POOL = 4;
const ms = (s: number): number => Math.round(s * 1000);

/** The ready time a decision about `o` was planned with, and where it came from (absent without an estimate). */
export function decisionReady<P>(o: OrderRequest<P> | undefined): { ready?: DecisionReady } {
  return o?.readyEstimate ? { ready: { ...o.readyEstimate, at: ms(o.readyAt) } } : {};
}

/** One decision per order of the snapshot, in order id order. */
export function roundDecisions<P>(snapshot: Snapshot<P>, plan: Plan<P>, round: RoundContext): DispatchDecision[] {
  const ctx: RouteContext<P> = { now: snapshot.now, travel: snapshot.travel, service: snapshot.service };
  const orders = new Map(snapshot.orders.map((o) => [o.id, o]));
  const couriers = new Map(snapshot.couriers.map((c) => [c.id, c]));
  const usable = usableCouriers(snapshot.couriers, snapshot.now);
  const grid = new CourierGrid(usable, ctx);
  const base = { at: round.at, zone: round.zone };
  const out: DispatchDecision[] = [];
  const readyOf = (orderId: string): { ready?: DecisionReady } => decisionReady(orders.get(orderId));

  for (const a of plan.assignments) {
    const lost = a.orderIds.some((id) => round.notCommitted?.has(id));
    const stops: DecisionStop[] = a.stops.flatMap((s) => s.orderIds.map((orderId) => ({ orderId, kind: s.kind, at: ms(s.serviceAt) })));
    const runnerUp = a.runnerUp ? runnerUpView(a.runnerUp, a.cost.total, a.orderIds, orders, couriers, ctx) : undefined;
    for (const orderId of a.orderIds) {
      if (lost) {
        out.push({ ...base, orderId, decision: 'waiting', reason: 'commit_conflict', courierId: a.courierId, ...readyOf(orderId) });
        continue;
      }
      const pickup = a.stops.find((s) => s.kind === 'pickup' && s.orderIds.includes(orderId));
      const dropoff = a.stops.find((s) => s.kind === 'dropoff' && s.orderIds.includes(orderId));
      out.push({
        ...base,
        orderId,
        decision: 'assigned',
        courierId: a.courierId,
        ...(pickup ? { etaPickupAt: ms(pickup.serviceAt) } : {}),
        ...(dropoff ? { etaDropoffAt: ms(dropoff.serviceAt) } : {}),
        stops,
        cost: a.cost,
        pinned: a.pinned,
        ...(runnerUp ? { runnerUp } : {}),
        ...readyOf(orderId),
      });
    }
  }
  for (const u of plan.unassigned) {
    const order = orders.get(u.orderId);
    const nearest = order ? nearestCourier(order, grid, ctx) : undefined;
    out.push({ ...base, orderId: u.orderId, decision: 'waiting', reason: u.reason, ...(nearest ? { nearest } : {}), ...readyOf(u.orderId) });
  }
  return out.sort((x, y) => (x.orderId < y.orderId ? -1 : x.orderId > y.orderId ? 1 : 0));
}

function runnerUpView<P>(
  r: { courierId: string; total: number },
  chosenTotal: number,
  orderIds: readonly string[],
  orders: ReadonlyMap<string, OrderRequest<P>>,
  couriers: ReadonlyMap<string, CourierState<P>>,
  ctx: RouteContext<P>,
): NonNullable<DispatchDecision['runnerUp']> {
  const courier = couriers.get(r.courierId);
  const list = orderIds.map((id) => orders.get(id)).filter((o): o is OrderRequest<P> => o !== undefined);
  const route = courier && list.length ? planRoute(courier, list, ctx) : null;
  return { courierId: r.courierId, costDelta: r.total - chosenTotal, ...(route ? { etaPickupAt: ms(route.pickupAt) } : {}) };
}

/**
 * The usable courier that could be at the order's pickup first (exact travel time over the few nearest
 * by lower bound, any distance), couriers who declined it left out. `freesAt` when it is busy now.
 */
export function nearestCourier<P>(
  order: OrderRequest<P>,
  grid: CourierGrid<P>,
  ctx: RouteContext<P>,
): DispatchDecision['nearest'] | undefined {
  const declined = new Set(order.declinedBy);
  const found = grid.nearest(ctx.travel.planar(order.pickup), Infinity, NEAREST_POOL, (i) => !declined.has(grid.couriers[i].id));
  let best: { courier: CourierState<P>; arriveAt: number; startAt: number } | undefined;
  for (const i of found) {
    const courier = grid.couriers[i];
    const startAt = startTime(courier, ctx.now);
    const arriveAt = startAt + ctx.travel.seconds(courier.position, order.pickup);
    if (!best || arriveAt < best.arriveAt) best = { courier, arriveAt, startAt };
  }
  if (!best) return undefined;
  return {
    courierId: best.courier.id,
    etaPickupAt: ms(best.arriveAt),
    ...(best.startAt > ctx.now ? { freesAt: ms(best.startAt) } : {}),
  };
}


/**
 * What the order's own store may see: no other courier's id (the runner-up's and the nearest courier's
 * unless it is the order's assigned courier) and only this order's stops (a bundle's other orders are
 * not its business).
 */
export function storeView(d: DispatchDecision, assignedCourierId: string | null): DispatchDecision {
  const mine = (id: string | undefined) => id !== undefined && id === assignedCourierId;
  const { runnerUp, nearest, courierId, stops, reassigned, ...rest } = d;
  return {
    ...rest,
    ...(courierId !== undefined && (d.decision === 'assigned' || mine(courierId)) ? { courierId } : {}),
    // the courier it was taken from is not the store's business unless it has the order (again)
    ...(reassigned ? { reassigned: mine(reassigned.fromCourierId) ? reassigned : withoutCourier(reassigned) } : {}),
    ...(stops ? { stops: stops.filter((s) => s.orderId === d.orderId) } : {}),
    ...(runnerUp ? { runnerUp: mine(runnerUp.courierId) ? runnerUp : withoutCourier(runnerUp) } : {}),
    ...(nearest ? { nearest: mine(nearest.courierId) ? nearest : withoutCourier(nearest) } : {}),
  };
}

function withoutCourier<T extends { courierId?: string }>(x: T): Omit<T, 'courierId'>;
function withoutCourier<T extends { fromCourierId?: string }>(x: T): Omit<T, 'fromCourierId'>;
function withoutCourier(x: { courierId?: string; fromCourierId?: string }): object {
  const { courierId: _omitted, fromCourierId: _from, ...rest } = x;
  return rest;
}

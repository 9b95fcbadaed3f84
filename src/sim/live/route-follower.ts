/**
 * What one simulated courier does with the work it accepts, in the MDRP world's rules and minutes
 * (src/sim/mdrp/rules.ts, the same functions the offline harness executes assignments with): it
 * queues an accepted bundle behind its committed work (couriers cannot be diverted), drives straight
 * lines at the instance's speed with travel times rounded up to whole minutes, spends half the service
 * time before and half after each pickup and drop-off instant, and waits at the restaurant for the food.
 * Pure: no sockets, no clock; the live courier (courier-sim.ts) turns its answers into frames.
 */
import type { PlanarPoint } from '../../dispatch/types.js';
import type { MdrpCourier, MdrpOrder, MdrpParameters, MdrpPlace } from '../mdrp/instance.js';
import { timeRoute, type Move } from '../mdrp/rules.js';
import type { ExecutedRoute } from '../mdrp/simulate.js';

/** The status frames a courier sends along a route (courier socket `status`). */
export type RouteStatus = 'arrived_pickup' | 'picked_up' | 'arrived_dropoff' | 'delivered';

export interface TimedStatus {
  /** Minute of the day (may be fractional only if service times are odd). */
  readonly at: number;
  readonly orderId: string;
  readonly status: RouteStatus;
}

export type Refusal = 'several_restaurants' | 'after_shift_end' | 'unknown_order' | 'no_orders';

export type PlanAnswer = { readonly ok: true; readonly route: ExecutedRoute } | { readonly ok: false; readonly reason: Refusal };

export class RouteFollower {
  /** Where the courier is, or will be once its committed work is done. */
  private at: MdrpPlace;
  /** Minute from which it is free for new work. */
  private free: number;
  private readonly moveList: Move[] = [];
  /** The moves as the courier is seen driving them (positions): see commit. */
  private readonly shownMoves: Move[] = [];
  private readonly routeList: ExecutedRoute[] = [];

  constructor(
    private readonly params: MdrpParameters,
    readonly courier: MdrpCourier,
  ) {
    this.at = courier.start;
    this.free = courier.onTime;
  }

  get freeAt(): number {
    return this.free;
  }

  get moves(): readonly Move[] {
    return this.moveList;
  }

  get routes(): readonly ExecutedRoute[] {
    return this.routeList;
  }

  /**
   * Times a bundle decided in minute `decidedAt`: it starts when the courier is free (at its last
   * drop-off) or at once. Refused when it spans several restaurants (MDRP bundles one restaurant) or
   * the pickup would fall after the courier's off_time (unless `ignoreShiftEnd`: a dispatcher's
   * assignment is executed whatever the shift says).
   */
  plan(decidedAt: number, restaurant: MdrpPlace | undefined, orders: readonly MdrpOrder[], opts: { ignoreShiftEnd?: boolean } = {}): PlanAnswer {
    if (orders.length === 0) return { ok: false, reason: 'no_orders' };
    if (!restaurant) return { ok: false, reason: 'unknown_order' };
    if (orders.some((o) => o.restaurantId !== restaurant.id)) return { ok: false, reason: 'several_restaurants' };
    const departAt = Math.max(decidedAt, this.free);
    const timing = timeRoute(
      this.params,
      this.at,
      departAt,
      restaurant,
      orders.map((o) => o.readyTime),
      orders.map((o) => o.customer),
    );
    if (timing.pickupAt > this.courier.offTime && !opts.ignoreShiftEnd) return { ok: false, reason: 'after_shift_end' };
    return {
      ok: true,
      route: { courierId: this.courier.id, assignedAt: decidedAt, restaurantId: restaurant.id, orderIds: orders.map((o) => o.id), timing },
    };
  }

  /**
   * The courier has accepted the route (the service confirmed) at minute `at`: it is now committed work.
   * A route decided in the minute it arrived may depart before `at` (by the minute rule); the courier is
   * seen leaving from where it stood at `at` and driving a little faster, so its positions never jump.
   */
  commit(route: ExecutedRoute, at: number = route.timing.departAt): void {
    if (route.courierId !== this.courier.id) throw new Error(`route of ${route.courierId} given to ${this.courier.id}`);
    if (route.timing.departAt < this.free) throw new Error(`route departs at ${route.timing.departAt}, before the courier is free (${this.free})`);
    this.routeList.push(route);
    this.moveList.push(...route.timing.moves);
    const [first, ...rest] = route.timing.moves;
    if (first) this.shownMoves.push(first.departAt < at ? { ...first, departAt: Math.min(at, first.arriveAt) } : first, ...rest);
    const last = route.timing.moves[route.timing.moves.length - 1]!;
    this.at = last.to;
    this.free = route.timing.freeAt;
  }

  /** The status frames of a route with their minutes, in the order they happen. */
  statuses(route: ExecutedRoute): TimedStatus[] {
    const { timing, orderIds } = route;
    const halfDropoff = this.params.dropoffServiceMin / 2;
    const out: TimedStatus[] = [];
    for (const orderId of orderIds) out.push({ at: timing.arriveRestaurantAt, orderId, status: 'arrived_pickup' });
    for (const orderId of orderIds) out.push({ at: timing.pickupAt, orderId, status: 'picked_up' });
    orderIds.forEach((orderId, i) => {
      out.push({ at: timing.dropoffAt[i]! - halfDropoff, orderId, status: 'arrived_dropoff' });
      out.push({ at: timing.dropoffAt[i]!, orderId, status: 'delivered' });
    });
    return out;
  }

  /** Where the courier is at minute `t` (fractional): on a straight line while driving, else where it stopped. */
  positionAt(t: number): PlanarPoint {
    for (let i = this.shownMoves.length - 1; i >= 0; i--) {
      const m = this.shownMoves[i]!;
      if (m.departAt > t) continue;
      if (t >= m.arriveAt || m.arriveAt === m.departAt) return { x: m.to.x, y: m.to.y };
      const f = (t - m.departAt) / (m.arriveAt - m.departAt);
      return { x: m.from.x + (m.to.x - m.from.x) * f, y: m.from.y + (m.to.y - m.from.y) * f };
    }
    return { x: this.courier.start.x, y: this.courier.start.y };
  }

  /** No committed work left at minute `t`. */
  idleAt(t: number): boolean {
    return this.free <= t;
  }
}

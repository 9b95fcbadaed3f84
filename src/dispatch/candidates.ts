/**
 * Candidate couriers per bundle. A uniform grid over the couriers' planar positions is searched ring by
 * ring around the pickup; a courier's reach time is bounded below by (start delay + planar distance /
 * maxSpeedMps), so rings beyond the radius, or beyond the best pool already found, are never opened.
 * Only the pool's survivors get an exact route and cost.
 */
import type { Bundle } from './bundling.js';
import { routeCost } from './cost.js';
import { planRoute, startTime, type Route, type RouteContext } from './route.js';
import { NO_SCARCITY, type CourierTimePrice } from './scarcity.js';
import type { CostBreakdown, CourierState, PayRules, PlanarPoint, Policy } from './types.js';

/** Extra cost of a route beyond routeCost (uncertain ready times: plan-round.ts). */
export type RouteRisk<P> = (route: Route<P>) => number;

/** What a planned route costs the round: routeCost plus its risk, the one price every route is compared by. */
export function pricedRouteCost<P>(
  route: Route<P>,
  courier: CourierState<P>,
  pay: PayRules,
  policy: Policy,
  courierTime: CourierTimePrice,
  risk: RouteRisk<P> | undefined,
): CostBreakdown {
  const cost = routeCost(route, courier, pay, policy, courierTime);
  const extra = risk ? risk(route) : 0;
  return extra !== 0 ? { ...cost, total: cost.total + extra } : cost;
}

export interface Candidate<P> {
  /** Index into the usable couriers array. */
  readonly courier: number;
  readonly route: Route<P>;
  readonly cost: CostBreakdown;
}

export class CourierGrid<P> {
  private readonly cellM: number;
  private readonly minX: number;
  private readonly minY: number;
  private readonly nx: number;
  private readonly ny: number;
  private readonly cells: Int32Array[];
  private readonly points: PlanarPoint[];
  private readonly startDelayS: Float64Array;

  constructor(
    readonly couriers: readonly CourierState<P>[],
    private readonly ctx: RouteContext<P>,
  ) {
    this.points = couriers.map((c) => ctx.travel.planar(c.position));
    this.startDelayS = Float64Array.from(couriers, (c) => startTime(c, ctx.now) - ctx.now);
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (const p of this.points) {
      minX = Math.min(minX, p.x);
      minY = Math.min(minY, p.y);
      maxX = Math.max(maxX, p.x);
      maxY = Math.max(maxY, p.y);
    }
    if (!this.points.length) minX = minY = maxX = maxY = 0;
    // A line of couriers has no area: give each side at least 1 m so the cell count stays near n / 4.
    const area = Math.max(1, maxX - minX) * Math.max(1, maxY - minY);
    // About four couriers per cell keeps both the cell count and the per-cell scan small.
    this.cellM = Math.max(
      1,
      Math.sqrt((area * 4) / Math.max(1, couriers.length)),
      (maxX - minX) / 4000,
      (maxY - minY) / 4000,
    );
    this.minX = minX;
    this.minY = minY;
    this.nx = Math.floor((maxX - minX) / this.cellM) + 1;
    this.ny = Math.floor((maxY - minY) / this.cellM) + 1;
    const lists: number[][] = Array.from({ length: this.nx * this.ny }, () => []);
    this.points.forEach((p, i) => lists[this.cellOf(p.x, this.minX, this.nx) + this.nx * this.cellOf(p.y, this.minY, this.ny)].push(i));
    this.cells = lists.map((l) => Int32Array.from(l));
  }

  private cellOf(v: number, min: number, n: number): number {
    return Math.max(0, Math.min(n - 1, Math.floor((v - min) / this.cellM)));
  }

  /**
   * Indices of up to `pool` couriers accepted by `accept` (given the courier and its lower-bound reach
   * time in seconds from now), with the smallest such bound (≤ radiusS), sorted by that bound then index.
   */
  nearest(point: PlanarPoint, radiusS: number, pool: number, accept: (i: number, lb: number) => boolean): number[] {
    const speed = this.ctx.travel.maxSpeedMps;
    const cx = this.cellOf(point.x, this.minX, this.nx);
    const cy = this.cellOf(point.y, this.minY, this.ny);
    // The best `pool` so far, kept sorted by (lb, index): insertion into a short array beats sorting all.
    const foundI: number[] = [];
    const foundLb: number[] = [];
    const visit = (gx: number, gy: number): void => {
      for (const i of this.cells[gx + this.nx * gy]) {
        const p = this.points[i];
        const dx = p.x - point.x;
        const dy = p.y - point.y;
        const lb = this.startDelayS[i] + Math.sqrt(dx * dx + dy * dy) / speed;
        if (lb > radiusS) continue;
        const n = foundI.length;
        if (n >= pool && (lb > foundLb[n - 1] || (lb === foundLb[n - 1] && i > foundI[n - 1]))) continue;
        if (!accept(i, lb)) continue;
        let k = n;
        while (k > 0 && (foundLb[k - 1] > lb || (foundLb[k - 1] === lb && foundI[k - 1] > i))) k--;
        foundI.splice(k, 0, i);
        foundLb.splice(k, 0, lb);
        if (foundI.length > pool) {
          foundI.pop();
          foundLb.pop();
        }
      }
    };
    const maxRing = Math.max(cx, this.nx - 1 - cx, cy, this.ny - 1 - cy);
    for (let ring = 0; ring <= maxRing; ring++) {
      const ringLb = Math.max(0, ring - 1) * (this.cellM / speed);
      if (ringLb > radiusS) break;
      if (foundI.length >= pool && foundLb[pool - 1] < ringLb) break;
      const y0 = Math.max(0, cy - ring);
      const y1 = Math.min(this.ny - 1, cy + ring);
      const x0 = Math.max(0, cx - ring);
      const x1 = Math.min(this.nx - 1, cx + ring);
      for (let gy = y0; gy <= y1; gy++) {
        if (gy === cy - ring || gy === cy + ring) {
          for (let gx = x0; gx <= x1; gx++) visit(gx, gy);
        } else {
          if (cx - ring >= 0) visit(cx - ring, gy);
          if (ring > 0 && cx + ring < this.nx) visit(cx + ring, gy);
        }
      }
    }
    return foundI;
  }
}

/**
 * The best `policy.candidatesPerBundle` couriers for a bundle by exact cost (ties on courier index),
 * from a pool half again that size chosen by lower-bound reach time.
 */
export function candidatesFor<P>(
  bundle: Bundle<P>,
  grid: CourierGrid<P>,
  ctx: RouteContext<P>,
  pay: PayRules,
  policy: Policy,
  courierTime: CourierTimePrice = NO_SCARCITY,
  risk?: RouteRisk<P>,
): Candidate<P>[] {
  const declined = new Set<string>();
  for (const o of bundle.orders) for (const id of o.declinedBy) declined.add(id);
  const couriers = grid.couriers;
  const halfPickup = ctx.service.pickupS / 2;
  const pool = grid.nearest(
    ctx.travel.planar(bundle.pickup),
    policy.candidateRadiusS,
    Math.ceil(policy.candidatesPerBundle * 1.5),
    // Filter before ranking: a near courier whose shift ends first must not crowd out a farther one.
    (i, lb) =>
      couriers[i].capacity >= bundle.size &&
      Math.max(ctx.now + lb + halfPickup, bundle.readyAt) <= couriers[i].shiftEnd &&
      !declined.has(couriers[i].id),
  );
  const out: Candidate<P>[] = [];
  for (const i of pool) {
    const route = planRoute(couriers[i], bundle.orders, ctx);
    if (!route) continue;
    if (route.startAt - ctx.now + ctx.travel.seconds(couriers[i].position, bundle.pickup) > policy.candidateRadiusS) continue;
    out.push({ courier: i, route, cost: pricedRouteCost(route, couriers[i], pay, policy, courierTime, risk) });
  }
  out.sort((a, b) => a.cost.total - b.cost.total || a.courier - b.courier);
  return out.slice(0, policy.candidatesPerBundle);
}

/**
 * Anticipatory dispatch with uncertain ready times. An order whose food is not ready yet
 * (`readyKnown: false`) may carry the spread of its ready-time estimate (`readySpreadS`, a standard
 * deviation): its ready time R is then modelled as normal(readyAt, readySpreadS) conditioned on R ≥ now
 * (it is not ready yet, or the store would have said so).
 *
 * Planning with that distribution:
 * - **Where to aim the courier.** A courier reaching the pickup at t costs E[(R − t)+] of courier waiting
 *   and E[(t − R)+] of food waiting (click-to-door). The expected cost is smallest when t is the
 *   q-quantile of R, q = courier-second price ÷ (courier-second price + food-second price): the same
 *   time-vs-cost knob that prices every route (policy.ts), plus the scarcity price of a busy courier
 *   (scarcity.ts). With couriers plentiful, courier waiting is cheap and the courier aims early; when they
 *   are short it aims late, so its time is not wasted at a counter. The round plans with that quantile as
 *   the order's ready time (`anticipate`).
 * - **Keeping commitments honest.** Aiming early with a wide estimate would lock a courier long before
 *   the food is likely ready; `expectedCourierWaitS` lets the commitment rule refuse to lock a courier
 *   whose expected wait exceeds `policy.readyMaxExpectedWaitS`.
 *
 * Pure and deterministic. Orders with a known ready time, or without a spread, pass through untouched.
 */
import type { OrderRequest, Policy } from './types.js';
import type { CourierTimePrice } from './scarcity.js';
import { normalCdf, normalQuantile } from '../domain/normal-distribution.js';

/** Does the order carry an uncertain ready time the planner should reason about? */
export function isUncertain<P>(o: OrderRequest<P>): boolean {
  return !o.readyKnown && (o.readySpreadS ?? 0) > 0;
}

/**
 * The q-quantile of the order's ready time given that it is not ready at `now`: normal(readyAt,
 * readySpreadS) truncated below at `now`. Far in the upper tail (the order has waited well past its
 * estimate) the normal tail is replaced by its exponential limit, mean spread² ÷ (now − readyAt).
 */
export function readyQuantile<P>(o: OrderRequest<P>, now: number, q: number): number {
  const mu = o.readyAt;
  const sd = o.readySpreadS ?? 0;
  if (!isUncertain(o)) return o.readyKnown ? o.readyAt : Math.max(o.readyAt, now);
  const qq = Math.min(1 - 1e-9, Math.max(0, q));
  const alpha = normalCdf((now - mu) / sd);
  const tail = 1 - alpha;
  if (tail < 1e-6) {
    const meanExcess = (sd * sd) / Math.max(now - mu, sd);
    return now - Math.log(1 - qq) * meanExcess;
  }
  const p = alpha + qq * tail;
  if (p <= 0) return now;
  return Math.max(now, mu + sd * normalQuantile(Math.min(p, 1 - 1e-12)));
}

/** Quantile points used for expectations (midpoints of equal-probability slices). */
export const SLICES = 16;

/** E[(R − t)+]: the courier's expected wait (s) for the food if it could pick up at t. */
export function expectedWaitAfter<P>(o: OrderRequest<P>, now: number, t: number): number {
  if (!isUncertain(o)) return Math.max(0, o.readyAt - t);
  let sum = 0;
  for (let k = 0; k < SLICES; k++) sum += Math.max(0, readyQuantile(o, now, (k + 0.5) / SLICES) - t);
  return sum / SLICES;
}

/**
 * Expected courier wait at a pickup it can serve from `earliestPickup` on, for a bundle: the latest
 * ready time counts, approximated by the largest single expectation (orders of one bundle are ready
 * close together).
 */
export function expectedCourierWaitS<P>(orders: readonly OrderRequest<P>[], now: number, earliestPickup: number): number {
  let worst = 0;
  for (const o of orders) worst = Math.max(worst, expectedWaitAfter(o, now, earliestPickup));
  return worst;
}

/**
 * The quantile a courier should aim at: `policy.readyQuantile` when ≥ 0, else from the knob alone,
 * courier-second price ÷ (courier- plus food-second price), the scarcity price of a busy courier included.
 */
export function aimQuantile(policy: Policy, courierTime: CourierTimePrice): number {
  if (policy.readyQuantile >= 0) return policy.readyQuantile;
  const food = policy.timeWeight * policy.clickToDoorWeight;
  const courier = (1 - policy.timeWeight) * policy.idleWeight + courierTime.busyS;
  return food + courier > 0 ? courier / (food + courier) : 0.5;
}

/**
 * The longest expected wait a courier may be locked into this round: `policy.readyMaxExpectedWaitS` while
 * couriers are plentiful, shrinking as they get short (a waiting courier is then a courier missing
 * elsewhere): ÷ (1 + readyScarcityWait × busy-second price ÷ food-second price).
 */
export function maxExpectedWaitS(policy: Policy, courierTime: CourierTimePrice): number {
  const food = policy.timeWeight * policy.clickToDoorWeight;
  if (policy.readyScarcityWait <= 0 || food <= 0) return policy.readyMaxExpectedWaitS;
  return policy.readyMaxExpectedWaitS / (1 + (policy.readyScarcityWait * courierTime.busyS) / food);
}

/** The order as the round plans it: its ready time is the aimed-at quantile (unchanged if certain). */
export function anticipate<P>(o: OrderRequest<P>, now: number, q: number): OrderRequest<P> {
  if (!isUncertain(o)) return o;
  return { ...o, readyAt: Math.round(readyQuantile(o, now, q)) };
}

/** The ready-time slices of an order this round (midpoint quantiles of SLICES equal-probability slices). */
export function readySlices<P>(o: OrderRequest<P>, now: number): Float64Array {
  const out = new Float64Array(SLICES);
  for (let k = 0; k < SLICES; k++) out[k] = readyQuantile(o, now, (k + 0.5) / SLICES);
  return out;
}

/**
 * E[f(R)] where R is the ready time of a bundle: the latest of its orders' ready times, drawn
 * independently. `slices` are the orders' readySlices, sorted (a known order: its ready time in every
 * slice). P(max ≤ v) = Π_i F_i(v), walking the orders' sorted slices together in increasing order (no
 * allocation beyond the cursors).
 */
function expectedOverLatest(slices: readonly Float64Array[], f: (r: number) => number): number {
  if (slices.length === 1) {
    let sum = 0;
    for (const r of slices[0]!) sum += f(r);
    return sum / SLICES;
  }
  const n = slices.length;
  const at = new Int32Array(n);
  let prevCdf = 0;
  let sum = 0;
  for (;;) {
    let v = Infinity;
    for (let i = 0; i < n; i++) if (at[i]! < SLICES && slices[i]![at[i]!]! < v) v = slices[i]![at[i]!]!;
    if (v === Infinity) break;
    let cdf = 1;
    for (let i = 0; i < n; i++) {
      const sl = slices[i]!;
      let j = at[i]!;
      while (j < SLICES && sl[j]! <= v) j++;
      at[i] = j;
      cdf *= j / SLICES;
    }
    sum += (cdf - prevCdf) * f(v);
    prevCdf = cdf;
  }
  return sum;
}

/**
 * The expected pickup instant of a route whose orders' ready times are uncertain, under the dispatch rule
 * the round follows: the courier sets off when it must (`startAt + waitS`, to be there at the aimed-at
 * quantile) unless the food turns out ready before that, in which case it sets off then (no earlier than
 * it is free). So pickup = max(R, startAt) + drive + half the service when R comes before the set-off,
 * else max(planned pickup, R). `slices` are the orders' readySlices, sorted; a bundle's ready time is the
 * latest of its orders', drawn independently.
 * A near courier loses little when the food is early; a far one, sent early, loses its whole drive.
 */
export function expectedPickupS(slices: readonly Float64Array[], route: RouteTimes, halfPickupS: number): number {
  const setOff = route.startAt + route.waitS;
  const drive = route.arriveAt - route.startAt + halfPickupS;
  return expectedOverLatest(slices, (r) => (r < setOff ? Math.max(r, route.startAt) + drive : Math.max(route.pickupAt, r)));
}

/**
 * The courier time a route is expected to hold beyond its plan under the same dispatch rule: food ready
 * after the planned pickup keeps the courier at the counter, E[(R − pickupAt)+]. (Food ready early moves
 * the courier's whole trip earlier, not longer.) A courier that is short this round pays for that wait
 * at the round's busy-second price, which the planned route, aimed at a quantile, does not show.
 */
export function expectedExtraWaitS(slices: readonly Float64Array[], route: Pick<RouteTimes, 'pickupAt'>): number {
  return expectedOverLatest(slices, (r) => Math.max(0, r - route.pickupAt));
}

/** The times of a planned route these expectations need. */
export interface RouteTimes {
  readonly startAt: number;
  readonly arriveAt: number;
  readonly pickupAt: number;
  readonly waitS: number;
}

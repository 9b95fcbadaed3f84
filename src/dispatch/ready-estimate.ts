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

/** Standard normal cumulative distribution (Abramowitz–Stegun 7.1.26 via erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9), p in (0, 1). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p <= 0 ? -Infinity : Infinity;
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

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
const SLICES = 16;

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

/**
 * What the optimizer is told about a ready time the harness has not revealed yet (ready times are hidden
 * until the food is ready in every mode but `known`). Three estimators, all in minutes:
 *
 * - `global`: placement + a quantile (default the median; the mean if < 0) of the prep times observed so
 *   far that are longer than this order has already waited, at least a minute from now. Observed = placed
 *   at least an hour ago and ready by now. No spread: the estimate is planned as if exact (the original
 *   `--ready-late` mode).
 * - `restaurant-mean`: Reyes et al.'s published setup: placement + the restaurant's mean preparation time
 *   (over the instance's orders of that restaurant), spread = the standard deviation of that restaurant's
 *   prep times (the pooled within-restaurant one for restaurants with fewer than 3 orders). The
 *   restaurant statistics are taken from the whole day, as in the paper; individual ready times stay hidden.
 * - `learned`: strict online, from what is known at the minute: the prep time of every placed order that
 *   is ready, and for the others only that they are still in the kitchen (right-censored). A restaurant's
 *   mean is learned from both (censoring-aware, LearnedEstimator below), shrunk towards the day's mean
 *   with the weight of `shrinkOrders` orders; spread = the pooled within-restaurant standard deviation
 *   plus the uncertainty of the mean (priors until enough orders are an hour old).
 *
 * The optimizer conditions spread estimates on "not ready yet" itself (src/dispatch/ready-estimate.ts).
 */
import type { MdrpInstance, MdrpOrder } from './instance.js';
import { censoredShrunkMean, weightedCensoredShrunkMean } from '../../domain/prep-time.js';

export const READY_ESTIMATES = ['global', 'restaurant-mean', 'learned'] as const;
export type ReadyEstimateMode = (typeof READY_ESTIMATES)[number];

export function isReadyEstimateMode(v: string): v is ReadyEstimateMode {
  return (READY_ESTIMATES as readonly string[]).includes(v);
}

export interface ReadyEstimate {
  /** Estimated ready time, minutes of the day (may be fractional). */
  readonly readyMin: number;
  /** Standard deviation of the estimate, minutes; 0 = plan it as exact. */
  readonly spreadMin: number;
}

export interface EstimatorOptions {
  /** Prior prep time (min) until enough is observed. */
  readonly prepEstimateMin: number;
  /** `global`: quantile of the conditional prep distribution (< 0: its mean). */
  readonly prepEstimateQuantile: number;
  /** `learned`: weight of the global mean in a restaurant's mean, in orders. */
  readonly shrinkOrders: number;
  /** Prior spread (min) until enough is observed. */
  readonly prepSpreadMin: number;
}

export interface ReadyEstimator {
  /** Called with non-decreasing `now`; `order` is placed and not ready at `now`. */
  estimate(order: MdrpOrder, now: number): ReadyEstimate;
}

export function makeReadyEstimator(mode: ReadyEstimateMode, instance: MdrpInstance, opts: EstimatorOptions): ReadyEstimator {
  switch (mode) {
    case 'global':
      return globalEstimator(instance, opts);
    case 'restaurant-mean':
      return restaurantMeanEstimator(instance, opts);
    case 'learned':
      return new LearnedEstimator(instance, opts);
  }
}

function globalEstimator(instance: MdrpInstance, opts: EstimatorOptions): ReadyEstimator {
  const byPlacement = [...instance.orders].sort((a, b) => a.placementTime - b.placementTime);
  let cache: { minute: number; preps: number[]; suffix: number[] } = { minute: -1, preps: [], suffix: [0] };
  return {
    estimate(order, now) {
      if (cache.minute !== now) {
        const preps: number[] = [];
        for (const o of byPlacement) {
          if (o.placementTime > now - 60) break;
          if (o.readyTime <= now) preps.push(o.readyTime - o.placementTime);
        }
        preps.sort((a, b) => a - b);
        const suffix = new Array<number>(preps.length + 1).fill(0);
        for (let i = preps.length - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! + preps[i]!;
        cache = { minute: now, preps, suffix };
      }
      const { preps, suffix } = cache;
      const waited = now - order.placementTime;
      let prep = opts.prepEstimateMin;
      if (preps.length >= 20) {
        let lo = 0;
        while (lo < preps.length && preps[lo]! <= waited) lo++;
        const longer = preps.length - lo;
        prep =
          longer >= 5
            ? opts.prepEstimateQuantile < 0
              ? suffix[lo]! / longer
              : preps[lo + Math.floor((longer - 1) * opts.prepEstimateQuantile)]!
            : waited + 1;
      }
      return { readyMin: Math.max(order.placementTime + Math.round(prep), now + 1), spreadMin: 0 };
    },
  };
}

/** Running sums of prep times per restaurant and the pooled within-restaurant variance. */
export class PrepStats {
  private readonly perRestaurant = new Map<string, { n: number; sum: number; sumSq: number }>();
  private n = 0;
  private sum = 0;
  private sumSq = 0;
  /** Σ over restaurants of sum² / n: total squares minus this is the within-restaurant sum of squares. */
  private between = 0;

  add(restaurantId: string, prep: number): void {
    let s = this.perRestaurant.get(restaurantId);
    if (!s) this.perRestaurant.set(restaurantId, (s = { n: 0, sum: 0, sumSq: 0 }));
    if (s.n > 0) this.between -= (s.sum * s.sum) / s.n;
    s.n++;
    s.sum += prep;
    s.sumSq += prep * prep;
    this.between += (s.sum * s.sum) / s.n;
    this.n++;
    this.sum += prep;
    this.sumSq += prep * prep;
  }

  get count(): number {
    return this.n;
  }

  globalMean(): number {
    return this.n > 0 ? this.sum / this.n : Number.NaN;
  }

  globalSd(): number {
    if (this.n < 2) return Number.NaN;
    const m = this.sum / this.n;
    return Math.sqrt(Math.max(0, (this.sumSq - this.n * m * m) / (this.n - 1)));
  }

  /** Pooled within-restaurant standard deviation (NaN until there are more orders than restaurants). */
  withinSd(): number {
    const df = this.n - this.perRestaurant.size;
    if (df < 1) return Number.NaN;
    return Math.sqrt(Math.max(0, (this.sumSq - this.between) / df));
  }

  restaurant(id: string): { n: number; mean: number; sd: number } {
    const s = this.perRestaurant.get(id);
    if (!s || s.n === 0) return { n: 0, mean: Number.NaN, sd: Number.NaN };
    const mean = s.sum / s.n;
    const sd = s.n >= 2 ? Math.sqrt(Math.max(0, (s.sumSq - s.n * mean * mean) / (s.n - 1))) : Number.NaN;
    return { n: s.n, mean, sd };
  }
}

function restaurantMeanEstimator(instance: MdrpInstance, opts: EstimatorOptions): ReadyEstimator {
  const stats = new PrepStats();
  for (const o of instance.orders) stats.add(o.restaurantId, o.readyTime - o.placementTime);
  const pooled = stats.withinSd();
  const fallbackSd = Number.isFinite(pooled) ? pooled : opts.prepSpreadMin;
  return {
    estimate(order) {
      const r = stats.restaurant(order.restaurantId);
      const sd = r.n >= 3 && Number.isFinite(r.sd) ? r.sd : fallbackSd;
      return { readyMin: order.placementTime + r.mean, spreadMin: Math.max(sd, 0.5) };
    },
  };
}

/** Minimum observations before the learned spread replaces the prior. */
const LEARNED_MIN_SPREAD_OBS = 20;
/** `learned`: an order placed this long ago (min) and ready counts for the spreads. */
const MATURE_MIN = 60;
/**
 * `learned`: the spread told to the planner is this times the model's. Tuned on all 144 against today's
 * policy (`readyQuantile` 0.3): gap 4.568 / 4.509 / 4.533 at 1 / 0.8 / 0.6, and 4.715 with the spread
 * calibrated on the model's own errors (≈ 1.2): a narrower spread aims couriers later. Not an honest
 * spread: revisit when the policy's aim changes (docs/mdrp-findings.md).
 */
const LEARNED_SPREAD_SCALE = 0.8;
/**
 * `learned`: a restaurant's other orders count with weight exp(−|Δ placement| / this, min): prep times
 * drift over the day (lunch vs evening). MAE at placement 8.345 → 8.307 min (90: 8.43, 600: 8.314).
 */
const LEARNED_HOUR_TAU_MIN = 240;
/** `learned`: pseudo-orders of the prior in the day's global mean. */
const GLOBAL_PRIOR_ORDERS = 5;

/**
 * The strict online estimator. At minute `now` it knows, for every order placed so far, either its prep
 * time (ready by now) or that the prep time exceeds now − placement (still in the kitchen: right-censored).
 * - The day's mean prep: every placed order counts, the running ones by their expected prep given they
 *   are still running (censoredShrunkMean), shrunk towards the prior with GLOBAL_PRIOR_ORDERS.
 * - A restaurant's mean: its other placed orders the same way, weighted by nearness in time of day
 *   (LEARNED_HOUR_TAU_MIN), shrunk towards the day's mean with `shrinkOrders` pseudo-orders. Orders are
 *   used as soon as they are placed: a still-running slow order already raises the estimate, and a quick
 *   recent one no longer biases it down.
 * - Spread: the pooled within-restaurant spread of mature orders (placed ≥ MATURE_MIN ago and ready) plus
 *   the uncertainty of the restaurant's mean, × LEARNED_SPREAD_SCALE. (Calibrating it to the model's own
 *   observed errors widens it by ~20 % and measured worse with today's policy: docs/mdrp-findings.md.)
 */
class LearnedEstimator implements ReadyEstimator {
  /** Mature ready orders: the spreads. */
  private readonly mature = new PrepStats();
  private readonly byPlacement: MdrpOrder[];
  private readonly byMature: MdrpOrder[];
  private nextPlaced = 0;
  private nextMature = 0;
  /** Placed orders per restaurant. */
  private readonly placed = new Map<string, MdrpOrder[]>();
  /** All placed orders that are not ready at the cached minute, and the sums of the ready ones. */
  private running: MdrpOrder[] = [];
  private doneSum = 0;
  private doneCount = 0;
  private minute = Number.NEGATIVE_INFINITY;
  private globalMean = 0;

  constructor(
    instance: MdrpInstance,
    private readonly opts: EstimatorOptions,
  ) {
    this.byPlacement = [...instance.orders].sort((a, b) => a.placementTime - b.placementTime || (a.id < b.id ? -1 : 1));
    const matureAt = (o: MdrpOrder) => Math.max(o.readyTime, o.placementTime + MATURE_MIN);
    this.byMature = [...instance.orders].sort((a, b) => matureAt(a) - matureAt(b) || (a.id < b.id ? -1 : 1));
    this.matureAt = matureAt;
  }

  private readonly matureAt: (o: MdrpOrder) => number;

  private advance(now: number): void {
    if (now === this.minute) return;
    this.minute = now;
    while (this.nextPlaced < this.byPlacement.length && this.byPlacement[this.nextPlaced]!.placementTime <= now) {
      const o = this.byPlacement[this.nextPlaced++]!;
      const list = this.placed.get(o.restaurantId);
      if (list) list.push(o);
      else this.placed.set(o.restaurantId, [o]);
      this.running.push(o);
    }
    const still: MdrpOrder[] = [];
    for (const o of this.running) {
      if (o.readyTime <= now) {
        this.doneSum += o.readyTime - o.placementTime;
        this.doneCount++;
      } else still.push(o);
    }
    this.running = still;
    while (this.nextMature < this.byMature.length && this.matureAt(this.byMature[this.nextMature]!) <= now) {
      const o = this.byMature[this.nextMature++]!;
      const prep = o.readyTime - o.placementTime;
      this.mature.add(o.restaurantId, prep);
    }
    const { globalSd } = this.spreads();
    this.globalMean = censoredShrunkMean(
      this.doneSum,
      this.doneCount,
      this.running.map((o) => now - o.placementTime),
      this.opts.prepEstimateMin,
      GLOBAL_PRIOR_ORDERS,
      globalSd,
    );
  }

  private spreads(): { withinSd: number; globalSd: number } {
    if (this.mature.count < LEARNED_MIN_SPREAD_OBS) return { withinSd: this.opts.prepSpreadMin, globalSd: this.opts.prepSpreadMin };
    const g = this.mature.globalSd();
    const w = this.mature.withinSd();
    return { withinSd: Number.isFinite(w) ? w : g, globalSd: g };
  }

  estimate(order: MdrpOrder, now: number): ReadyEstimate {
    this.advance(now);
    const { withinSd, globalSd } = this.spreads();
    let doneSum = 0;
    let done = 0;
    let doneN = 0;
    const running: { elapsed: number; weight: number }[] = [];
    for (const o of this.placed.get(order.restaurantId) ?? []) {
      if (o.id === order.id) continue;
      const w = Math.exp(-Math.abs(order.placementTime - o.placementTime) / LEARNED_HOUR_TAU_MIN);
      if (o.readyTime <= now) {
        doneSum += w * (o.readyTime - o.placementTime);
        done += w;
        doneN++;
      } else running.push({ elapsed: now - o.placementTime, weight: w });
    }
    const k = this.opts.shrinkOrders;
    const prep = weightedCensoredShrunkMean(doneSum, done, running, this.globalMean, k, withinSd);
    const n = doneN + 0.5 * running.length;
    const theory = n > 0 ? Math.sqrt(withinSd * withinSd + (globalSd * globalSd) / (n + k + 1)) : globalSd;
    const sd = Math.max(theory * LEARNED_SPREAD_SCALE, 0.5);
    return { readyMin: order.placementTime + prep, spreadMin: sd };
  }
}

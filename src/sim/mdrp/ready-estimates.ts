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
 * - `learned`: strict online. Per restaurant, from orders already observed: an order counts once it is
 *   ready and was placed at least `learnLagMin` ago (so recent quick preps do not bias the mean down).
 *   Mean = the restaurant's observed mean shrunk towards the global observed mean with the weight of
 *   `shrinkOrders` orders; spread = the pooled within-restaurant standard deviation (global one while a
 *   handful of orders are observed; priors until then).
 *
 * The optimizer conditions spread estimates on "not ready yet" itself (src/dispatch/ready-estimate.ts).
 */
import type { MdrpInstance, MdrpOrder } from './instance.js';

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
  /** `learned`: an order's prep time is used once it is ready and this many minutes old. */
  readonly learnLagMin: number;
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

class LearnedEstimator implements ReadyEstimator {
  private readonly stats = new PrepStats();
  /** Orders by the minute their prep time may be used: max(ready, placement + lag). */
  private readonly queue: MdrpOrder[];
  private next = 0;

  constructor(
    instance: MdrpInstance,
    private readonly opts: EstimatorOptions,
  ) {
    const observeAt = (o: MdrpOrder) => Math.max(o.readyTime, o.placementTime + opts.learnLagMin);
    this.queue = [...instance.orders].sort((a, b) => observeAt(a) - observeAt(b) || (a.id < b.id ? -1 : 1));
    this.observeAt = observeAt;
  }

  private readonly observeAt: (o: MdrpOrder) => number;

  estimate(order: MdrpOrder, now: number): ReadyEstimate {
    while (this.next < this.queue.length && this.observeAt(this.queue[this.next]!) <= now) {
      const o = this.queue[this.next++]!;
      this.stats.add(o.restaurantId, o.readyTime - o.placementTime);
    }
    return learnedEstimate(this.stats, order.restaurantId, this.opts, order.placementTime);
  }
}

/** The learned estimate from the statistics observed so far (exported for tests). */
export function learnedEstimate(stats: PrepStats, restaurantId: string, opts: EstimatorOptions, placementMin: number): ReadyEstimate {
  const globalMean = stats.count >= 5 ? stats.globalMean() : opts.prepEstimateMin;
  const r = stats.restaurant(restaurantId);
  const k = opts.shrinkOrders;
  const mean = r.n > 0 ? (r.mean * r.n + globalMean * k) / (r.n + k) : globalMean;
  let sd = opts.prepSpreadMin;
  if (stats.count >= LEARNED_MIN_SPREAD_OBS) {
    const within = stats.withinSd();
    const global = stats.globalSd();
    // A restaurant seen a few times: its mean is itself uncertain; unseen: the global spread.
    sd = r.n > 0 && Number.isFinite(within) ? Math.sqrt(within * within + (global * global) / (r.n + k + 1)) : global;
  }
  return { readyMin: placementMin + mean, spreadMin: Math.max(sd, 0.5) };
}

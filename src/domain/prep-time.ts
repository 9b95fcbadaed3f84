/**
 * Prep-time model: how long a store takes from placement to "food ready", learned from its history.
 *
 * Pure (no I/O, no clock): callers feed samples and ask for estimates. Shared by the live service
 * (learns from Postgres `ready` events, src/runtime/prep-times.ts) and the MDRP harness (learns from
 * orders already ready, never from the day's future).
 *
 * The model, per store and per local hour-of-day bucket:
 * - prep durations are lognormal: ln(prep) ~ N(mu, sigma²) (right-skewed, positive, multiplicative noise);
 * - a hierarchy of fits with shrinkage: global prior → store → store-and-hour. Each level's mean is
 *   (n·mean + k·parentMean) / (n + k) with k = `priorWeight` pseudo-samples, its variance the same
 *   blend of the sample variance with the parent's, so one or two samples move the estimate only a
 *   little and many samples let the data speak;
 * - the store's own estimate, when it gives one, is another predictor: its bias is learned as the
 *   (shrunk) mean of ln(actual / estimate) (global → store), its noise as the spread of that ratio.
 *   History and the bias-corrected estimate are blended by inverse variance (treated as independent
 *   predictors, so the blended spread is the harmonic combination of the two);
 * - samples live in bounded ring buffers (per store and a global one): old behaviour ages out.
 *
 * Times: placement instants are epoch milliseconds (or any ms timeline: the harness uses its own);
 * durations are seconds. The hour bucket is the local hour of the placement: (UTC + utcOffsetMin).
 */
import { normalCdf, normalQuantile } from './normal-distribution.js';

/** One observed order: placed at `placedAtMs`, ready `prepS` seconds later; the store's estimate if it gave one. */
export interface PrepSample {
  readonly storeId: string;
  readonly placedAtMs: number;
  readonly prepS: number;
  /** The store's own estimate of the prep duration at placement (seconds), when it gave one. */
  readonly storeEstimateS?: number;
}

export interface PrepTimeOptions {
  /** Samples kept per store (ring buffer). */
  readonly storeCapacity: number;
  /** Samples kept for the global prior (ring buffer). */
  readonly globalCapacity: number;
  /** Pseudo-samples of the parent level in each shrunk fit. */
  readonly priorWeight: number;
  /** Prior median prep time (s) before any data. */
  readonly priorMedianS: number;
  /** Prior log-spread (sigma of ln prep) before any data. */
  readonly priorSigma: number;
  /** Local time = UTC + this (minutes) for the hour-of-day buckets. */
  readonly utcOffsetMin: number;
  /** Durations are clamped into [minPrepS, maxPrepS] before fitting (bad clocks, forgotten ready taps). */
  readonly minPrepS: number;
  readonly maxPrepS: number;
}

export const DEFAULT_PREP_OPTIONS: PrepTimeOptions = {
  storeCapacity: 500,
  globalCapacity: 5000,
  priorWeight: 5,
  priorMedianS: 15 * 60,
  priorSigma: 0.5,
  utcOffsetMin: 0,
  minPrepS: 30,
  maxPrepS: 4 * 3600,
};

/** z of the 75th percentile of the standard normal (p25 = −z). */
export const Z75 = 0.6744897501960817;

export interface PrepEstimate {
  /** Median prep duration (s) from placement. */
  readonly medianS: number;
  readonly p25S: number;
  readonly p75S: number;
  /** Half the interquartile range (s): a symmetric summary of the uncertainty. */
  readonly spreadS: number;
  /** The lognormal parameters behind it (ln seconds). */
  readonly mu: number;
  readonly sigma: number;
  /** The store's samples (all hours) and those in this hour bucket. */
  readonly samples: number;
  readonly hourSamples: number;
  /** Whether the store's own estimate was blended in (and the learned bias factor actual/estimate, median). */
  readonly usedStoreEstimate: boolean;
  readonly storeBiasFactor?: number;
}

interface Entry {
  readonly hour: number;
  readonly lnPrep: number;
  /** ln(actual / store estimate), when the store gave an estimate. */
  readonly lnRatio?: number;
}

/** A fixed-size ring buffer: pushing past capacity overwrites the oldest. */
export class RingBuffer<T> {
  private readonly items: T[] = [];
  private next = 0;
  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('ring buffer capacity must be ≥ 1');
  }
  push(x: T): void {
    if (this.items.length < this.capacity) this.items.push(x);
    else this.items[this.next] = x;
    this.next = (this.next + 1) % this.capacity;
  }
  get size(): number {
    return this.items.length;
  }
  values(): readonly T[] {
    return this.items;
  }
}

interface Moments {
  readonly n: number;
  readonly mean: number;
  /** Sum of squared deviations from the mean. */
  readonly ss: number;
}

function moments(xs: Iterable<number>): Moments {
  // Welford: stable for the small variances of log durations
  let n = 0;
  let mean = 0;
  let ss = 0;
  for (const x of xs) {
    n++;
    const d = x - mean;
    mean += d / n;
    ss += d * (x - mean);
  }
  return { n, mean, ss };
}

interface Fit {
  readonly mu: number;
  readonly variance: number;
  readonly n: number;
}

/** Shrink a level's sample moments toward its parent fit with k pseudo-samples. */
export function shrink(m: Moments, parent: { mu: number; variance: number }, k: number): Fit {
  if (m.n === 0) return { mu: parent.mu, variance: parent.variance, n: 0 };
  const mu = (m.n * m.mean + k * parent.mu) / (m.n + k);
  // the pseudo-samples carry the parent's variance; one sample has no spread of its own (ss = 0, 0 dof)
  const variance = (m.ss + k * parent.variance) / (m.n - 1 + k);
  return { mu, variance, n: m.n };
}

/** Local hour of day (0..23) of an instant, with the local offset from UTC in minutes. */
export function localHour(atMs: number, utcOffsetMin: number): number {
  const minutes = Math.floor(atMs / 60_000) + utcOffsetMin;
  return Math.floor((((minutes % 1440) + 1440) % 1440) / 60);
}

export class PrepTimeModel {
  readonly opts: PrepTimeOptions;
  private readonly stores = new Map<string, RingBuffer<Entry>>();
  private readonly global: RingBuffer<Entry>;
  /** Per store: fitted levels, dropped when the store (or the global prior) gets a sample. */
  private cache = new Map<string, { store: Fit; hours: Map<number, Fit>; ratio: Fit }>();
  private globalCache: { prep: Fit; ratio: Fit } | undefined;

  constructor(opts: Partial<PrepTimeOptions> = {}) {
    this.opts = { ...DEFAULT_PREP_OPTIONS, ...opts };
    this.global = new RingBuffer(this.opts.globalCapacity);
  }

  /** A model that has seen these samples (in this order). */
  static fromSamples(samples: Iterable<PrepSample>, opts: Partial<PrepTimeOptions> = {}): PrepTimeModel {
    const m = new PrepTimeModel(opts);
    for (const s of samples) m.observe(s);
    return m;
  }

  private clampLn(s: number): number {
    return Math.log(Math.min(this.opts.maxPrepS, Math.max(this.opts.minPrepS, s)));
  }

  /** Learn from one order that became ready. Non-finite durations are ignored. */
  observe(s: PrepSample): void {
    if (!Number.isFinite(s.prepS) || !Number.isFinite(s.placedAtMs)) return;
    const lnPrep = this.clampLn(s.prepS);
    const est = s.storeEstimateS;
    const entry: Entry = {
      hour: localHour(s.placedAtMs, this.opts.utcOffsetMin),
      lnPrep,
      ...(est !== undefined && Number.isFinite(est) && est > 0 ? { lnRatio: lnPrep - this.clampLn(est) } : {}),
    };
    let buf = this.stores.get(s.storeId);
    if (!buf) {
      buf = new RingBuffer(this.opts.storeCapacity);
      this.stores.set(s.storeId, buf);
    }
    buf.push(entry);
    this.global.push(entry);
    // the global prior moved: every store's shrunk fit depends on it
    this.cache.clear();
    this.globalCache = undefined;
  }

  /** How many samples the store has in its buffer. */
  samplesOf(storeId: string): number {
    return this.stores.get(storeId)?.size ?? 0;
  }

  storeIds(): string[] {
    return [...this.stores.keys()];
  }

  private globalFits(): { prep: Fit; ratio: Fit } {
    if (this.globalCache) return this.globalCache;
    const o = this.opts;
    const prior = { mu: Math.log(o.priorMedianS), variance: o.priorSigma ** 2 };
    const entries = this.global.values();
    const prep = shrink(moments(entries.map((e) => e.lnPrep)), prior, o.priorWeight);
    // a store's estimate is, a priori, unbiased with the prior's noise
    const ratio = shrink(moments(ratios(entries)), { mu: 0, variance: prior.variance }, o.priorWeight);
    this.globalCache = { prep, ratio };
    return this.globalCache;
  }

  private storeFits(storeId: string): { store: Fit; hours: Map<number, Fit>; ratio: Fit } {
    const hit = this.cache.get(storeId);
    if (hit) return hit;
    const g = this.globalFits();
    const k = this.opts.priorWeight;
    const entries = this.stores.get(storeId)?.values() ?? [];
    const store = shrink(moments(entries.map((e) => e.lnPrep)), g.prep, k);
    const byHour = new Map<number, number[]>();
    for (const e of entries) {
      const list = byHour.get(e.hour);
      if (list) list.push(e.lnPrep);
      else byHour.set(e.hour, [e.lnPrep]);
    }
    const hours = new Map<number, Fit>();
    for (const [h, xs] of byHour) hours.set(h, shrink(moments(xs), store, k));
    const ratio = shrink(moments(ratios(entries)), g.ratio, k);
    const fits = { store, hours, ratio };
    this.cache.set(storeId, fits);
    return fits;
  }

  /**
   * The prep-time distribution of an order of `storeId` placed at `placedAtMs`, blending the store's
   * own estimate (seconds from placement) when given.
   */
  estimate(storeId: string, placedAtMs: number, storeEstimateS?: number): PrepEstimate {
    const f = this.storeFits(storeId);
    const hour = localHour(placedAtMs, this.opts.utcOffsetMin);
    const h = f.hours.get(hour) ?? { ...f.store, n: 0 };
    let mu = h.mu;
    let variance = Math.max(h.variance, 1e-6);
    let usedStoreEstimate = false;
    if (storeEstimateS !== undefined && Number.isFinite(storeEstimateS) && storeEstimateS > 0) {
      const muE = this.clampLn(storeEstimateS) + f.ratio.mu;
      const varE = Math.max(f.ratio.variance, 1e-6);
      const w = 1 / variance + 1 / varE;
      mu = (mu / variance + muE / varE) / w;
      variance = 1 / w;
      usedStoreEstimate = true;
    }
    const sigma = Math.sqrt(variance);
    const medianS = Math.exp(mu);
    const p25S = Math.exp(mu - Z75 * sigma);
    const p75S = Math.exp(mu + Z75 * sigma);
    return {
      medianS,
      p25S,
      p75S,
      spreadS: (p75S - p25S) / 2,
      mu,
      sigma,
      samples: f.store.n,
      hourSamples: h.n,
      usedStoreEstimate,
      ...(usedStoreEstimate ? { storeBiasFactor: Math.exp(f.ratio.mu) } : {}),
    };
  }
}

function* ratios(entries: readonly Entry[]): Iterable<number> {
  for (const e of entries) if (e.lnRatio !== undefined) yield e.lnRatio;
}

/** Quartiles of the remaining distribution once an order is known not to be ready `elapsedS` after placement (seconds from placement). */
export interface ConditionalPrep {
  readonly medianS: number;
  readonly p25S: number;
  readonly p75S: number;
  readonly spreadS: number;
}

/**
 * The estimate given that the order is still not ready `elapsedS` after placement: quantiles of
 * T | T > elapsed for T lognormal(mu, sigma). Before the elapsed time matters, the unconditional ones.
 */
export function givenNotReadyBy(e: Pick<PrepEstimate, 'mu' | 'sigma'>, elapsedS: number): ConditionalPrep {
  const survive = elapsedS > 0 ? 1 - normalCdf((Math.log(elapsedS) - e.mu) / e.sigma) : 1;
  // far in the tail the survival underflows: fall back to "any moment now"
  const at = (q: number) => (survive < 1e-9 ? Math.max(elapsedS, 0) : Math.max(elapsedS, Math.exp(e.mu + e.sigma * normalQuantile(1 - (1 - q) * survive))));
  const medianS = at(0.5);
  const p25S = at(0.25);
  const p75S = at(0.75);
  return { medianS, p25S, p75S, spreadS: (p75S - p25S) / 2 };
}

/** Which ready time an open order is planned with. */
export type ReadySource = 'known' | 'learned' | 'store' | 'default';

export interface ReadyView {
  readonly source: ReadySource;
  /** The ready time planned with (epoch ms, or the caller's ms timeline). */
  readonly readyAt: number;
  /** learned: the median (s from placement) given the order is not ready yet, half the interquartile range (s), and the store's samples. */
  readonly medianS?: number;
  readonly spreadS?: number;
  readonly samples?: number;
}

/**
 * The ready time an order is planned with: known once the store said so; else the store's learned
 * prep time — the median given it is still not ready now, with its spread — once the store has
 * `minSamples` samples; else the store's own estimate when it gave one (readyAt after placement);
 * else the placement (`default`: as if ready at once).
 */
export function readyView(
  model: Pick<PrepTimeModel, 'estimate' | 'samplesOf'> | undefined,
  o: { readonly storeId: string; readonly placedAt: number; readonly readyAt: number; readyKnown: boolean },
  nowMs: number,
  minSamples: number,
): ReadyView {
  if (o.readyKnown) return { source: 'known', readyAt: o.readyAt };
  const storeEstimateS = o.readyAt > o.placedAt ? (o.readyAt - o.placedAt) / 1000 : undefined;
  const samples = model?.samplesOf(o.storeId) ?? 0;
  if (model && samples >= minSamples) {
    const e = model.estimate(o.storeId, o.placedAt, storeEstimateS);
    const c = givenNotReadyBy(e, (nowMs - o.placedAt) / 1000);
    return { source: 'learned', readyAt: Math.round(o.placedAt + c.medianS * 1000), medianS: c.medianS, spreadS: c.spreadS, samples };
  }
  return { source: storeEstimateS === undefined ? 'default' : 'store', readyAt: o.readyAt };
}

/**
 * E[T | T > c] for T ~ normal(mean, sd): the mean of a duration known only to exceed c (right-censored).
 * Far in the tail the inverse Mills ratio is replaced by its asymptote, so the result stays finite and ≥ c.
 */
export function normalMeanAbove(mean: number, sd: number, c: number): number {
  if (!(sd > 0)) return Math.max(mean, c);
  const a = (c - mean) / sd;
  const tail = 1 - normalCdf(a);
  const mills = tail > 1e-12 ? Math.exp(-0.5 * a * a) / Math.sqrt(2 * Math.PI) / tail : a + 1 / Math.max(a, 1);
  return Math.max(c, mean + sd * mills);
}

/**
 * A mean duration learned from finished and still-running observations, shrunk towards a prior.
 * `doneSum`/`doneCount`: the finished durations; `running`: the elapsed times of those still running
 * (each is known only to be longer). Durations are normal(m, sd); EM: every running one counts as its
 * expected duration given it is still running, E[T | T > elapsed] under the current m, plus `priorWeight`
 * pseudo-observations of `priorMean`. So a slow store is recognised while its slow orders are still in the
 * kitchen, and recent quick ones do not bias the mean down (the slow ones are counted too, as censored).
 */
export function censoredShrunkMean(
  doneSum: number,
  doneCount: number,
  running: readonly number[],
  priorMean: number,
  priorWeight: number,
  sd: number,
  iterations = 8,
): number {
  // every observation weighs 1: the same arithmetic, in the same order, as the weighted form
  return weightedCensoredShrunkMean(doneSum, doneCount, running.map((elapsed) => ({ elapsed, weight: 1 })), priorMean, priorWeight, sd, iterations);
}

/**
 * censoredShrunkMean with a weight per observation (e.g. nearness in time of day: prep times drift by
 * hour). `doneSum` = Σ weight × duration of the finished ones, `doneWeight` = Σ their weights; `running`:
 * the still-running ones' elapsed times and weights. With every weight 1 it equals censoredShrunkMean.
 */
export function weightedCensoredShrunkMean(
  doneSum: number,
  doneWeight: number,
  running: readonly { readonly elapsed: number; readonly weight: number }[],
  priorMean: number,
  priorWeight: number,
  sd: number,
  iterations = 8,
): number {
  let runningWeight = 0;
  for (const r of running) runningWeight += r.weight;
  const n = doneWeight + runningWeight;
  if (!(n > 0)) return priorMean;
  let m = doneSum + priorWeight * priorMean;
  for (const r of running) m += r.weight * Math.max(r.elapsed, priorMean);
  m /= n + priorWeight;
  for (let it = 0; it < iterations && running.length > 0; it++) {
    let sum = doneSum + priorWeight * priorMean;
    for (const r of running) sum += r.weight * normalMeanAbove(m, sd, r.elapsed);
    const next = sum / (n + priorWeight);
    if (Math.abs(next - m) < 1e-6) {
      m = next;
      break;
    }
    m = next;
  }
  return m;
}

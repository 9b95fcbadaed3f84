import t from 'tap';
import { normalCdf, normalQuantile } from '../../src/domain/normal-distribution.js';
import { censoredShrunkMean, weightedCensoredShrunkMean, givenNotReadyBy, localHour, normalMeanAbove, PrepTimeModel, readyView, RingBuffer, Z75, type PrepSample } from '../../src/domain/prep-time.js';
import { seededRandom } from '../../src/domain/random.js';

const DAY0 = Date.UTC(2026, 0, 5); // a Monday, 00:00 UTC

function normal(rand: () => number): () => number {
  // Box–Muller
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** n orders of a store at `hour` (UTC) on successive days, prep lognormal(median, sigma). */
function history(storeId: string, n: number, medianS: number, sigma: number, hour: number, seed: number, estimate?: (prepS: number, z: () => number) => number): PrepSample[] {
  const z = normal(seededRandom(seed));
  const out: PrepSample[] = [];
  for (let i = 0; i < n; i++) {
    const prepS = medianS * Math.exp(sigma * z());
    out.push({
      storeId,
      placedAtMs: DAY0 + (i % 30) * 86_400_000 + hour * 3_600_000 + (i % 50) * 60_000,
      prepS,
      ...(estimate ? { storeEstimateS: estimate(prepS, z) } : {}),
    });
  }
  return out;
}

t.test('a lognormal history: median and spread recovered', async (t) => {
  const m = PrepTimeModel.fromSamples(history('s1', 400, 12 * 60, 0.4, 12, 1), { storeCapacity: 500 });
  const e = m.estimate('s1', DAY0 + 12 * 3_600_000);
  t.ok(Math.abs(e.medianS - 720) / 720 < 0.05, `median ${e.medianS.toFixed(1)} within 5 % of 720`);
  t.ok(Math.abs(e.sigma - 0.4) < 0.04, `sigma ${e.sigma.toFixed(3)} ≈ 0.4`);
  t.ok(Math.abs(e.p25S - 720 * Math.exp(-Z75 * 0.4)) / 720 < 0.06, 'p25 at the lognormal quartile');
  t.ok(Math.abs(e.p75S - 720 * Math.exp(Z75 * 0.4)) / 720 < 0.06, 'p75 at the lognormal quartile');
  t.equal(e.samples, 400);
  t.equal(e.hourSamples, 400);
  t.equal(e.usedStoreEstimate, false);
  t.ok(e.p25S < e.medianS && e.medianS < e.p75S);
  t.equal(e.spreadS, (e.p75S - e.p25S) / 2);
});

t.test('a new store: the prior, then the global history, shape the estimate', async (t) => {
  const m = new PrepTimeModel({ priorMedianS: 900, priorSigma: 0.5 });
  const e0 = m.estimate('new', DAY0);
  t.equal(Math.round(e0.medianS), 900, 'no data at all: the configured prior');
  t.ok(Math.abs(e0.sigma - 0.5) < 1e-9);
  t.equal(e0.samples, 0);
  for (const s of history('big', 300, 20 * 60, 0.3, 12, 2)) m.observe(s);
  const e1 = m.estimate('new', DAY0 + 12 * 3_600_000);
  // global level: 300 samples at 1200 s shrunk by 5 pseudo-samples toward 900 → close to 1200
  t.ok(Math.abs(e1.medianS - 1200) / 1200 < 0.05, `unknown store follows the global history (${e1.medianS.toFixed(0)})`);
});

t.test('shrinkage: one or two samples move a store only part of the way', async (t) => {
  const m = PrepTimeModel.fromSamples(history('big', 500, 15 * 60, 0.3, 12, 3), { priorWeight: 5 });
  const global = m.estimate('small', DAY0 + 12 * 3_600_000).mu;
  m.observe({ storeId: 'small', placedAtMs: DAY0 + 12 * 3_600_000, prepS: 30 * 60 });
  const one = m.estimate('small', DAY0 + 12 * 3_600_000);
  t.equal(one.samples, 1);
  // store level: (1·ln1800 + 5·g)/6; hour level shrinks that again toward the store level with the same single sample
  const storeMu = (Math.log(1800) + 5 * global) / 6;
  const hourMu = (Math.log(1800) + 5 * storeMu) / 6;
  t.ok(Math.abs(one.mu - hourMu) < 0.01, 'exactly the shrunk mean');
  t.ok(one.medianS > 15 * 60 && one.medianS < 1200, `one 30-min sample moves a 15-min prior only a little (${(one.medianS / 60).toFixed(1)} min)`);
  m.observe({ storeId: 'small', placedAtMs: DAY0 + 12 * 3_600_000 + 60_000, prepS: 30 * 60 });
  const two = m.estimate('small', DAY0 + 12 * 3_600_000);
  t.ok(two.medianS > one.medianS && two.medianS < 1800, 'a second sample moves it further, still short of the data');
  for (const s of history('small', 200, 30 * 60, 0.2, 12, 4)) m.observe(s);
  const many = m.estimate('small', DAY0 + 12 * 3_600_000);
  t.ok(Math.abs(many.medianS - 1800) / 1800 < 0.05, `many samples: the store's own median (${(many.medianS / 60).toFixed(1)} min)`);
});

t.test('hour buckets differ; an empty hour falls back to the store level', async (t) => {
  const m = PrepTimeModel.fromSamples([...history('s', 200, 10 * 60, 0.25, 11, 5), ...history('s', 200, 25 * 60, 0.25, 19, 6)]);
  const lunch = m.estimate('s', DAY0 + 11 * 3_600_000 + 30 * 60_000);
  const dinner = m.estimate('s', DAY0 + 19 * 3_600_000 + 10 * 60_000);
  t.ok(Math.abs(lunch.medianS - 600) / 600 < 0.06, `11h: ${(lunch.medianS / 60).toFixed(1)} min`);
  t.ok(Math.abs(dinner.medianS - 1500) / 1500 < 0.06, `19h: ${(dinner.medianS / 60).toFixed(1)} min`);
  const night = m.estimate('s', DAY0 + 3 * 3_600_000);
  t.equal(night.hourSamples, 0);
  t.ok(night.medianS > lunch.medianS && night.medianS < dinner.medianS, 'no data at 3h: the store level (both hours)');
  t.ok(night.sigma > lunch.sigma, 'and wider: the store level mixes two hours');
});

t.test('hour buckets are in local time', async (t) => {
  t.equal(localHour(DAY0 + 11 * 3_600_000, 0), 11);
  t.equal(localHour(DAY0 + 11 * 3_600_000, 120), 13);
  t.equal(localHour(DAY0 + 1 * 3_600_000, -180), 22, 'negative offsets wrap to the previous day');
  // placements at 11h UTC are 13h local at +120: asking at 13h local (11h UTC) finds them
  const m = PrepTimeModel.fromSamples(history('s', 50, 600, 0.2, 11, 7), { utcOffsetMin: 120 });
  t.equal(m.estimate('s', DAY0 + 11 * 3_600_000).hourSamples, 50);
  t.equal(m.estimate('s', DAY0 + 13 * 3_600_000).hourSamples, 0);
});

t.test("the store's estimate: its bias is learned and corrected", async (t) => {
  // the store says 10 min when it will take 15 (always 1.5× optimistic), with a little noise
  const samples = history('opt', 300, 15 * 60, 0.35, 12, 8, (prepS, z) => (prepS / 1.5) * Math.exp(0.1 * z()));
  const m = PrepTimeModel.fromSamples(samples);
  const e = m.estimate('opt', DAY0 + 12 * 3_600_000, 10 * 60);
  t.equal(e.usedStoreEstimate, true);
  t.ok(Math.abs(e.storeBiasFactor! - 1.5) < 0.05, `bias factor ${e.storeBiasFactor!.toFixed(3)} ≈ 1.5`);
  t.ok(Math.abs(e.medianS - 900) / 900 < 0.05, `a "10 min" estimate means about 15 (${(e.medianS / 60).toFixed(1)} min)`);
  // an informative estimate: a "20 min" order is predicted near 30 min, far from the history's 15
  const long = m.estimate('opt', DAY0 + 12 * 3_600_000, 20 * 60);
  t.ok(long.medianS > 25 * 60, `the estimate dominates when it is the more precise predictor (${(long.medianS / 60).toFixed(1)} min)`);
  t.ok(e.sigma < m.estimate('opt', DAY0 + 12 * 3_600_000).sigma, 'the blend is narrower than history alone');
});

t.test("a store whose estimates are noise: history dominates the blend", async (t) => {
  const samples = history('noisy', 300, 15 * 60, 0.2, 12, 9, (_p, z) => 15 * 60 * Math.exp(1.0 * z()));
  const m = PrepTimeModel.fromSamples(samples);
  const e = m.estimate('noisy', DAY0 + 12 * 3_600_000, 45 * 60);
  t.ok(e.medianS < 17 * 60, `a wild "45 min" barely moves it (${(e.medianS / 60).toFixed(1)} min)`);
});

t.test('bounded buffers: old behaviour ages out; bad durations are clamped or ignored', async (t) => {
  const m = new PrepTimeModel({ storeCapacity: 50, globalCapacity: 50 });
  for (const s of history('s', 50, 30 * 60, 0.2, 12, 10)) m.observe(s);
  for (const s of history('s', 50, 10 * 60, 0.2, 12, 11)) m.observe(s);
  const e = m.estimate('s', DAY0 + 12 * 3_600_000);
  t.equal(e.samples, 50);
  t.ok(Math.abs(e.medianS - 600) / 600 < 0.08, `only the recent 50 count (${(e.medianS / 60).toFixed(1)} min)`);
  m.observe({ storeId: 'x', placedAtMs: DAY0, prepS: Number.NaN });
  t.equal(m.samplesOf('x'), 0, 'NaN ignored');
  m.observe({ storeId: 'x', placedAtMs: DAY0, prepS: -5 });
  t.equal(m.samplesOf('x'), 1, 'a negative duration (ready before placement) is clamped, not fatal');
  t.ok(Number.isFinite(m.estimate('x', DAY0).medianS));

  const r = new RingBuffer<number>(3);
  for (let i = 1; i <= 5; i++) r.push(i);
  t.same([...r.values()].sort(), [3, 4, 5]);
  t.throws(() => new RingBuffer(0));
});

t.test('normal cdf/quantile round-trip; estimate given not ready yet', async (t) => {
  for (const p of [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999]) t.ok(Math.abs(normalCdf(normalQuantile(p)) - p) < 1e-6, `p=${p}`);
  t.ok(Math.abs(normalQuantile(0.75) - Z75) < 1e-8);
  const e = { mu: Math.log(600), sigma: 0.4 };
  const fresh = givenNotReadyBy(e, 0);
  t.ok(Math.abs(fresh.medianS - 600) < 1e-6, 'at placement: the unconditional median');
  t.ok(Math.abs(fresh.p75S - 600 * Math.exp(Z75 * 0.4)) < 1e-3);
  // not ready at the median: the conditional median is the unconditional 75th percentile (half of the remaining half)
  const late = givenNotReadyBy(e, 600);
  t.ok(Math.abs(late.medianS - 600 * Math.exp(Z75 * 0.4)) < 0.5, `conditional median ${late.medianS.toFixed(1)}`);
  t.ok(late.p25S >= 600 && late.p25S < late.medianS && late.medianS < late.p75S);
  const wayLate = givenNotReadyBy(e, 100_000);
  t.equal(wayLate.medianS, 100_000, 'deep in the tail: any moment now');
});

t.test('readyView: known, learned once enough samples, else the store estimate or placement', async (t) => {
  const m = PrepTimeModel.fromSamples(history('s', 6, 20 * 60, 0.2, 12, 12));
  const placedAt = DAY0 + 12 * 3_600_000;
  t.same(readyView(m, { storeId: 's', placedAt, readyAt: placedAt + 5000, readyKnown: true }, placedAt, 5), { source: 'known', readyAt: placedAt + 5000 });
  const v = readyView(m, { storeId: 's', placedAt, readyAt: placedAt, readyKnown: false }, placedAt, 5);
  t.equal(v.source, 'learned');
  t.equal(v.samples, 6);
  t.equal(v.readyAt, Math.round(placedAt + v.medianS! * 1000));
  t.ok(v.spreadS! > 0);
  const later = readyView(m, { storeId: 's', placedAt, readyAt: placedAt, readyKnown: false }, placedAt + v.medianS! * 1000, 5);
  t.ok(later.readyAt > v.readyAt, 'not ready at the median: planned later (conditional median)');
  t.same(readyView(m, { storeId: 's', placedAt, readyAt: placedAt + 600_000, readyKnown: false }, placedAt, 7), { source: 'store', readyAt: placedAt + 600_000 }, 'too few samples: the store estimate');
  t.same(readyView(m, { storeId: 'other', placedAt, readyAt: placedAt, readyKnown: false }, placedAt, 5), { source: 'default', readyAt: placedAt });
  t.same(readyView(undefined, { storeId: 's', placedAt, readyAt: placedAt, readyKnown: false }, placedAt, 5), { source: 'default', readyAt: placedAt });
});

t.test('normalMeanAbove: E[T | T > c] of a normal', async (t) => {
  // standard normal above 0: φ(0) / ½ = √(2/π)
  t.ok(Math.abs(normalMeanAbove(0, 1, 0) - Math.sqrt(2 / Math.PI)) < 1e-6);
  // far below the mean the condition is void; far above it, just above c
  t.ok(Math.abs(normalMeanAbove(20, 5, -100) - 20) < 1e-9);
  const far = normalMeanAbove(20, 5, 200);
  t.ok(far >= 200 && far < 201, `${far}`);
  t.equal(normalMeanAbove(20, 0, 30), 30);
});

t.test('censoredShrunkMean: recovers the mean of a history where the slow orders are still running', async (t) => {
  const z = normal(seededRandom(7));
  // 3000 durations normal(20, 5) placed uniformly over the last 40 min: a quick one is done, a slow one not.
  let doneSum = 0;
  let done = 0;
  const running: number[] = [];
  const rand = seededRandom(8);
  for (let i = 0; i < 3000; i++) {
    const d = 20 + 5 * z();
    const elapsed = 40 * rand();
    if (d <= elapsed) {
      doneSum += d;
      done++;
    } else running.push(elapsed);
  }
  const naive = doneSum / done;
  const m = censoredShrunkMean(doneSum, done, running, 15, 1, 5);
  t.ok(naive < 19, `finished-only mean biased low: ${naive}`);
  t.ok(Math.abs(m - 20) < 0.5, `censoring-aware ${m}`);
  // no observation: the prior; finished only: the shrunk mean
  t.equal(censoredShrunkMean(0, 0, [], 15, 2, 5), 15);
  t.ok(Math.abs(censoredShrunkMean(60, 2, [], 15, 2, 5) - (60 + 30) / 4) < 1e-9);
  // one order 30 min in the kitchen (the restaurant mean, shrunk: not necessarily above 30)
  t.ok(censoredShrunkMean(0, 0, [30], 15, 0.5, 8) > 25, "the restaurant mean moves well above the prior");
});

t.test('weightedCensoredShrunkMean: unit weights give censoredShrunkMean; a down-weighted order moves the mean less', async (t) => {
  const running = [12, 25, 31];
  const plain = censoredShrunkMean(10 + 20 + 14, 3, running, 15, 0.5, 6);
  const ones = weightedCensoredShrunkMean(10 + 20 + 14, 3, running.map((elapsed) => ({ elapsed, weight: 1 })), 15, 0.5, 6);
  t.ok(Math.abs(plain - ones) < 1e-9, `${plain} vs ${ones}`);
  // Finished only: the weighted mean with the prior, exactly. A 40-min order at weight 0.25 next to a 10-min one at 1.
  t.ok(Math.abs(weightedCensoredShrunkMean(10 + 0.25 * 40, 1.25, [], 15, 1, 5) - (10 + 10 + 15) / 2.25) < 1e-9);
  // An old slow order counts less than a recent one: the estimate is nearer the recent one.
  const recentFast = weightedCensoredShrunkMean(1 * 10 + 0.2 * 30, 1.2, [], 15, 0.5, 5);
  t.ok(recentFast < 15 && recentFast > 10, `${recentFast}`);
  // No weight at all: the prior.
  t.equal(weightedCensoredShrunkMean(0, 0, [], 15, 2, 5), 15);
  t.equal(weightedCensoredShrunkMean(0, 0, [{ elapsed: 30, weight: 0 }], 15, 2, 5), 15);
});

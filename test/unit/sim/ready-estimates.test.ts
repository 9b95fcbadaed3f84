import t from 'tap';
import type { MdrpInstance, MdrpOrder } from '../../../src/sim/mdrp/instance.js';
import { makeReadyEstimator, PrepStats, type EstimatorOptions } from '../../../src/sim/mdrp/ready-estimates.js';
import { tinyInstance } from './support/fixtures.js';

const opts: EstimatorOptions = { prepEstimateMin: 15, prepEstimateQuantile: 0.5, shrinkOrders: 3, prepSpreadMin: 8 };

t.test('PrepStats: per-restaurant means, pooled within-restaurant spread', async (t) => {
  const s = new PrepStats();
  for (const p of [10, 12, 14]) s.add('a', p);
  for (const p of [20, 30]) s.add('b', p);
  t.equal(s.count, 5);
  t.equal(s.globalMean(), 17.2);
  t.same(s.restaurant('a'), { n: 3, mean: 12, sd: 2 });
  t.equal(s.restaurant('b').mean, 25);
  // Within sum of squares: a: 4 + 0 + 4 = 8, b: 25 + 25 = 50 → 58 over 5 − 2 = 3 degrees of freedom.
  t.ok(Math.abs(s.withinSd() - Math.sqrt(58 / 3)) < 1e-12);
  t.equal(s.restaurant('zzz').n, 0);
});

function withOrders(base: MdrpInstance, orders: MdrpOrder[]): MdrpInstance {
  return { ...base, orders };
}

t.test('learned estimator: no look-ahead — the estimate at a minute is the same whatever happens later', async (t) => {
  const base = tinyInstance();
  const mk = (id: string, rid: string, placed: number, prep: number): MdrpOrder => ({ ...base.orders[0]!, id, restaurantId: rid, placementTime: placed, readyTime: placed + prep });
  const past = [mk('a', 'r1', 0, 10), mk('b', 'r1', 5, 40), mk('c', 'r2', 8, 12)];
  const target = mk('x', 'r1', 30, 20);
  // b is still in the kitchen at 30 in both futures (ready at 45 vs 95); later orders differ too.
  const e1 = makeReadyEstimator('learned', withOrders(base, [...past, target, mk('d', 'r1', 31, 1)]), opts);
  const e2 = makeReadyEstimator('learned', withOrders(base, [...past.slice(0, 1), mk('b', 'r1', 5, 90), past[2]!, target, mk('d', 'r1', 40, 50)]), opts);
  t.same(e1.estimate(target, 30), e2.estimate(target, 30));
});

t.test('learned estimator: an order still in the kitchen raises its restaurant\'s estimate (censoring)', async (t) => {
  const base = tinyInstance();
  const mk = (id: string, rid: string, placed: number, prep: number): MdrpOrder => ({ ...base.orders[0]!, id, restaurantId: rid, placementTime: placed, readyTime: placed + prep });
  // r2 orders, all ready in 10: the day's mean is near 10 (15 prior with 5 pseudo-orders).
  const others = Array.from({ length: 20 }, (_, i) => mk(`o${i}`, 'r2', i, 10));
  const slow = mk('s', 'r1', 0, 60);
  const target = mk('x', 'r1', 40, 20);
  const withSlow = makeReadyEstimator('learned', withOrders(base, [...others, slow, target]), opts);
  const without = makeReadyEstimator('learned', withOrders(base, [...others, target]), opts);
  const a = withSlow.estimate(target, 40).readyMin - 40;
  const b = without.estimate(target, 40).readyMin - 40;
  // Without r1 history: the day's mean. With r1's order 40 min in the kitchen and not ready: well above it
  // — a ready-orders-only estimator would not know anything about r1 yet.
  t.ok(b < 13, `day mean ${b}`);
  t.ok(a > b + 7, `with a 40-min running order ${a} vs ${b}`);
});

t.test('learned estimator: finished orders, weighted by nearness in time of day, shrink towards the day mean with shrinkOrders', async (t) => {
  const base = tinyInstance();
  const mk = (id: string, rid: string, placed: number, prep: number): MdrpOrder => ({ ...base.orders[0]!, id, restaurantId: rid, placementTime: placed, readyTime: placed + prep });
  const orders = [mk('a', 'r1', 0, 30), mk('b', 'r1', 1, 30), mk('c', 'r2', 2, 10), mk('d', 'r2', 3, 10)];
  const target = mk('x', 'r1', 100, 20);
  // (the target is asked about without being in the instance, so the day's orders are all finished)
  const e = makeReadyEstimator('learned', withOrders(base, orders), opts);
  // Everything ready by 100: day mean = (80 + 5 × 15) / 9; r1's orders (placed 100 and 99 min before the
  // target) weigh exp(−Δ / 240) each: r1 = (Σ w × 30 + 3 × day) / (Σ w + 3).
  const day = (80 + 5 * 15) / 9;
  const w = Math.exp(-100 / 240) + Math.exp(-99 / 240);
  t.ok(Math.abs(e.estimate(target, 100).readyMin - (100 + (30 * w + 3 * day) / (w + 3))) < 1e-9);
  // The same history placed just before the target pulls the estimate further from the day mean.
  const recent = makeReadyEstimator('learned', withOrders(base, [mk('a', 'r1', 60, 30), mk('b', 'r1', 61, 30), ...orders.slice(2)]), opts);
  t.ok(recent.estimate(target, 100).readyMin > e.estimate(target, 100).readyMin);
});

t.test('restaurant-mean estimator: placement + the restaurant mean of the day, its spread', async (t) => {
  const base = tinyInstance();
  const mk = (id: string, placed: number, prep: number): MdrpOrder => ({ ...base.orders[0]!, id, placementTime: placed, readyTime: placed + prep });
  const orders = [mk('a', 0, 10), mk('b', 10, 20), mk('c', 20, 30)];
  const e = makeReadyEstimator('restaurant-mean', withOrders(base, orders), opts);
  const r = e.estimate(orders[0]!, 0);
  t.equal(r.readyMin, 20);
  t.equal(r.spreadMin, 10);
});

t.test('global estimator keeps the old ready-late rule: no spread, at least a minute from now', async (t) => {
  const base = tinyInstance();
  const e = makeReadyEstimator('global', base, opts);
  const o = base.orders[0]!;
  const r = e.estimate(o, o.placementTime);
  t.equal(r.spreadMin, 0);
  t.equal(r.readyMin, o.placementTime + 15);
});

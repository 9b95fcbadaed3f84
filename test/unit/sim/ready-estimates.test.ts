import t from 'tap';
import type { MdrpInstance, MdrpOrder } from '../../../src/sim/mdrp/instance.js';
import { learnedEstimate, makeReadyEstimator, PrepStats, type EstimatorOptions } from '../../../src/sim/mdrp/ready-estimates.js';
import { tinyInstance } from './support/fixtures.js';

const opts: EstimatorOptions = { prepEstimateMin: 15, prepEstimateQuantile: 0.5, learnLagMin: 60, shrinkOrders: 3, prepSpreadMin: 8 };

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

t.test('learned estimate: shrinks a restaurant mean towards the global one, prior until observed', async (t) => {
  const s = new PrepStats();
  t.same(learnedEstimate(s, 'a', opts, 100), { readyMin: 115, spreadMin: 8 });
  for (let i = 0; i < 30; i++) s.add(i % 2 ? 'a' : 'b', i % 2 ? 10 : 20);
  // Global mean 15; a has 15 orders of 10 → (150 + 3 × 15) / 18.
  const e = learnedEstimate(s, 'a', opts, 100);
  t.ok(Math.abs(e.readyMin - (100 + (150 + 45) / 18)) < 1e-9);
  // No spread within restaurants: only the uncertainty of the mean remains, at least half a minute.
  t.ok(e.spreadMin >= 0.5 && e.spreadMin < 3);
  // An unseen restaurant: the global mean and spread.
  t.ok(Math.abs(learnedEstimate(s, 'new', opts, 100).readyMin - 115) < 1e-9);
});

function withOrders(base: MdrpInstance, orders: MdrpOrder[]): MdrpInstance {
  return { ...base, orders };
}

t.test('learned estimator: only orders ready and at least learnLagMin old are used (no look-ahead)', async (t) => {
  const base = tinyInstance();
  const rid = base.orders[0]!.restaurantId;
  const mk = (id: string, placed: number, prep: number): MdrpOrder => ({ ...base.orders[0]!, id, placementTime: placed, readyTime: placed + prep });
  const orders = [mk('a', 0, 30), mk('b', 10, 30), mk('c', 100, 5), mk('x', 200, 10)];
  const e = makeReadyEstimator('learned', withOrders(base, orders), { ...opts, learnLagMin: 60 });
  // At minute 65 only 'a' (placed 0, ready 30) is old enough: (30 + 3 × 15) / 4 (global prior under 5 observations).
  t.ok(Math.abs(e.estimate(orders[3]!, 65).readyMin - (200 + (30 + 45) / 4)) < 1e-9);
  // At 75 'b' joins; 'c' (quick, placed at 100) cannot be known before 160.
  t.ok(Math.abs(e.estimate(orders[3]!, 75).readyMin - (200 + (60 + 45) / 5)) < 1e-9);
  t.ok(Math.abs(e.estimate(orders[3]!, 159).readyMin - (200 + (60 + 45) / 5)) < 1e-9);
  t.ok(Math.abs(e.estimate(orders[3]!, 160).readyMin - (200 + (65 + 45) / 6)) < 1e-9);
  t.equal(rid, orders[3]!.restaurantId);
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

import t from 'tap';
import { planRound } from '../../../src/dispatch/plan-round.js';
import { defaultPolicy, withOverrides } from '../../../src/dispatch/policy.js';
import {
  aimQuantile,
  anticipate,
  expectedCourierWaitS,
  expectedExtraWaitS,
  expectedPickupS,
  expectedWaitAfter,
  readyQuantile,
  readySlices,
  SLICES,
} from '../../../src/dispatch/ready-estimate.js';
import { normalCdf, normalQuantile } from '../../../src/domain/normal-distribution.js';
import { NO_SCARCITY } from '../../../src/dispatch/scarcity.js';
import { courier, order, snapshot } from './helpers.js';

t.test('normal cdf and quantile: known values and inverse of each other', async (t) => {
  t.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7);
  t.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-6);
  t.ok(Math.abs(normalCdf(-1) - 0.158655) < 1e-6);
  t.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-5);
  t.ok(Math.abs(normalQuantile(0.01) + 2.326348) < 1e-5);
  for (const p of [0.001, 0.02, 0.3, 0.5, 0.8, 0.99, 0.9999]) t.ok(Math.abs(normalCdf(normalQuantile(p)) - p) < 1e-6, `p ${p}`);
});

const uncertain = (readyAt: number, spread: number) =>
  order('o1', 'r1', { x: 0, y: 0 }, { x: 3200, y: 0 }, readyAt, { readyKnown: false, readySpreadS: spread, placedAt: -300 });

t.test('ready-time quantiles: the normal around the estimate, conditioned on "not ready at now"', async (t) => {
  // Far from the truncation point: the plain normal quantiles.
  const o = uncertain(1200, 300);
  t.ok(Math.abs(readyQuantile(o, 0, 0.5) - 1200) < 0.5);
  t.ok(Math.abs(readyQuantile(o, 0, 0.8413447) - 1500) < 0.5);
  // Truncated at its mean: the median of the upper half is the plain 75 % quantile.
  t.ok(Math.abs(readyQuantile(o, 1200, 0.5) - (1200 + 300 * 0.6744898)) < 0.5);
  // Waited far past the estimate: never before now, and later quantiles are later.
  const late = readyQuantile(o, 4000, 0.5);
  t.ok(late >= 4000 && late < 4000 + 300, `late median ${late}`);
  t.ok(readyQuantile(o, 4000, 0.9) > late);
  // Certain orders (known, or no spread) pass through.
  const known = order('o2', 'r1', { x: 0, y: 0 }, { x: 1, y: 0 }, 900);
  t.equal(readyQuantile(known, 0, 0.1), 900);
  t.equal(anticipate(known, 0, 0.1), known);
  t.equal(anticipate(o, 0, 0.5).readyAt, 1200);
});

t.test('expected courier wait E[(R − t)+]', async (t) => {
  const o = uncertain(1200, 300);
  // At the mean of an untruncated normal: spread × φ(0) = 0.39894 × 300 ≈ 119.7 s (16-slice quadrature).
  const w = expectedWaitAfter(o, 0, 1200);
  t.ok(Math.abs(w - 119.7) < 8, `wait ${w}`);
  // Well before the distribution: mean − t.
  t.ok(Math.abs(expectedWaitAfter(o, 0, 0) - 1200) < 5);
  // Well after: nothing.
  t.ok(expectedWaitAfter(o, 0, 3000) < 1e-9);
  const known = order('o2', 'r1', { x: 0, y: 0 }, { x: 1, y: 0 }, 900);
  t.equal(expectedCourierWaitS([known, o], 0, 600), Math.max(300, expectedWaitAfter(o, 0, 600)));
});

t.test('aim quantile: fixed by policy, else the knob (courier second over courier + food second)', async (t) => {
  t.equal(aimQuantile(withOverrides(defaultPolicy, { readyQuantile: 0.3 }), NO_SCARCITY), 0.3);
  const auto = withOverrides(defaultPolicy, { readyQuantile: -1, timeWeight: 0.5, idleWeight: 1 });
  t.ok(Math.abs(aimQuantile(auto, NO_SCARCITY) - 0.5) < 1e-12);
  // Scarce couriers make a waiting courier dearer: aim later.
  t.ok(aimQuantile(auto, { emptyTravelS: 0, busyS: 2 }) > 0.5);
});

t.test('planRound: a wide estimate does not lock a courier that would expect to wait too long', async (t) => {
  // Courier at the restaurant, food expected in 20 min ± 10: aiming early would lock it ~20 min ahead.
  const o = uncertain(1200, 600);
  const c = courier('c1', { x: 0, y: 0 });
  const strict = withOverrides(defaultPolicy, { readyQuantile: 0.01, readyMaxExpectedWaitS: 450 });
  const plan = planRound(snapshot([o], [c], 0), strict);
  t.equal(plan.assignments.length, 0);
  t.same(plan.unassigned, [{ orderId: 'o1', reason: 'not_ready_soon_enough' }]);
  // Allowed to wait long: the courier is sent now, aiming at the early quantile.
  const patient = withOverrides(defaultPolicy, { readyQuantile: 0.01, readyMaxExpectedWaitS: 1e6 });
  const sent = planRound(snapshot([o], [c], 0), patient);
  t.equal(sent.assignments.length, 1);
  // Food expected in 5 min ± 2: locked now.
  const soon = uncertain(300, 120);
  t.equal(planRound(snapshot([soon], [c], 0), strict).assignments.length, 1);
});

t.test('planRound: when couriers are short, a courier aimed early pays for its expected wait at the counter', async (t) => {
  // Courier at the restaurant, food expected in 20 min ± 10, aimed at the 1 % quantile: sent now, and
  // it expects to wait ~20 min. Unlike the plan's aim, that wait costs something only when couriers are short.
  const o = uncertain(1200, 600);
  const c = courier('c1', { x: 0, y: 0 });
  const costOf = (orders: ReturnType<typeof order>[], w: number, riskWeight = 1) => {
    const p = withOverrides(defaultPolicy, { readyQuantile: 0.01, readyMaxExpectedWaitS: 1e6, readyBusyRiskWeight: w, readyRiskWeight: riskWeight });
    const plan = planRound(snapshot(orders, [c], 0), p);
    const a = plan.assignments.find((x) => x.orderIds.includes('o1'));
    t.ok(a, 'o1 is sent');
    return a!.cost.total;
  };
  // Plentiful: the weight changes nothing.
  t.equal(costOf([o], 1), costOf([o], 0));
  // Short: three ready orders out of every courier's reach count towards the queue; the same route now
  // costs more by the busy-second price × its expected extra wait.
  const queued = [2, 3, 4].map((k) => order(`q${k}`, `r${k}`, { x: 2e6, y: 0 }, { x: 2e6 + 1000, y: 0 }, 0));
  t.ok(costOf([o, ...queued], 1) > costOf([o, ...queued], 0) + 1);
  // It is its own term: it applies with the click-to-door risk weight at 0 too.
  t.ok(costOf([o, ...queued], 1, 0) > costOf([o, ...queued], 0, 0) + 1);
});

t.test('planRound: known ready times are planned exactly as before (no spread, no change)', async (t) => {
  const o = order('o1', 'r1', { x: 0, y: 0 }, { x: 3200, y: 0 }, 60);
  const c = courier('c1', { x: 0, y: 0 });
  const a = planRound(snapshot([o], [c], 0), defaultPolicy);
  const b = planRound(snapshot([{ ...o, readySpreadS: 600 }], [c], 0), defaultPolicy);
  t.same(a.assignments.map((x) => x.stops), b.assignments.map((x) => x.stops));
});

t.test('the longest expected wait a courier may be locked into shrinks when couriers are short', async (t) => {
  const { maxExpectedWaitS } = await import('../../../src/dispatch/ready-estimate.js');
  const p = withOverrides(defaultPolicy, { readyMaxExpectedWaitS: 900, readyScarcityWait: 0 });
  t.equal(maxExpectedWaitS(p, { emptyTravelS: 0, busyS: 5 }), 900);
  const s = withOverrides(defaultPolicy, { readyMaxExpectedWaitS: 900, readyScarcityWait: 1, timeWeight: 1, clickToDoorWeight: 1 });
  t.equal(maxExpectedWaitS(s, NO_SCARCITY), 900);
  t.equal(maxExpectedWaitS(s, { emptyTravelS: 0, busyS: 2 }), 300);
});

const slicesOf = (...halves: [number, number]) => Float64Array.from({ length: SLICES }, (_, k) => (k < SLICES / 2 ? halves[0] : halves[1]));

t.test('expected pickup under the dispatch rule: early food waits for the whole drive, late food makes the courier wait', async (t) => {
  // Half pickup service 120 s. Food ready at 100 s or at 1200 s, even odds.
  const food = slicesOf(100, 1200);
  // Far courier (10 min drive) aimed at 1020 s: sets off at 300 s. Early food (100 s): it leaves at 100 s,
  // picks up at 100 + 600 + 120 = 820 s. Late food: it is there and waits, pickup 1200 s. Mean 1010 s.
  const far = { startAt: 0, arriveAt: 600, waitS: 300, pickupAt: 1020 };
  t.equal(expectedPickupS([food], far, 120), 1010);
  // Near courier (1 min drive), same aim: sets off at 780 s; early food is picked up at 100 + 60 + 120 = 280 s.
  const near = { startAt: 0, arriveAt: 60, waitS: 780, pickupAt: 1020 };
  t.equal(expectedPickupS([food], near, 120), 740);
  // A busy courier cannot leave before it is free (startAt 500): early food is picked up at 500 + 720.
  t.equal(expectedPickupS([food], { ...far, startAt: 500, arriveAt: 1100, waitS: 0, pickupAt: 1220 }, 120), 1220);
  // Certain food at 1000 s (every slice): the plan itself.
  t.equal(expectedPickupS([slicesOf(1000, 1000)], { startAt: 0, arriveAt: 600, waitS: 280, pickupAt: 1000 }, 120), 1000);
});

t.test('expected pickup of a bundle: the latest of independent ready times', async (t) => {
  // Each order ready at 0 or 600 s, even odds, independently: the later one is at 600 s three times in four.
  const route = { startAt: 0, arriveAt: 0, waitS: 0, pickupAt: 120 };
  const one = slicesOf(0, 600);
  t.equal(expectedPickupS([one], route, 120), 0.5 * 120 + 0.5 * 600);
  t.equal(expectedPickupS([one, slicesOf(0, 600)], route, 120), 0.25 * 120 + 0.75 * 600);
  // With a certain partner ready at 300 s: max is 300 or 600.
  t.equal(expectedPickupS([one, slicesOf(300, 300)], route, 120), 0.5 * 300 + 0.5 * 600);
});

t.test('expected extra courier wait: food later than the planned pickup keeps the courier at the counter', async (t) => {
  // Food ready at 100 s or 1200 s, even odds; planned pickup 1020 s: only the late half waits, 180 s.
  t.equal(expectedExtraWaitS([slicesOf(100, 1200)], { pickupAt: 1020 }), 0.5 * 180);
  // Early food never lengthens the courier's trip (it only starts earlier).
  t.equal(expectedExtraWaitS([slicesOf(100, 900)], { pickupAt: 1020 }), 0);
  // A bundle waits for the latest of its orders: two orders each late with odds 1/2 → late 3 times in 4.
  t.equal(expectedExtraWaitS([slicesOf(0, 600), slicesOf(0, 600)], { pickupAt: 120 }), 0.75 * 480);
});

t.test('ready slices: the conditional quantiles, sorted and never before now; a certain order is its ready time', async (t) => {
  const o = uncertain(1200, 300);
  const sl = readySlices(o, 1000);
  t.equal(sl.length, SLICES);
  for (let k = 1; k < SLICES; k++) t.ok(sl[k]! >= sl[k - 1]!);
  t.ok(sl[0]! >= 1000);
  t.ok(Math.abs(sl[SLICES / 2]! - readyQuantile(o, 1000, (SLICES / 2 + 0.5) / SLICES)) < 1e-9);
  const known = order('o2', 'r1', { x: 0, y: 0 }, { x: 1, y: 0 }, 900);
  t.same(Array.from(readySlices(known, 0)), new Array(SLICES).fill(900));
});

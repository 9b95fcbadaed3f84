import t from 'tap';
import type { Plan, Policy, Snapshot } from '../../../src/dispatch/types.js';
import { checkSolution } from '../../../src/sim/mdrp/checker.js';
import type { MdrpPlace } from '../../../src/sim/mdrp/instance.js';
import { computeMetrics } from '../../../src/sim/mdrp/metrics.js';
import { defaultSimOptions, simulate, type Planner, type SimOptions } from '../../../src/sim/mdrp/simulate.js';
import { formatSolution } from '../../../src/sim/mdrp/solution.js';
import { tinyInstance } from './support/fixtures.js';
import { greedyPlanner } from './support/greedy-planner.js';

// The greedy planner ignores the policy.
const policy = {} as Policy;
const run = (planner: Planner<MdrpPlace>, extra: Partial<SimOptions> = {}) =>
  simulate(tinyInstance(), { ...defaultSimOptions, planner, policy, ...extra });

t.test('replays the tiny instance: feasible, every order delivered, sane metrics', async (t) => {
  const result = run(greedyPlanner);
  t.same(checkSolution(result.instance, formatSolution(result)), []);
  const m = computeMetrics(result);
  t.equal(m.delivered, 4);
  t.equal(m.undelivered_pct, 0);
  t.ok(m.ctd_mean >= m.ctd_lower_bound_mean, 'never faster than the lower bound');
  t.ok(m.ctd_mean < 40, `click-to-door ${m.ctd_mean} under the 40 min target`);
  t.ok(m.r2p_mean >= 0);
  t.ok(m.utilization_mean > 0 && m.utilization_mean < 1);
  t.ok(m.rounds > 0 && m.solve_ms_max >= m.solve_ms_p50);
  // Two couriers with 2 h and 70 min shifts at $15/h: $47.50 guaranteed, 4 orders at $10 = $40 at best.
  t.equal(m.pay_lower_bound_per_order, Math.max(10, (15 * (120 + 70)) / 60 / 4));
  t.ok(m.total_pay >= 47.5);
});

t.test('the lower bound is ready − placement + half services + direct travel', async (t) => {
  const m = computeMetrics(run(greedyPlanner));
  // o1: 10 + 2 + 5 + 2 = 19; o2: 10 + 2 + 6 + 2 = 20; o3: 15 + 2 + 8 + 2 = 27; o4: 15 + 2 + 6 + 2 = 25.
  t.equal(m.ctd_lower_bound_mean, (19 + 20 + 27 + 25) / 4);
});

t.test('the click-to-door gap splits exactly into ready-to-pickup and detour', async (t) => {
  const m = computeMetrics(run(greedyPlanner));
  t.ok(Math.abs(m.ctd_gap - (m.r2p_mean + m.detour_mean)) < 1e-9, `${m.ctd_gap} = ${m.r2p_mean} + ${m.detour_mean}`);
  t.ok(m.solve_cpu_ms_max >= 0 && m.solve_cpu_ms_p99 <= m.solve_cpu_ms_max);
});

t.test('diagnostics: a planner that sits on ready orders shows late pickups with idle couriers nearby', async (t) => {
  const lazy: Planner<MdrpPlace> = (s, p) => (s.now < 30 * 60 ? greedyPlanner({ ...s, orders: [] }, p) : greedyPlanner(s, p));
  const m = computeMetrics(run(lazy));
  t.equal(m.delivered, 4);
  // o1 and o2 (ready at 10 and 12) wait until minute 30 while c1 idles 2 min from r1.
  t.ok(m.late_pickup_pct >= 50, `late pickups ${m.late_pickup_pct}%`);
  t.ok(m.late_pickup_idle_nearby_pct >= 50, `with an idle courier nearby ${m.late_pickup_idle_nearby_pct}%`);
  t.ok(m.assigned_after_ready_pct >= 50 && m.ready_to_assign_mean > 10);
  const eager = computeMetrics(run(greedyPlanner));
  t.ok(eager.assigned_after_ready_pct < m.assigned_after_ready_pct && eager.late_pickup_pct < m.late_pickup_pct, 'the eager planner does better on both');
});

t.test('same instance and planner give the same solution files', async (t) => {
  t.same(formatSolution(run(greedyPlanner)), formatSolution(run(greedyPlanner)));
});

t.test('snapshots: seconds, only placed orders, busy couriers free when their work ends', async (t) => {
  const seen: Snapshot<MdrpPlace>[] = [];
  run((s, p) => {
    seen.push(s);
    return greedyPlanner(s, p);
  });
  for (const s of seen) {
    t.equal(s.now % 60, 0);
    for (const o of s.orders) t.ok(o.placedAt <= s.now, `order ${o.id} placed by ${s.now}`);
    for (const c of s.couriers) t.ok(c.freeAt >= s.now && c.freeAt < c.shiftEnd && (c.status === 'free') === (c.freeAt === s.now));
  }
  const first = seen[0]!;
  t.equal(first.now, 0);
  t.same(first.couriers.map((c) => c.id), ['c1'], 'c2 starts at minute 20, beyond the lookahead');
  t.same(first.service, { pickupS: 240, dropoffS: 240 });
  t.equal(first.travel.seconds({ id: 'a', x: 0, y: 0 }, { id: 'b', x: 101, y: 0 }), 120, 'ceil(1.01 min) = 2 min');
});

t.test('ready-late mode: ready times are estimates until revealed, the solution stays feasible', async (t) => {
  const seen: Snapshot<MdrpPlace>[] = [];
  const result = run(
    (s, p) => {
      seen.push(s);
      return greedyPlanner(s, p);
    },
    { readyKnown: false },
  );
  const o1Early = seen.find((s) => s.now === 0)!.orders.find((o) => o.id === 'o1')!;
  t.equal(o1Early.readyKnown, false);
  t.equal(o1Early.readyAt, 15 * 60, 'placement + the 15 min default estimate');
  const o1Late = seen.find((s) => s.now >= 10 && s.orders.some((o) => o.id === 'o1'))?.orders.find((o) => o.id === 'o1');
  if (o1Late) t.same([o1Late.readyKnown, o1Late.readyAt], [true, 600]);
  t.same(checkSolution(result.instance, formatSolution(result)), []);
  t.equal(computeMetrics(result).ready_known, false);
});

t.test('roundEveryMin spaces rounds out', async (t) => {
  const every1 = run(greedyPlanner);
  const every5 = run(greedyPlanner, { roundEveryMin: 5 });
  t.ok(every5.rounds < every1.rounds);
  t.same(checkSolution(every5.instance, formatSolution(every5)), []);
});

t.test('eventRounds adds rounds in minutes where orders are placed', async (t) => {
  const minutes = (extra: Partial<SimOptions>) => {
    const seen: number[] = [];
    run((s, p) => {
      seen.push(s.now / 60);
      return greedyPlanner(s, p);
    }, { roundEveryMin: 5, ...extra });
    return seen;
  };
  t.notOk(minutes({}).includes(2));
  t.ok(minutes({ eventRounds: true }).includes(2), 'o2 is placed at minute 2');
});

/** Wraps the greedy planner and breaks its first assignment. */
const breaking = (breakIt: (plan: Plan<MdrpPlace>, s: Snapshot<MdrpPlace>) => Plan<MdrpPlace>): Planner<MdrpPlace> => {
  let broken = false;
  return (s, p) => {
    const plan = greedyPlanner(s, p);
    if (broken || plan.assignments.length === 0) return plan;
    broken = true;
    return breakIt(plan, s);
  };
};
const badPlans: [string, RegExp, (plan: Plan<MdrpPlace>, s: Snapshot<MdrpPlace>) => Plan<MdrpPlace>][] = [
  ['an unknown order', /not open/, (p) => ({ ...p, assignments: [{ ...p.assignments[0]!, orderIds: ['o99'] }] })],
  ['an unplaced order', /o4 is not open/, (p) => ({ ...p, assignments: [{ ...p.assignments[0]!, orderIds: ['o4'] }] })],
  ['an order twice', /assigned twice/, (p) => ({ ...p, assignments: [{ ...p.assignments[0]!, orderIds: ['o1', 'o1'] }] })],
  ['an unknown courier', /c9 was not in the snapshot/, (p) => ({ ...p, assignments: [{ ...p.assignments[0]!, courierId: 'c9' }] })],
  ['a courier twice', /two assignments/, (p) => ({ ...p, assignments: [p.assignments[0]!, p.assignments[0]!] })],
  ['a wrong ETA', /planned at/, (p) => ({ ...p, assignments: [{ ...p.assignments[0]!, stops: p.assignments[0]!.stops.map((s) => ({ ...s, serviceAt: s.serviceAt - 60 })) }] })],
  ['a drop-off before its pickup', /must start with a pickup/, (p) => ({ ...p, assignments: [{ ...p.assignments[0]!, stops: [...p.assignments[0]!.stops].reverse() }] })],
];
for (const [name, message, breakIt] of badPlans) {
  t.test(`a plan with ${name} fails loudly`, async (t) => {
    t.throws(() => run(breaking(breakIt)), { code: 'MDRP_INVALID_PLAN', message });
  });
}

t.test('a bundle across restaurants fails loudly', async (t) => {
  const planner: Planner<MdrpPlace> = (s, p) => {
    const both = s.orders.some((o) => o.id === 'o1') && s.orders.some((o) => o.id === 'o3');
    const plan = greedyPlanner({ ...s, orders: s.orders.filter((o) => both && o.id === 'o1') }, p);
    if (!both) return plan;
    t.equal(plan.assignments.length, 1, 'o1 is assignable when o3 is placed');
    return { ...plan, assignments: plan.assignments.map((a) => ({ ...a, orderIds: ['o1', 'o3'] })) };
  };
  t.throws(() => run(planner), { code: 'MDRP_INVALID_PLAN', message: /several restaurants/ });
});

t.test('a pickup after off_time fails loudly when ready times are known', async (t) => {
  const inst = tinyInstance((f) => ({ couriers: f.couriers.replace('0\t120', '0\t9') }));
  t.throws(() => simulate(inst, { ...defaultSimOptions, planner: (s, p) => greedyPlanner({ ...s, couriers: s.couriers.map((c) => ({ ...c, shiftEnd: 1e9 })) }, p), policy }), {
    code: 'MDRP_INVALID_PLAN',
    message: /off_time/,
  });
});

t.test('ready-late estimate: conditional median of observed prep times given the wait so far', async (t) => {
  const lines = ['order\tx\ty\tplacement_time\trestaurant\tready_time'];
  for (let i = 0; i < 30; i++) lines.push(`o${i}\t10\t10\t${i}\tr1\t${i + (i < 25 ? 10 : 40)}`);
  lines.push('ox\t10\t10\t100\tr1\t150');
  const inst = tinyInstance((f) => ({ orders: lines.join('\n') + '\n', couriers: f.couriers.replace('0\t120', '0\t300') }));
  const estimates = new Map<number, number>();
  const idle: Planner<MdrpPlace> = (s) => {
    const x = s.orders.find((o) => o.id === 'ox');
    if (x && !x.readyKnown) estimates.set(s.now / 60, x.readyAt / 60);
    return { assignments: [], unassigned: [], summary: { orders: 0, couriers: 0, assigned: 0, bundles: 0, totalCost: 0, solveMs: 0, truncated: false } };
  };
  simulate(inst, { ...defaultSimOptions, planner: idle, policy, readyKnown: false });
  t.equal(estimates.get(100), 110, 'fresh order: median of all observed preps (10)');
  t.equal(estimates.get(115), 140, 'after 15 min only the 40-min preps are longer');
  t.equal(estimates.get(145), 146, 'past every observed prep: a minute from now');
  t.notOk(estimates.has(150), 'revealed once ready');
});

/** An instance file from space-separated rows. */
const tsvFile = (header: string, rows: string[]) => [header, ...rows].join('\n').replace(/ /g, '\t') + '\n';
const ordersFile = (...rows: string[]) => tsvFile('order x y placement_time restaurant ready_time', rows);
const couriersFile = (...rows: string[]) => tsvFile('courier x y on_time off_time', rows);

t.test('ready-late mode: a courier waiting for hidden food is shown free when the estimate says, not when the hidden ready time will make it', async (t) => {
  // o1 is ready at 40 but estimated at 15 (the 15-min default): c1 takes it at minute 0 and will really be free at 51.
  const inst = tinyInstance(() => ({
    orders: ordersFile('o1 300 400 0 r1 40', 'o3 1000 800 5 r2 50'),
    couriers: couriersFile('c1 100 100 0 120'),
  }));
  const freeAt = new Map<number, number>();
  const onlyO1: Planner<MdrpPlace> = (s, p) => {
    const c1 = s.couriers.find((c) => c.id === 'c1');
    if (c1) freeAt.set(s.now / 60, c1.freeAt / 60);
    return greedyPlanner({ ...s, orders: s.orders.filter((o) => o.id === 'o1') }, p);
  };
  const result = simulate(inst, { ...defaultSimOptions, planner: onlyO1, policy, readyKnown: false });
  t.equal(result.outcomes.get('o1')?.pickupAt, 40, 'the hidden ready time still gates the pickup');
  // estimate 15: pickup at 15, leave 17, 5 min to the customer, drop 22 + 2, free 24 + 2 = 26
  t.equal(freeAt.get(5), 26, 'believed: the food is ready at the estimate');
  t.equal(freeAt.get(20), 32, 'estimate passed, food still not ready: a minute from now (21), free at 32');
  t.equal(freeAt.get(40), 51, 'the food is ready: the rules\' time');
});

t.test('ready-late mode: food not ready before the courier\'s shift ends keeps the courier waiting and the order out of the pool until its off_time', async (t) => {
  // o1 is ready at 40, estimated at 15: c1 (off at 30) takes it, drives to r1 and waits in vain.
  const inst = tinyInstance(() => ({
    orders: ordersFile('o1 300 400 0 r1 40', 'o2 1000 800 5 r2 20'),
    couriers: couriersFile('c1 100 100 0 30', 'c2 100 -100 20 90'),
  }));
  const offeredAt: number[] = [];
  const c1Seen = new Map<number, { freeAt: number; at: string }>();
  const result = simulate(inst, {
    ...defaultSimOptions,
    planner: (s, p) => {
      if (s.orders.some((o) => o.id === 'o1')) offeredAt.push(s.now / 60);
      const c1 = s.couriers.find((c) => c.id === 'c1');
      if (c1) c1Seen.set(s.now / 60, { freeAt: c1.freeAt / 60, at: c1.position.id });
      return greedyPlanner(s, p);
    },
    policy,
    readyKnown: false,
  });
  t.equal(result.rejectedAssignments, 1);
  t.same(offeredAt.slice(0, 2), [0, 30], 'back in the pool only when c1 has to leave');
  t.match(result.outcomes.get('o1'), { courierId: 'c2', assignedAt: 30, pickupAt: 40 });
  t.same(result.moves.get('c1')!.map((m) => [m.to.id, m.departAt, m.arriveAt]), [['r1', 0, 2]], 'c1 drove to the counter');
  // Meanwhile the planner believes the estimate: c1 delivers o1 and is free at 26 at o1's customer.
  t.same(c1Seen.get(5), { freeAt: 26, at: 'o1' }, 'the failure does not show before c1\'s off_time');
  t.notOk(c1Seen.has(30), 'gone at its off_time');
  t.same(checkSolution(result.instance, formatSolution(result)), []);
});

t.test('ready-late mode: a queued route the courier cannot start in time goes back when its earlier food is ready', async (t) => {
  // c1 takes o1 (ready 25, estimated 15), then o2 queued behind it: by the estimate c1 is free at 22 and picks
  // o2 up at 25, but o1's real ready time frees it at 32, past its off_time. That shows at 25, when o1 is ready.
  const inst = tinyInstance(() => ({
    orders: ordersFile('o1 0 100 0 r1 25', 'o2 0 200 3 r1 14'),
    couriers: couriersFile('c1 100 100 0 30', 'c2 100 -100 20 90'),
  }));
  const result = simulate(inst, { ...defaultSimOptions, planner: greedyPlanner, policy, readyKnown: false });
  t.equal(result.rejectedAssignments, 1);
  t.match(result.outcomes.get('o1'), { courierId: 'c1', pickupAt: 25 });
  t.match(result.outcomes.get('o2'), { courierId: 'c2', assignedAt: 25 });
  t.same(result.moves.get('c1')!.map((m) => m.to.id), ['r1', 'o1'], 'c1 never set off for o2');
  t.same(checkSolution(result.instance, formatSolution(result)), []);
});

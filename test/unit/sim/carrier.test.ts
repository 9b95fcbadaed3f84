/**
 * The MDRP harness's carrier hand-off (sim/mdrp/carrier.ts): which orders go to the simulated carrier
 * and when it delivers them, and the hybrid metrics of a replay (own couriers' rules untouched).
 */
import t from 'tap';
import type { Plan, Policy } from '../../../src/dispatch/types.js';
import { carrierDelivery, shouldHandOff, type CarrierModel } from '../../../src/sim/mdrp/carrier.js';
import { checkSolution } from '../../../src/sim/mdrp/checker.js';
import type { MdrpPlace } from '../../../src/sim/mdrp/instance.js';
import { computeMetrics } from '../../../src/sim/mdrp/metrics.js';
import { splitSettings } from '../../../src/sim/mdrp/run.js';
import { defaultSimOptions, simulate, type Planner } from '../../../src/sim/mdrp/simulate.js';
import { formatSolution } from '../../../src/sim/mdrp/solution.js';
import { tinyInstance } from './support/fixtures.js';
import { greedyPlanner } from './support/greedy-planner.js';

const policy = {} as Policy;
const model: CarrierModel = { pricePerOrder: 8, lateRiskMin: 20, pickupMin: 8, speedFactor: 1 };

t.test('hand-off rule: after lateRiskMin unassigned, or at once when no own courier is left', async (t) => {
  t.equal(shouldHandOff({ placementTime: 10 }, 29, model, true), false, 'waited 19 min');
  t.equal(shouldHandOff({ placementTime: 10 }, 30, model, true), true, 'waited 20 min');
  t.equal(shouldHandOff({ placementTime: 10 }, 11, model, false), true, 'no own courier has shift left');
  t.equal(shouldHandOff({ placementTime: 10 }, 9, model, false), false, 'not placed yet');
});

t.test('delay model: pickup when the carrier is there and the food ready, the same service rules as own couriers', async (t) => {
  const params = tinyInstance().params; // 100 m/min, 4 min pickup and drop-off service
  const restaurant: MdrpPlace = { id: 'r', x: 0, y: 0 };
  const customer: MdrpPlace = { id: 'o', x: 600, y: 800 }; // 1000 m: 10 min
  // handed at 30: there at 38, + 2 (half service) = 40 ≥ ready 35 → pickup 40, leave 42, arrive 52, drop-off 54
  t.same(carrierDelivery({ readyTime: 35, customer }, restaurant, 30, params, model), { handedAt: 30, pickupAt: 40, dropoffAt: 54, price: 8 });
  // food late (ready 50): pickup 50, drop-off 50 + 2 + 10 + 2 = 64; twice as fast: 5 min ride → 59
  t.equal(carrierDelivery({ readyTime: 50, customer }, restaurant, 30, params, model).dropoffAt, 64);
  t.equal(carrierDelivery({ readyTime: 50, customer }, restaurant, 30, params, { ...model, speedFactor: 2 }).dropoffAt, 59);
});

t.test('a replay with the carrier: orders no own courier takes in time go to the carrier, the own solution stays feasible', async (t) => {
  // a planner that never assigns o3: it waits until the carrier takes it 20 min after placement
  const skipO3: Planner<MdrpPlace> = (snapshot, p) => {
    const plan = greedyPlanner({ ...snapshot, orders: snapshot.orders.filter((o) => o.id !== 'o3') }, p) as Plan<MdrpPlace>;
    return { ...plan, unassigned: [...plan.unassigned, { orderId: 'o3', reason: 'no_courier_in_reach' as const }] };
  };
  const base = { ...defaultSimOptions, policy };
  const own = computeMetrics(simulate(tinyInstance(), { ...base, planner: skipO3 }));
  t.equal(own.delivered, 3);
  t.equal(own.carrier_orders, undefined, 'no hybrid fields without the carrier');

  const result = simulate(tinyInstance(), { ...base, planner: skipO3, carrier: true, carrierPrice: 8, carrierLateRiskMin: 20 });
  t.same(checkSolution(result.instance, formatSolution(result)), [], 'own couriers keep the rules');
  t.same([...result.carrierDeliveries!.keys()], ['o3']);
  const o3 = result.carrierDeliveries!.get('o3')!;
  t.equal(o3.handedAt, 25, 'placed at 5, handed 20 min later');
  const m = computeMetrics(result);
  t.equal(m.delivered, 3, 'own deliveries unchanged');
  t.equal(m.total_pay, own.total_pay, 'own pay unchanged');
  t.equal(m.carrier_orders, 1);
  t.equal(m.carrier_pct, 25);
  t.equal(m.carrier_cost, 8);
  t.equal(m.hybrid_undelivered_pct, 0);
  t.equal(m.hybrid_cost_per_order, (m.total_pay + 8) / 4);
  t.equal(m.hybrid_ctd_mean, (m.ctd_mean * 3 + (o3.dropoffAt - 5)) / 4);
});

t.test('the carrier settings are sim settings of --set (and of mdrp:frontier --carrier-price)', async (t) => {
  t.same(splitSettings({ carrier: 'true', carrierPrice: '7.5', carrierLateRiskMin: '15', timeWeight: '0.5' }), {
    sim: { carrier: true, carrierPrice: 7.5, carrierLateRiskMin: 15 },
    policy: { timeWeight: '0.5' },
  });
});

t.test('the frontier SVG draws the hybrid curve next to the own one', async (t) => {
  const { frontierSvg } = await import('../../../src/sim/mdrp/frontier-svg.js');
  const p = (timeWeight: number, ctdMean: number, payPerOrder: number) => ({ timeWeight, ctdMean, payPerOrder, isDefault: timeWeight === 0.8 });
  const svg = frontierSvg([p(0, 35, 10.5), p(0.8, 32, 11)], 'f', '', { points: [p(0, 30, 11.5), p(0.8, 28, 12)], label: 'hybrid: carrier $8/order' });
  t.equal(svg.match(/<circle /g)?.length, 3, 'two own points and the legend');
  t.equal(svg.match(/<rect x=/g)?.length, 3, 'two hybrid squares and the legend');
  t.match(svg, /hybrid: carrier \$8\/order/);
  t.notMatch(svg, /NaN/);
});

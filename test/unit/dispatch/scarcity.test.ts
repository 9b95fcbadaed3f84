import t from 'tap';
import { defaultPolicy } from '../../../src/dispatch/policy.js';
import { courierTimePrice, queuePerCourier } from '../../../src/dispatch/scarcity.js';
import { courier, order } from './helpers.js';

const restaurant = { x: 0, y: 0 };
const customer = { x: 0, y: 960 };
// Four orders: one ready now, three ready in 10 minutes; two couriers, one free now, one busy for 15 minutes.
const orders = [
  order('a', 'r', restaurant, customer, 0),
  order('b', 'r', restaurant, customer, 600),
  order('c', 'r', restaurant, customer, 600),
  order('d', 'r', restaurant, customer, 600),
];
const couriers = [courier('free', { x: 0, y: 0 }), courier('busy', { x: 0, y: 0 }, { status: 'busy', freeAt: 900 })];

t.test('scarcityHorizonS 0: only what is due within the commitment horizon counts', async (t) => {
  const policy = { ...defaultPolicy, commitHorizonS: 120, scarcityHorizonS: 0 };
  t.equal(queuePerCourier(orders, couriers, 0, policy), 0, 'one order due, one courier free');
  t.same(courierTimePrice(orders, couriers, 0, policy), { emptyTravelS: 0, busyS: 0 });
});

t.test('a longer scarcityHorizonS sees the orders due later beyond the couriers free by then', async (t) => {
  const policy = { ...defaultPolicy, commitHorizonS: 120, scarcityHorizonS: 720 };
  // Due within 12 min: 4 orders; free by then: 1 courier → (4 − 1) / 2 couriers.
  t.equal(queuePerCourier(orders, couriers, 0, policy), 1.5);
  const price = courierTimePrice(orders, couriers, 0, policy);
  t.equal(price.busyS, policy.busyTimeWeight * policy.timeWeight * policy.clickToDoorWeight * 1.5);
  // Within 20 min both couriers are free: (4 − 2) / 2.
  t.equal(queuePerCourier(orders, couriers, 0, { ...policy, scarcityHorizonS: 1200 }), 1);
});

/**
 * A restart of dispatchd, or of the carrier simulator (its own process, `--state-file`), in the middle of
 * a carrier delivery loses no event: every carrier status becomes one order event, in order.
 */
import t from 'tap';
import { carrierEvents, events, LIFECYCLE, order, place, round, setup } from './carrier-helpers.js';
import { until } from './orders-helpers.js';

t.test('a restart of dispatchd in the middle of a delivery loses no event', async (t) => {
  const s = await setup(t, [], {}, '30');
  const id = await place(s, 'r-1');
  t.equal((await round(s)).carrier, 1);
  await until(async () => (await order(s, id)).carrierStatus === 'courier_assigned', 20_000, 'courier assigned');
  const before = await order(s, id);
  await s.restartApp();
  const meanwhile = (await s.adapter.get(before.carrierDeliveryId)).status;
  t.not(meanwhile, 'courier_assigned', `the carrier went on while dispatchd was down (now ${meanwhile}): its webhooks waited`);
  await until(async () => (await order(s, id)).status === 'delivered', 40_000, 'delivered after the restart');
  t.same(carrierEvents(await events(s, id)), LIFECYCLE, 'every status once, in order, across the restart');
});

t.test('a restart of the simulator in the middle of a delivery loses no event', async (t) => {
  const s = await setup(t, [], {}, '30');
  const id = await place(s, 's-1');
  t.equal((await round(s)).carrier, 1);
  await until(async () => (await order(s, id)).carrierStatus === 'courier_assigned', 20_000, 'courier assigned');
  const before = await order(s, id);
  await s.restartSim();
  t.match((await s.adapter.get(before.carrierDeliveryId)).externalId, new RegExp(`^${id}:`), 'the restarted simulator still knows the delivery (state file)');
  await until(async () => (await order(s, id)).status === 'delivered', 40_000, 'delivered after the simulator restarted');
  t.same(carrierEvents(await events(s, id)), LIFECYCLE, 'every status once, in order, across the restart');
});


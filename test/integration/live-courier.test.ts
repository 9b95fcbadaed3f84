/**
 * The simulated courier and stores of the live replay against the real service, without the dispatch
 * loop: a dispatcher offers over HTTP, the simulated courier accepts and reports every stop at the
 * service-clock minute the MDRP rules give, and the service records exactly that.
 */
import t, { type Test } from 'tap';
import { createLogger } from '../../src/logger.js';
import { SimCourier } from '../../src/sim/live/courier-sim.js';
import { projectInstance } from '../../src/sim/live/projection.js';
import { ReplayClock } from '../../src/sim/live/replay-clock.js';
import { instanceEnv } from '../../src/sim/live/service.js';
import { StoreSim } from '../../src/sim/live/store-sim.js';
import { timelineFrom } from '../../src/sim/live/timeline.js';
import type { MdrpInstance } from '../../src/sim/mdrp/instance.js';
import { tinyInstance } from '../unit/sim/support/fixtures.js';
import { buildTestApp, createTestContext } from '../support/index.js';
import { http, until } from './orders-helpers.js';

const SPEED = 120;

/** The app on a replay clock (held while it boots; the day starts half a minute later), stores for `orderIds`, simulated couriers. */
async function liveWorld(t: Test, inst: MdrpInstance, orderIds: readonly string[]) {
  const ctx = await createTestContext(t, { ...instanceEnv(inst.params), WEBHOOK_SENDER: 'off', DISPATCH: 'off' });
  const timeline = timelineFrom(Date.UTC(2026, 0, 15, 8));
  const clock = new ReplayClock(timeline.toMs(-0.5), SPEED);
  const { baseUrl, wsUrl, token } = await buildTestApp(ctx, { clock });
  const log = createLogger({ level: 'silent' });
  const projection = projectInstance(inst);
  const some = { ...inst, orders: inst.orders.filter((o) => orderIds.includes(o.id)) };
  const stores = new StoreSim({ baseUrl, clock, timeline, projection, instance: some, tokenFor: (r) => token('store', r), readyKnown: true, log });
  const courier = (i: number) =>
    new SimCourier({
      wsUrl,
      token: token('courier', inst.couriers[i]!.id),
      clock,
      timeline,
      projection,
      params: inst.params,
      courier: inst.couriers[i]!,
      orders: new Map(inst.orders.map((o) => [o.id, o])),
      restaurants: inst.restaurants,
      positionEveryS: 30,
      log,
    });
  return { baseUrl, token, clock, timeline, projection, stores, courier };
}

t.test('a simulated courier follows an offer by the MDRP rules, on the service clock', async (t) => {
  const inst = tinyInstance();
  const { baseUrl, token, clock, timeline, projection, stores, courier: simCourier } = await liveWorld(t, inst, ['o1']);
  const courier = simCourier(0);
  t.teardown(() => {
    stores.stop();
    courier.stop();
  });
  clock.start();
  stores.start();
  await courier.start();
  await until(() => stores.serviceIds.has('o1'));
  const orderId = stores.serviceIds.get('o1')!;
  const dispatcher = token('dispatcher', 'd1');
  let placed: Record<string, unknown> = {};
  await until(async () => (placed = (await http(baseUrl, 'GET', `/v1/orders/${orderId}`, dispatcher)).body).readyKnown === true);
  t.equal(placed.placedAt, timeline.toMs(0), 'placed with its placement minute');
  t.equal(placed.readyAt, timeline.toMs(10), 'ready time announced');
  t.equal(placed.readyKnown, true);
  t.same(placed.pickup, projection.toLatLng(inst.restaurants.get('r1')!));

  // offer it during minute 1
  await until(() => clock.now() >= timeline.toMs(1.1), 20_000);
  const offered = await http(baseUrl, 'POST', `/v1/orders/${orderId}/offer`, dispatcher, { courierId: 'c1' });
  t.equal(offered.status, 201);
  await until(() => courier.follower.routes.length === 1, 20_000);
  // decided in minute 1: (100,100) → r1 2 min → 3; pickup at ready 10; r1 → o1 5 min → 17; hand-over 19
  const route = courier.follower.routes[0]!;
  t.equal(route.assignedAt, 1);
  t.equal(route.timing.pickupAt, 10);
  t.same(route.timing.dropoffAt, [19]);

  await until(async () => (await http(baseUrl, 'GET', `/v1/orders/${orderId}`, dispatcher)).body.status === 'delivered', 30_000);
  const events = (await http(baseUrl, 'GET', `/v1/orders/${orderId}/events`, dispatcher)).body.events as { type: string; at: number; actor: { id: string } }[];
  const at = (type: string) => timeline.toMinute(events.find((e) => e.type === type)!.at);
  // the service stamps each status when it arrives: within a few service seconds of the rule's minute
  const tolerance = 0.25;
  for (const [type, minute] of [['arrived_pickup', 3], ['picked_up', 10], ['arrived_dropoff', 17], ['delivered', 19]] as const) {
    t.ok(Math.abs(at(type) - minute) < tolerance, `${type} at minute ${at(type).toFixed(3)}, rule says ${minute}`);
    t.equal(events.find((e) => e.type === type)!.actor.id, 'c1');
  }
  t.equal(courier.stats.statusErrors, 0);
  t.equal(courier.stats.statusesSent, 4);
  t.ok(courier.stats.positionsSent > 10, `streams positions (${courier.stats.positionsSent})`);
  t.equal(courier.stats.positionsRejected, 0);
});

t.test("a simulated courier executes a dispatcher's assignments, and stops on re-assignment and unassignment", async (t) => {
  // both couriers on shift from minute 0
  const inst = tinyInstance((f) => ({ couriers: f.couriers.replace('c2\t900\t-100\t20\t90', 'c2\t900\t-100\t0\t90') }));
  t.equal(inst.couriers[1]!.onTime, 0);
  const { baseUrl, token, clock, timeline, stores, courier: sim } = await liveWorld(t, inst, ['o1', 'o2']);
  const [c1, c2] = [sim(0), sim(1)];
  t.teardown(() => {
    stores.stop();
    c1.stop();
    c2.stop();
  });
  clock.start();
  stores.start();
  await Promise.all([c1.start(), c2.start()]);
  const dispatcher = token('dispatcher', 'd1');
  const order = async (id: string) => (await http(baseUrl, 'GET', `/v1/orders/${id}`, dispatcher)).body;

  await until(() => stores.serviceIds.has('o1'), 20_000);
  const o1 = stores.serviceIds.get('o1')!;
  await until(async () => (await order(o1)).readyKnown === true, 20_000);
  t.equal((await http(baseUrl, 'POST', `/v1/orders/${o1}/assign`, dispatcher, { courierId: 'c1' })).status, 200, 'assign & pin to c1');
  await until(() => c1.stats.dispatcherTasks === 1, 20_000);
  t.equal(c1.follower.routes.length, 1, 'c1 drives it without an offer');

  // before c1 reaches the restaurant (minute 3): re-assigned to c2
  t.ok(clock.now() < timeline.toMs(2.5), 'still before the pickup');
  t.equal((await http(baseUrl, 'POST', `/v1/orders/${o1}/assign`, dispatcher, { courierId: 'c2' })).status, 200, 're-assigned to c2');
  await until(() => c1.stats.takenAway === 1 && c2.stats.dispatcherTasks === 1, 20_000);
  await until(async () => (await order(o1)).status === 'delivered', 40_000);
  const events = (await http(baseUrl, 'GET', `/v1/orders/${o1}/events`, dispatcher)).body.events as { type: string; actor: { id: string } }[];
  for (const type of ['arrived_pickup', 'picked_up', 'delivered']) t.equal(events.find((e) => e.type === type)?.actor.id, 'c2', `${type} by c2`);
  t.match(await order(o1), { courierId: 'c2', pinned: true });

  // o2: assigned to c1, then unassigned — c1 never reports anything for it
  await until(() => stores.serviceIds.has('o2'), 20_000);
  const o2 = stores.serviceIds.get('o2')!;
  t.equal((await http(baseUrl, 'POST', `/v1/orders/${o2}/assign`, dispatcher, { courierId: 'c1' })).status, 200);
  await until(() => c1.stats.dispatcherTasks === 2, 20_000);
  t.equal((await http(baseUrl, 'POST', `/v1/orders/${o2}/unassign`, dispatcher, {})).status, 200);
  await until(() => c1.stats.takenAway === 2, 20_000);
  const minute = timeline.toMinute(clock.now());
  await until(() => timeline.toMinute(clock.now()) > minute + 30, 30_000);
  t.match(await order(o2), { courierId: null, pinned: false }, 'back in the open pool, untouched by c1');
  t.ok(['placed', 'ready'].includes((await order(o2)).status));
  t.equal(c1.stats.statusesSent, 0, 'c1 sent no status for orders taken away');
  t.equal(c1.stats.statusErrors + c2.stats.statusErrors, 0);
});

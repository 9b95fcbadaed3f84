import t from 'tap';
import { planRoute, sequenceDropoffs, stopsOf } from '../../../src/dispatch/route.js';
import { courier, order, service, travel } from './helpers.js';

const ctx = { now: 600, travel, service };

t.test('MDRP timing: wait for the food, half service before and after each instant', async (t) => {
  // Courier 640 m (2 min) from the restaurant; food ready at 1200 s; customer 960 m (3 min) away.
  const c = courier('c', { x: 0, y: 0 });
  const o = order('o', 'r', { x: 640, y: 0 }, { x: 640, y: 960 }, 1200, { placedAt: 300 });
  const r = planRoute(c, [o], ctx)!;
  const [pickup, drop] = stopsOf(r, service);
  t.equal(r.startAt, 600, 'leaves at now');
  t.equal(pickup.arriveAt, 720);
  t.equal(pickup.serviceAt, 1200, 'pickup instant = max(arrival + 120, ready)');
  t.equal(pickup.departAt, 1320);
  t.equal(drop.arriveAt, 1500);
  t.equal(drop.serviceAt, 1620, 'drop-off instant = arrival + half service');
  t.equal(drop.departAt, 1740);
  t.equal(r.waitS, 1200 - 840);
  t.equal(r.travelS, 120 + 180);
  t.same(r.dropAt, [1620]);
});

t.test('late courier: pickup = arrival + half service; busy courier starts at freeAt', async (t) => {
  const c = courier('c', { x: 0, y: 0 }, { freeAt: 900, status: 'busy' });
  const o = order('o', 'r', { x: 640, y: 0 }, { x: 640, y: 320 }, 0);
  const r = planRoute(c, [o], ctx)!;
  t.equal(r.startAt, 900);
  t.equal(stopsOf(r, service)[0].serviceAt, 900 + 120 + 120);
  t.equal(r.waitS, 0);
});

t.test('no route when the pickup would fall after the shift end or the bundle is too big', async (t) => {
  const o = order('o', 'r', { x: 640, y: 0 }, { x: 640, y: 320 }, 0);
  t.equal(planRoute(courier('c', { x: 0, y: 0 }, { shiftEnd: 600 + 120 + 119 }), [o], ctx), null);
  t.ok(planRoute(courier('c', { x: 0, y: 0 }, { shiftEnd: 600 + 240 }), [o], ctx), 'pickup exactly at shift end is allowed');
  t.equal(planRoute(courier('c', { x: 0, y: 0 }, { capacity: 1 }), [o, { ...o, id: 'o2' }], ctx), null);
  t.equal(planRoute(courier('c', { x: 0, y: 0 }), [], ctx), null);
});

t.test('drop-off sequence minimises total click-to-door (exhaustive and insertion)', async (t) => {
  const from = { x: 0, y: 0 };
  // On a line: the near customer first is optimal.
  const near = order('b-near', 'r', from, { x: 320, y: 0 }, 0);
  const far = order('a-far', 'r', from, { x: 3200, y: 0 }, 0);
  t.same(sequenceDropoffs([far, near], from, 0, ctx).map((o) => o.id), ['b-near', 'a-far']);
  const many = Array.from({ length: 7 }, (_, i) => order(`o${6 - i}`, 'r', from, { x: 320 * (6 - i + 1), y: 0 }, 0));
  t.same(
    sequenceDropoffs(many, from, 0, ctx).map((o) => o.id),
    ['o0', 'o1', 'o2', 'o3', 'o4', 'o5', 'o6'],
    'insertion keeps the line order for 7 orders',
  );
});

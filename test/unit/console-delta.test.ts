/**
 * The console socket's delta form: the service's diff (src/runtime/console-delta.ts) merged by the page's
 * merger (web/console/delta.ts) gives back exactly the next full state, over a run of random changes.
 */
import t from 'tap';
import { stateDelta } from '../../src/runtime/console-delta.js';
import type { ConsoleState } from '../../src/runtime/console-state.js';
import { StateMerger } from '../../web/console/delta.js';

let seed = 7;
const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

function state(at: number, couriers: [string, number][], orders: [string, number, string][]): ConsoleState {
  return {
    type: 'state',
    at,
    couriers: couriers
      .map(([id, lat]) => ({ courierId: id, lat, lng: 13.4, status: 'free' as const, load: 0, lastSeenAt: 5000 }))
      .sort((a, b) => (a.courierId < b.courierId ? -1 : 1)),
    orders: orders
      .map(([id, placedAt, status]) => ({
        id,
        externalId: `x-${id}`,
        storeId: 's1',
        status: status as never,
        placedAt,
        ageMs: at - placedAt,
        promisedBy: placedAt + 1_800_000,
        courierId: null,
        pickup: { lat: 52.5, lng: 13.4 },
        dropoff: { lat: 52.51, lng: 13.41 },
        pinned: false,
        priority: 0,
        etaDropoffAt: null,
      }))
      .sort((a, b) => a.placedAt - b.placedAt || (a.id < b.id ? -1 : 1)),
    cells: [],
    kpis: { windowMs: 1, delivered: 0, onTimePct: null, clickToDoorP50Min: null, clickToDoorP90Min: null, waiting: 0, oldestWaitingMin: null, activeCouriers: 0, costPerOrder: null, byFleet: [] },
    truncated: { couriers: false, orders: false },
    zonesVersion: '0',
  };
}

t.test('merging each delta into the previous state gives the next state', async (t) => {
  let couriers: [string, number][] = Array.from({ length: 30 }, (_, i) => [`c${i}`, 52.5]);
  let orders: [string, number, string][] = Array.from({ length: 20 }, (_, i) => [`o${i}`, 1000 + i * 10, 'placed']);
  let prev = state(10_000, couriers, orders);
  const merger = new StateMerger();
  merger.take(structuredClone(prev));
  for (let step = 1; step <= 40; step++) {
    // some couriers move, some go, some come; some orders change status, some go, some come
    couriers = couriers.filter(() => rand() > 0.05).map(([id, lat]) => [id, rand() < 0.3 ? lat + 0.001 : lat]);
    if (rand() < 0.5) couriers.push([`n${step}`, 52.49]);
    orders = orders.filter(() => rand() > 0.05).map(([id, at, st]) => [id, at, rand() < 0.2 ? 'assigned' : st]);
    if (rand() < 0.5) orders.push([`p${step}`, 500 + step, 'placed']);
    const next = state(10_000 + step * 1000, couriers, orders);
    const delta = stateDelta(prev, next);
    const merged = merger.take(JSON.parse(JSON.stringify(delta)));
    t.same(merged, next, `step ${step}`);
    prev = next;
  }
  t.end();
});

t.test('an unchanged order is not sent again though its age grew; a moved courier is', async (t) => {
  const a = state(10_000, [['c1', 52.5], ['c2', 52.5]], [['o1', 1000, 'placed']]);
  const b = state(11_000, [['c1', 52.501], ['c2', 52.5]], [['o1', 1000, 'placed']]);
  const d = stateDelta(a, b);
  t.same(d.orders, { upsert: [], remove: [] }, 'no order in the delta');
  t.same(d.couriers.upsert.map((c) => c.courierId), ['c1'], 'only the moved courier');
  t.ok(JSON.stringify(d).length < JSON.stringify(b).length, 'smaller than the full state');
});

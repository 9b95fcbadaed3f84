/**
 * Learned prep times in the live service (issue 14), real Redis and Postgres: a store's history of
 * ready orders in Postgres → the prep-time model → a real dispatch round plans the store's new order
 * with the learned (shrunk) median ready time and records it in the decision's `ready`; a store with
 * fewer than PREP_MIN_SAMPLES ready orders is planned as before; an order becoming ready is learned
 * online.
 */
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import type { DispatchDecision } from '../../src/dispatch/decisions.js';
import { PrepTimeModel, Z75, type PrepSample } from '../../src/domain/prep-time.js';
import { dispatcherWiring } from '../../src/runtime/dispatch-loop.js';
import { buildTestApp, createTestContext } from '../support/index.js';
import { city, offset } from './dispatch-helpers.js';
import { http } from './orders-helpers.js';

const MIN = 60_000;
const DAY = 86_400_000;

t.test('a round plans with the store’s learned prep time', async (t) => {
  const ctx = await createTestContext(t, { STALE_AFTER_MS: '7200000', WEBHOOK_SENDER: 'off', OFFER_TTL_MS: '30000', PREP_MIN_SAMPLES: '5' });
  const clock = new ManualClock(Date.now());
  const app = await buildTestApp(ctx, { clock });
  const dispatcher = app.token('dispatcher', 'd1');
  const c = city(app, clock, { lat: 48.137, lng: 11.575 }, t.teardown.bind(t));
  // the history is picked up elsewhere (another dispatch zone), so only the new orders are in the rounds
  const elsewhere = offset(c.centre, 0, 200_000);

  // store-1: 8 orders on earlier days at this hour, ready after 17–23 min (median 20); store-2: 2 orders
  const seeded: PrepSample[] = [];
  const history = async (storeId: string, prepMin: readonly number[]) => {
    for (const [i, prep] of prepMin.entries()) {
      const placedAt = clock.now() - (i + 1) * DAY;
      const id = await c.order(`hist-${storeId}-${i}`, { placedAt, pickup: { ...elsewhere, address: 'Elsewhere' } }, storeId);
      const ready = await http(app.baseUrl, 'POST', `/v1/orders/${id}/ready`, app.token('store', storeId), { readyAt: placedAt + prep * MIN });
      t.equal(ready.status, 200, 'history: ready event recorded');
      seeded.push({ storeId, placedAtMs: placedAt, prepS: prep * 60 });
    }
  };
  await history('store-1', [18, 20, 22, 19, 21, 20, 17, 23]);
  await history('store-2', [30, 30]);
  // the periodic refresh (PREP_REFRESH_MS) reads the same; run it now rather than wait for it
  const read = await app.app.prepTimes.refresh();
  t.equal(read, 10, 'the refresh reads the ready orders of the history window');
  const model = app.app.prepTimes.current();
  t.equal(model.samplesOf('store-1'), 8);
  t.equal(model.samplesOf('store-2'), 2);

  // what the model should say, computed independently from the seeded samples (oldest first, as the refresh feeds them)
  const expected = PrepTimeModel.fromSamples([...seeded].sort((a, b) => a.placedAtMs - b.placedAtMs)).estimate('store-1', clock.now());
  t.ok(expected.medianS > 15 * 60 && expected.medianS < 20 * 60, `8 samples of ~20 min are shrunk toward the prior (15 min, and the global history) (${(expected.medianS / 60).toFixed(1)} min)`);

  await c.courier('p-near', 300, 0);
  const placedAt = clock.now();
  const learned = await c.order('new-1', {}, 'store-1');
  const few = await c.order('new-2', { pickup: { ...offset(c.centre, 50, 0), address: 'Store 2' } }, 'store-2');
  const decisionsOf = async (id: string) => (await http(app.baseUrl, 'GET', `/v1/orders/${id}/dispatch`, dispatcher)).body.decisions as DispatchDecision[];

  const r1 = await app.app.dispatcher.runRound(c.zone);
  t.match(r1, { orders: 2, committed: 1 });
  const [d1] = await decisionsOf(learned);
  t.match(d1, { decision: 'waiting', reason: 'not_ready_soon_enough', ready: { source: 'learned', samples: 8 } }, 'store-1: planned with its learned prep time, not sent yet');
  t.equal(d1.ready!.medianS, Math.round(expected.medianS), `the decision shows the learned median (${(d1.ready!.medianS! / 60).toFixed(1)} min)`);
  t.ok(Math.abs(d1.ready!.at - (placedAt + expected.medianS * 1000)) < 1000, 'and the ready time planned with: placement + median');
  t.ok(d1.ready!.spreadS! > 0, 'with its spread');
  const { ports } = dispatcherWiring(app.app);
  const planned = (await ports.roundInput(c.zone, clock.now())).snapshot.orders.find((o) => o.id === learned)!;
  t.ok(Math.abs(planned.readySpreadS! - d1.ready!.spreadS! / Z75) < 2, "the optimizer gets the estimate's spread (a standard deviation) for anticipatory dispatch");
  const [d2] = await decisionsOf(few);
  t.match(d2, { decision: 'assigned', courierId: 'p-near', ready: { source: 'default', at: Math.floor(placedAt / 1000) * 1000 } }, 'store-2 (2 < PREP_MIN_SAMPLES): as before, ready at placement, sent at once');

  // the store-1 order waits until a courier must set off to be there around the (conditional) median ready time
  await c.courier('p-two', 300, 0);
  let committed: DispatchDecision | undefined;
  for (let i = 0; i < 40 && !committed; i++) {
    clock.advance(MIN);
    await app.app.dispatcher.runRound(c.zone);
    const [d] = await decisionsOf(learned);
    if (d.decision === 'assigned') committed = d;
  }
  t.ok(committed, 'committed in a later round');
  const sentAfterMin = (committed!.at - placedAt) / MIN;
  t.ok(sentAfterMin >= 10 && sentAfterMin <= 25, `sent ${sentAfterMin} min after placement, not at once`);
  t.equal(committed!.ready!.source, 'learned');
  t.ok(committed!.ready!.at >= placedAt + expected.medianS * 1000 - 1000, 'still not ready: the median given not ready yet is no earlier');
  t.ok(Math.abs(committed!.etaPickupAt! - committed!.ready!.at) <= 240_000, 'the courier is planned at the pickup around the learned ready time');

  // online: the order becomes ready → one more sample for store-1 without waiting for the refresh
  const ready = await http(app.baseUrl, 'POST', `/v1/orders/${learned}/ready`, app.token('store', 'store-1'), {});
  t.equal(ready.status, 200);
  t.equal(app.app.prepTimes.current().samplesOf('store-1'), 9, 'learned online from the ready event');
  await http(app.baseUrl, 'POST', `/v1/orders/${learned}/ready`, app.token('store', 'store-1'), {});
  t.equal(app.app.prepTimes.current().samplesOf('store-1'), 9, 'a second ready (a correction) is not a second sample');
});

t.test('DISPATCH_POLICY readySpareQuantile=0: a courier who is idle anyway is sent at once to food not ready yet', async (t) => {
  // The same situation twice — a store whose orders are ready ~10 min after placement, two free couriers
  // near it, one new order — once with the defaults, once with the operator's override: the defaults send
  // a courier only around the likely ready time; the override sends one at once, because the other free
  // courier covers whatever comes next (src/dispatch/spare-couriers.ts).
  const firstRound = async (env: Record<string, string>) => {
    const ctx = await createTestContext(t, { STALE_AFTER_MS: '7200000', WEBHOOK_SENDER: 'off', OFFER_TTL_MS: '30000', PREP_MIN_SAMPLES: '5', ...env });
    const clock = new ManualClock(Date.now());
    const app = await buildTestApp(ctx, { clock });
    const c = city(app, clock, { lat: 48.137, lng: 11.575 }, t.teardown.bind(t));
    const elsewhere = offset(c.centre, 0, 200_000);
    for (const [i, prep] of [10, 11, 9, 10, 12, 10, 9, 11].entries()) {
      const placedAt = clock.now() - (i + 1) * DAY;
      const id = await c.order(`hist-${i}`, { placedAt, pickup: { ...elsewhere, address: 'Elsewhere' } }, 'store-1');
      t.equal((await http(app.baseUrl, 'POST', `/v1/orders/${id}/ready`, app.token('store', 'store-1'), { readyAt: placedAt + prep * MIN })).status, 200);
    }
    await app.app.prepTimes.refresh();
    await c.courier('p-one', 300, 0);
    await c.courier('p-two', 400, 0);
    const id = await c.order('new-1', {}, 'store-1');
    await app.app.dispatcher.runRound(c.zone);
    const res = await http(app.baseUrl, 'GET', `/v1/orders/${id}/dispatch`, app.token('dispatcher', 'd1'));
    return (res.body.decisions as DispatchDecision[])[0]!;
  };
  t.match(await firstRound({}), { decision: 'waiting', reason: 'not_ready_soon_enough', ready: { source: 'learned' } }, 'defaults: not sent yet');
  t.match(await firstRound({ DISPATCH_POLICY: 'readySpareQuantile=0' }), { decision: 'assigned', ready: { source: 'learned' } }, 'override: sent at once');
});

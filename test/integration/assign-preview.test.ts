/**
 * GET /v1/orders/:id/assign-preview on a real app: the dispatcher's courier next to the optimizer's pick,
 * priced by the optimizer's own model on the live snapshot (the pick and its ETAs equal what planRound
 * plans for the same snapshot), and the refusals.
 */
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { planRound } from '../../src/dispatch/plan-round.js';
import { dispatcherWiring } from '../../src/runtime/dispatch-loop.js';
import { buildTestApp, createTestContext } from '../support/index.js';
import { city } from './dispatch-helpers.js';
import { http } from './orders-helpers.js';

t.test('assign preview', async (t) => {
  const ctx = await createTestContext(t, { STALE_AFTER_MS: '600000', WEBHOOK_SENDER: 'off' });
  const clock = new ManualClock(Date.now());
  const app = await buildTestApp(ctx, { clock });
  const dispatcher = app.token('dispatcher', 'd1');
  const preview = (id: string, query: string, token = dispatcher) => http(app.baseUrl, 'GET', `/v1/orders/${id}/assign-preview${query}`, token);

  const c = city(app, clock, { lat: 50.11, lng: 8.68 }, t.teardown.bind(t));
  await c.courier('pv-near', 300, 0);
  await c.courier('pv-far', 0, 4000);
  const id = await c.order('pv-1');

  const { ports, options } = dispatcherWiring(app.app);
  const plan = planRound((await ports.roundInput(c.zone, clock.now())).snapshot, options.policy);
  const [a] = plan.assignments;
  t.equal(a.courierId, 'pv-near', 'the optimizer would take the near courier');

  const res = await preview(id, '?courierId=pv-far');
  t.equal(res.status, 200);
  const { chosen, optimizer, delta } = res.body;
  t.match(optimizer, { courierId: 'pv-near', etaPickupAt: a.stops[0].serviceAt * 1000, etaDropoffAt: a.stops[1].serviceAt * 1000 });
  t.equal(optimizer.cost.total, a.cost.total, "the optimizer's own cost");
  t.equal(chosen.courierId, 'pv-far');
  t.ok(chosen.etaPickupAt > optimizer.etaPickupAt, 'the far courier is at the pickup later');
  t.same(delta, { etaDropoffMs: chosen.etaDropoffAt - optimizer.etaDropoffAt, cost: chosen.cost.total - optimizer.cost.total });
  t.ok(delta.etaDropoffMs > 0 && delta.cost > 0, 'the override delivers later and costs more');

  const same = (await preview(id, '?courierId=pv-near')).body;
  t.same(same.delta, { etaDropoffMs: 0, cost: 0 }, "choosing the optimizer's courier changes nothing");

  t.match(await preview(id, '?courierId=nobody'), { status: 404, body: { code: 'courier_not_found' } });
  t.match(await preview(id, ''), { status: 400, body: { code: 'validation_failed' } });
  t.match(await preview('11111111-1111-4111-8111-111111111111', '?courierId=pv-near'), { status: 404, body: { code: 'order_not_found' } });
  t.match(await preview(id, '?courierId=pv-near', app.token('store', 'store-1')), { status: 403 });
  t.match(await preview(id, '?courierId=pv-near', app.token('courier', 'pv-near')), { status: 403 });
  t.equal((await http(app.baseUrl, 'POST', `/v1/orders/${id}/cancel`, dispatcher, {})).status, 200);
  t.match(await preview(id, '?courierId=pv-near'), { status: 409, body: { code: 'order_not_assignable' } });
});

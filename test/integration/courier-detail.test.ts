/**
 * GET /v1/couriers/:id and /nearby speak the one status vocabulary (offline|paused|free|busy), and the
 * detail has the courier's load, shift end, last seen and planned stops with ETAs.
 */
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { buildTestApp, createTestContext } from '../support/index.js';
import { city } from './dispatch-helpers.js';
import { http } from './orders-helpers.js';

t.test('courier detail', async (t) => {
  const ctx = await createTestContext(t, { STALE_AFTER_MS: '60000', WEBHOOK_SENDER: 'off' });
  const clock = new ManualClock(Date.now());
  const app = await buildTestApp(ctx, { clock });
  const dispatcher = app.token('dispatcher', 'd1');
  const detail = async (id: string) => (await http(app.baseUrl, 'GET', `/v1/couriers/${id}`, dispatcher)).body;
  const c = city(app, clock, { lat: 45.46, lng: 9.19 }, t.teardown.bind(t));

  const ws = await c.courier('cd-1', 500, 0);
  const seenAt = clock.now();
  await c.courier('cd-2', 800, 0);
  t.match(await detail('cd-1'), { courierId: 'cd-1', status: 'free', load: 0, shiftEndsAt: null, lastSeenAt: seenAt, stops: [], paused: false, stale: false });

  const endsAt = clock.now() + 4 * 3_600_000;
  ws.send({ type: 'shift', endsAt });
  await ws.nextOf('shift.ack');
  const id = await c.order('cd-o1');
  t.equal((await http(app.baseUrl, 'POST', `/v1/orders/${id}/assign`, dispatcher, { courierId: 'cd-1' })).status, 200);
  const busy = await detail('cd-1');
  t.match(busy, { status: 'busy', load: 1, shiftEndsAt: endsAt });
  t.same(busy.stops.map((s: { orderId: string; kind: string }) => [s.orderId, s.kind]), [[id, 'pickup'], [id, 'dropoff']], 'its planned route');
  t.match(busy.stops[0], { lat: c.centre.lat, lng: c.centre.lng });
  t.ok(busy.stops[0].eta > clock.now() && busy.stops[1].eta > busy.stops[0].eta, 'ETAs in epoch ms, in sequence');

  const near = (await http(app.baseUrl, 'GET', `/v1/couriers/nearby?lat=${c.centre.lat}&lng=${c.centre.lng}&radius_m=2000`, dispatcher)).body;
  t.same(near.couriers.map((x: { courierId: string; status: string }) => [x.courierId, x.status]), [['cd-1', 'busy'], ['cd-2', 'free']]);

  t.equal((await http(app.baseUrl, 'POST', '/v1/couriers/cd-2/pause', dispatcher, {})).status, 200);
  t.equal((await detail('cd-2')).status, 'paused');
  clock.advance(61_000);
  t.match(await detail('cd-2'), { status: 'offline', stale: true }, 'no fresh position: offline, even when paused');
});

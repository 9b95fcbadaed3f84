/**
 * Customer tracking and geofence arrival on real sockets: scoped, expiring tokens; the grace period
 * after delivery; position fan-out across two nodes through Redis pub/sub; automatic arrival from a
 * jittery track.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { createTestContext, buildTestApp } from '../support/index.js';
import { http, orderBody, PICKUP, WsClient, until, type Frame } from './orders-helpers.js';

const M_PER_DEG_LAT = 111_320;

async function assignedOrder(app: FastifyInstance, baseUrl: string, storeToken: string, ext: string, courierId: string) {
  const id = (await http(baseUrl, 'POST', '/v1/orders', storeToken, orderBody(ext))).body.id as string;
  const offer = await app.orders.offers.offer(courierId, [id], { role: 'dispatcher', id: 'd1' });
  await app.orders.offers.accept(courierId, offer.offerId);
  return id;
}

async function trackingUrl(baseUrl: string, storeToken: string, id: string): Promise<string> {
  const res = await http(baseUrl, 'POST', `/v1/orders/${id}/tracking-link`, storeToken);
  return res.body.url as string;
}

t.test('tracking tokens: scoped to one order, expiring, ending a grace period after delivery', async (t) => {
  const ctx = await createTestContext(t, { TRACKING_GRACE_MS: '2000', WEBHOOK_SENDER: 'off' });
  const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  const a = await assignedOrder(app, baseUrl, store, 'trk-a', 'c1');
  const b = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('trk-b'))).body.id as string;
  const urlA = await trackingUrl(baseUrl, store, a);

  const foreign = await WsClient.connect(`${wsUrl}${urlA.replace(a, b)}`);
  t.match(await foreign.closed, { code: 1008, reason: 'forbidden' }, "a token for order A does not open order B");
  t.same(foreign.frames, [], 'and nothing was sent');

  const wrongRole = await WsClient.connect(`${wsUrl}/v1/track/${a}`, token('store', 's1'));
  t.equal((await wrongRole.closed).code, 1008, 'a store token is not a tracking token');

  const noClaim = await WsClient.connect(`${wsUrl}/v1/track/${a}?token=${token('customer', 'someone')}`);
  t.equal((await noClaim.closed).code, 1008, 'a customer token without the order claim is refused');

  t.equal((await http(baseUrl, 'POST', `/v1/orders/${a}/tracking-link`, token('store', 's2'))).status, 404, 'only the owning store gets links');

  const dispatcher = token('dispatcher', 'd1');
  for (const bad of ['not-a-uuid', '1', "x'%3B--", `${a}0`]) {
    const ws = await WsClient.connect(`${wsUrl}/v1/track/${bad}`, dispatcher);
    t.match(await ws.closed, { code: 1008, reason: 'order_not_found' }, `a malformed order id (${bad}) is not found, not an internal error`);
  }
  const forged = app.jwt.sign({ sub: 'order:x', role: 'customer', order: 'not-a-uuid' }, { expiresIn: '1h' });
  const malformed = await WsClient.connect(`${wsUrl}/v1/track/not-a-uuid?token=${forged}`);
  t.match(await malformed.closed, { code: 1008, reason: 'order_not_found' }, 'also with a token claiming that id');
  const unknown = await WsClient.connect(`${wsUrl}/v1/track/00000000-0000-4000-8000-000000000000`, dispatcher);
  t.match(await unknown.closed, { code: 1008, reason: 'order_not_found' }, 'an unknown order is not found');

  const shortLived = app.jwt.sign({ sub: `order:${a}`, role: 'customer', order: a }, { expiresIn: '1s' });
  await new Promise((r) => setTimeout(r, 2100));
  const expired = await WsClient.connect(`${wsUrl}/v1/track/${a}?token=${shortLived}`);
  t.match(await expired.closed, { code: 1008 }, 'an expired token is refused');
  t.same(expired.frames, []);

  const watching = await WsClient.connect(`${wsUrl}${urlA}`);
  t.match(await watching.nextOf('snapshot'), { orderId: a, status: 'assigned' });
  for (const s of ['arrived_pickup', 'picked_up', 'arrived_dropoff', 'delivered'] as const) await app.orders.tasks.status('c1', a, s);
  await watching.nextOf('order.status', (f) => f.status === 'delivered');
  const late = await WsClient.connect(`${wsUrl}${urlA}`);
  t.match(await late.nextOf('snapshot'), { status: 'delivered' }, 'still works within the grace period');
  t.match(await watching.closed, { code: 1008, reason: 'tracking_expired' }, 'open sockets close when the grace ends');
  await late.closed;
  const after = await WsClient.connect(`${wsUrl}${urlA}`);
  t.match(await after.closed, { code: 1008, reason: 'tracking_expired' }, 'and the token stops working');
});

t.test('position fan-out crosses nodes through Redis pub/sub', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off' });
  const nodeA = await buildTestApp(ctx);
  const nodeB = await buildTestApp(ctx);
  const store = nodeA.token('store', 's1');
  const id = await assignedOrder(nodeA.app, nodeA.baseUrl, store, 'x-node', 'c9');
  const courier = await WsClient.connect(`${nodeA.wsUrl}/v1/courier`, nodeA.token('courier', 'c9'));
  t.teardown(() => courier.close());
  await courier.nextOf('task', (f) => (f.orders as unknown[]).length === 1);
  const customer = await WsClient.connect(`${nodeB.wsUrl}${await trackingUrl(nodeA.baseUrl, store, id)}`);
  t.teardown(() => customer.close());
  await customer.nextOf('snapshot');

  courier.send({ type: 'loc', seq: 1, ts: Date.now() - 1000, lat: PICKUP.lat - 0.003, lng: PICKUP.lng, acc: 5 });
  const p = await customer.nextOf('position');
  t.match(p, { orderId: id, status: 'assigned', coarse: true });
  t.ok((p.eta as number) > Date.now());

  // a dispatcher cancel on node B reaches the courier's socket on node A
  await http(nodeB.baseUrl, 'POST', `/v1/orders/${id}/cancel`, nodeB.token('dispatcher', 'd1'), { reason: 'x' });
  await courier.nextOf('task.changed', (f) => f.orderId === id && f.status === 'cancelled');
  await customer.nextOf('order.status', (f) => f.status === 'cancelled');
});

t.test('geofence: a jittery track arrives exactly once, only after the dwell, never from the band alone', async (t) => {
  const ctx = await createTestContext(t, {
    GEOFENCE_RADIUS_M: '50',
    GEOFENCE_EXIT_RADIUS_M: '80',
    GEOFENCE_DWELL_MS: '20000',
    GEOFENCE_MAX_ACCURACY_M: '30',
    WEBHOOK_SENDER: 'off',
  });
  const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  const id = await assignedOrder(app, baseUrl, store, 'geo-1', 'cg');
  const courier = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'cg'));
  t.teardown(() => courier.close());
  await courier.nextOf('task', (f) => (f.orders as unknown[]).length === 1);

  let seq = 0;
  const t0 = Date.now() - 600_000;
  const fix = async (northM: number, acc = 5) => {
    seq++;
    courier.send({ type: 'loc', seq, ts: t0 + seq * 2000, lat: PICKUP.lat + northM / M_PER_DEG_LAT, lng: PICKUP.lng, acc });
    const ack = await courier.nextOf('ack');
    t.same(ack.rejected, [], `fix ${seq} accepted`);
  };
  const arrivals = async () =>
    ((await http(baseUrl, 'GET', `/v1/orders/${id}/events`, store)).body.events as Frame[]).filter((e) => e.type === 'arrived_pickup');

  // one minute flickering between the hysteresis band and outside: never inside, never arrives
  for (let i = 0; i < 30; i++) await fix(i % 2 === 0 ? 65 + (i % 5) : 120);
  // inaccurate fixes right at the door do not count either
  for (let i = 0; i < 15; i++) await fix(0, 45);
  await new Promise((r) => setTimeout(r, 200));
  t.same(await arrivals(), [], 'no arrival from band, outside or inaccurate fixes');

  // now flickering across the radius edge (40 m inside ↔ 65 m band) every 2 s
  for (let i = 0; i < 10; i++) await fix(i % 2 === 0 ? 40 : 65); // 18 s of dwell: not yet
  await new Promise((r) => setTimeout(r, 200));
  t.same(await arrivals(), [], 'not before the dwell time');
  for (let i = 0; i < 6; i++) await fix(i % 2 === 0 ? 40 : 65);
  await until(async () => (await arrivals()).length === 1, 3000, 'automatic arrival');
  await new Promise((r) => setTimeout(r, 200));
  const [arrival] = await arrivals();
  t.equal((await arrivals()).length, 1, 'exactly once, no flapping');
  // phase 2 began with fix 46 (inside); the dwell completes 20 s of device time later, at fix 56
  t.match(arrival, { actor: { role: 'courier', id: 'cg' }, data: { auto: true, fixTs: t0 + 56 * 2000 } }, 'triggered by exactly the fix that completed the dwell');
  const task = await courier.nextOf('task', (f) => (f.orders as Frame[])[0]?.status === 'at_pickup');
  t.equal((task.stops as Frame[])[0]!.arrived, true);
});

t.test('geofence: automatic arrival at the drop-off after pickup (and none while still assigned)', async (t) => {
  const ctx = await createTestContext(t, {
    GEOFENCE_RADIUS_M: '50',
    GEOFENCE_EXIT_RADIUS_M: '80',
    GEOFENCE_DWELL_MS: '10000',
    GEOFENCE_MAX_ACCURACY_M: '30',
    WEBHOOK_SENDER: 'off',
  });
  const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  const id = await assignedOrder(app, baseUrl, store, 'geo-drop', 'cd');
  const courier = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'cd'));
  t.teardown(() => courier.close());
  await courier.nextOf('task', (f) => (f.orders as unknown[]).length === 1);
  const customer = await WsClient.connect(`${wsUrl}${await trackingUrl(baseUrl, store, id)}`);
  t.teardown(() => customer.close());
  await customer.nextOf('snapshot');

  const { dropoff } = (await app.orders.repo.get(id))!;
  let seq = 0;
  const t0 = Date.now() - 600_000;
  const fix = async (northM: number) => {
    seq++;
    courier.send({ type: 'loc', seq, ts: t0 + seq * 2000, lat: dropoff.lat + northM / M_PER_DEG_LAT, lng: dropoff.lng, acc: 5 });
    t.same((await courier.nextOf('ack')).rejected, [], `fix ${seq} accepted`);
  };
  const types = async () => ((await http(baseUrl, 'GET', `/v1/orders/${id}/events`, store)).body.events as Frame[]).map((e) => e.type);

  // waiting at the drop-off before pickup is not an arrival there (nor at the pickup, ~1.5 km away)
  for (let i = 0; i < 8; i++) await fix(10);
  await new Promise((r) => setTimeout(r, 200));
  t.notOk((await types()).some((e) => e.startsWith('arrived')), 'no arrival while the order is still assigned');

  for (const s of ['arrived_pickup', 'picked_up']) {
    courier.send({ type: 'status', orderId: id, status: s });
    await courier.nextOf('status.ack', (f) => f.orderId === id);
  }
  for (let i = 0; i < 5; i++) await fix(30); // 8 s of dwell: not yet
  await new Promise((r) => setTimeout(r, 200));
  t.notOk((await types()).includes('arrived_dropoff'), 'not before the dwell');
  for (let i = 0; i < 3; i++) await fix(i % 2 === 0 ? 20 : 65); // across the edge, inside the band: the dwell goes on
  await until(async () => (await types()).includes('arrived_dropoff'), 3000, 'automatic drop-off arrival');
  const events = (await http(baseUrl, 'GET', `/v1/orders/${id}/events`, store)).body.events as Frame[];
  t.match(events.at(-1), { type: 'arrived_dropoff', actor: { role: 'courier', id: 'cd' }, data: { auto: true } });
  t.equal(events.filter((e) => e.type === 'arrived_dropoff').length, 1, 'exactly once');
  await customer.nextOf('order.status', (f) => f.status === 'at_dropoff');
  const task = await courier.nextOf('task', (f) => (f.orders as Frame[])[0]?.status === 'at_dropoff');
  t.match(task.stops, [{ kind: 'dropoff', arrived: true }]);
  courier.send({ type: 'status', orderId: id, status: 'delivered' });
  t.match(await courier.nextOf('status.ack'), { status: 'delivered' }, 'and the courier hands it over');
});

t.test('tracking positions keep the order of the courier points, also while an arrival write is in flight', async (t) => {
  const ctx = await createTestContext(t, { GEOFENCE_RADIUS_M: '50', GEOFENCE_DWELL_MS: '0', WEBHOOK_SENDER: 'off' });
  const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  const courier = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'co'));
  t.teardown(() => courier.close());
  await courier.nextOf('task');
  let seq = 0;
  const t0 = Date.now() - 600_000;
  const send = (lat: number, lng: number) => courier.send({ type: 'loc', seq: ++seq, ts: t0 + seq * 2000, lat, lng, acc: 5 });

  const rounds = 5;
  for (let round = 0; round < rounds; round++) {
    const id = await assignedOrder(app, baseUrl, store, `order-${round}`, 'co');
    for (const s of ['arrived_pickup', 'picked_up']) {
      courier.send({ type: 'status', orderId: id, status: s });
      await courier.nextOf('status.ack', (f) => f.orderId === id && f.status === (s === 'picked_up' ? 'picked_up' : 'at_pickup'));
    }
    const { dropoff } = (await app.orders.repo.get(id))!;
    const customer = await WsClient.connect(`${wsUrl}${await trackingUrl(baseUrl, store, id)}`);
    t.teardown(() => customer.close());
    await customer.nextOf('snapshot');

    // A completes the dwell at the drop-off (an arrival written to Postgres); B..E follow at once,
    // each its own write (awaiting its ack), so each is a position of its own
    const lats = [0, 1, 2, 3, 4].map((i) => dropoff.lat + (10 + i) / M_PER_DEG_LAT);
    send(lats[0]!, dropoff.lng);
    await courier.nextOf('ack');
    for (const lat of lats.slice(1)) {
      send(lat, dropoff.lng);
      await courier.nextOf('ack');
    }
    for (let i = 0; i < lats.length; i++) await customer.nextOf('position');
    const got = customer.frames.filter((f) => f.type === 'position').map((f) => f.lat);
    t.same(got, lats, `round ${round}: positions in the order the courier sent them`);
    await until(async () => (await app.orders.repo.get(id))!.status === 'at_dropoff', 3000, 'arrived');
    courier.send({ type: 'status', orderId: id, status: 'delivered' });
    await courier.nextOf('status.ack', (f) => f.orderId === id && f.status === 'delivered');
  }
});

/**
 * The happy path on real sockets, Redis, Postgres and a loopback webhook receiver: a store places an
 * order over its socket, a dispatcher offers it, the courier accepts and works it to delivered, the
 * customer watches — every event, webhook and tracking frame checked.
 */
import t from 'tap';
import { createTestContext, buildTestApp } from '../support/index.js';
import { verifySignature } from '../../src/runtime/webhook-sender.js';
import { http, orderBody, PICKUP, DROPOFF, WsClient, webhookReceiver, until, type Frame } from './orders-helpers.js';

const SECRET = 'store-s1-webhook-secret';

t.test('placed → delivered: events, webhooks, courier frames and tracking frames', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '20', GEOFENCE_DWELL_MS: '600000' });
  const { baseUrl, wsUrl, token } = await buildTestApp(ctx);
  const hooks = await webhookReceiver();
  t.teardown(hooks.close);

  const storeToken = token('store', 's1');
  const reg = await http(baseUrl, 'PUT', '/v1/stores/s1/webhook', storeToken, { url: hooks.url, secret: SECRET });
  t.equal(reg.status, 200);
  t.equal(reg.body.url, hooks.url);
  t.notOk('secret' in reg.body, 'the secret is never echoed');
  t.equal((await http(baseUrl, 'PUT', '/v1/stores/s2/webhook', storeToken, { url: hooks.url, secret: SECRET })).status, 403);

  const store = await WsClient.connect(`${wsUrl}/v1/store`, storeToken);
  const courier = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'c1'));
  t.teardown(() => {
    store.close();
    courier.close();
  });
  t.same((await courier.nextOf('task')).orders, [], 'a fresh courier has no work');

  // courier is ~1 km from the pickup
  // device time starts 10 min back and moves 1 min per fix, so the implied speeds stay plausible
  let seq = 0;
  const t0 = Date.now() - 600_000;
  const loc = (lat: number, lng: number) => courier.send({ type: 'loc', seq: ++seq, ts: t0 + seq * 60_000, lat, lng, acc: 5 });
  loc(PICKUP.lat - 0.009, PICKUP.lng);
  await courier.nextOf('ack');

  store.send({ type: 'order.placed', ref: 'p', order: orderBody('happy-1', { pin: '4321', readyAt: Date.now() + 60_000 }) });
  const placed = await store.nextOf('ack', (f) => f.ref === 'p');
  const orderId = placed.orderId as string;
  store.send({ type: 'order.ready', ref: 'r', orderId });
  await store.nextOf('ack', (f) => f.ref === 'r');

  const link = await http(baseUrl, 'POST', `/v1/orders/${orderId}/tracking-link`, storeToken);
  t.equal(link.status, 201);
  t.match(link.body.url, new RegExp(`/v1/track/${orderId}\\?token=`));
  const customer = await WsClient.connect(`${wsUrl}${link.body.url}`);
  t.teardown(() => customer.close());
  const snap = await customer.nextOf('snapshot');
  t.match(snap, { orderId, status: 'ready', version: 2, position: null, eta: null });

  const offerRes = await http(baseUrl, 'POST', `/v1/orders/${orderId}/offer`, token('dispatcher', 'd1'), { courierId: 'c1' });
  t.equal(offerRes.status, 201);
  const offer = await courier.nextOf('offer');
  t.equal(offer.offerId, offerRes.body.offerId);
  t.same(offer.orderIds, [orderId]);
  t.match(offer.orders, [{ id: orderId, status: 'offered', items: 2, pickup: PICKUP, dropoff: DROPOFF, pinRequired: true }], 'the orders themselves');
  t.notOk('pin' in (offer.orders as Frame[])[0]!, 'without the PIN');
  t.equal((offer.orders as Frame[])[0]!.promisedBy, placed.promisedBy, 'with the promised time');
  t.equal(typeof (offer.orders as Frame[])[0]!.readyAt, 'number', 'and the ready estimate');
  const stops = offer.stops as { kind: string; eta: number; lat: number }[];
  t.same(stops.map((s) => s.kind), ['pickup', 'dropoff'], 'ordered stops');
  t.ok(stops[0]!.eta > Date.now() && stops[1]!.eta > stops[0]!.eta, 'ETAs along the route');
  t.ok((offer.expiresAt as number) > Date.now(), 'an expiry in the future');

  courier.send({ type: 'offer.accept', offerId: offer.offerId });
  t.same((await courier.nextOf('offer.accepted')).orderIds, [orderId]);
  const task = await courier.nextOf('task', (f) => (f.orders as unknown[]).length === 1);
  t.match((task.orders as Frame[])[0], { id: orderId, status: 'assigned', pinRequired: true });
  t.notOk('pin' in (task.orders as Frame[])[0]!, 'the PIN is not sent to the courier');

  // before pickup the customer sees a coarse position with an ETA
  loc(PICKUP.lat - 0.004, PICKUP.lng);
  const coarse = await customer.nextOf('position');
  t.equal(coarse.coarse, true);
  t.not(coarse.lat, PICKUP.lat - 0.004, 'not the exact position');
  t.ok(Math.abs((coarse.lat as number) - (PICKUP.lat - 0.004)) < 0.01, 'but near it (cell centre)');
  t.ok((coarse.eta as number) > Date.now(), 'with an ETA');

  const status = async (s: string, extra: Record<string, unknown> = {}) => {
    courier.send({ type: 'status', orderId, status: s, ...extra });
    return courier.next((f) => (f.type === 'status.ack' && f.orderId === orderId) || f.type === 'error');
  };
  t.equal((await status('picked_up')).code, 'illegal_transition', 'cannot pick up before arriving');
  t.match(await status('arrived_pickup'), { type: 'status.ack', status: 'at_pickup' });
  t.match(await status('picked_up'), { type: 'status.ack', status: 'picked_up' });

  loc(DROPOFF.lat - 0.001, DROPOFF.lng);
  const exact = await customer.nextOf('position', (f) => f.status === 'picked_up');
  t.equal(exact.coarse, false);
  t.equal(exact.lat, DROPOFF.lat - 0.001, 'exact position after pickup');
  t.ok((exact.eta as number) > Date.now());

  t.match(await status('arrived_dropoff'), { status: 'at_dropoff' });
  t.match(await status('delivered'), { type: 'error', code: 'pin_required' }, 'the PIN cannot be skipped');
  t.match(await status('delivered', { proof: { photoRef: 'proof/x.jpg' } }), { code: 'pin_required' }, 'a photo does not replace it');
  t.equal((await status('delivered', { proof: { pin: '0000' } })).code, 'pin_mismatch');
  t.match(await status('delivered', { proof: { pin: '4321', photoRef: 'proof/abc.jpg' } }), { status: 'delivered', version: 8 });

  const expected = ['placed', 'ready', 'offered', 'accepted', 'arrived_pickup', 'picked_up', 'arrived_dropoff', 'delivered'];
  const events = (await http(baseUrl, 'GET', `/v1/orders/${orderId}/events`, storeToken)).body.events as Frame[];
  t.same(events.map((e) => e.type), expected);
  t.same(events.map((e) => e.version), [1, 2, 3, 4, 5, 6, 7, 8]);
  t.match(events[7], { actor: { role: 'courier', id: 'c1' }, data: { pinChecked: true, photoRef: 'proof/abc.jpg' } });
  t.match(events[2], { actor: { role: 'dispatcher', id: 'd1' }, data: { courierId: 'c1', offerId: offer.offerId } });

  // the store heard every change after it connected
  await store.nextOf('order.status', (f) => f.status === 'delivered');
  t.same(
    store.frames.filter((f) => f.type === 'order.status').map((f) => f.version),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  // the customer heard every change after the snapshot
  await customer.nextOf('order.status', (f) => f.status === 'delivered');
  t.same(
    customer.frames.filter((f) => f.type === 'order.status').map((f) => f.event),
    expected.slice(2),
  );

  // every event reached the webhook, in version order, signed
  await until(() => hooks.received.length >= 8, 10_000, 'all webhooks');
  t.same(hooks.received.map((r) => r.body.version), [1, 2, 3, 4, 5, 6, 7, 8]);
  t.same(hooks.received.map((r) => r.body.type), expected);
  t.same(hooks.received.map((r) => r.body.eventId), events.map((e) => e.eventId), 'event ids match the history');
  for (const r of hooks.received) {
    t.ok(verifySignature(SECRET, r.headers['x-dispatchd-signature'] as string, r.raw), `signature of v${r.body.version}`);
    t.equal(r.headers['x-dispatchd-event-id'], r.body.eventId);
    t.equal(r.headers['x-dispatchd-order-version'], String(r.body.version));
  }
  t.notOk(verifySignature('wrong-secret-wrong-secret', hooks.received[0]!.headers['x-dispatchd-signature'] as string, hooks.received[0]!.raw));
  t.equal(hooks.received[7]!.body.order.status, 'delivered');
  t.notOk('pin' in hooks.received[7]!.body.order, 'no PIN in webhooks');

  // the courier is free again
  const after = await courier.nextOf('task', (f) => (f.orders as unknown[]).length === 0);
  t.same(after.stops, []);
});

t.test('cancel after pickup becomes a return (HTTP and store socket): the courier is told, brings it back, reports returned', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', GEOFENCE_DWELL_MS: '600000' });
  const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx);
  const storeToken = token('store', 's1');
  const store = await WsClient.connect(`${wsUrl}/v1/store`, storeToken);
  const courier = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'cr'));
  t.teardown(() => {
    store.close();
    courier.close();
  });
  await courier.nextOf('task');
  const pickedUp = async (ext: string) => {
    const id = (await http(baseUrl, 'POST', '/v1/orders', storeToken, orderBody(ext))).body.id as string;
    const offer = await app.orders.offers.offer('cr', [id], { role: 'dispatcher', id: 'd1' });
    await app.orders.offers.accept('cr', offer.offerId);
    await app.orders.tasks.status('cr', id, 'arrived_pickup');
    await app.orders.tasks.status('cr', id, 'picked_up');
    return id;
  };
  const status = async (orderId: string, s: string) => {
    courier.send({ type: 'status', orderId, status: s });
    return courier.next((f) => (f.type === 'status.ack' && f.orderId === orderId) || f.type === 'error');
  };

  // over HTTP, by the store
  const a = await pickedUp('ret-http');
  const link = await http(baseUrl, 'POST', `/v1/orders/${a}/tracking-link`, storeToken);
  const customer = await WsClient.connect(`${wsUrl}${link.body.url}`);
  t.teardown(() => customer.close());
  await customer.nextOf('snapshot');
  const cancelled = await http(baseUrl, 'POST', `/v1/orders/${a}/cancel`, storeToken, { reason: 'customer changed mind' });
  t.match(cancelled, { status: 200, body: { status: 'returning', reason: 'customer changed mind' } }, 'not a silent cancel: a return');
  t.match(await courier.nextOf('task.changed', (f) => f.orderId === a), { status: 'returning', event: 'return_started', reason: 'customer changed mind' });
  const task = await courier.nextOf('task', (f) => (f.orders as Frame[]).some((o) => o.id === a && o.status === 'returning'));
  t.match(task.stops, [{ kind: 'pickup', orderIds: [a], place: { lat: PICKUP.lat, lng: PICKUP.lng } }], 'the only stop left is back at the store');
  t.equal((await status(a, 'delivered')).code, 'illegal_transition', 'a returning order cannot be delivered');
  t.match(await status(a, 'returned'), { type: 'status.ack', status: 'returned' });
  await store.nextOf('order.status', (f) => f.orderId === a && f.status === 'returned');
  t.match(await customer.nextOf('order.status', (f) => f.status === 'returned'), { event: 'returned', version: 7 });
  const events = ((await http(baseUrl, 'GET', `/v1/orders/${a}/events`, storeToken)).body.events as Frame[]).slice(-2);
  t.match(events, [
    { type: 'return_started', actor: { role: 'store', id: 's1' }, data: { reason: 'customer changed mind', previousStatus: 'picked_up', courierId: 'cr' } },
    { type: 'returned', actor: { role: 'courier', id: 'cr' } },
  ]);
  t.same((await ctx.db.query('SELECT end_status FROM assignments WHERE order_id = $1', [a])).rows, [{ end_status: 'returned' }], 'the assignment ends on return');
  await courier.nextOf('task', (f) => (f.orders as unknown[]).length === 0);

  // over the store socket, after arrival at the drop-off
  const b = await pickedUp('ret-ws');
  t.match(await status(b, 'arrived_dropoff'), { status: 'at_dropoff' });
  store.send({ type: 'order.cancelled', ref: 'rb', externalId: 'ret-ws', reason: 'wrong address' });
  t.match(await store.nextOf('ack', (f) => f.ref === 'rb'), { orderId: b, status: 'returning' });
  await courier.nextOf('task.changed', (f) => f.orderId === b && f.status === 'returning');
  store.send({ type: 'order.cancelled', ref: 'rb2', orderId: b });
  t.equal((await store.nextOf('error', (f) => f.ref === 'rb2')).code, 'illegal_transition', 'a return cannot be cancelled again');
  t.match(await status(b, 'returned'), { status: 'returned' });
  t.equal((await app.orders.repo.get(b))!.status, 'returned');
});

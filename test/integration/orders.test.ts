import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { createTestContext, buildTestApp } from '../support/index.js';
import { http, orderBody, WsClient, PICKUP } from './orders-helpers.js';

const SERVICE_AREA = '52.3,13.0,52.7,13.8';

t.test('HTTP: place, idempotent replay (200), conflicting body (409), validation names the field, service area', async (t) => {
  const ctx = await createTestContext(t, { SERVICE_AREA, PROMISE_EXPRESS_MIN: '30' });
  const { baseUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');

  const first = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ext-1'));
  t.equal(first.status, 201);
  t.equal(first.body.status, 'placed');
  t.equal(first.body.version, 1);
  t.equal(first.body.promisedBy - first.body.placedAt, 30 * 60_000, 'express promise from config');
  t.equal(first.body.storeId, 's1');

  const replay = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ext-1'));
  t.equal(replay.status, 200, 'same body again → 200');
  t.same(replay.body, first.body, 'the same order');

  const conflict = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ext-1', { items: 3 }));
  t.equal(conflict.status, 409);
  t.equal(conflict.body.code, 'idempotency_conflict');

  const otherStore = await http(baseUrl, 'POST', '/v1/orders', token('store', 's2'), orderBody('ext-1'));
  t.equal(otherStore.status, 201, 'external ids are per store');

  const bad = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ext-2', { pickup: { lat: 95, lng: 13 } }));
  t.equal(bad.status, 400);
  t.equal(bad.body.code, 'validation_failed');
  t.equal(bad.body.details.field, 'pickup.lat');
  const missing = await http(baseUrl, 'POST', '/v1/orders', store, { pickup: PICKUP });
  t.equal(missing.body.code, 'validation_failed');
  t.match(missing.body.details.field, /externalId|dropoff|items|option/);
  const typo = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ext-2', { readyat: 5 }));
  t.equal(typo.status, 400, 'an unknown field is an error, not silently dropped');
  t.equal(typo.body.details.field, 'readyat');
  const text = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ext-2', { items: '2' }));
  t.equal(text.body.details.field, 'items', 'no type coercion of bodies');
  const noWindow = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ext-3', { option: 'scheduled' }));
  t.equal(noWindow.status, 400);
  t.equal(noWindow.body.details.field, 'window');

  const outside = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ext-4', { dropoff: { lat: 48.1, lng: 11.5 } }));
  t.equal(outside.status, 422);
  t.equal(outside.body.code, 'outside_service_area');
  t.equal(outside.body.details.field, 'dropoff');

  const now = Date.now();
  const sched = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ext-5', { option: 'scheduled', window: { from: now + 3600_000, to: now + 7200_000 } }));
  t.equal(sched.status, 201);
  t.equal(sched.body.promisedBy, now + 7200_000, 'scheduled promises the window end');

  const forbidden = await http(baseUrl, 'POST', '/v1/orders', token('courier', 'c1'), orderBody('ext-6'));
  t.equal(forbidden.status, 403);
  t.equal((await http(baseUrl, 'POST', '/v1/orders', undefined, orderBody('ext-6'))).status, 401);
});

t.test('idempotent replays are answered even when the body would not pass today (window passed, service area changed)', async (t) => {
  const ctx = await createTestContext(t, { SERVICE_AREA, WEBHOOK_SENDER: 'off' });
  const clock = new ManualClock(Date.now());
  const { baseUrl, token } = await buildTestApp(ctx, { clock });
  const store = token('store', 's1');
  const t0 = clock.now();
  const body = orderBody('late-replay', { option: 'scheduled', window: { from: t0 + 600_000, to: t0 + 3600_000 } });
  const first = await http(baseUrl, 'POST', '/v1/orders', store, body);
  t.equal(first.status, 201);

  clock.advance(2 * 3600_000);
  const fresh = await http(baseUrl, 'POST', '/v1/orders', store, { ...body, externalId: 'late-new' });
  t.match(fresh, { status: 400, body: { details: { field: 'window.to' } } }, 'a new order with that window is refused now');
  const replay = await http(baseUrl, 'POST', '/v1/orders', store, body);
  t.equal(replay.status, 200, 'the replay of the accepted order still gets 200');
  t.same(replay.body, first.body, 'with the same order');
  const conflict = await http(baseUrl, 'POST', '/v1/orders', store, { ...body, items: 7 });
  t.match(conflict, { status: 409, body: { code: 'idempotency_conflict' } }, 'a different body under that id is still a conflict');

  // the service area shrank (another node's config): the accepted order is still found, new ones are refused
  const moved = await buildTestApp(ctx, { clock, config: { serviceArea: { minLat: 48.0, minLng: 11.0, maxLat: 48.3, maxLng: 11.8 } } });
  const again = await http(moved.baseUrl, 'POST', '/v1/orders', store, body);
  t.equal(again.status, 200);
  t.equal(again.body.id, first.body.id);
  t.match(await http(moved.baseUrl, 'POST', '/v1/orders', store, orderBody('outside-now')), { status: 422, body: { code: 'outside_service_area' } });

  // and over the store socket
  const ws = await WsClient.connect(`${moved.wsUrl}/v1/store`, moved.token('store', 's1'));
  t.teardown(() => ws.close());
  ws.send({ type: 'order.placed', ref: 'r', order: body });
  t.match(await ws.nextOf('ack', (f) => f.ref === 'r'), { orderId: first.body.id, created: false });
});

t.test('HTTP: get, list with cursor, events, cancel, illegal transitions, foreign orders', async (t) => {
  const ctx = await createTestContext(t);
  const { baseUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  const dispatcher = token('dispatcher', 'd1');
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await http(baseUrl, 'POST', '/v1/orders', store, orderBody(`e${i}`))).body.id);

  t.equal((await http(baseUrl, 'GET', `/v1/orders/${ids[0]}`, store)).body.id, ids[0]);
  t.equal((await http(baseUrl, 'GET', `/v1/orders/${ids[0]}`, token('store', 'other'))).status, 404, 'foreign order looks absent');
  t.equal((await http(baseUrl, 'GET', `/v1/orders/not-a-uuid`, store)).body.details.field, 'id');

  const p1 = await http(baseUrl, 'GET', '/v1/orders?limit=2', store);
  t.same(p1.body.orders.map((o: { id: string }) => o.id), [ids[2], ids[1]]);
  const p2 = await http(baseUrl, 'GET', `/v1/orders?limit=2&cursor=${p1.body.nextCursor}`, store);
  t.same(p2.body.orders.map((o: { id: string }) => o.id), [ids[0]]);
  t.equal(p2.body.nextCursor, null);
  t.equal((await http(baseUrl, 'GET', '/v1/orders?store=s9', store)).status, 403);
  t.equal((await http(baseUrl, 'GET', '/v1/orders?status=bogus', dispatcher)).body.details.field, 'status');
  t.equal((await http(baseUrl, 'GET', '/v1/orders?store=s1&status=placed', dispatcher)).body.orders.length, 3);

  const ready = await http(baseUrl, 'POST', `/v1/orders/${ids[0]}/ready`, store, {});
  t.equal(ready.body.status, 'ready');
  const cancelled = await http(baseUrl, 'POST', `/v1/orders/${ids[0]}/cancel`, dispatcher, { reason: 'duplicate' });
  t.equal(cancelled.status, 200);
  t.equal(cancelled.body.status, 'cancelled');
  t.equal(cancelled.body.version, 3);
  const again = await http(baseUrl, 'POST', `/v1/orders/${ids[0]}/cancel`, store, {});
  t.equal(again.status, 409);
  t.equal(again.body.code, 'illegal_transition');
  const readyAfter = await http(baseUrl, 'POST', `/v1/orders/${ids[0]}/ready`, store, {});
  t.equal(readyAfter.body.code, 'illegal_transition');

  const events = await http(baseUrl, 'GET', `/v1/orders/${ids[0]}/events`, store);
  t.same(events.body.events.map((e: { version: number; type: string }) => [e.version, e.type]), [[1, 'placed'], [2, 'ready'], [3, 'cancelled']]);
  t.same(events.body.events[2].actor, { role: 'dispatcher', id: 'd1' });
  t.same(events.body.events[2].data.reason, 'duplicate');
  const after = await http(baseUrl, 'GET', `/v1/orders/${ids[0]}/events?after=2`, store);
  t.same(after.body.events.map((e: { version: number }) => e.version), [3]);

  t.equal((await http(baseUrl, 'POST', `/v1/orders/${ids[1]}/cancel`, token('store', 'other'), {})).status, 404, 'a store cannot cancel a foreign order');
  const badReason = await http(baseUrl, 'POST', `/v1/orders/${ids[2]}/fail`, dispatcher, { reason: 'bored' });
  t.equal(badReason.body.details.field, 'reason');
  t.equal((await http(baseUrl, 'POST', `/v1/orders/${ids[2]}/fail`, store, { reason: 'no_courier' })).status, 403, 'only dispatchers give up on orders');
  const failed = await http(baseUrl, 'POST', `/v1/orders/${ids[2]}/fail`, dispatcher, { reason: 'no_courier', note: 'storm' });
  t.match(failed.body, { status: 'failed', reason: 'no_courier', version: 2 });
  t.equal((await http(baseUrl, 'GET', `/v1/orders/${ids[1]}`, store)).body.status, 'placed', '…and nothing changed');
});

t.test('store socket: placed / ready / cancelled frames with acks, errors, and status pushes', async (t) => {
  const ctx = await createTestContext(t);
  const { wsUrl, token } = await buildTestApp(ctx);
  const ws = await WsClient.connect(`${wsUrl}/v1/store`, token('store', 's1'));
  t.teardown(() => ws.close());

  ws.send({ type: 'order.placed', ref: 'a', order: orderBody('w1') });
  const ack = await ws.nextOf('ack', (f) => f.ref === 'a');
  t.equal(ack.status, 'placed');
  t.equal(ack.created, true);
  t.equal(typeof ack.promisedBy, 'number');
  const orderId = ack.orderId as string;
  await ws.nextOf('order.status', (f) => f.orderId === orderId && f.status === 'placed');

  ws.send({ type: 'order.placed', ref: 'b', order: orderBody('w1') });
  t.equal((await ws.nextOf('ack', (f) => f.ref === 'b')).created, false, 'replay over the socket is idempotent too');
  ws.send({ type: 'order.placed', ref: 'c', order: orderBody('w1', { items: 9 }) });
  t.equal((await ws.nextOf('error', (f) => f.ref === 'c')).code, 'idempotency_conflict');

  ws.send({ type: 'order.ready', ref: 'd', externalId: 'w1' });
  t.equal((await ws.nextOf('ack', (f) => f.ref === 'd')).status, 'ready');
  await ws.nextOf('order.status', (f) => f.orderId === orderId && f.status === 'ready');

  ws.send({ type: 'order.placed', ref: 'e', order: orderBody('w2', { dropoff: { lat: 52.5, lng: 200 } }) });
  const err = await ws.nextOf('error', (f) => f.ref === 'e');
  t.equal(err.code, 'validation_failed');
  t.equal(err.field, 'order.dropoff.lng');
  ws.send('{nope');
  t.equal((await ws.nextOf('error', (f) => f.code === 'bad_json')).ref, null);
  for (const notAnObject of ['null', '42', '"order.placed"', '[{"type":"order.placed"}]']) {
    ws.send(notAnObject);
    t.match(await ws.nextOf('error', (f) => f.code === 'bad_frame'), { ref: null, code: 'bad_frame' }, `${notAnObject} gets an error frame`);
  }
  ws.send({ type: 'order.teleported', ref: 'f' });
  t.equal((await ws.nextOf('error', (f) => f.ref === 'f')).code, 'unknown_type');
  ws.send({ type: 'order.ready', ref: 'g', externalId: 'nope' });
  t.equal((await ws.nextOf('error', (f) => f.ref === 'g')).code, 'order_not_found');

  ws.send({ type: 'order.cancelled', ref: 'h', orderId, reason: 'customer' });
  t.equal((await ws.nextOf('ack', (f) => f.ref === 'h')).status, 'cancelled');
  ws.send({ type: 'order.cancelled', ref: 'i', orderId });
  t.equal((await ws.nextOf('error', (f) => f.ref === 'i')).code, 'illegal_transition');

  const other = await WsClient.connect(`${wsUrl}/v1/store`, token('store', 's2'));
  t.teardown(() => other.close());
  other.send({ type: 'order.cancelled', ref: 'x', orderId });
  t.equal((await other.nextOf('error', (f) => f.ref === 'x')).code, 'order_not_found', 'a store cannot touch a foreign order');
  t.notOk(other.frames.some((f) => f.type === 'order.status'), 'nor hears about it');
});

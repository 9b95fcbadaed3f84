/**
 * Issue 11: an order whose pickup or drop-off is exactly (0,0) — a missing or failed geocode — is refused
 * like a courier point there: `400 invalid_location` naming the field, on HTTP and on the store socket, and
 * nothing is stored. Real HTTP, socket and Postgres.
 */
import t from 'tap';
import { createTestContext, buildTestApp } from '../support/index.js';
import { DROPOFF, http, orderBody, PICKUP, WsClient } from './orders-helpers.js';

t.test('(0,0) pickup or drop-off: 400 invalid_location with the field, HTTP and store socket', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off' });
  const { baseUrl, wsUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  const nullIsland = { lat: 0, lng: 0 };

  const pickup = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ni-1', { pickup: nullIsland }));
  t.equal(pickup.status, 400);
  t.match(pickup.body, { code: 'invalid_location', details: { field: 'pickup' }, message: /pickup is exactly \(0,0\)/ });
  const dropoff = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ni-2', { dropoff: { ...nullIsland, address: 'somewhere' } }));
  t.equal(dropoff.status, 400);
  t.match(dropoff.body, { code: 'invalid_location', details: { field: 'dropoff' } });
  const nearby = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('ni-3', { pickup: { lat: 0, lng: 0.001 }, dropoff: { lat: 0.001, lng: 0 } }));
  t.equal(nearby.status, 201, 'the equator and the meridian themselves are fine');

  const socket = await WsClient.connect(`${wsUrl}/v1/store`, store);
  t.teardown(() => socket.close());
  socket.send({ type: 'order.placed', ref: 'z', order: orderBody('ni-4', { pickup: PICKUP, dropoff: nullIsland }) });
  t.match(await socket.nextOf('error', (f) => f.ref === 'z'), { code: 'invalid_location', field: 'dropoff' });
  socket.send({ type: 'order.placed', ref: 'ok', order: orderBody('ni-5', { pickup: PICKUP, dropoff: DROPOFF }) });
  t.match(await socket.nextOf('ack', (f) => f.ref === 'ok'), { ref: 'ok' }, 'the socket still serves');

  const { rows } = await ctx.db.query("select external_id from orders where external_id like 'ni-%' order by external_id");
  t.same(rows.map((r) => r.external_id), ['ni-3', 'ni-5'], 'refused orders are not stored');
});

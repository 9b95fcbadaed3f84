/**
 * Issue 11: a dispatcher's manual offer applies the same courier preconditions as an assign —
 * never-seen or stale couriers get `409 courier_offline`, paused ones `409 courier_paused` — and
 * nothing changes (the order stays open, nobody lands in declinedBy). Real HTTP, sockets, Redis, Postgres.
 */
import t from 'tap';
import { createTestContext, buildTestApp } from '../support/index.js';
import { http, orderBody, PICKUP, WsClient } from './orders-helpers.js';

t.test('manual offer: courier_offline and courier_paused like assign; an online courier gets it', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', STALE_AFTER_MS: '60000' });
  const { baseUrl, wsUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  const dispatcher = token('dispatcher', 'd1');
  const id = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('manual-1'))).body.id as string;
  const offer = (courierId: string) => http(baseUrl, 'POST', `/v1/orders/${id}/offer`, dispatcher, { courierId });
  const assign = (courierId: string) => http(baseUrl, 'POST', `/v1/orders/${id}/assign`, dispatcher, { courierId });

  const ghost = await offer('never-seen');
  t.equal(ghost.status, 409);
  t.equal(ghost.body.code, 'courier_offline', 'a courier never seen is offline');
  t.equal((await assign('never-seen')).body.code, 'courier_offline', 'the same answer as assign');

  // a stale courier: its last point is older than STALE_AFTER_MS on the server's clock
  const stale = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'stale'));
  t.teardown(() => stale.close());
  await stale.nextOf('task');
  await ctx.redis.hset('loc:courier:stale', 'lat', PICKUP.lat, 'lng', PICKUP.lng, 'ts', 1, 'sts', Date.now() - 120_000, 'cell', 'x', 'seq', 1);
  t.equal((await offer('stale')).body.code, 'courier_offline', 'a stale courier is offline');

  const c = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'on1'));
  t.teardown(() => c.close());
  await c.nextOf('task');
  c.send({ type: 'loc', seq: 1, ts: Date.now(), lat: PICKUP.lat + 0.001, lng: PICKUP.lng, acc: 5 });
  await c.nextOf('ack');
  t.equal((await http(baseUrl, 'POST', '/v1/couriers/on1/pause', dispatcher, {})).status, 200);
  const paused = await offer('on1');
  t.equal(paused.status, 409);
  t.equal(paused.body.code, 'courier_paused');
  t.equal((await assign('on1')).body.code, 'courier_paused', 'the same answer as assign');

  const order = (await http(baseUrl, 'GET', `/v1/orders/${id}`, dispatcher)).body;
  t.equal(order.status, 'placed', 'refused offers changed nothing');
  t.same(order.declinedBy, [], 'no phantom courier in declinedBy');

  t.equal((await http(baseUrl, 'POST', '/v1/couriers/on1/resume', dispatcher, {})).status, 200);
  const made = await offer('on1');
  t.equal(made.status, 201, 'an online, unpaused courier gets the offer');
  t.equal((await c.nextOf('offer')).offerId, made.body.offerId);
});

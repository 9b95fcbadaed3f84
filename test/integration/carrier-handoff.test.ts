/**
 * The hybrid-fleet hand-off end to end, against the carrier simulator running as its own process over
 * real HTTP (`npm run carrier:sim`): hand-off when own couriers are short (the dispatch round calls the
 * fleet policy), signed carrier webhooks, statuses and positions reaching the store socket, the store
 * webhooks and the tracking socket; carrier failure back to own dispatch; a store's cancel passed to the
 * carrier; the dispatcher's force route. Restarts: carrier-restart.test.ts.
 */
import t from 'tap';
import { signature } from '../../src/runtime/webhook-sender.js';
import { carrierEvents, events, LIFECYCLE, order, place, round, SECRET, setup, STORE_SECRET } from './carrier-helpers.js';
import { http, markOnline, until, webhookReceiver, WsClient } from './orders-helpers.js';

t.test('no own courier: the round hands the order to the carrier; statuses and positions reach store socket, webhooks and tracking', async (t) => {
  const s = await setup(t);
  const { baseUrl, wsUrl, token } = s.test;
  const store = token('store', 's1');
  const hooks = await webhookReceiver();
  t.teardown(hooks.close);
  t.equal((await http(baseUrl, 'PUT', '/v1/stores/s1/webhook', store, { url: hooks.url, secret: STORE_SECRET })).status, 200);
  const storeWs = await WsClient.connect(`${wsUrl}/v1/store`, store);
  t.teardown(() => storeWs.close());

  const id = await place(s, 'h-1');
  const trackUrl = (await http(baseUrl, 'POST', `/v1/orders/${id}/tracking-link`, store)).body.url as string;
  const track = await WsClient.connect(`${wsUrl}${trackUrl}`);
  t.teardown(() => track.close());
  await track.nextOf('snapshot');

  const record = await round(s);
  t.equal(record.carrier, 1, 'the round handed one order to the carrier');
  const handed = await order(s, id);
  t.match(handed, { status: 'assigned', fleet: 'simcarrier', carrierStatus: 'created', courierId: null, ownOnly: false });
  t.ok(handed.carrierDeliveryId, 'the carrier delivery id is on the order');
  t.ok(handed.carrierCost.amount > 0, 'with its cost');
  const decision = (await http(baseUrl, 'GET', `/v1/orders/${id}/dispatch`, token('dispatcher', 'd1'))).body;
  t.match(decision.decisions[0], { decision: 'carrier', fleet: { fleet: 'simcarrier', reason: 'carrier: no own courier meets promise' } }, 'the decision says why');

  await until(async () => (await order(s, id)).status === 'delivered', 30_000, 'delivered by the carrier');
  t.same(carrierEvents(await events(s, id)), LIFECYCLE, 'every carrier status once, in order, as order events');
  const positions = await storeWs.nextOf('order.position', (f) => f.orderId === id, 5000);
  t.match(positions, { fleet: 'simcarrier', externalId: 'h-1' }, 'carrier courier positions reach the store socket');
  await storeWs.nextOf('order.status', (f) => f.orderId === id && f.event === 'carrier_delivered', 5000);
  const trackPos = await track.nextOf('position', () => true, 5000);
  t.ok(typeof trackPos.eta === 'number' && typeof trackPos.lat === 'number', 'the tracking socket shows the carrier courier with an ETA');
  await track.nextOf('order.status', (f) => f.status === 'delivered', 5000);
  await until(() => hooks.received.some((r) => r.body.type === 'carrier_delivered'), 10_000, 'store webhook of the delivery');
  const hookTypes = hooks.received.filter((r) => r.body.orderId === id).map((r) => r.body.type as string);
  t.same(hookTypes.filter((x) => x.startsWith('carrier_')), LIFECYCLE, 'and the store webhooks');

  // the carrier webhook route checks signatures and the carrier's name
  const body = JSON.stringify({ eventId: 'x', type: 'delivery.status', deliveryId: handed.carrierDeliveryId, externalId: `${id}:1`, at: Date.now(), status: 'failed' });
  const post = (path: string, sig: string) => fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-carrier-signature': sig }, body });
  const forged = await post('/v1/carriers/simcarrier/webhooks', signature('not-the-carrier-secret-0123', Date.now(), body));
  t.equal(forged.status, 401);
  t.match(await forged.json(), { code: 'bad_signature' });
  const unknown = await post('/v1/carriers/nobody/webhooks', signature(SECRET, Date.now(), body));
  t.equal(unknown.status, 404);
  t.match(await unknown.json(), { code: 'unknown_carrier' });
  const late = await post('/v1/carriers/simcarrier/webhooks', signature(SECRET, Date.now(), body));
  t.equal(late.status, 200, 'a correctly signed status after the end changes nothing');
  t.equal((await order(s, id)).status, 'delivered');
});

t.test('carrier failure: back to own dispatch with the reason, own fleet only, then an own courier', async (t) => {
  const s = await setup(t, ['--failure-rate', '1']);
  const id = await place(s, 'f-1');
  t.equal((await round(s)).carrier, 1);
  await until(async () => (await order(s, id)).status === 'placed', 30_000, 'back in the pool');
  t.match(await order(s, id), { status: 'placed', fleet: 'own', ownOnly: true, carrierDeliveryId: null, reason: 'carrier_failed: courier_unavailable' });
  t.same(carrierEvents(await events(s, id)), ['carrier_requested', 'carrier_courier_assigned', 'carrier_failed']);
  const again = await round(s);
  t.notOk(again.carrier, 'never to a carrier again');
  await markOnline(s.test.app, 'c1');
  await round(s);
  t.match(await order(s, id), { status: 'offered', courierId: 'c1', fleet: 'own' }, 'an own courier gets it: nothing lost');
});

t.test('store cancel goes to the carrier; the dispatcher forces either fleet', async (t) => {
  const s = await setup(t);
  const { baseUrl, token } = s.test;
  const dispatcher = token('dispatcher', 'd1');
  const id = await place(s, 'c-1');
  await round(s);
  const handed = await order(s, id);
  t.equal(handed.fleet, 'simcarrier');
  const cancelled = await http(baseUrl, 'POST', `/v1/orders/${id}/cancel`, token('store', 's1'), { reason: 'customer' });
  t.equal(cancelled.status, 200);
  t.equal(cancelled.body.status, 'cancelled');
  t.equal((await s.adapter.get(handed.carrierDeliveryId)).status, 'cancelled', 'the carrier cancelled its delivery');

  // a courier is online, so the round would keep it own: the dispatcher forces the carrier
  await markOnline(s.test.app, 'c1');
  const other = await place(s, 'c-2');
  const forced = await http(baseUrl, 'POST', `/v1/orders/${other}/fleet`, dispatcher, { fleet: 'simcarrier' });
  t.equal(forced.status, 200);
  t.match(forced.body.order, { fleet: 'simcarrier', status: 'assigned' });
  const deliveryId = forced.body.order.carrierDeliveryId as string;
  t.equal((await http(baseUrl, 'POST', `/v1/orders/${other}/fleet`, token('store', 's1'), { fleet: 'own' })).status, 403, 'stores may not');
  t.match((await http(baseUrl, 'POST', `/v1/orders/${other}/fleet`, dispatcher, { fleet: 'nobody' })).body, { code: 'unknown_carrier' });
  const back = await http(baseUrl, 'POST', `/v1/orders/${other}/fleet`, dispatcher, { fleet: 'own' });
  t.equal(back.status, 200);
  t.match(back.body.order, { fleet: 'own', ownOnly: true, status: 'placed' });
  t.equal((await s.adapter.get(deliveryId)).status, 'cancelled', 'forcing own cancels the carrier delivery');
  await round(s);
  t.match(await order(s, other), { status: 'offered', courierId: 'c1' });
});


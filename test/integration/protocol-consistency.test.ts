/**
 * One protocol, the same rules everywhere: times are epoch ms (also in webhook bodies), each failure has
 * one documented code, a refused role gets 403, every error frame says what it answers, push-only
 * sockets answer a frame they cannot take, and bodies whose fields are all optional may be left out.
 */
import t from 'tap';
import { buildTestApp, createTestContext } from '../support/index.js';
import { http, orderBody, until, webhookReceiver, WsClient } from './orders-helpers.js';

const ctx = await createTestContext(t, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '20' });
const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx);
const store = token('store', 's1');
const dispatcher = token('dispatcher', 'd1');

t.test("webhook bodies carry `at` as epoch ms, the event's own time", async (t) => {
  const hooks = await webhookReceiver();
  t.teardown(hooks.close);
  await http(baseUrl, 'PUT', '/v1/stores/s1/webhook', store, { url: hooks.url, secret: 'sixteen-chars-or-more-secret' });
  t.teardown(() => http(baseUrl, 'DELETE', '/v1/stores/s1/webhook', store));
  const id = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('hook-at'))).body.id as string;
  await until(() => hooks.received.some((r) => r.body.orderId === id), 10_000, 'the placed webhook');
  const body = hooks.received.find((r) => r.body.orderId === id)!.body as { at: unknown; order: { placedAt: number } };
  t.type(body.at, 'number');
  const events = (await http(baseUrl, 'GET', `/v1/orders/${id}/events`, store)).body as { events: { at: unknown }[] };
  t.equal(body.at, events.events[0]!.at, 'same value as the event history');
  t.equal(body.at, body.order.placedAt, 'the placement time');
});

t.test('a bad scheduled window is 400 invalid_window naming the field (no catch-all code)', async (t) => {
  const now = Date.now();
  const cases: [Record<string, unknown>, string][] = [
    [{ option: 'scheduled' }, 'window'],
    [{ option: 'scheduled', window: { from: now + 3_600_000, to: now + 1_800_000 } }, 'window'],
    [{ option: 'scheduled', window: { from: now - 7_200_000, to: now - 3_600_000 } }, 'window.to'],
    [{ option: 'express', window: { from: now, to: now + 3_600_000 } }, 'window'],
  ];
  for (const [extra, field] of cases) {
    const res = await http(baseUrl, 'POST', '/v1/orders', store, orderBody(`win-${field}-${Math.random()}`, extra));
    t.equal(res.status, 400, JSON.stringify(extra));
    t.match(res.body, { code: 'invalid_window', details: { field } });
  }
});

t.test('a customer token on an order route is 403 forbidden, like every refused role', async (t) => {
  const id = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('cust-403'))).body.id as string;
  const customer = token('customer', 'someone');
  for (const path of [`/v1/orders/${id}`, `/v1/orders/${id}/events`]) {
    const res = await http(baseUrl, 'GET', path, customer);
    t.equal(res.status, 403, path);
    t.equal(res.body.code, 'forbidden');
  }
  t.equal((await http(baseUrl, 'GET', `/v1/orders/${id}`, token('store', 'other'))).status, 404, "another store's order still looks absent");
  t.equal((await http(baseUrl, 'GET', `/v1/orders/${id}`, dispatcher)).status, 200);
});

t.test('ready and cancel without a body work; a body is still checked', async (t) => {
  const id = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('no-body'))).body.id as string;
  const ready = await http(baseUrl, 'POST', `/v1/orders/${id}/ready`, store);
  t.equal(ready.status, 200, JSON.stringify(ready.body));
  t.equal(ready.body.status, 'ready');
  const bad = await http(baseUrl, 'POST', `/v1/orders/${id}/cancel`, store, { reason: 42 });
  t.equal(bad.status, 400);
  t.match(bad.body, { code: 'validation_failed', details: { field: 'reason' } });
  const cancel = await http(baseUrl, 'POST', `/v1/orders/${id}/cancel`, store);
  t.equal(cancel.status, 200, JSON.stringify(cancel.body));
  t.equal(cancel.body.status, 'cancelled');
});

t.test('courier error frames name the order or offer they answer', async (t) => {
  const c = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'c-err'));
  t.teardown(() => c.close());
  const missingOrder = '00000000-0000-4000-8000-000000000000';
  c.send({ type: 'status', orderId: missingOrder, status: 'picked_up' });
  t.match(await c.nextOf('error'), { code: 'order_not_found', orderId: missingOrder });
  c.send({ type: 'offer.accept', offerId: 'no-such-offer' });
  t.match(await c.nextOf('error'), { code: String, offerId: 'no-such-offer' });
  c.send({ type: 'offer.reject', offerId: 'no-such-offer', reason: 7 });
  t.match(await c.nextOf('error'), { code: 'bad_frame', offerId: 'no-such-offer' });
  c.send({ type: 'status', orderId: missingOrder, status: 'failed' });
  t.match(await c.nextOf('error'), { code: 'bad_frame', orderId: missingOrder }, 'a failure without a reason');
});

t.test('the tracking and console sockets answer frames they cannot take with an error frame and stay open', async (t) => {
  const id = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('push-only'))).body.id as string;
  const link = (await http(baseUrl, 'POST', `/v1/orders/${id}/tracking-link`, store)).body as { url: string };
  const track = await WsClient.connect(`${wsUrl}${link.url}`);
  const consoleWs = await WsClient.connect(`${wsUrl}/v1/console`, dispatcher);
  t.teardown(() => {
    track.close();
    consoleWs.close();
  });
  await track.nextOf('snapshot');
  await consoleWs.nextOf('state');
  for (const ws of [track, consoleWs]) {
    ws.send('not json');
    t.match(await ws.nextOf('error'), { code: 'bad_json' });
    ws.send('[1,2]');
    t.match(await ws.nextOf('error'), { code: 'bad_frame' });
    ws.send({ type: 'hello', ref: 'r1' });
    t.match(await ws.nextOf('error'), { code: 'unknown_type', ref: 'r1' });
  }
  // still open: the tracking socket follows the order, the console keeps pushing
  await http(baseUrl, 'POST', `/v1/orders/${id}/ready`, store);
  t.match(await track.nextOf('order.status'), { status: 'ready' });
  await consoleWs.nextOf('state', () => true, 5000);
  t.equal(app.server.listening, true);
});

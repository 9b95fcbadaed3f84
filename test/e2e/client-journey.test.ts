/**
 * "Done when" of issue 12, against the real service as a child process and through the published
 * client package only (`@dispatchd/client`): a store registers its webhook and places an order, the
 * dispatch loop offers it to a courier on a CourierSocket who accepts, picks it up and delivers it,
 * the customer follows it on a TrackingSocket, and the store's receiver gets every event signed as
 * the README documents. Every frame received is also checked against the frame schemas the AsyncAPI
 * document is built from, so the document cannot drift from what the service sends.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { Value } from '@sinclair/typebox/value';
import type { TObject } from '@sinclair/typebox';
import { CourierSocket, createHttpClient, TrackingSocket, verifyWebhookSignature, type OrderBody } from '@dispatchd/client';
import { createTestContext, runListeningService } from '../support/index.js';
import { jwtKeysOf, signToken } from '../../src/gateway/auth.js';
import { SOCKETS } from '../../src/gateway/ws/frame-schemas.js';
import { CourierOrderViewSchema, OrderStatusSchema } from '../../src/gateway/http/response-schemas.js';

const ctx = await createTestContext(t);
const svc = await runListeningService(ctx, {
  DISPATCH: 'on',
  DISPATCH_INTERVAL_MS: '300',
  DISPATCH_DEBOUNCE_MS: '50',
  WEBHOOK_ALLOW_PRIVATE: 'true',
});
const baseUrl = svc.address;
// tokens as `npm run token` mints them (the operator's step, not the client's)
const token = (role: 'store' | 'courier', sub: string) => signToken(jwtKeysOf(ctx.config), { role, sub });

/** A store's webhook receiver, as the README describes it: raw body + signature header. */
interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
}
const deliveries: Delivery[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    deliveries.push({ headers: req.headers, body });
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

/** Frames that do not match their schema (by socket and type). */
const badFrames: string[] = [];
const refs = [OrderStatusSchema, CourierOrderViewSchema];
function checkFrame(socket: keyof typeof SOCKETS, frame: { type: string }): void {
  const schema = (SOCKETS[socket].sends as Record<string, TObject>)[frame.type];
  if (!schema) return void badFrames.push(`${socket}: undocumented frame type ${frame.type}`);
  const valid: boolean = Value.Check(schema, refs, frame);
  if (!valid) {
    const e = Value.Errors(schema, refs, frame).First();
    badFrames.push(`${socket} ${frame.type}: ${e?.path} ${e?.message} in ${JSON.stringify(frame).slice(0, 300)}`);
  }
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const PICKUP = { lat: 52.52, lng: 13.405, address: 'Store, Alexanderplatz' };
const DROPOFF = { lat: 52.515, lng: 13.39, address: 'Customer, Mitte' };

t.test('place → dispatch → accept → track → deliver → signed webhooks, through @dispatchd/client only', async (t) => {
  const storeId = 'store-e2e';
  const courierId = 'courier-e2e';
  const store = createHttpClient({ baseUrl, token: await token('store', storeId) });
  const secret = 'a-webhook-secret-of-some-length';

  const hook = await store.PUT('/v1/stores/{id}/webhook', { params: { path: { id: storeId } }, body: { url: hookUrl, secret } });
  t.equal(hook.response.status, 200, `webhook registered: ${JSON.stringify(hook.error)}`);
  t.equal(hook.data?.url, hookUrl);

  // a courier online next to the store
  const courier = new CourierSocket(baseUrl, await token('courier', courierId), { backoff: { initialMs: 50, maxMs: 500 } });
  courier.onFrame((f) => checkFrame('courier', f));
  t.teardown(() => courier.close());
  await courier.connect();
  // device time ten minutes back, so the ride to the drop-off below is a plausible speed
  courier.sendLocation({ lat: PICKUP.lat + 0.001, lng: PICKUP.lng, acc: 5, ts: Date.now() - 600_000 });
  await until('the first position acked', () => courier.pendingPoints === 0);

  // place it: 201 with the typed order
  const body: OrderBody = { externalId: 'e2e-1', pickup: PICKUP, dropoff: DROPOFF, items: 2, option: 'express' };
  const placed = await store.POST('/v1/orders', { body });
  t.equal(placed.response.status, 201);
  const order = placed.data!;
  t.equal(order.status, 'placed');
  const again = await store.POST('/v1/orders', { body });
  t.equal(again.response.status, 200, 'the same body again: 200, same order');
  t.equal(again.data?.id, order.id);
  const bad = await store.POST('/v1/orders', { body: { ...body, items: 0 } });
  t.equal(bad.response.status, 400);
  t.equal(bad.error?.code, 'validation_failed', 'errors are typed {code, message}');

  const ready = await store.POST('/v1/orders/{id}/ready', { params: { path: { id: order.id } }, body: {} });
  t.equal(ready.response.status, 200);

  // the customer's tracking link and socket
  const link = await store.POST('/v1/orders/{id}/tracking-link', { params: { path: { id: order.id } } });
  t.equal(link.response.status, 201);
  const tracking = TrackingSocket.fromLink(link.data!.url, baseUrl);
  const seen: { type: string; status?: string; coarse?: boolean; orderId?: string }[] = [];
  tracking.onFrame((f) => {
    checkFrame('track', f);
    seen.push(f);
  });
  const tracked = (what: string, match: (f: (typeof seen)[number]) => boolean) => until(`tracking: ${what}`, () => seen.find(match));
  t.teardown(() => tracking.close());
  const snapshot = tracking.next('snapshot');
  await tracking.connect();
  t.equal((await snapshot).orderId, order.id);

  // the dispatch loop offers it; the courier accepts
  const offer = courier.offer?.orderIds.includes(order.id) ? courier.offer : await courier.next('offer', (o) => o.orderIds.includes(order.id), 30_000);
  t.same(offer.orders.map((o) => o.id), [order.id]);
  t.ok(offer.expiresAt > Date.now(), 'the offer is open');
  const accepted = await courier.accept(offer.offerId);
  t.same(accepted.orderIds, [order.id]);
  await until('a task with the order', () => courier.task?.orders.some((o) => o.id === order.id));
  await tracked('assigned', (f) => f.type === 'order.status' && f.status === 'assigned');

  // pick up and deliver, with positions on the way
  t.equal((await courier.reportStatus({ orderId: order.id, status: 'arrived_pickup' })).status, 'at_pickup');
  t.equal((await courier.reportStatus({ orderId: order.id, status: 'picked_up' })).status, 'picked_up');
  courier.sendLocation({ lat: (PICKUP.lat + DROPOFF.lat) / 2, lng: (PICKUP.lng + DROPOFF.lng) / 2, acc: 5 });
  const pos = await tracked('exact position', (f) => f.type === 'position' && f.coarse === false);
  t.equal(pos.orderId, order.id, 'the customer sees the courier after pickup (exact position)');
  t.equal((await courier.reportStatus({ orderId: order.id, status: 'arrived_dropoff' })).status, 'at_dropoff');
  t.equal((await courier.reportStatus({ orderId: order.id, status: 'delivered' })).status, 'delivered');
  await tracked('delivered', (f) => f.type === 'order.status' && f.status === 'delivered');

  const final = await store.GET('/v1/orders/{id}', { params: { path: { id: order.id } } });
  t.equal(final.data?.status, 'delivered');
  t.equal(final.data?.courierId, courierId);

  // the store's receiver has every event, each signed
  const types = await until(
    'the delivered webhook',
    () => {
      const ts = deliveries.map((d) => (JSON.parse(d.body) as { type: string; orderId: string }).type);
      return ts.includes('delivered') && ts;
    },
    30_000,
  );
  for (const type of ['placed', 'ready', 'offered', 'accepted', 'picked_up', 'delivered']) t.ok(types.includes(type), `webhook ${type} received`);
  for (const d of deliveries) {
    t.ok(await verifyWebhookSignature(secret, d.headers['x-dispatchd-signature'] as string, d.body), 'signature verifies');
  }
  const one = deliveries[0]!;
  t.notOk(await verifyWebhookSignature(secret, one.headers['x-dispatchd-signature'] as string, `${one.body} `), 'a changed body does not verify');
  t.notOk(await verifyWebhookSignature('another-secret-entirely', one.headers['x-dispatchd-signature'] as string, one.body), 'another secret does not');

  t.same(badFrames, [], 'every frame received matches the frame schemas of the AsyncAPI document');
});

/**
 * GET /metrics after real traffic on real sockets, Redis and Postgres: location points (accepted and
 * rejected), an order placed, offered and rejected, a webhook delivered, open sockets by kind, open
 * orders by age on the service clock; and who may scrape.
 */
import t from 'tap';
import { systemClock, type Clock } from '../../src/clock.js';
import { recordRound } from '../../src/runtime/metrics.js';
import { createTestContext, buildTestApp } from '../support/index.js';
import { parseMetrics, sample } from '../support/prometheus.js';
import { http, orderBody, until, webhookReceiver, WsClient } from './orders-helpers.js';

const LAT = 52.52;
const LNG = 13.405;

t.test('metrics move with real traffic, with the right labels', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '10', HISTORY_FLUSH_MS: '20' });
  // wall-clock timers (the webhook sender polls on them), and a service time the test can move ahead
  let ahead = 0;
  const clock: Clock = { now: () => Date.now() + ahead, setTimeout: systemClock.setTimeout };
  const { app, baseUrl, wsUrl, token } = await buildTestApp(ctx, { clock });
  const dispatcher = token('dispatcher', 'd1');
  const store = token('store', 's1');
  const scrape = async () => {
    const res = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${dispatcher}` } });
    t.equal(res.status, 200);
    return parseMetrics(await res.text());
  };

  const before = await scrape();
  t.equal(sample(before, 'ingest_points_accepted_total'), 0);
  t.equal(sample(before, 'websocket_connections', { kind: 'courier' }), 0);
  t.equal(sample(before, 'dependency_up', { dependency: 'redis' }), 1);
  t.equal(sample(before, 'dependency_up', { dependency: 'postgres' }), 1);
  t.ok((sample(before, 'redis_ping_seconds') ?? -1) >= 0, 'Redis latency measured');
  t.ok((sample(before, 'postgres_ping_seconds') ?? -1) >= 0, 'Postgres latency measured');

  const hooks = await webhookReceiver();
  t.teardown(() => hooks.close());
  t.equal((await http(baseUrl, 'PUT', '/v1/stores/s1/webhook', store, { url: hooks.url, secret: 'a-webhook-secret-of-some-length' })).status, 200);

  // a courier: two accepted points, then one with poor accuracy and one failing the schema
  const courier = await WsClient.connect(`${wsUrl}/v1/courier`, token('courier', 'c1'));
  t.teardown(() => courier.close());
  const storeSocket = await WsClient.connect(`${wsUrl}/v1/store`, store);
  t.teardown(() => storeSocket.close());
  const now = clock.now();
  courier.send({ type: 'locs', points: [{ seq: 1, ts: now - 2000, lat: LAT, lng: LNG }, { seq: 2, ts: now - 1000, lat: LAT, lng: LNG + 0.0001 }] });
  t.same(await courier.nextOf('ack'), { type: 'ack', seq: 2, rejected: [] });
  courier.send({ type: 'loc', seq: 3, ts: now, lat: LAT, lng: LNG, acc: 5000 });
  t.same(await courier.nextOf('ack'), { type: 'ack', seq: null, rejected: [{ seq: 3, reason: 'poor_accuracy' }] });
  courier.send({ type: 'loc', seq: 4, ts: now, lat: 'north', lng: LNG });
  t.same(await courier.nextOf('ack'), { type: 'ack', seq: null, rejected: [{ seq: 4, reason: 'schema' }] });

  // an order placed, offered to the courier and rejected by it
  const placed = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('m-1'));
  t.equal(placed.status, 201);
  const orderId = placed.body.id as string;
  t.equal((await http(baseUrl, 'POST', `/v1/orders/${orderId}/offer`, dispatcher, { courierId: 'c1' })).status, 201);
  const offer = await courier.nextOf('offer');
  const tracking = await WsClient.connect(`${wsUrl}/v1/track/${orderId}`, dispatcher);
  t.teardown(() => tracking.close());
  await tracking.nextOf('snapshot');
  courier.send({ type: 'offer.reject', offerId: offer.offerId, reason: 'too far' });
  await until(async () => (await http(baseUrl, 'GET', `/v1/orders/${orderId}`, dispatcher)).body.status === 'placed', 5000, 'order back in the pool');
  await until(() => hooks.received.length >= 3, 10_000, 'webhooks delivered');
  // the sender counts a delivery once it has recorded it, just after the receiver answered
  await until(async () => (sample(await scrape(), 'webhook_deliveries_total', { outcome: 'delivered' }) ?? 0) >= 3, 10_000, 'deliveries counted');

  let after = await scrape();
  t.equal(sample(after, 'ingest_points_accepted_total'), 2);
  t.equal(sample(after, 'ingest_frames_total'), 3);
  t.equal(sample(after, 'ingest_points_rejected_total', { reason: 'poor_accuracy' }), 1);
  t.equal(sample(after, 'ingest_points_rejected_total', { reason: 'schema' }), 1);
  t.equal(sample(after, 'ingest_points_rejected_total', { reason: 'implausible_speed' }), 0);
  t.ok((sample(after, 'ingest_flush_seconds_count') ?? 0) >= 1, 'one flush observed per Redis write');
  t.equal(sample(after, 'websocket_connections', { kind: 'courier' }), 1);
  t.equal(sample(after, 'websocket_connections', { kind: 'store' }), 1);
  t.equal(sample(after, 'websocket_connections', { kind: 'track' }), 1);
  t.equal(sample(after, 'websocket_connections', { kind: 'other' }), 0);
  t.equal(sample(after, 'orders_created_total', { option: 'express' }), 1);
  t.equal(sample(after, 'orders_created_total', { option: 'standard' }), 0);
  t.equal(sample(after, 'order_events_total', { type: 'placed' }), 1);
  t.equal(sample(after, 'order_events_total', { type: 'offered' }), 1);
  t.equal(sample(after, 'order_events_total', { type: 'offer_rejected' }), 1);
  t.equal(sample(after, 'offers_made_total'), 1);
  t.equal(sample(after, 'offers_resolved_total', { outcome: 'rejected' }), 1);
  t.equal(sample(after, 'offers_resolved_total', { outcome: 'accepted' }), 0);
  t.equal(sample(after, 'webhook_deliveries_total', { outcome: 'dead' }), 0);
  t.equal(sample(after, 'orders_open', { age: '0-2m' }), 1, 'the order is open again');
  t.equal(sample(after, 'couriers', { status: 'free' }), 1, 'the courier is online with nothing to do (its offer was rejected)');
  t.equal(sample(after, 'orders_open', { age: '5-10m' }), 0);
  t.ok(sample(after, 'history_stream_entries') !== undefined, 'history sink lag exported');
  t.ok(sample(after, 'history_pending_entries') !== undefined);

  courier.send({ type: 'locs', points: [{ seq: 5 }, { seq: 6, ts: now, lat: LAT, lng: LNG + 0.0002 }] });
  t.same(await courier.nextOf('ack'), { type: 'ack', seq: 6, rejected: [{ seq: 5, reason: 'schema' }] });
  // open orders age on the service clock
  ahead = 6 * 60_000;
  recordRound(app.metrics, { zone: 'z', wallMs: 40, solveMs: 25, committed: 1, conflicts: 1, overran: false });
  after = await scrape();
  t.equal(sample(after, 'ingest_points_rejected_total', { reason: 'schema' }), 2, 'a schema failure inside a batch');
  t.equal(sample(after, 'ingest_points_accepted_total'), 3);
  t.equal(sample(after, 'ingest_frames_total'), 4);
  t.equal(sample(after, 'orders_open', { age: '0-2m' }), 0);
  t.equal(sample(after, 'orders_open', { age: '5-10m' }), 1, 'six minutes of the service clock later');
  const oldest = sample(after, 'orders_open_oldest_age_seconds') ?? 0;
  t.ok(oldest >= 360 && oldest < 420, `oldest open order waited 6 min plus the test's own time (${oldest} s)`);
  t.equal(sample(after, 'dispatch_rounds_total', { outcome: 'committed' }), 1);
  t.equal(sample(after, 'dispatch_offer_conflicts_total'), 1);
  t.equal(sample(after, 'couriers', { status: 'free' }), 0, 'six minutes without a point: the courier is offline, not free');
  t.equal(sample(after, 'couriers', { status: 'offline' }), 1);

  courier.close();
  await courier.closed;
  await until(async () => sample(await scrape(), 'websocket_connections', { kind: 'courier' }) === 0, 5000, 'closed socket no longer counted');
});

t.test('who may scrape: dispatcher and admin; others 401/403; METRICS_PUBLIC opens it', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off' });
  const { baseUrl, token } = await buildTestApp(ctx);
  const get = (auth?: string) => fetch(`${baseUrl}/metrics`, auth ? { headers: { authorization: `Bearer ${auth}` } } : {});

  const none = await get();
  t.equal(none.status, 401);
  t.equal(((await none.json()) as { code: string }).code, 'unauthorized');
  const courier = await get(token('courier', 'c1'));
  t.equal(courier.status, 403);
  t.equal(((await courier.json()) as { code: string }).code, 'forbidden');
  t.equal((await get(token('store', 's1'))).status, 403);
  for (const role of ['dispatcher', 'admin'] as const) {
    const res = await get(token(role, 'x'));
    t.equal(res.status, 200, role);
    t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4; charset=utf-8/);
    t.match(await res.text(), /# TYPE ingest_points_rejected_total counter/);
  }

  const open = await buildTestApp(ctx, { config: { metricsPublic: true } });
  const res = await fetch(`${open.baseUrl}/metrics`);
  t.equal(res.status, 200, 'no token needed when public');
  t.match(await res.text(), /process_cpu_user_seconds_total/, 'default process metrics');
  t.equal((await fetch(`${open.baseUrl}/v1/orders`)).status, 401, 'only /metrics is opened');
});

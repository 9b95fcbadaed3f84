/**
 * PostgreSQL stopped while couriers stream points (its own cluster, stopped with a fast shutdown and
 * started again on the same port): ingest keeps acking (points wait in the Redis stream), /readyz says
 * 503 postgres, every route that needs PostgreSQL answers 503 dependency_unavailable + Retry-After fast
 * instead of hanging (the others keep serving), and after the restart the history catches up
 * with no acked point lost and none stored twice.
 *
 * The outage lasts FAULTS_PG_OUTAGE_MS (default 12 s, the scenario is 30 s: set it to 30000 to
 * replay that). 12 s covers several history flush attempts (backoff 0.1 s doubling to 5 s: ~7 attempts).
 */
import t from 'tap';
import { Fleet, historyCaughtUp } from './fleet.js';
import { faultEnv, freePort, startDispatchd, until } from './harness.js';
import { http, orderBody } from '../integration/orders-helpers.js';
import { ROUTE_ROLES } from '../integration/role-matrix.table.js';
import { polygonZone, zoneSettingsFixture } from '../support/zones.js';
import { signature } from '../../src/runtime/webhook-sender.js';
import { PICKUP, DROPOFF } from '../integration/orders-helpers.js';

// Own Redis and service (and Postgres) starts, the outage, the catch-up: more than tap's default 120 s on a busy machine.
t.setTimeout(240_000);

const OUTAGE_MS = Number(process.env.FAULTS_PG_OUTAGE_MS || 12_000);

/**
 * Every route of the route list (role-matrix.table.ts) is either here — it needs PostgreSQL, so while
 * PostgreSQL is down it must answer `503 {"code":"dependency_unavailable"}` with Retry-After within 3 s —
 * or in NO_POSTGRES with the reason it does not (and it must keep serving). A new route without a
 * decision fails this test. `:id` is an order placed before the outage (`:courier` a streaming courier).
 */
type Who = 'store' | 'dispatcher' | 'admin';
/** A carrier the service knows, so its signed webhook gets past the signature check to the order lookup. */
const CARRIER = { name: 'pgcarrier', baseUrl: 'http://127.0.0.1:9', apiKey: 'pg-carrier-key', webhookSecret: 'pg-carrier-webhook-secret' };
const NEEDS_POSTGRES: Record<string, { who: Who; path?: string; body?: unknown; signedByCarrier?: boolean }> = {
  'POST /v1/orders': { who: 'store', body: orderBody('during-outage-2') },
  'GET /v1/orders': { who: 'dispatcher' },
  'GET /v1/orders/:id': { who: 'store' },
  'GET /v1/orders/:id/events': { who: 'store' },
  'POST /v1/orders/:id/ready': { who: 'store', body: {} },
  'POST /v1/orders/:id/cancel': { who: 'store', body: { reason: 'outage test' } },
  'POST /v1/orders/:id/fail': { who: 'dispatcher', body: { reason: 'no_courier' } },
  'POST /v1/orders/:id/offer': { who: 'dispatcher', body: { courierId: ':courier' } },
  'POST /v1/orders/:id/tracking-link': { who: 'store', body: {} },
  'POST /v1/orders/:id/assign': { who: 'dispatcher', body: { courierId: ':courier' } },
  'POST /v1/orders/:id/unassign': { who: 'dispatcher', body: {} },
  'POST /v1/orders/:id/priority': { who: 'dispatcher', body: { priority: 1 } },
  'GET /v1/orders/:id/dispatch': { who: 'store' },
  'GET /v1/orders/:id/assign-preview': { who: 'dispatcher', path: '/v1/orders/:id/assign-preview?courierId=:courier' },
  'GET /v1/kpis': { who: 'dispatcher' },
  'PUT /v1/zones/:id': { who: 'admin', path: '/v1/zones/outage', body: { geometry: polygonZone(PICKUP.lat, PICKUP.lng, 0.05), settings: zoneSettingsFixture() } },
  'GET /v1/zones': { who: 'dispatcher' },
  'GET /v1/zones/:id': { who: 'dispatcher', path: '/v1/zones/outage' },
  'DELETE /v1/zones/:id': { who: 'admin', path: '/v1/zones/outage' },
  'PUT /v1/stores/:id/webhook': { who: 'store', path: '/v1/stores/s-pg/webhook', body: { url: 'http://127.0.0.1:9/hook', secret: 'a-secret-of-16-chars' } },
  'GET /v1/stores/:id/webhook': { who: 'store', path: '/v1/stores/s-pg/webhook' },
  'DELETE /v1/stores/:id/webhook': { who: 'store', path: '/v1/stores/s-pg/webhook' },
  'GET /v1/couriers/:id': { who: 'dispatcher', path: '/v1/couriers/:courier' },
  'GET /v1/couriers/:id/trail': { who: 'dispatcher', path: '/v1/couriers/:courier/trail' },
  'POST /v1/orders/:id/fleet': { who: 'dispatcher', body: { fleet: 'own' } },
  // public, signed by the carrier: answered 2xx only once stored, so the carrier retries the 503
  'POST /v1/carriers/:name/webhooks': {
    who: 'store',
    path: `/v1/carriers/${CARRIER.name}/webhooks`,
    body: { type: 'delivery.status', eventId: 'ev-pg-1', deliveryId: 'd-pg-1', externalId: ':id:1', status: 'picked_up', at: 0 },
    signedByCarrier: true,
  },
};
const NO_POSTGRES: Record<string, string> = {
  'GET /healthz': 'liveness only',
  'GET /readyz': 'reports the outage itself (503 not_ready, checked above)',
  'GET /metrics': 'a failed ping is dependency_up 0, the scrape still answers',
  'GET /v1/couriers/nearby': 'Redis location index',
  'POST /v1/couriers/:id/pause': 'Redis availability keys',
  'POST /v1/couriers/:id/resume': 'Redis availability keys',
  'POST /v1/quotes': 'zones cache and the per-node supply picture, quotes kept in Redis',
  'GET /v1/zones/:id/travel': 'the learned travel factors are in memory (refreshed from PostgreSQL when it answers)',
  'GET /v1/courier': 'WebSocket: location ingest goes to Redis (acks go on, asserted above)',
  'GET /v1/store': 'WebSocket: its order frames answer dependency_unavailable frames (store.ts)',
  'GET /v1/track/:orderId': 'WebSocket',
  'GET /v1/console': 'WebSocket',
};
/** Docs, the browser pages and their assets: static. */
const STATIC = /^GET \/(docs|web|console|track|openapi\.json|asyncapi\.json|tiles)/;

/** A carrier's signed webhook (docs/carrier-api.md), answered like orders-helpers' http(). */
async function carrierWebhook(address: string, path: string, raw: string) {
  const res = await fetch(`${address}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-carrier-signature': signature(CARRIER.webhookSecret, Date.now(), raw) },
    body: raw,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, headers: res.headers, body: (await res.json().catch(() => null)) as { code?: string } | null };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - started };
}

t.test(`Postgres down for ${OUTAGE_MS} ms under load: acks go on, readyz 503, writes fail fast, history catches up`, async (t) => {
  const env = await faultEnv(t, { ownPostgres: true });
  // WEBHOOK_ALLOW_PRIVATE: the webhook route is exercised with a loopback target (no DNS here).
  const svc = await startDispatchd(env, await freePort(), {
    DISPATCH: 'off',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    CARRIERS: JSON.stringify([CARRIER]),
  });
  const storeToken = env.token('store', 's-pg');
  const prefix = 'pgdown-';
  const fleet = new Fleet({ wsUrl: svc.wsUrl, prefix, count: 8, token: (id) => env.token('courier', id) });
  t.teardown(() => fleet.stop());
  await fleet.start();
  await fleet.ackedAtLeast(500);

  const postOrder = (externalId: string) =>
    fetch(`${svc.address}/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${storeToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(orderBody(externalId)),
      signal: AbortSignal.timeout(10_000),
    });
  const before = await postOrder('before-outage');
  t.equal(before.status, 201, 'an order is accepted before the outage');
  const beforeId = ((await before.json()) as { id: string }).id;

  await env.postgres!.stop();
  const outageStarted = Date.now();
  const ready = await timed(() => fetch(`${svc.address}/readyz`));
  t.equal(ready.value.status, 503, '/readyz answers 503');
  t.match(await ready.value.json(), { code: 'not_ready', checks: { postgres: 'unavailable', redis: 'ok' } }, 'naming postgres');

  const write = await timed(() => postOrder('during-outage'));
  t.equal(write.value.status, 503, 'an order write answers 503');
  t.match(await write.value.json(), { code: 'dependency_unavailable' }, '…dependency_unavailable');
  t.match(write.value.headers.get('retry-after'), /^\d+$/, '…with Retry-After');
  t.ok(write.ms < 3000, `…within 3 s (${write.ms} ms), no hang`);

  // every route that needs PostgreSQL: a clear 503 with Retry-After, fast; the others keep serving
  const routes = Object.keys(ROUTE_ROLES);
  const undecided = routes.filter((r) => !(r in NEEDS_POSTGRES) && !(r in NO_POSTGRES) && !STATIC.test(r));
  t.same(undecided, [], 'every route is listed as needing PostgreSQL or not (add new routes to this test)');
  const tokens: Record<Who, string> = { store: storeToken, dispatcher: env.token('dispatcher', 'd-pg'), admin: env.token('admin', 'a-pg') };
  const fill = (text: string) => text.replaceAll(':id', beforeId).replaceAll(':courier', `${prefix}0`);
  let answered = 0;
  for (const [route, req] of Object.entries(NEEDS_POSTGRES)) {
    const [method, path] = route.split(' ');
    const body = req.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(req.body)));
    const res = req.signedByCarrier
      ? await timed(() => carrierWebhook(svc.address, fill(req.path ?? path), JSON.stringify(body)))
      : await timed(() => http(svc.address, method, fill(req.path ?? path), tokens[req.who], body));
    t.match(
      { status: res.value.status, body: res.value.body, retryAfter: res.value.headers.get('retry-after') },
      { status: 503, body: { code: 'dependency_unavailable' }, retryAfter: /^\d+$/ },
      `${route}: 503 dependency_unavailable + Retry-After (${res.value.status} ${res.value.body?.code ?? ''})`,
    );
    t.ok(res.ms < 3000, `${route}: answered within 3 s (${res.ms} ms)`);
    answered++;
  }
  t.comment(`${answered} routes that need PostgreSQL answered 503 dependency_unavailable`);
  for (const route of ['GET /v1/couriers/nearby', 'GET /metrics', 'GET /healthz']) {
    const [method, path] = route.split(' ');
    const url = path === '/v1/couriers/nearby' ? `${path}?lat=${PICKUP.lat}&lng=${PICKUP.lng}` : path;
    const res = await timed(() => fetch(`${svc.address}${url}`, { method, headers: { authorization: `Bearer ${tokens.dispatcher}` } }));
    t.equal(res.value.status, 200, `${route} still serves (${res.ms} ms)`);
    await res.value.arrayBuffer();
  }

  const acksDuring = await fleet.acksDuring(Math.max(1000, OUTAGE_MS - (Date.now() - outageStarted)));
  t.ok(acksDuring > 0, `ingest kept acking during the outage (${acksDuring} frames)`);
  t.same(Object.fromEntries(fleet.errors), {}, 'no error frames to couriers');
  const failedFlushes = svc.logs.filter((l) => l.msg === 'history sink batch failed').length;
  t.ok(failedFlushes >= 3, `several history flush attempts failed meanwhile (${failedFlushes})`);

  await env.postgres!.restart();
  await until('readyz 200 after Postgres is back', async () => (await fetch(`${svc.address}/readyz`)).status === 200, 20_000);
  t.ok(await fleet.acksResume(), 'acks go on after the restart');
  fleet.stop();

  const check = await historyCaughtUp(env.ctx.db, fleet, prefix, 45_000);
  t.ok(check.acked > 0, `points acked: ${check.acked}`);
  t.same(check.missing.slice(0, 5), [], `history caught up: no acked point missing (${check.missing.length} missing)`);
  t.equal(check.duplicates, 0, 'no point stored twice');
  t.equal((await postOrder('after-outage')).status, 201, 'order writes work again');

  svc.child.kill('SIGTERM');
  t.same(await svc.exited, { code: 0, signal: null });
});

/**
 * Issue 11: PostgreSQL or Redis unavailable → `503 {"code":"dependency_unavailable"}` with Retry-After,
 * quickly (no hang), instead of `500 internal`. PostgreSQL is reached through a TCP proxy the test breaks
 * (connections dropped / a black hole); Redis is a private redis-server the test stops.
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrivateRedis } from '../../src/store/embedded/redis.js';
import { freePort } from '../../src/store/embedded/process.js';
import { createPool } from '../../src/store/pg/pool.js';
import { createTestContext, buildTestApp } from '../support/index.js';
import { faultProxy } from './fault-proxy.js';
import { http, orderBody } from './orders-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'dispatchd-deps-'));
const redisPort = await freePort();
let redis = await startPrivateRedis({ dir, port: redisPort });
t.teardown(async () => {
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});
process.env.REDIS_URL = redis.url;

const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off' });
const direct = new URL(ctx.databaseUrl);
const proxy = await faultProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
const viaProxy = new URL(ctx.databaseUrl);
viaProxy.host = `127.0.0.1:${proxy.port}`;
const db = createPool(viaProxy.toString(), { max: 4 });
const { baseUrl, token } = await buildTestApp(ctx, { db });
ctx.addCleanup(async () => {
  await proxy.close();
  await db.end().catch(() => {});
});
const store = token('store', 's1');

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - started };
}

function expectUnavailable(t: Test, res: { status: number; body: any; headers: Headers }, dependency: string, what: string) {
  t.equal(res.status, 503, `${what}: 503`);
  t.match(res.body, { code: 'dependency_unavailable', details: { dependency } }, `${what}: dependency_unavailable (${dependency})`);
  t.equal(res.headers.get('retry-after'), '2', `${what}: Retry-After`);
}

t.test('PostgreSQL down: order routes answer 503 dependency_unavailable with Retry-After, fast', async (t) => {
  const placed = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('dep-1'));
  t.equal(placed.status, 201);

  proxy.down();
  const create = await timed(() => http(baseUrl, 'POST', '/v1/orders', store, orderBody('dep-2')));
  expectUnavailable(t, create.value, 'postgres', 'POST /v1/orders');
  t.ok(create.ms < 3000, `answered in ${create.ms} ms`);
  const read = await timed(() => http(baseUrl, 'GET', `/v1/orders/${placed.body.id}`, store));
  expectUnavailable(t, read.value, 'postgres', 'GET /v1/orders/:id');

  // a partition: connections are accepted and never answered — the pool's connect timeout bounds the wait
  proxy.blackhole();
  const hung = await timed(() => http(baseUrl, 'GET', `/v1/orders/${placed.body.id}`, store));
  expectUnavailable(t, hung.value, 'postgres', 'GET /v1/orders/:id (black hole)');
  t.ok(hung.ms < 4000, `answered in ${hung.ms} ms`);

  proxy.up();
  const again = await http(baseUrl, 'GET', `/v1/orders/${placed.body.id}`, store);
  t.equal(again.status, 200, 'back to normal once PostgreSQL answers');
});

t.test('Redis down: a route reading Redis answers 503 dependency_unavailable', async (t) => {
  const dispatcher = token('dispatcher', 'd1');
  const ok = await http(baseUrl, 'GET', '/v1/couriers/nearby?lat=52.52&lng=13.4', dispatcher);
  t.equal(ok.status, 200);
  await redis.stop();
  const res = await timed(() => http(baseUrl, 'GET', '/v1/couriers/nearby?lat=52.52&lng=13.4', dispatcher));
  expectUnavailable(t, res.value, 'redis', 'GET /v1/couriers/nearby');
  t.ok(res.ms < 3000, `answered in ${res.ms} ms`);
  // back (empty) for the shutdown's final flush and the cleanup
  redis = await startPrivateRedis({ dir, port: redisPort });
  await new Promise((r) => setTimeout(r, 500));
  t.equal((await http(baseUrl, 'GET', '/v1/couriers/nearby?lat=52.52&lng=13.4', dispatcher)).status, 200, 'serves again once Redis is back');
});

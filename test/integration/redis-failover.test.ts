/**
 * Issue 11, "Redis back empty": when Redis comes back (here: a private redis-server stopped, its data
 * removed, started again on the same port), the open pool is rebuilt from Postgres at once, not at the
 * next periodic repair (set to 10 minutes here). Real redis-server, Postgres and HTTP.
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrivateRedis } from '../../src/store/embedded/redis.js';
import { freePort } from '../../src/store/embedded/process.js';
import { createTestContext, buildTestApp } from '../support/index.js';
import { http, orderBody, until } from './orders-helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'dispatchd-failover-'));
const port = await freePort();
let redis = await startPrivateRedis({ dir, port });
t.teardown(async () => {
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
});
// The test context and app use the private Redis (read from REDIS_URL by createTestContext).
process.env.REDIS_URL = redis.url;

t.test('Redis restarted empty: open orders, also one placed during the outage, are back in the pool within seconds', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', OPEN_POOL_RECONCILE_MS: '600000' });
  const { app, baseUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  const before = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('fo-before'))).body;
  const { lifecycle, pool } = app.orders;
  const zone = lifecycle.zoneOf(before);
  t.same((await pool.snapshot(zone)).map((e) => e.id), [before.id]);

  await redis.stop();
  const during = await http(baseUrl, 'POST', '/v1/orders', store, orderBody('fo-during'));
  t.equal(during.status, 201, 'the order is committed in Postgres while Redis is down');

  await rm(dir, { recursive: true, force: true });
  redis = await startPrivateRedis({ dir, port });
  const back = Date.now();
  await until(async () => (await pool.snapshot(zone).catch(() => [])).length === 2, 8000, 'both orders in the rebuilt pool');
  t.same((await pool.snapshot(zone)).map((e) => e.id).sort(), [before.id, during.body.id].sort());
  t.ok(Date.now() - back < 8000, `rebuilt ${Date.now() - back} ms after Redis returned`);
});

/**
 * The open-order pool in Redis: what a dispatch round snapshots per zone. Stale writes never win,
 * and the pool is rebuilt from Postgres after Redis lost it.
 */
import t from 'tap';
import { createTestContext, buildTestApp } from '../support/index.js';
import { http, orderBody } from './orders-helpers.js';

t.test('open pool: per zone, versioned, rebuilt from Postgres', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off' });
  const { app, baseUrl, token } = await buildTestApp(ctx);
  const store = token('store', 's1');
  const a = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('pool-a'))).body;
  const b = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('pool-b', { pickup: { lat: 48.137, lng: 11.575 } }))).body;
  const { lifecycle, pool, repo } = app.orders;
  const zoneA = lifecycle.zoneOf(a);
  const zoneB = lifecycle.zoneOf(b);
  t.not(zoneA, zoneB, 'Berlin and Munich are different zones');
  t.same((await pool.snapshot(zoneA)).map((e) => e.id), [a.id]);
  t.same((await pool.snapshot(zoneB)).map((e) => e.id), [b.id]);
  t.same(await pool.zones(), [zoneA, zoneB].sort());
  t.ok((await ctx.redis.exists(`open:{${zoneA}}`)) === 1, 'the zone is the hash tag of the key');

  // a late write of an older version never overrides a newer one
  await http(baseUrl, 'POST', `/v1/orders/${a.id}/ready`, store, {});
  const stale = await repo.get(a.id);
  t.equal(await pool.sync(zoneA, { ...stale!, version: 1, status: 'cancelled' }), false, 'older version ignored');
  t.match(await pool.snapshot(zoneA), [{ id: a.id, version: 2, readyKnown: true }]);

  await http(baseUrl, 'POST', `/v1/orders/${b.id}/cancel`, store, {});
  t.same(await pool.snapshot(zoneB), [], 'cancelled orders leave the pool');

  // Redis loses everything: the pool comes back from the durable record
  await ctx.redis.del(`open:{${zoneA}}`, `open:{${zoneA}}:v`, `open:{${zoneB}}`, `open:{${zoneB}}:v`, 'open-zones');
  t.same(await pool.snapshot(zoneA), []);
  t.equal(await lifecycle.rebuildOpenPool(), 1);
  t.match(await pool.snapshot(zoneA), [{ id: a.id, version: 2 }]);
  t.same(await pool.snapshot(zoneB), []);
});

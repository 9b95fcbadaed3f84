/**
 * The open-order pool in Redis: what a dispatch round snapshots per zone. Stale writes never win,
 * the pool is rebuilt from Postgres after Redis lost it, and a periodic reconcile repairs drift.
 */
import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { createTestContext, buildTestApp } from '../support/index.js';
import { http, markOnline, orderBody, until } from './orders-helpers.js';

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
  // one DEL per key: on a Redis Cluster the two zones and the zone list are different slots
  for (const key of [`open:{${zoneA}}`, `open:{${zoneA}}:v`, `open:{${zoneB}}`, `open:{${zoneB}}:v`, 'open-zones']) await ctx.redis.del(key);
  t.same(await pool.snapshot(zoneA), []);
  t.equal(await lifecycle.rebuildOpenPool(), 1);
  t.match(await pool.snapshot(zoneA), [{ id: a.id, version: 2 }]);
  t.same(await pool.snapshot(zoneB), []);
});

t.test('open pool: a periodic reconcile repairs drift from Postgres (missed adds and missed removals)', async (t) => {
  const EVERY = 5000;
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', OPEN_POOL_RECONCILE_MS: String(EVERY) });
  const clock = new ManualClock(Date.now());
  const { app, baseUrl, token } = await buildTestApp(ctx, { clock });
  const store = token('store', 's1');
  const { lifecycle, pool } = app.orders;
  const kept = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('drift-kept'))).body;
  const lost = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('drift-lost'))).body;
  const gone = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('drift-gone'))).body;
  const zone = lifecycle.zoneOf(kept);
  const entries = `open:{${zone}}`;
  const versions = `open:{${zone}}:v`;
  const staleGone = await ctx.redis.hget(entries, gone.id);
  t.ok(staleGone, 'placed orders are in the pool');
  t.equal((await http(baseUrl, 'POST', `/v1/orders/${gone.id}/cancel`, store, {})).body.status, 'cancelled');

  // what the pool looks like when post-commit writes failed: the placement of `lost` never arrived,
  // the cancel of `gone` never arrived, and an order unknown to Postgres lingers
  await ctx.redis.hdel(entries, lost.id);
  await ctx.redis.hdel(versions, lost.id);
  await ctx.redis.hset(entries, gone.id, staleGone!);
  await ctx.redis.hset(versions, gone.id, 1);
  const phantom = '00000000-0000-4000-8000-000000000001';
  await ctx.redis.hset(entries, phantom, JSON.stringify({ ...JSON.parse(staleGone!), id: phantom }));
  await ctx.redis.hset(entries, 'not-a-uuid', '{}');
  const ids = async () => (await pool.ids(zone)).sort();
  t.same(await ids(), [kept.id, gone.id, phantom, 'not-a-uuid'].sort(), 'drifted');

  clock.advance(EVERY - 1);
  await new Promise((r) => setTimeout(r, 100));
  t.same(await ids(), [kept.id, gone.id, phantom, 'not-a-uuid'].sort(), 'nothing before the period');
  clock.advance(1);
  await until(async () => JSON.stringify(await ids()) === JSON.stringify([kept.id, lost.id].sort()), 3000, 'pool repaired');
  t.match(await pool.snapshot(zone), [{ version: 1 }, { version: 1 }], 'with the versions Postgres has');

  // and it keeps running: a later drift is repaired by the next period
  await ctx.redis.hdel(entries, kept.id);
  await ctx.redis.hdel(versions, kept.id);
  await new Promise((r) => setTimeout(r, 50));
  clock.advance(EVERY);
  await until(async () => (await ids()).includes(kept.id), 3000, 'repaired again');

  // a reconcile never undoes a newer change: an order that left the pool stays out
  await http(baseUrl, 'POST', `/v1/orders/${kept.id}/cancel`, store, {});
  t.match(await lifecycle.reconcileOpenPool(), { open: 1, added: 0, removed: 0 });
  t.same(await ids(), [lost.id]);
});

t.test('open pool: versions of ended orders are forgotten after a while (the version hash does not grow forever)', async (t) => {
  const ctx = await createTestContext(t, { WEBHOOK_SENDER: 'off', OPEN_POOL_RECONCILE_MS: '3600000', OFFER_TTL_MS: '3600000' });
  const clock = new ManualClock(Date.now());
  const { app, baseUrl, token } = await buildTestApp(ctx, { clock });
  const store = token('store', 's1');
  const dispatcher = token('dispatcher', 'd1');
  const { lifecycle, pool } = app.orders;
  const ended = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('tomb-ended'))).body;
  const offered = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('tomb-offered'))).body;
  const open = (await http(baseUrl, 'POST', '/v1/orders', store, orderBody('tomb-open'))).body;
  await http(baseUrl, 'POST', `/v1/orders/${ended.id}/cancel`, store, {});
  await markOnline(app, 'c1');
  t.equal((await http(baseUrl, 'POST', `/v1/orders/${offered.id}/offer`, dispatcher, { courierId: 'c1' })).status, 201);
  const zone = lifecycle.zoneOf(ended);
  const versions = `open:{${zone}}:v`;
  t.same((await ctx.redis.hkeys(versions)).sort(), [ended.id, offered.id, open.id].sort(), 'every order has a version');

  t.match(await lifecycle.reconcileOpenPool(), { pruned: 0 }, 'a fresh tombstone is kept');
  t.equal(await pool.sync(zone, { ...ended, version: 1, status: 'placed', declinedBy: [] }), false, 'and still stops a late, older write');

  clock.advance(16 * 60_000);
  t.match(await lifecycle.reconcileOpenPool(), { pruned: 1 });
  t.same((await ctx.redis.hkeys(versions)).sort(), [offered.id, open.id].sort(), 'the ended order is forgotten; the offered one (it may come back) and the open one stay');
  t.same((await pool.ids(zone)).sort(), [open.id], 'the pool itself is unchanged');

  // a tombstone that changed since it was read is not forgotten
  t.equal(await pool.pruneTombstone(zone, offered.id, 1), false, 'only exactly the version read');
  t.equal(await pool.pruneTombstone(zone, open.id, 1), false, 'never an order in the pool');
});

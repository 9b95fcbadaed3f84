/**
 * Redis killed (kill -9) mid-load and restarted on the same port from its append-only file: couriers
 * get `store_unavailable` error frames while it is gone, the same service process recovers on its own,
 * nothing acked is lost beyond the AOF window, and orders placed before are still there.
 *
 * The window: AOF with `appendfsync everysec` (how the private Redis runs, see src/store/embedded/redis.ts)
 * hands every write to the kernel before the reply, so a killed Redis *process* loses nothing; only a
 * machine crash loses up to ~1 s, and Redis may delay a write by up to 2 s when fsync stalls. The test
 * therefore requires every point acked more than 2 s before the kill, and reports the rest.
 */
import t from 'tap';
import { OpenOrderPool } from '../../src/store/redis/open-orders.js';
import { checkHistory, Fleet, historyCaughtUp } from './fleet.js';
import { faultEnv, freePort, startDispatchd, until } from './harness.js';
import { http, orderBody } from '../integration/orders-helpers.js';

const AOF_WINDOW_MS = 2000;

t.test('Redis kill -9 and AOF restart mid-load: store_unavailable, recovery without restart, no acked loss, orders kept', async (t) => {
  const env = await faultEnv(t);
  const svc = await startDispatchd(env, await freePort(), { DISPATCH: 'off' });
  const store = env.token('store', 's-redis');
  const orderIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await http<{ id: string; status: string }>(svc.address, 'POST', '/v1/orders', store, orderBody(`redis-${i}`));
    t.equal(res.status, 201);
    orderIds.push(res.body.id);
  }
  const pool = new OpenOrderPool(env.ctx.redis);
  const pooled = async () => (await Promise.all((await pool.zones()).map((z) => pool.ids(z)))).flat();
  t.same((await pooled()).sort(), [...orderIds].sort(), 'the orders are in the open pool');

  const prefix = 'redis-';
  const fleet = new Fleet({ wsUrl: svc.wsUrl, prefix, count: 8, token: (id) => env.token('courier', id) });
  t.teardown(() => fleet.stop());
  await fleet.start();
  // Load for well over the AOF window, so the strict part of the loss check below covers points.
  await fleet.ackedAtLeast(3500);

  const killedAt = Date.now();
  await env.redis.kill9();
  await until('couriers told store_unavailable', () => (fleet.errors.get('store_unavailable') ?? 0) > 0, 20_000);
  t.pass(`couriers got store_unavailable while Redis was gone (${fleet.errors.get('store_unavailable')} frames)`);
  t.equal((await fetch(`${svc.address}/readyz`)).status, 503, '/readyz says 503 meanwhile');

  await env.redis.restart();
  await until('readyz 200 after Redis is back', async () => (await fetch(`${svc.address}/readyz`)).status === 200, 20_000);
  await fleet.allConnected(15_000);
  t.ok(await fleet.acksResume(), 'acks resume without a service restart');
  t.equal(svc.child.exitCode, null, 'the same process still runs');
  fleet.stop();

  // Postgres has the orders whatever Redis did; the pool came back from the AOF.
  for (const id of orderIds) {
    t.match(await http(svc.address, 'GET', `/v1/orders/${id}`, store), { status: 200, body: { id, status: 'placed' } }, `order ${id} is still there`);
  }
  t.same((await pooled()).sort(), [...orderIds].sort(), 'and still in the open pool, so dispatchable');
  // TODO(lead, after merging branch `rel`): with the pool rebuilt on reconnect, also assert that an order
  // placed before (and one placed during) the outage is offered within one dispatch round after Redis returns.

  const check = await historyCaughtUp(env.ctx.db, fleet, prefix, 30_000);
  const outsideWindow = check.missing.filter((m) => m.ackedAt < killedAt - AOF_WINDOW_MS);
  const older = fleet.couriers.reduce((n, c) => n + [...c.ackedAt.values()].filter((at) => at < killedAt - AOF_WINDOW_MS).length, 0);
  t.ok(older > 0, `points acked: ${check.acked}, ${older} of them more than ${AOF_WINDOW_MS} ms before the kill`);
  t.same(outsideWindow.slice(0, 5), [], `no point acked more than ${AOF_WINDOW_MS} ms before the kill is lost (${outsideWindow.length})`);
  t.comment(`acked points lost inside the AOF window: ${check.missing.length} (expected 0 for a process kill)`);
  t.equal(check.duplicates, 0, 'no point stored twice');
  t.equal((await checkHistory(env.ctx.db, fleet, prefix)).stored, check.stored, 'history is settled');

  svc.child.kill('SIGTERM');
  t.same(await svc.exited, { code: 0, signal: null });
});

import t from 'tap';
import { buildTestApp, createTestContext } from '../support/index.js';
import { http, orderBody } from './orders-helpers.js';

t.test('RATE_LIMIT_PER_MIN=3: the 4th write of one store is refused, counted across nodes; others, reads and health are not', async (t) => {
  const ctx = await createTestContext(t, { RATE_LIMIT_PER_MIN: '3', WEBHOOK_SENDER: 'off' });
  const nodeA = await buildTestApp(ctx);
  const nodeB = await buildTestApp(ctx);
  const storeA = nodeA.token('store', 'store-a');
  const storeB = nodeA.token('store', 'store-b');

  // Two writes on node A and one on node B share one counter (Redis).
  t.equal((await http(nodeA.baseUrl, 'POST', '/v1/orders', storeA, orderBody('a-1'))).status, 201);
  t.equal((await http(nodeA.baseUrl, 'POST', '/v1/orders', storeA, orderBody('a-2'))).status, 201);
  t.equal((await http(nodeB.baseUrl, 'POST', '/v1/orders', storeA, orderBody('a-3'))).status, 201);

  const res = await fetch(`${nodeA.baseUrl}/v1/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${storeA}`, 'content-type': 'application/json' },
    body: JSON.stringify(orderBody('a-4')),
  });
  t.equal(res.status, 429);
  const body = (await res.json()) as { code: string; message: string; details: { limitPerMin: number; retryAfterS: number } };
  t.equal(body.code, 'rate_limited');
  t.match(body.message, /3 writes per minute/);
  t.equal(body.details.limitPerMin, 3);
  const retryAfter = Number(res.headers.get('retry-after'));
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After is a delay in seconds within the window (got ${res.headers.get('retry-after')})`);
  t.equal(body.details.retryAfterS, retryAfter);

  // The refused order was not stored.
  const { rows } = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE external_id = 'a-4'`);
  t.equal(rows[0].n, 0, 'a refused write changes nothing');

  // Another store has its own budget.
  t.equal((await http(nodeA.baseUrl, 'POST', '/v1/orders', storeB, orderBody('b-1'))).status, 201);
  // Reads of the limited store still work.
  for (let i = 0; i < 5; i++) t.equal((await http(nodeA.baseUrl, 'GET', '/v1/orders', storeA)).status, 200);
  // Health is never limited.
  for (let i = 0; i < 10; i++) {
    t.equal((await fetch(`${nodeA.baseUrl}/healthz`)).status, 200);
    t.equal((await fetch(`${nodeA.baseUrl}/readyz`)).status, 200);
  }
  // Counters live under the deployment's key prefix.
  t.equal(await ctx.redis.exists('ratelimit:user:store:store-a'), 1);
});

t.test('writes without a token (public routes) are counted per client IP', async (t) => {
  const ctx = await createTestContext(t, { RATE_LIMIT_PER_MIN: '2', WEBHOOK_SENDER: 'off' });
  const { baseUrl } = await buildTestApp(ctx, {
    beforeListen: (app) => {
      app.post('/test/public-write', { config: { public: true } }, async () => ({ ok: true }));
    },
  });
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) statuses.push((await http(baseUrl, 'POST', '/test/public-write', undefined, {})).status);
  t.same(statuses, [200, 200, 429]);
  t.equal(await ctx.redis.exists('ratelimit:ip:127.0.0.1'), 1, 'keyed by the client address');
});

t.test('RATE_LIMIT_PER_MIN=0 disables the limit', async (t) => {
  const ctx = await createTestContext(t, { RATE_LIMIT_PER_MIN: '0', WEBHOOK_SENDER: 'off' });
  const app = await buildTestApp(ctx);
  const token = app.token('store', 'store-z');
  for (let i = 0; i < 6; i++) t.equal((await http(app.baseUrl, 'POST', '/v1/orders', token, orderBody(`z-${i}`))).status, 201);
  t.equal(await ctx.redis.exists('ratelimit:user:store:store-z'), 0, 'nothing is counted');
});

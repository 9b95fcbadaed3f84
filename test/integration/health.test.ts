import t from 'tap';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createTestContext, buildTestApp, tempDataDir } from '../support/index.js';
import fastify from 'fastify';
import { startPrivateRedis } from '../../src/store/embedded/index.js';
import { errorsPlugin } from '../../src/gateway/errors.js';
import { healthRoutes } from '../../src/gateway/http/health.js';
import { withDatabase } from '../../src/store/pg/pool.js';

const ctx = await createTestContext(t);

t.test('/healthz and /readyz answer without a token when Redis and Postgres are up', async (t) => {
  const { baseUrl } = await buildTestApp(ctx);
  const health = await fetch(`${baseUrl}/healthz`);
  t.equal(health.status, 200);
  t.same(await health.json(), { status: 'ok' });

  const ready = await fetch(`${baseUrl}/readyz`);
  t.equal(ready.status, 200);
  t.same(await ready.json(), { status: 'ready', checks: { redis: 'ok', postgres: 'ok' } });
});

/**
 * The health routes alone on the app's error handler: the full app needs both services to boot, while
 * these cases need one of them gone.
 */
async function healthOnly(redis: Redis, db: pg.Pool) {
  const app = fastify();
  app.decorate('redis', redis);
  app.decorate('db', db);
  await app.register(errorsPlugin);
  await app.register(healthRoutes);
  return app;
}

t.test('/readyz is 503 naming Redis when Redis stops answering', async (t) => {
  const dir = await tempDataDir(t, 'dispatchd-health-');
  const server = await startPrivateRedis({ dir });
  t.teardown(() => server.stop());
  const redis = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  redis.on('error', () => {});
  await redis.connect();
  t.teardown(() => redis.disconnect());
  const app = await healthOnly(redis, ctx.db);
  t.teardown(() => app.close());

  t.equal((await app.inject('/readyz')).statusCode, 200, 'ready while Redis runs');
  await server.stop();
  const res = await app.inject('/readyz');
  t.equal(res.statusCode, 503);
  const body = res.json() as { code: string; checks: Record<string, string>; message: string };
  t.equal(body.code, 'not_ready');
  t.same(body.checks, { redis: 'unavailable', postgres: 'ok' });
  t.match(body.message, /redis/);
  t.notMatch(res.body, /ECONNREFUSED|127\.0\.0\.1|closed/i, 'no internals in the open body');
  t.equal((await app.inject('/healthz')).statusCode, 200, 'the process itself is still healthy');
});

t.test('/readyz is 503 naming Postgres when Postgres refuses', async (t) => {
  const deadPool = new pg.Pool({ connectionString: withDatabase(ctx.databaseUrl, 'no_such_database_here'), connectionTimeoutMillis: 1000 });
  deadPool.on('error', () => {});
  t.teardown(() => deadPool.end());
  const app = await healthOnly(ctx.redis, deadPool);
  t.teardown(() => app.close());
  const res = await app.inject('/readyz');
  t.equal(res.statusCode, 503);
  t.same((res.json() as { checks: Record<string, string> }).checks, { redis: 'ok', postgres: 'unavailable' });
});

t.test('errors have a stable code and 5xx bodies leak nothing', async (t) => {
  const { baseUrl, token } = await buildTestApp(ctx, {
    beforeListen(app) {
      app.get('/test/boom', async () => {
        throw new Error('secret internals: password=hunter2');
      });
      app.post('/test/echo', { schema: { body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } }, async (req) => req.body);
    },
  });
  const auth = { authorization: `Bearer ${token('admin', 'a1')}` };
  const boom = await fetch(`${baseUrl}/test/boom`, { headers: auth });
  t.equal(boom.status, 500);
  const body = await boom.text();
  t.same(JSON.parse(body), { code: 'internal', message: 'Internal server error' });
  t.notMatch(body, /hunter2|secret|stack/);

  const invalid = await fetch(`${baseUrl}/test/echo`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"n":"x"}' });
  t.equal(invalid.status, 400);
  t.equal(((await invalid.json()) as { code: string }).code, 'bad_request');

  const malformed = await fetch(`${baseUrl}/test/echo`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"n":' });
  t.equal(malformed.status, 400);
  t.equal(((await malformed.json()) as { code: string }).code, 'bad_request');
});

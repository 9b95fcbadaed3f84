import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

/**
 * Open routes (no token), for load balancers and orchestrators:
 * - GET /healthz: the process is up and serving.
 * - GET /readyz: Redis answers PING and Postgres answers `select 1`; 503 naming the failed one otherwise.
 */

const CHECK_TIMEOUT_MS = 2000;

async function check(fn: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS))),
    ]);
    return 'ok';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}

const Checks = Type.Object({
  redis: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  postgres: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
});
const NotReady = Type.Object(
  { code: Type.Literal('not_ready'), message: Type.String(), checks: Checks },
  { description: 'a dependency is unavailable: not_ready (checks names which)' },
);

export async function healthRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        summary: 'Liveness: the process is up',
        tags: ['health'],
        // no error response: it answers whenever the process serves at all
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        summary: 'Readiness: Redis and PostgreSQL answer',
        tags: ['health'],
        response: { 200: Type.Object({ status: Type.Literal('ready'), checks: Checks }), 503: NotReady },
      },
    },
    async (request, reply) => {
    const [redis, postgres] = await Promise.all([check(() => app.redis.ping()), check(() => app.db.query('select 1'))]);
    const detail = { redis, postgres };
    // The open body says which dependency failed, not why (the log has the reason).
    const checks = { redis: redis === 'ok' ? 'ok' : 'unavailable', postgres: postgres === 'ok' ? 'ok' : 'unavailable' };
    const failed = Object.entries(checks)
      .filter(([, v]) => v !== 'ok')
      .map(([k]) => k);
    if (failed.length === 0) return { status: 'ready', checks };
    request.log.warn({ checks: detail }, 'not ready');
    return reply.code(503).send({ code: 'not_ready', message: `Not ready: ${failed.join(', ')} unavailable`, checks });
    },
  );
}

import fp from 'fastify-plugin';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from './errors.js';

/**
 * Per-caller limit on HTTP writes (POST/PUT/PATCH/DELETE): RATE_LIMIT_PER_MIN requests per minute,
 * keyed by the JWT subject (role + sub) when authenticated, else by the client IP. Counters live in
 * Redis (under REDIS_KEY_PREFIX + `ratelimit:`), so the limit holds across every node. Reads, the
 * health/metrics endpoints and WebSocket upgrades are never limited. Over the limit: 429
 * `{code:'rate_limited'}` with Retry-After. `0` disables it.
 *
 * The window is wall-clock on purpose (Redis PEXPIRE): it protects the service from callers in real
 * time, whatever the service clock's speed.
 */

const WINDOW_MS = 60_000;
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const EXEMPT_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function isExempt(request: FastifyRequest): boolean {
  if (!WRITE_METHODS.has(request.method)) return true;
  if (String(request.headers.upgrade ?? '').toLowerCase() === 'websocket') return true;
  return EXEMPT_PATHS.has(request.url.split('?')[0]);
}

/** Auth runs first (an app-level onRequest hook), so an authenticated caller is known here. */
export function rateLimitKey(request: FastifyRequest): string {
  const user = request.user as { sub?: string; role?: string } | undefined | null;
  return user?.sub ? `user:${user.role}:${user.sub}` : `ip:${request.ip}`;
}

export const rateLimitPlugin = fp(
  async function rateLimit(app: FastifyInstance) {
    const max = app.config.rateLimitPerMin;
    if (max === 0) return;
    await app.register(fastifyRateLimit, {
      global: true,
      max,
      timeWindow: WINDOW_MS,
      redis: app.redis,
      nameSpace: 'ratelimit:',
      // Redis trouble must not turn every write into a 500 on its own account: fail open.
      skipOnError: true,
      keyGenerator: rateLimitKey,
      allowList: (request) => isExempt(request),
      // Only the refusal carries headers; accepted writes stay as they were.
      addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
      errorResponseBuilder: (request, ctx) => {
        const retryAfterS = Math.max(1, Math.ceil(ctx.ttl / 1000));
        request.log.info({ key: rateLimitKey(request), max: ctx.max }, 'rate limited');
        return new AppError(429, 'rate_limited', `Rate limit of ${ctx.max} writes per minute exceeded; retry in ${ctx.after}`, {
          limitPerMin: ctx.max,
          retryAfterS,
        });
      },
    });
  },
  { name: 'dispatchd-rate-limit', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-auth'] },
);

import type { FastifyInstance, RouteOptions } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.js';
import { systemClock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import type { Role } from '../../src/gateway/auth.js';
import type { TestContext } from './context.js';

/**
 * The real app on a real loopback port (so real `ws` clients can connect), built on a TestContext.
 * `token(role, sub)` signs with the app's own secret. The app is closed by `ctx.cleanup()` (before
 * the context's connections), or earlier by `close()`.
 */

export interface TestApp {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:41234 */
  baseUrl: string;
  /** e.g. ws://127.0.0.1:41234 */
  wsUrl: string;
  token(role: Role, sub: string, opts?: { expiresIn?: string | number }): string;
  close(): Promise<void>;
}

export interface TestAppOverrides extends Partial<Omit<AppDeps, 'config'>> {
  config?: Partial<Config>;
  /** Registered as a last plugin before listen, e.g. to add a test-only route. */
  beforeListen?: (app: FastifyInstance) => void | Promise<void>;
  /** Sees every route as it is registered (fastify's onRoute hook, added before any plugin loads). */
  onRoute?: (route: RouteOptions) => void;
}

export async function buildTestApp(ctx: TestContext, overrides: TestAppOverrides = {}): Promise<TestApp> {
  const config: Config = { ...ctx.config, ...overrides.config };
  const app = buildApp({
    config,
    clock: overrides.clock ?? systemClock,
    redis: overrides.redis ?? ctx.redis,
    db: overrides.db ?? ctx.db,
    log: overrides.log,
  });
  const { beforeListen, onRoute } = overrides;
  if (onRoute) app.addHook('onRoute', onRoute);
  // As a plugin, so it runs after the app's own plugins (auth, websocket) have added their hooks.
  if (beforeListen) app.register(async (instance) => beforeListen(instance));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('test app did not bind a TCP port');
  const hostPort = `127.0.0.1:${addr.port}`;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
  };
  // Closed by ctx.cleanup() before the connections it uses.
  ctx.addCleanup(close);
  return {
    app,
    baseUrl: `http://${hostPort}`,
    wsUrl: `ws://${hostPort}`,
    token: (role, sub, opts = {}) => app.jwt.sign({ sub, role }, { expiresIn: opts.expiresIn ?? '1h' }),
    close,
  };
}

import fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import fastifyWebsocket from '@fastify/websocket';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { Clock } from './clock.js';
import { ConfigError, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { errorsPlugin } from './gateway/errors.js';
import { authPlugin, jwtKeysOf } from './gateway/auth.js';
import { healthRoutes } from './gateway/http/health.js';
import { courierSocket } from './gateway/ws/courier.js';
import { courierRoutes } from './gateway/http/couriers.js';
import { historySink } from './runtime/history-sink.js';
import { orderServices } from './runtime/order-services.js';
import { courierOrderFrames } from './gateway/ws/courier-orders.js';
import { orderRoutes } from './gateway/http/orders.js';
import { storeRoutes } from './gateway/http/stores.js';
import { trackingRoutes } from './gateway/http/tracking.js';
import { storeSocket } from './gateway/ws/store.js';
import { trackSocket } from './gateway/ws/track.js';
import { metricsPlugin } from './gateway/http/metrics.js';
import { courierAvailability } from './runtime/courier-availability.js';
import { courierAvailabilityRoutes } from './gateway/http/courier-availability.js';
import { courierShiftFrames } from './gateway/ws/courier-shift.js';
import { dispatchLoop } from './runtime/dispatch-loop.js';
import { prepTimesPlugin } from './runtime/prep-times.js';
import { travelTimesPlugin } from './runtime/travel-times.js';
import { overrideRoutes } from './gateway/http/overrides.js';
import { consoleSocket } from './gateway/ws/console.js';
import { webPages } from './gateway/http/web-pages.js';
import { apiDocs } from './gateway/http/api-docs.js';
import { websocketErrorHandler } from './gateway/ws/socket-errors.js';
import { rateLimitPlugin } from './gateway/rate-limit.js';
import { overloadPlugin } from './gateway/overload.js';
import { dispatchRoutes } from './gateway/http/dispatch.js';
import { kpiRoutes } from './gateway/http/kpis.js';
import { zoneServices } from './runtime/zones.js';
import { zoneRoutes } from './gateway/http/zones.js';
import { quoteServices } from './runtime/quotes.js';
import { quoteRoutes } from './gateway/http/quotes.js';
import { carrierServices } from './runtime/carrier-dispatch.js';
import { carrierRoutes } from './gateway/http/carriers.js';

/**
 * buildApp(deps) → the Fastify instance with every plugin and route, not listening.
 * main.ts owns the connections (Redis, Postgres, embedded services) and passes them in; tests do the
 * same with their own. Plugin order is explicit below: each plugin names its dependencies, so a
 * wrong order fails at boot instead of at the first request.
 */

export interface AppDeps {
  config: Config;
  clock: Clock;
  redis: Redis;
  db: Pool;
  log?: Logger;
}

/** Work that must finish during graceful shutdown, after sockets close and before pools close. */
export type Drainer = () => Promise<void>;

export class Drainers {
  private readonly list: { name: string; fn: Drainer }[] = [];
  add(name: string, fn: Drainer): void {
    this.list.push({ name, fn });
  }
  names(): string[] {
    return this.list.map((d) => d.name);
  }
  /** Names of the drainers that failed in the last runAll (the process then exits non-zero). */
  readonly failed: string[] = [];
  /** Runs every drainer (in registration order); one failing does not stop the others. */
  async runAll(log: FastifyBaseLogger): Promise<void> {
    for (const { name, fn } of this.list) {
      const started = Date.now();
      try {
        await fn();
        log.info({ drainer: name, ms: Date.now() - started }, 'drained');
      } catch (err) {
        this.failed.push(name);
        // the message says what was left where (e.g. the history sink's points still in the stream)
        log.error({ err, drainer: name }, `drainer failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    clock: Clock;
    redis: Redis;
    db: Pool;
    drainers: Drainers;
  }
}

export const WS_GOING_AWAY = 1001;

/** Decorates the injected dependencies and the drainer registry. Closing the connections is main's job. */
const corePlugin = fp<AppDeps>(
  async function core(app, deps) {
    app.decorate('config', deps.config);
    app.decorate('clock', deps.clock);
    app.decorate('redis', deps.redis);
    app.decorate('db', deps.db);
    app.decorate('drainers', new Drainers());
    app.addHook('onClose', async (instance) => {
      await instance.drainers.runAll(instance.log);
    });
  },
  { name: 'dispatchd-core', fastify: '5.x' },
);

/**
 * @fastify/websocket with the frame size limit, plus a preClose hook (registered first, so it runs
 * before the plugin's own) that closes every socket with 1001 "going away" and waits briefly for
 * clients to finish the close handshake.
 */
const websocketPlugin = fp(
  async function websocket(app) {
    app.addHook('preClose', async () => {
      const clients = [...app.websocketServer.clients];
      if (clients.length === 0) return;
      app.log.info({ sockets: clients.length }, 'closing websockets');
      const closed = clients.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            ws.once('close', () => resolve());
            ws.close(WS_GOING_AWAY, 'server shutting down');
          }),
      );
      const graceMs = Math.min(3000, Math.floor(app.config.shutdownTimeoutMs / 3));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(closed), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      for (const ws of clients) if (ws.readyState !== ws.CLOSED) ws.terminate();
    });
    await app.register(fastifyWebsocket, { options: { maxPayload: app.config.wsMaxFrameBytes }, errorHandler: websocketErrorHandler });
  },
  { name: 'dispatchd-websocket', fastify: '5.x', dependencies: ['dispatchd-core', 'dispatchd-auth'] },
);

/** The most one plugin or ready hook may take at boot (fastify's default is 10 s). */
export const BOOT_STEP_TIMEOUT_MS = 60_000;

export function buildApp(deps: AppDeps): FastifyInstance {
  const { config } = deps;
  if (!config.jwtSecret && !config.jwtKeys) throw new ConfigError('JWT_SECRET', 'must be resolved before building the app (see resolveJwtSecret)');
  const log = deps.log ?? createLogger({ level: config.logLevel, format: config.logFormat });

  // The logger's `req` serializer strips ?token= from logged URLs (see logger.ts).
  // Boot steps (migrations, the history sink's thread, loading zones and models) take well under a second on an
  // idle machine but over fastify's default 10 s per plugin/ready hook on a saturated one; a slow boot should
  // finish, not exit, so the limit only catches a step that hangs.
  const app = fastify({
    loggerInstance: log as FastifyBaseLogger,
    forceCloseConnections: 'idle',
    pluginTimeout: BOOT_STEP_TIMEOUT_MS,
  }) as unknown as FastifyInstance;

  // Order matters and is checked through each plugin's `dependencies`.
  app.register(corePlugin, deps);
  app.register(errorsPlugin);
  // Before auth: an overloaded node sheds writes and new sockets without verifying tokens first.
  app.register(overloadPlugin);
  app.register(authPlugin, { keys: jwtKeysOf(config) });
  app.register(websocketPlugin);
  // Before every route: the OpenAPI generator and the write rate limit both hook route registration.
  app.register(apiDocs);
  app.register(rateLimitPlugin);

  // Routes: HTTP under src/gateway/http, WebSocket under src/gateway/ws. Add new ones here.
  app.register(healthRoutes);
  // Location pipeline: the socket (ingest drains first at shutdown), the history sink, then reads.
  app.register(courierSocket);
  app.register(historySink);
  app.register(courierRoutes);
  // Delivery zones (cached index, refreshed over pub/sub): the order services check places against them.
  app.register(zoneServices);
  app.register(zoneRoutes);
  // Calibrated travel times (issue 14): the travel model the order services, rounds and console use.
  app.register(travelTimesPlugin);
  // Orders: services (lifecycle, offers, courier tasks, webhooks; plugs into the courier socket), then routes.
  app.register(orderServices);
  // Learned prep times (issue 14): rebuilt from Postgres, updated online from the order changes.
  app.register(prepTimesPlugin);
  app.register(courierOrderFrames);
  app.register(orderRoutes);
  app.register(storeRoutes);
  // Quotes: fee and promise before ordering, from the zones and the live supply.
  app.register(quoteServices);
  app.register(quoteRoutes);
  app.register(trackingRoutes);
  app.register(storeSocket);
  app.register(trackSocket);
  // Dispatch loop and courier availability (pause/resume, shift frame).
  app.register(courierAvailability);
  app.register(courierAvailabilityRoutes);
  app.register(courierShiftFrames);
  app.register(carrierServices);
  app.register(dispatchLoop);
  // Dispatcher overrides of orders (assign + pin, unassign, priority).
  app.register(overrideRoutes);
  app.register(carrierRoutes);
  // Dispatch decisions and the assign preview (explainability).
  app.register(dispatchRoutes);
  // KPIs over the day, per bucket, from Postgres.
  app.register(kpiRoutes);
  // Dispatcher console (live state over WS) and the browser pages (console, customer tracking).
  app.register(consoleSocket);
  app.register(webPages);
  // Metrics last: they read the pieces above at scrape time.
  app.register(metricsPlugin);

  return app;
}

/**
 * Process entry: config → services (embedded default) → connections → migrations → app.listen.
 * Graceful shutdown on SIGTERM/SIGINT: stop accepting, close sockets with 1001, run the drainers
 * (e.g. the history sink's final flush), close Redis and Postgres, stop private services, exit 0 — or 1
 * when a drainer failed (its log line says what was left where).
 * A shutdown that takes longer than SHUTDOWN_TIMEOUT_MS exits 1; a second signal exits at once.
 *
 * With WORKERS > 1 this process becomes the primary: it resolves the services, migrates, and supervises
 * the workers (worker-pool.ts), each of which runs the app on the shared port. Stopping the primary
 * stops the workers gracefully first.
 */
import cluster from 'node:cluster';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { buildApp } from './app.js';
import { serviceClock } from './clock.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { resolveJwtSecret } from './gateway/auth.js';
import { createLogger, type Logger } from './logger.js';
import { resolveServices, type Services } from './store/embedded/index.js';
import { freePort } from './store/embedded/process.js';
import { migrate } from './store/pg/migrate.js';
import { connectPool } from './store/pg/pool.js';
import { closeRedis, connectRedis } from './store/redis/client.js';
import { SHUTDOWN_MESSAGE, WorkerPool } from './worker-pool.js';

interface Running {
  workers?: WorkerPool;
  app?: FastifyInstance;
  redis?: Redis;
  db?: Pool;
  services?: Services;
}

/** Closes whatever has been opened so far, in reverse order of opening; false when something was left undone. */
async function closeAll(r: Running, log: Logger): Promise<boolean> {
  const workersOk = r.workers ? await r.workers.stop() : true;
  let drained = true;
  if (r.app) {
    await r.app.close();
    drained = r.app.drainers.failed.length === 0;
    if (!drained) log.error({ drainers: r.app.drainers.failed }, 'shutdown left work undone (see the drainer errors above): exiting 1');
  }
  if (r.redis) await closeRedis(r.redis);
  if (r.db) await r.db.end().catch((err: unknown) => log.error({ err }, 'closing postgres pool failed'));
  if (r.services) await r.services.stop();
  return workersOk && drained;
}

/** WORKERS > 1, primary: what must happen once, then the workers (which skip it). */
async function startPrimary(config: Config, log: Logger, running: Running, onFatal: (reason: string) => void): Promise<void> {
  running.services = await resolveServices({ redisUrl: config.redisUrl, databaseUrl: config.databaseUrl, dataDir: config.dataDir, log, probeLocal: config.localServices === 'try' });
  const { redisUrl, databaseUrl } = running.services;
  await migrate({ databaseUrl, log });
  const jwtSecret = await resolveJwtSecret(config, log);
  const port = config.port === 0 ? await freePort() : config.port;
  running.workers = new WorkerPool({
    count: config.workers,
    env: { REDIS_URL: redisUrl, DATABASE_URL: databaseUrl, JWT_SECRET: jwtSecret, PORT: String(port) },
    log,
    rebalanceSpreadMs: config.workerRebalanceSpreadMs,
    onFatal,
  });
  const listening = await running.workers.start();
  const address = `http://${listening.host.includes(':') ? `[${listening.host}]` : listening.host}:${listening.port}`;
  log.info({ address, readyz: `${address}/readyz`, workers: config.workers, pids: running.workers.pids() }, 'dispatchd listening');
}

async function start(config: Config, log: Logger, running: Running): Promise<void> {
  running.services = await resolveServices({ redisUrl: config.redisUrl, databaseUrl: config.databaseUrl, dataDir: config.dataDir, log, probeLocal: config.localServices === 'try' });
  const { redisUrl, databaseUrl } = running.services;
  // Inside the app, config carries the resolved URLs (plugins that need their own client use them).
  const resolved: Config = { ...config, redisUrl, databaseUrl, jwtSecret: await resolveJwtSecret(config, log) };
  running.redis = await connectRedis(redisUrl, { keyPrefix: config.redisKeyPrefix, log });
  running.db = await connectPool(databaseUrl, { log });
  // A cluster worker's primary has migrated already.
  if (cluster.isPrimary) await migrate({ databaseUrl, log });
  const clock = serviceClock({ speed: config.clockSpeed, startMs: config.clockStart });
  if (config.clockSpeed !== 1 || config.clockStart !== undefined) {
    log.info({ speed: config.clockSpeed, start: new Date(clock.now()).toISOString() }, 'service clock accelerated');
  }
  running.app = buildApp({ config: resolved, clock, redis: running.redis, db: running.db, log });
  const address = await running.app.listen({ host: config.host, port: config.port });
  if (cluster.isPrimary) log.info({ address, readyz: `${address}/readyz` }, 'dispatchd listening');
  else log.info({ address }, 'service worker listening');
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`dispatchd: configuration error: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const rootLog = createLogger({ level: config.logLevel, format: config.logFormat });
  const log = cluster.isWorker ? rootLog.child({ worker: cluster.worker?.id }) : rootLog;
  const supervising = cluster.isPrimary && config.workers > 1;
  const running: Running = {};

  let stopping = false;
  const shutdown = async (reason: string, exitCode: number) => {
    if (stopping) {
      log.warn({ reason }, 'second signal during shutdown: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ reason, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out: exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    try {
      if (!(await closeAll(running, log))) exitCode = 1;
      log.info('stopped');
    } catch (err) {
      log.error({ err }, 'error during shutdown');
      exitCode = 1;
    }
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  if (cluster.isWorker) {
    // Ctrl-C reaches the primary and the workers at once: the primary's request is then not a second signal.
    process.on('message', (m) => {
      if (m === SHUTDOWN_MESSAGE && !stopping) void shutdown('primary asked', 0);
    });
    // The primary is gone (killed): nobody supervises this worker any more.
    process.on('disconnect', () => {
      if (!stopping) void shutdown('primary gone', 1);
    });
  }
  process.on('unhandledRejection', (err) => {
    log.fatal({ err }, 'unhandled promise rejection');
    void shutdown('unhandledRejection', 1);
  });
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception');
    void shutdown('uncaughtException', 1);
  });

  try {
    if (supervising) await startPrimary(config, log, running, (reason) => void shutdown(reason, 1));
    else await start(config, log, running);
  } catch (err) {
    // One record, with the reason in the message itself so it reads on its own (no second copy on stderr).
    log.fatal({ err }, `dispatchd could not start: ${err instanceof Error ? err.message : String(err)}`);
    await shutdown('start failed', 1);
  }
}

await main();

/**
 * The real service, in this process, for a replay or the demo: the embedded default services (Redis and
 * PostgreSQL on their local ports, else private ones, exactly as `npm start` finds them), a fresh
 * database and Redis key prefix per run (so runs never see each other's orders), the app built by
 * buildApp on the clock the simulator shares, listening on a free loopback port.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { buildApp } from '../../app.js';
import type { Clock } from '../../clock.js';
import { defaultPolicy } from '../../dispatch/policy.js';
import { loadConfig, type Config } from '../../config.js';
import type { Role } from '../../gateway/auth.js';
import type { Logger } from '../../logger.js';
import { ensurePostgresServer, ensureRedis, type ResolvedService } from '../../store/embedded/index.js';
import { migrate } from '../../store/pg/migrate.js';
import { connectPool, dropDatabase, ensureDatabase, withDatabase } from '../../store/pg/pool.js';
import { closeRedis, connectRedis, deleteKeysWithPrefix } from '../../store/redis/client.js';
import type { MdrpParameters } from '../mdrp/instance.js';

export interface LiveService {
  readonly app: FastifyInstance;
  readonly baseUrl: string;
  readonly wsUrl: string;
  readonly clock: Clock;
  readonly config: Config;
  readonly db: Pool;
  readonly redis: Redis;
  readonly databaseUrl: string;
  readonly keyPrefix: string;
  /** Signs a token with the service's secret. */
  token(role: Role, sub: string, ttl?: string | number): string;
  /** Closes the app, the connections and the services it started; drops the run's data unless `keep`. */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

export interface LiveServiceOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** Environment of the service (config keys); REDIS_URL / DATABASE_URL pick the servers. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where private services live when none answers on the default ports. */
  readonly dataDir?: string;
  /** Database name prefix; a random suffix makes it unique. */
  readonly name?: string;
  readonly port?: number;
  readonly host?: string;
}

/**
 * Config keys that make the service's world the instance's world: travel speed and service times of
 * the ETA model, promises at the instance's click-to-door target, a round every `roundEveryMin` (the
 * offline harness's default interval), and offers that wait long enough for a simulated courier.
 * Simulated couriers report their arrivals themselves at the rule's minute and their fixes are exact,
 * so the geofence only confirms those: narrowed (the default 60 m would detect an arrival up to half a
 * minute early, from the approach) and with a dwell of two service minutes (at ×60 the default 20 s
 * are a third of a wall second, less than a busy service may take to answer the courier's own report).
 */
export function instanceEnv(params: MdrpParameters, roundEveryMin = 1): Record<string, string> {
  return {
    COURIER_SPEED_MPS: String(params.metersPerMinute / 60),
    PICKUP_SERVICE_S: String(Math.round(params.pickupServiceMin * 60)),
    DROPOFF_SERVICE_S: String(Math.round(params.dropoffServiceMin * 60)),
    PROMISE_STANDARD_MIN: String(Math.max(1, Math.round(params.targetClickToDoorMin))),
    DISPATCH_INTERVAL_MS: String(roundEveryMin * 60_000),
    OFFER_TTL_MS: String(10 * 60_000),
    // the offline harness's per-round optimizer budget (policy.maxMs)
    DISPATCH_ROUND_BUDGET_MS: String(defaultPolicy.maxMs),
    GEOFENCE_RADIUS_M: '5',
    GEOFENCE_EXIT_RADIUS_M: '10',
    GEOFENCE_DWELL_MS: '120000',
    // the instance's travel rule, not one calibrated from the simulated couriers' trails (issue 14)
    TRAVEL_CALIBRATION_DAYS: '0',
    // the benchmark's rules: no diversion of an assigned courier, so no assignment updates (issue 14)
    REASSIGN: 'off',
  };
}

function serverUrl(databaseUrl: string): string {
  return withDatabase(databaseUrl, 'postgres');
}

export async function startLiveService(opts: LiveServiceOptions): Promise<LiveService> {
  const env = opts.env ?? {};
  const id = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const name = `${opts.name ?? 'dispatchd_live'}_${id}`;
  const keyPrefix = `${opts.name ?? 'live'}:${id}:`;
  const dataDir = opts.dataDir ?? env.DATA_DIR ?? '.data';
  const started: ResolvedService[] = [];
  const stopStarted = async () => {
    for (const s of started.reverse()) await s.stop();
  };
  let redis: Redis | undefined;
  let db: Pool | undefined;
  let created: { adminUrl: string; redisUrl: string } | undefined;
  try {
    // LOCAL_SERVICES=skip: private services even when the default local ports answer (as `npm start`).
    const probeLocal = env.LOCAL_SERVICES !== 'skip';
    const redisSvc = await ensureRedis({ url: env.REDIS_URL, dataDir, log: opts.log, probeLocal });
    started.push(redisSvc);
    let adminUrl: string;
    if (env.DATABASE_URL) {
      adminUrl = serverUrl(env.DATABASE_URL);
    } else {
      const pgSvc = await ensurePostgresServer({ dataDir, log: opts.log, probeLocal });
      started.push(pgSvc);
      adminUrl = pgSvc.url;
    }
    await ensureDatabase(adminUrl, name);
    created = { adminUrl, redisUrl: redisSvc.url };
    const databaseUrl = withDatabase(adminUrl, name);
    await migrate({ databaseUrl });
    const config = loadConfig({
      LOG_LEVEL: 'warn',
      ...env,
      HOST: opts.host ?? '127.0.0.1',
      PORT: String(opts.port ?? 0),
      JWT_SECRET: env.JWT_SECRET ?? randomBytes(32).toString('hex'),
      REDIS_KEY_PREFIX: keyPrefix,
      REDIS_URL: redisSvc.url,
      DATABASE_URL: databaseUrl,
    });
    redis = await connectRedis(redisSvc.url, { keyPrefix, log: opts.log });
    db = await connectPool(databaseUrl, { log: opts.log });
    const app = await listening(() => buildApp({ config, clock: opts.clock, redis: redis!, db: db!, log: opts.log }), config, opts.log);
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('the service did not bind a TCP port');
    const hostPort = `${config.host}:${addr.port}`;
    const openRedis = redis;
    const openDb = db;
    let stopped = false;
    return {
      app,
      baseUrl: `http://${hostPort}`,
      wsUrl: `ws://${hostPort}`,
      clock: opts.clock,
      config,
      db: openDb,
      redis: openRedis,
      databaseUrl,
      keyPrefix,
      token: (role, sub, ttl = '7d') => app.jwt.sign({ sub, role }, { expiresIn: ttl }),
      async stop({ keep = false } = {}) {
        if (stopped) return;
        stopped = true;
        await app.close();
        await closeRedis(openRedis);
        await openDb.end().catch(() => {});
        if (!keep) {
          await dropDatabase(adminUrl, name).catch((err: unknown) => opts.log.warn({ err, database: name }, 'could not drop the run database'));
          await deleteKeysWithPrefix(redisSvc.url, keyPrefix).catch((err: unknown) => opts.log.warn({ err, keyPrefix }, 'could not delete the run keys'));
        }
        await stopStarted();
      },
    };
  } catch (err) {
    if (redis) await closeRedis(redis);
    await db?.end().catch(() => {});
    if (created) {
      await dropDatabase(created.adminUrl, name).catch(() => {});
      await deleteKeysWithPrefix(created.redisUrl, keyPrefix).catch(() => {});
    }
    await stopStarted();
    throw err;
  }
}

/** A boot step past BOOT_STEP_TIMEOUT_MS (app.ts) on a saturated machine: one retry. */
const BOOT_TIMEOUTS = new Set(['FST_ERR_HOOK_TIMEOUT', 'FST_ERR_PLUGIN_TIMEOUT']);

async function listening(build: () => FastifyInstance, config: Config, log: Logger): Promise<FastifyInstance> {
  for (let attempt = 1; ; attempt++) {
    const app = build();
    try {
      await app.listen({ host: config.host, port: config.port });
      return app;
    } catch (err) {
      await app.close().catch(() => {});
      if (attempt >= 2 || !BOOT_TIMEOUTS.has((err as { code?: string }).code ?? '')) throw err;
      log.warn({ err }, 'service boot timed out (busy machine): trying once more');
    }
  }
}

